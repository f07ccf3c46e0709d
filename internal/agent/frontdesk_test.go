package agent_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivers"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// history returns a command's history as "State: notes" lines.
func (e *env) history(id string) []string {
	e.t.Helper()
	_, h, err := e.hub.Service.Command(context.Background(), id)
	must(e.t, err)
	var out []string
	for _, x := range h {
		out = append(out, string(x.State)+": "+x.Notes)
	}
	return out
}

// TestFrontDeskCUPS runs the agent against real CUPS queues as a hotel has
// them. A paused queue: the command waits, says why as a Processing note,
// and prints once the queue is resumed. A damaged PDF: CUPS stops the job,
// the command ends as Error in CUPS' words within give_up_after, and the
// device's next command prints.
func TestFrontDeskCUPS(t *testing.T) {
	t.Parallel()
	paused := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{Paused: "Out of paper, back at 3"})
	working := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{})
	e := newEnv(t)
	lobby := e.device(bellhop.Printer, "Lobby printer")
	office := e.device(bellhop.Printer, "Back office printer")
	startAgent(t, e.config(t.TempDir(),
		agent.DeviceConfig{Name: lobby.Name, Driver: paused.URI, GiveUpAfter: time.Minute},
		agent.DeviceConfig{Name: office.Name, Driver: working.URI, GiveUpAfter: 3 * time.Second}))

	waiting := e.command(lobby, bellhop.PrinterData{CopyCount: 1, FileType: "application/pdf",
		FileData: base64.StdEncoding.EncodeToString(drivertest.PDF)})
	damaged := e.command(office, bellhop.PrinterData{CopyCount: 1, FileType: "application/pdf", FileData: "JVBERi0xLjQK"})
	next := e.command(office, bellhop.PrinterData{CopyCount: 1, FileType: "application/pdf",
		FileData: base64.StdEncoding.EncodeToString(drivertest.PDF)})

	// The paused queue's reason reaches the hub as a Processing note. The
	// bounds here are for a machine loaded by the whole suite, where CUPS'
	// filters take seconds.
	hubtest.Eventually(t, time.Minute, func() (bool, string) {
		v := e.view(waiting)
		return v.State == bellhop.Processing && strings.Contains(v.Notes, "Out of paper, back at 3"),
			"waiting command is " + string(v.State) + " " + v.Notes
	})
	final := e.waitFinal(2*time.Minute, damaged, next)
	// CUPS first says what its filter found, later only "Filter failed".
	if v := final[damaged]; v.State != bellhop.Failed || !strings.Contains(v.Notes, "job stopped") ||
		!strings.Contains(v.Notes, "trailer") && !strings.Contains(v.Notes, "Filter failed") {
		t.Errorf("damaged PDF: %s %q, want Error in CUPS' words", v.State, v.Notes)
	}
	if v := final[next]; v.State != bellhop.Processed {
		t.Errorf("the command after it: %s %q", v.State, v.Notes)
	}

	paused.Resume(t)
	if v := e.waitFinal(2*time.Minute, waiting)[waiting]; v.State != bellhop.Processed {
		t.Errorf("after cupsenable: %s %q", v.State, v.Notes)
	}
	if n := len(paused.Printed(t)); n != 1 {
		t.Errorf("the paused queue printed %d files, want 1", n)
	}
	t.Logf("history of the waiting command: %q", e.history(waiting))
	t.Logf("history of the damaged one: %q", e.history(damaged))
}

// TestCheckPrinters: agent check prints each printer's state, what it
// says and what it can do, and fails a paused one in CUPS' words.
func TestCheckPrinters(t *testing.T) {
	t.Parallel()
	working := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{})
	paused := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{Paused: "Toner low, replaced at noon"})
	raster := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{Formats: []string{"image/pwg-raster"}})
	e := newEnv(t)
	var devs []agent.DeviceConfig
	for _, target := range []string{working.URI, paused.URI, raster.URI} {
		d := e.device(bellhop.Printer, target)
		devs = append(devs, agent.DeviceConfig{Name: d.Name, Driver: target})
	}
	results, err := agent.Check(context.Background(), e.config(t.TempDir(), devs...))
	must(t, err)
	var out strings.Builder
	failed := agent.PrintCheck(&out, results)
	t.Logf("\n%s", out.String())
	if failed != 1 {
		t.Errorf("%d checks failed, want 1 (the paused queue)", failed)
	}
	for i, want := range []string{"idle; Generic CUPS-PDF Printer (no options); sends PDF; media ", "Toner low, replaced at noon", "sends raster (takes no PDF)"} {
		got := results[1+i].Detail
		if results[1+i].Err != nil {
			got = results[1+i].Err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to say %q", devs[i].Driver, got, want)
		}
	}
}

// TestDiscover finds an IPP Everywhere printer that announced itself
// through avahi, and a local CUPS queue, each with a driver target that
// works as pasted.
func TestDiscover(t *testing.T) {
	t.Parallel()
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{})
	q := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{})
	port := p.URI[strings.LastIndex(p.URI, ":")+1 : strings.Index(p.URI, "/ipp/print")]
	var found []agent.Found
	var byName map[string]agent.Found
	// The printer registers with avahi as it starts: browse until it shows.
	hubtest.Eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		found, err = agent.Discover(context.Background(), agent.DiscoverOptions{Timeout: time.Second})
		must(t, err)
		byName = map[string]agent.Found{}
		for _, f := range found {
			byName[f.Via+" "+f.Name] = f
		}
		_, ok := byName["dns-sd _ipp._tcp bellhop-test-"+port]
		return ok, fmt.Sprintf("found %v", found)
	})
	var out strings.Builder
	agent.PrintFound(&out, found)
	t.Logf("\n%s", out.String())
	ippe := byName["dns-sd _ipp._tcp bellhop-test-"+port]
	if !strings.HasSuffix(ippe.Driver, ":"+port+"/ipp/print") || !strings.Contains(ippe.Detail, "application/pdf") {
		t.Errorf("ippeveprinter found as %+v", ippe)
	}
	cups, ok := byName["cups "+q.Name]
	if !ok || cups.Driver != q.URI || !strings.Contains(cups.Detail, "idle") {
		t.Errorf("CUPS queue found as %+v (%v)", cups, ok)
	}
	for _, f := range []agent.Found{ippe, cups} {
		drv, err := drivers.Open(f.Driver, driver.Options{})
		must(t, err)
		if err := drv.Check(context.Background()); err != nil {
			t.Errorf("%s: %v", f.Driver, err)
		}
		drv.Close()
	}
}
