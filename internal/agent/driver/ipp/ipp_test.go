package ipp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/pdf"
)

func open(t *testing.T, uri string) *Driver {
	t.Helper()
	d, err := New(uri, driver.Options{PollInterval: 20 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Driver)
}

func TestPrintPDFOnIPPEverywhere(t *testing.T) {
	t.Parallel()
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{})
	d := open(t, p.URI)
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var progress drivertest.Progress
	job := drivertest.PrinterJob("cmd-print", drivertest.PDF, 2)
	job.Progress = progress.Func()
	res, err := d.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Notes != "printed 2 copies (application/pdf), IPP job 1" {
		t.Errorf("Notes = %q", res.Notes)
	}
	if !slices.IsSorted(progress.Values) || progress.Values[len(progress.Values)-1] != 1 {
		t.Errorf("progress = %v, want rising to 1", progress.Values)
	}
	spooled := p.SpooledFiles(t)
	i := slices.IndexFunc(spooled, func(s string) bool { return strings.HasSuffix(s, "cmd-print.pdf") })
	if i < 0 {
		t.Fatalf("no spooled PDF in %v", spooled)
	}
	if b, _ := os.ReadFile(spooled[i]); string(b) != string(drivertest.PDF) {
		t.Errorf("spooled file %s is not the document we sent", filepath.Base(spooled[i]))
	}
}

// TestRasterOnlyPrinter prints a PDF on IPP Everywhere printers that take
// no PDF, only PWG raster or only Apple raster (URF): the driver draws the
// page and sends raster, which CUPS' own reader (cups-filters'
// rastertopdf) turns back into a page that agrees with poppler's drawing
// of the original.
func TestRasterOnlyPrinter(t *testing.T) {
	t.Parallel()
	for _, format := range []string{formatPWG, formatURF} {
		p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{Formats: []string{format}})
		d := open(t, p.URI)
		d.opts.CacheDir = drivertest.RenderCache()
		res, err := d.Run(context.Background(), drivertest.PrinterJob("cmd-raster", receipt, 1))
		if err != nil {
			t.Fatalf("%s: Run: %v", format, err)
		}
		if !strings.Contains(res.Notes, "("+format+")") {
			t.Errorf("%s: notes %q", format, res.Notes)
		}
		ext := map[string]string{formatPWG: ".pwg", formatURF: ".urf"}[format]
		spooled := slices.DeleteFunc(p.SpooledFiles(t), func(f string) bool { return !strings.HasSuffix(f, ext) })
		if len(spooled) != 1 {
			t.Fatalf("%s: spooled %v", format, p.SpooledFiles(t))
		}
		back := drivertest.RasterToPDF(t, spooled[0])
		ours := drivertest.Poppler(t, back, 1, drivertest.PopplerSize{DPI: 100})
		ref := drivertest.Poppler(t, receipt, 1, drivertest.PopplerSize{DPI: 100})
		if ours.Bounds() != ref.Bounds() {
			t.Fatalf("%s: the page came back %v, the original is %v", format, ours.Bounds(), ref.Bounds())
		}
		same, inkNear := drivertest.Agreement(ours, ref)
		t.Logf("%s through rastertopdf vs pdftoppm: %.2f%% of pixels agree; %.1f%% of ink within one pixel", format, 100*same, 100*inkNear)
		if same < 0.99 || inkNear < 0.9 {
			t.Errorf("%s: %.2f%% agree, %.1f%% of ink near; want 99%% and 90%%", format, 100*same, 100*inkNear)
		}
	}
}

// receipt is a text page as hotels print them.
var receipt = pdf.Text("Hotel Bellhop", "Room 101 - 2 nights", "Total 148.00 EUR")

// TestPrintOptions maps options to IPP attributes the printer lists, and
// refuses others, naming what the printer supports, before sending a job.
func TestPrintOptions(t *testing.T) {
	t.Parallel()
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{})
	d := open(t, p.URI)
	d.opts.Print = driver.PrintOptions{Media: "iso_a4_210x297mm", Tray: "manual"}
	job := drivertest.PrinterJob("cmd-options", drivertest.PDF, 1)
	if _, err := d.Run(context.Background(), job); err != nil {
		t.Fatalf("Run with media and tray: %v", err)
	}
	job = drivertest.PrinterJob("cmd-duplex", drivertest.PDF, 1)
	job.Data = []byte(strings.Replace(string(job.Data), `{"CopyCount"`, `{"Options":{"Sides":"two-sided-long-edge","ColorMode":"color"},"CopyCount"`, 1))
	_, err := d.Run(context.Background(), job)
	for _, want := range []string{`does not support sides "two-sided-long-edge" (supported: one-sided)`, `color_mode "color" (supported: monochrome)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run = %v, want it to say %s", err, want)
		}
	}
	if n := len(slices.DeleteFunc(p.SpooledFiles(t), func(f string) bool { return !strings.HasSuffix(f, ".pdf") })); n != 1 {
		t.Errorf("%d jobs reached the printer, want 1 (the refused one never leaves)", n)
	}
	desc, err := d.Describe(context.Background())
	if err != nil || !strings.Contains(desc, "idle") || !strings.Contains(desc, "trays auto,main,manual") || !strings.Contains(desc, "sends PDF") {
		t.Errorf("Describe = %q, %v", desc, err)
	}
}

func TestUnreachablePrinter(t *testing.T) {
	t.Parallel()
	d := open(t, "ipp://127.0.0.1:1/ipp/print")
	for name, err := range map[string]error{
		"Check": d.Check(context.Background()),
		"Run": func() error {
			_, err := d.Run(context.Background(), drivertest.PrinterJob("c", drivertest.PDF, 1))
			return err
		}(),
	} {
		if err == nil || !strings.Contains(err.Error(), "ipp: Get-Printer-Attributes ipp://127.0.0.1:1/ipp/print") ||
			!strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s = %v, want a connection refused error naming the printer", name, err)
		}
	}
}

// TestCancelSendsCancelJob runs a job whose print command hangs, cancels the
// context once the printer reports it processing, and expects the job to
// end canceled at the printer.
func TestCancelSendsCancelJob(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "slow-print")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{Command: script})
	d := open(t, p.URI)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := drivertest.PrinterJob("cmd-cancel", drivertest.PDF, 1)
	job.Progress = func(f float64) {
		if f > 0 {
			cancel() // the printer is processing the job
		}
	}
	_, err := d.Run(ctx, job)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "ipp: job 1 cancelled") {
		t.Fatalf("Run = %v, want a cancelled job wrapping context.Canceled", err)
	}
	if driver.IsNotDone(err) {
		t.Errorf("Run = %v: a job the printer kept processing may have printed, yet it is marked not done", err)
	}
	// RFC 8011 4.3.3: a printer may keep a cancelled job processing with
	// processing-to-stop-point until it reaches a point where it can stop;
	// ippeveprinter does so while its print command runs.
	st, err := d.jobState(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.state != jobCanceled && !slices.Contains(st.reasons, "processing-to-stop-point") {
		t.Errorf("job at the printer: state %d, reasons %v; want it canceled or stopping", st.state, st.reasons)
	}
}

func TestNewRejectsBadTargets(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"ipp://", "http://printer/ipp/print", "ipp:printer", "ipp://%zz"} {
		if _, err := New(target, driver.Options{}); err == nil {
			t.Errorf("New(%q) succeeded", target)
		}
	}
	d, err := New("IPPS://printer", driver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*Driver); got.printerURI != "ipps://printer:631/ipp/print" || got.httpURL != "https://printer:631/ipp/print" {
		t.Errorf("printer-uri %q, http %q", got.printerURI, got.httpURL)
	}
}

func TestCopiesAndFormatChoice(t *testing.T) {
	t.Parallel()
	a := printerAttrs{formats: []string{"application/octet-stream", "image/pwg-raster"}, copiesMax: 1}
	if a.supportsCopies(2) || !a.supportsCopies(1) {
		t.Error("copies-supported 1-1 must send separate jobs for 2 copies")
	}
	if !a.wantsRaster("application/pdf") {
		t.Error("a printer of octet-stream and PWG raster must get raster")
	}
	if got := a.format("application/pdf"); got != "application/octet-stream" {
		t.Errorf("format = %q, want application/octet-stream when pdf is unsupported", got)
	}
	if got := (printerAttrs{formats: []string{"image/pwg-raster"}}).format("application/pdf"); got != "application/pdf" {
		t.Errorf("format = %q, want the command's own so the printer's refusal names it", got)
	}
}

// TestCancelConfirmedIsNotDone cancels a job the printer is printing and
// lets the printer reach its stop point: it confirms the job canceled with
// nothing printed, so the error says the device did not act.
func TestCancelConfirmedIsNotDone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	script := filepath.Join(dir, "held-print")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile [ ! -f "+release+" ]; do sleep 0.05; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{Command: script})
	d := open(t, p.URI)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := drivertest.PrinterJob("cmd-cancel", drivertest.PDF, 1)
	job.Progress = func(f float64) {
		if f > 0 {
			cancel() // the printer is printing the job
		}
	}
	go func() {
		// The printer stops once Cancel-Job reached it.
		waitOutput(p, "Cancel-Job successful-ok")
		_ = os.WriteFile(release, nil, 0o644)
	}()
	_, err := d.Run(ctx, job)
	if !errors.Is(err, context.Canceled) || !driver.IsNotDone(err) || !strings.Contains(err.Error(), "before it printed") {
		t.Fatalf("Run = %v, want a job cancelled before it printed, marked not done", err)
	}
}

// waitOutput waits until the printer logged want.
func waitOutput(p *drivertest.IPPPrinter, want string) {
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the printer's log with a deadline
	}
}
