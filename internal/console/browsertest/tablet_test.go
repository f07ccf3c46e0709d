package browsertest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/pdf"
)

// frontDesk fills a hub with what a desk sees: devices with long
// configuration values, commands with long notes, a user to sign in as, and
// a second hotel whose times are shown in Prague. It returns the id of a
// printer command and of the Prague hotel's command.
func frontDesk(t *testing.T, svc *hub.Service) (printerCmd, pragueCmd string) {
	t.Helper()
	ctx := context.Background()
	ent, err := svc.CreateEnterprise(ctx, "Hotel Aurora, Vinohradská 1234/56, Praha")
	must(t, err)
	devs := []*bellhop.Device{
		{EnterpriseID: ent.ID, Type: bellhop.Printer, Name: "Front desk printer", Identifier: "PRN-FRONT-DESK-0001",
			Config: bellhop.DeviceConfig{PrinterName: "HP_LaserJet_Pro_M404dn_Front_Desk", PrinterDriverName: "HP Universal Printing PCL 6 (v7.0.1)",
				PrinterPortName: "IP_192.168.100.200"}},
		{EnterpriseID: ent.ID, Type: bellhop.KeyCutter, Name: "Key encoder", Identifier: "ENC-1",
			Config: bellhop.DeviceConfig{KeyCutterID: "front-desk-encoder-01", ApiUrl: "http://127.0.0.1:9000/api/v1/locks/encode?site=front-desk&mode=test",
				KeyCutterData: `{"Site":"Aurora","Encoder":"front-desk-encoder-01","Format":"MIFARE Classic 1K"}`}},
		{EnterpriseID: ent.ID, Type: bellhop.FiscalMachine, Name: "Fiscal printer", Config: bellhop.DeviceConfig{FiscalMachineID: "RT-99MEY012345",
			ApiUrl: "http://192.168.100.201/cgi-bin/fpmate.cgi?devid=local_printer&timeout=10000", TaxIdentifier: "IT01234567890"}},
	}
	for _, d := range devs {
		must(t, svc.CreateDevice(ctx, d))
	}
	file := base64.StdEncoding.EncodeToString(pdf.Text("Registration card", "Room 101"))
	for i := range 4 {
		c, err := svc.CreateCommand(ctx, devs[0].ID, bellhop.MarshalData(bellhop.NewPrinterData(devs[0], file, i+1)), "pms", nil)
		must(t, err)
		printerCmd = c.ID
	}
	key := bellhop.KeyCutterData{KeyCount: 2, LockIds: []string{"101", "102", "Wellness-Area-North-Entrance"}, LastName: "Nováková-Dvořáková",
		StartUtc: bellhop.FormatTime(time.Now().Add(time.Hour)), EndUtc: bellhop.FormatTime(time.Now().Add(49 * time.Hour))}
	c, err := svc.CreateCommand(ctx, devs[1].ID, bellhop.MarshalData(key), "pms", nil)
	must(t, err)
	_, err = svc.CancelCommand(ctx, c.ID, "front desk",
		"The guest lost both cards at the spa; encoder answered: ERR_ENCODER_TIMEOUT_WAITING_FOR_CARD_IN_SLOT_2 after 30000 ms")
	must(t, err)
	_, _, err = svc.AddUser(ctx, hub.TokenActor("test", ""), "desk", bellhop.Operator, "front desk password")
	must(t, err)

	praha, err := svc.CreateEnterprise(ctx, "Hotel Praha")
	must(t, err)
	_, err = svc.SetEnterpriseTimeZone(ctx, praha.ID, "Europe/Prague")
	must(t, err)
	lobby := &bellhop.Device{EnterpriseID: praha.ID, Type: bellhop.Printer, Name: "Lobby printer"}
	must(t, svc.CreateDevice(ctx, lobby))
	c, err = svc.CreateCommand(ctx, lobby.ID, bellhop.MarshalData(bellhop.NewPrinterData(lobby, file, 1)), "pms", nil)
	must(t, err)
	return printerCmd, c.ID
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// localClock is the console's rule for a time, in loc: the time of day
// today, else day and time this year, else the date.
func localClock(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	switch {
	case t.Year() != now.Year():
		return t.Format("2 Jan 2006")
	case t.YearDay() != now.YearDay():
		return t.Format("2 Jan 15:04")
	}
	return t.Format("15:04:05")
}

// TestTabletAndTimeZone signs in as front-desk staff with a browser in New
// York and checks what the issue found wrong: times are local (UTC on
// hover) and the filters take local times; nothing scrolls sideways at a
// tablet's 768 px or a phone's 390 px on the queue, a command, devices and
// health; configuration values wrap at sensible points; a whole id is one
// click away and the queue finds a command by part of its id.
func TestTabletAndTimeZone(t *testing.T) {
	h, base, _ := startHub(t)
	cmdID, pragueID := frontDesk(t, h.Service)
	tab, closeTab := newTab(t)
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, flowTimeout)
	defer cancel()
	shot := newShots(t)
	run := runner(t, ctx)
	const zone = "America/New_York"
	ny, err := time.LoadLocation(zone)
	must(t, err)

	run("a browser in New York signs in with a name and password",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
			return err
		}),
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Desk"),
		chromedp.SendKeys(chromedp.ID("password"), "front desk password"),
		submit(`.signin form[action="/signin"] button`),
		chromedp.WaitVisible(chromedp.CSS("#c-"+cmdID)),
	)

	// Local time, UTC on hover.
	var stamp struct{ Datetime, Text, Title, Zone, Note string }
	run("read a time",
		into(chromedp.Evaluate[struct{ Datetime, Text, Title, Zone, Note string }](`(() => {
			const el = document.querySelector("#c-`+cmdID+` td[data-label=Created] time");
			return {Datetime: el.getAttribute("datetime"), Text: el.textContent, Title: el.title,
				Zone: el.dataset.zone || "", Note: document.querySelector("[data-zone-note]").textContent};
		})()`), &stamp),
	)
	created, err := time.Parse(time.RFC3339, stamp.Datetime)
	must(t, err)
	if want := localClock(created, time.Now(), ny); stamp.Text != want || stamp.Zone != zone {
		t.Errorf("created %s shows %q in zone %q, want %q in %s", stamp.Datetime, stamp.Text, stamp.Zone, want, zone)
	}
	if !strings.HasSuffix(stamp.Title, "UTC") || !strings.Contains(stamp.Title, created.UTC().Format("15:04:05")) {
		t.Errorf("title %q: want the UTC time", stamp.Title)
	}
	if !strings.Contains(stamp.Note, zone) {
		t.Errorf("the page says %q: want it to name %s", stamp.Note, zone)
	}
	// The Prague hotel's times are Prague's, and say so.
	var prague struct{ Datetime, Text string }
	run("read a Prague time",
		into(chromedp.Evaluate[struct{ Datetime, Text string }](`(() => {
			const el = document.querySelector("#c-`+pragueID+` td[data-label=Created] time");
			return {Datetime: el.getAttribute("datetime"), Text: el.textContent};
		})()`), &prague),
	)
	praha, err := time.LoadLocation("Europe/Prague")
	must(t, err)
	pc, err := time.Parse(time.RFC3339, prague.Datetime)
	must(t, err)
	if want := localClock(pc, time.Now(), praha) + " " + pc.In(praha).Format("MST"); prague.Text != want {
		t.Errorf("the Prague hotel's command shows %q, want %q", prague.Text, want)
	}

	// Filters take local times. Read as UTC, "from an hour ahead in New
	// York" would be hours in the past and match everything.
	count := func(from, to string) int {
		t.Helper()
		var n int
		run("filter "+from+" "+to,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("f-from")),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("f-from").value = %q; document.getElementById("f-to").value = %q`, from, to)),
			submit(`.filters button[type="submit"]`),
			into(chromedp.Evaluate[int](`document.querySelectorAll("#queue-rows tr[data-id]").length`), &n),
		)
		return n
	}
	local := func(d time.Duration) string { return time.Now().Add(d).In(ny).Format("2006-01-02T15:04") }
	if n := count(local(2*time.Hour), ""); n != 0 {
		t.Errorf("created from two hours ahead, New York time: %d rows, want none", n)
	}
	if n := count("", local(time.Hour)); n != 6 {
		t.Errorf("created before an hour ahead, New York time: %d rows, want all 6", n)
	}
	var label string
	run("the filter names the zone", into(chromedp.Text(chromedp.CSS(`label[for="f-from"]`)), &label))
	if !strings.Contains(label, zone) {
		t.Errorf("filter label %q: want it to name %s", label, zone)
	}

	// Search by a part of an id, in capitals as someone might read it out.
	part := strings.ToUpper(cmdID[len(cmdID)-6:])
	var rows []string
	run("search by part of an id",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("f-q")),
		chromedp.SendKeys(chromedp.ID("f-q"), part),
		submit(`.filters button[type="submit"]`),
		into(chromedp.Evaluate[[]string](`[...document.querySelectorAll("#queue-rows tr[data-id]")].map(r => r.dataset.id)`), &rows),
	)
	if len(rows) != 1 || rows[0] != cmdID {
		t.Errorf("search %q: rows %v, want only %s", part, rows, cmdID)
	}
	run("search by a word of a note",
		chromedp.Navigate(base+"/?q=encoder_timeout"),
		into(chromedp.Evaluate[[]string](`[...document.querySelectorAll("#queue-rows tr[data-id]")].map(r => r.dataset.id)`), &rows),
	)
	if len(rows) != 1 || rows[0] == cmdID {
		t.Errorf("search a note: rows %v, want the cancelled key command", rows)
	}

	// One click copies the whole id.
	var copied, button string
	run("copy an id",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, Setting: cdpbrowser.PermissionSettingGranted})
			if err != nil {
				t.Logf("clipboard permission: %v", err)
			}
			return nil
		}),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#c-"+cmdID+" button[data-copy]")),
		chromedp.Evaluate[chromedp.Void](`(() => {
			const write = navigator.clipboard.writeText.bind(navigator.clipboard);
			navigator.clipboard.writeText = text => { window.__copied = text; return write(text); };
		})()`),
		chromedp.Click(chromedp.CSS("#c-"+cmdID+" button[data-copy]")),
		// The button says "Copied" for 1.5 s only: read it in the poll that
		// sees it change, not in a later round trip a loaded machine may
		// delay past that.
		into(chromedp.Poll[string](`(t => t !== "Copy" && t)(document.querySelector("#c-`+cmdID+` button[data-copy]").textContent)`,
			chromedp.WithPollingTimeout(30*time.Second)), &button),
		into(chromedp.Evaluate[string](`window.__copied || ""`), &copied),
	)
	if copied != cmdID || button != "Copied" {
		t.Errorf("copy: wrote %q and says %q, want %s and Copied", copied, button, cmdID)
	}

	// No sideways scrolling, at a desk's tablet and a phone.
	pages := []struct{ name, path, ready string }{
		{"queue", "/", "#c-" + cmdID},
		{"command", "/commands/" + cmdID, ".history"},
		{"devices", "/devices", ".devices"},
		{"health", "/health", ".tiles"},
	}
	fits(t, run, shot, base, pages)
}

// fits checks at a desk's screen, a tablet and a phone that nothing on the
// pages scrolls sideways and no value is squeezed to a few characters a
// line, and keeps a screenshot of each.
func fits(t *testing.T, run func(string, ...chromedp.Action[chromedp.Void]), shot *shots, base string, pages []struct{ name, path, ready string }) {
	t.Helper()
	for _, width := range []int64{1280, 768, 390} {
		for _, p := range pages {
			var fit struct {
				Scroll, Inner int
				Wide          []string
				Narrow        []string
			}
			run(fmt.Sprintf("%s at %d px", p.name, width),
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(base+p.path),
				chromedp.WaitVisible(chromedp.CSS(p.ready)),
				into(chromedp.Evaluate[struct {
					Scroll, Inner int
					Wide          []string
					Narrow        []string
				}](`(() => ({
					Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth,
					// a table or card that scrolls inside itself counts too
					Wide: [...document.querySelectorAll(".tablewrap, .card, main, .grid")]
						.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className + " " + e.scrollWidth + ">" + e.clientWidth),
					// a value squeezed to a few characters a line
					Narrow: [...document.querySelectorAll("dl.kv dd, .grid td")]
						.filter(e => e.textContent.trim().length > 8 && e.getBoundingClientRect().width < 56)
						.map(e => e.textContent.trim().slice(0, 30) + " " + Math.round(e.getBoundingClientRect().width) + "px"),
				}))()`), &fit),
				shot.take(fmt.Sprintf("tablet-%s-%d", p.name, width)),
			)
			if fit.Scroll > fit.Inner {
				t.Errorf("%s at %d px: the page is %d px wide, the window %d: it scrolls sideways", p.name, width, fit.Scroll, fit.Inner)
			}
			if len(fit.Wide) > 0 {
				t.Errorf("%s at %d px: these scroll sideways inside: %v", p.name, width, fit.Wide)
			}
			if len(fit.Narrow) > 0 {
				t.Errorf("%s at %d px: values squeezed narrow: %v", p.name, width, fit.Narrow)
			}
		}
	}
}
