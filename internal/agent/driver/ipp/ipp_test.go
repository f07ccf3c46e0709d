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

func TestPrinterRefusesDocumentFormat(t *testing.T) {
	t.Parallel()
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{Formats: []string{"image/pwg-raster"}})
	_, err := open(t, p.URI).Run(context.Background(), drivertest.PrinterJob("cmd-bad", drivertest.PDF, 1))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 0x040B {
		t.Fatalf("Run = %v, want a client-error-attributes-or-values-not-supported StatusError", err)
	}
	// The printer lists application/octet-stream, so the driver sends that;
	// ippeveprinter auto-types the data as PDF and refuses it.
	want := `ipp: Print-Job: printer answered client-error-attributes-or-values-not-supported (0x040B): ` +
		`Unsupported document-format mimeMediaType value. (unsupported: document-format="application/octet-stream")`
	if err.Error() != want {
		t.Errorf("error = %q\nwant %q", err, want)
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
	if got := a.format("application/pdf"); got != "application/octet-stream" {
		t.Errorf("format = %q, want application/octet-stream when pdf is unsupported", got)
	}
	if got := (printerAttrs{formats: []string{"image/pwg-raster"}}).format("application/pdf"); got != "application/pdf" {
		t.Errorf("format = %q, want the command's own so the printer's refusal names it", got)
	}
}
