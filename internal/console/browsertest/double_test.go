package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestTestDoublePages: an admin sets a fault from the Faults page, every
// page then says faults are set, the fault fires on an integration's
// request, and the Faults and Requests pages show it, at a desk's screen,
// a tablet and a phone.
func TestTestDoublePages(t *testing.T) {
	h, base, token := startHub(t)
	tn := hubtest.NewTenant(t, h.Admin, "Lock vendor with a long name", bellhop.Printer)
	sdk := h.SDK(tn)
	ctx := context.Background()
	id, err := sdk.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: "JVBERi0xLjQK", CopyCount: 1})
	must(t, err)
	tab, closeTab := newTab(t)
	defer closeTab()
	tctx, cancel := context.WithTimeout(tab, flowTimeout)
	defer cancel()
	shot := newShots(t)
	run := runner(t, tctx)

	run("an admin signs in with the admin token and sets a fault on the lock vendor's updates",
		chromedp.Navigate(base+"/signin"),
		chromedp.Click(chromedp.CSS(".token-signin summary")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		submit(`.token-signin button`),
		chromedp.WaitVisible(chromedp.CSS("main")),
		chromedp.Navigate(base+"/faults"),
		chromedp.WaitVisible(chromedp.ID("f-rate")),
		chromedp.SetValue(chromedp.ID("f-scope"), "subscription:"+tn.Subscription.Id),
		chromedp.Click(chromedp.CSS(`input[name=op][value="commands/update"]`)),
		chromedp.SendKeys(chromedp.ID("f-rate"), "100%"),
		chromedp.SendKeys(chromedp.ID("f-seed"), "42"),
		chromedp.SetValue(chromedp.ID("f-status"), "503"),
		submit(`form[action="/faults"] button`),
		chromedp.WaitVisible(chromedp.CSS(".fault-banner")),
		shot.take("double-faults-set"),
	)
	fs, err := h.Admin.Faults(ctx)
	if err != nil || len(fs) != 1 || fs[0].Seed != 42 || fs[0].Status != 503 || fs[0].SubscriptionId != tn.Subscription.Id {
		t.Fatalf("the form set %+v (%v)", fs, err)
	}
	err = sdk.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed})
	if client.StatusCode(err) != 503 {
		t.Fatalf("update through the fault: %v", err)
	}
	var firing, banner string
	run("the Faults page says what fired; the queue says faults are set",
		chromedp.Navigate(base+"/faults"),
		chromedp.WaitVisible(chromedp.CSS(".firings")),
		into(chromedp.Text(chromedp.CSS(".firings tbody tr")), &firing),
		chromedp.Navigate(base+"/"),
		into(chromedp.Text(chromedp.CSS(".fault-banner")), &banner),
	)
	if !strings.Contains(firing, "answered 503 without carrying it out") || !strings.Contains(firing, "commands/update") {
		t.Errorf("what fired: %q", firing)
	}
	if !strings.Contains(banner, "1 fault set") {
		t.Errorf("banner: %q", banner)
	}
	fits(t, run, shot, base, []struct{ name, path, ready string }{
		{"faults", "/faults", ".firings"},
		{"requests", "/requests", ".requests"},
	})
	var rows string
	run("the Requests page lists the refused update with its fault",
		chromedp.Navigate(base+"/requests?operation=commands/update"),
		into(chromedp.Text(chromedp.CSS(".requests tbody")), &rows),
	)
	if !strings.Contains(rows, "503") || !strings.Contains(rows, fs[0].Id) || strings.Contains(rows, tn.AccessToken) {
		t.Errorf("requests: %q", rows)
	}
}
