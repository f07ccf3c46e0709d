package ipp

import (
	"context"
	"encoding/base64"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

// notes records what a driver says through Job.Note.
type notes struct {
	mu   sync.Mutex
	said []string
}

func (n *notes) add(s string) { n.mu.Lock(); n.said = append(n.said, s); n.mu.Unlock() }

func (n *notes) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.said...)
}

// cupsJob is a print job that gives up after giveUp, recording its notes.
func cupsJob(id string, doc []byte, giveUp time.Duration, n *notes) driver.Job {
	j := drivertest.PrinterJob(id, doc, 1)
	j.GiveUpAt = time.Now().Add(giveUp)
	j.Note = n.add
	return j
}

func TestCUPSPrints(t *testing.T) {
	t.Parallel()
	q := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{})
	d := open(t, q.URI)
	res, err := d.Run(context.Background(), cupsJob("cmd-cups", drivertest.PDF, time.Minute, &notes{}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.HasPrefix(res.Notes, "printed 1 copies (application/pdf), IPP job ") {
		t.Errorf("notes %q", res.Notes)
	}
	// cups-pdf writes its file when the job completes, which is when Run returns.
	files := q.Printed(t)
	if len(files) != 1 {
		t.Fatalf("cups-pdf wrote %v", files)
	}
	if b, _ := os.ReadFile(files[0]); !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("%s is not a PDF", files[0])
	}
}

// TestCUPSStopsDamagedPDF prints what the README once gave as demo data
// (the first line of a PDF and nothing else): CUPS' filter fails, the job
// stops, and the driver says so in CUPS' words at once, then gives up at
// GiveUpAt and cancels the job so that the queue moves on.
func TestCUPSStopsDamagedPDF(t *testing.T) {
	t.Parallel()
	q := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{})
	d := open(t, q.URI)
	damaged, _ := base64.StdEncoding.DecodeString("JVBERi0xLjQK")
	var n notes
	start := time.Now()
	_, err := d.Run(context.Background(), cupsJob("cmd-damaged", damaged, 2*time.Second, &n))
	took := time.Since(start)
	if err == nil || driver.IsNotDone(err) {
		t.Fatalf("Run = %v, want a final error", err)
	}
	for _, want := range []string{"cancelled", "gave up", "job stopped"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// CUPS first says what its filter found, later only "Filter failed".
	if !strings.Contains(err.Error(), "trailer") && !strings.Contains(err.Error(), "Filter failed") {
		t.Errorf("error %q does not quote CUPS", err)
	}
	// On a loaded machine the filter may say what it found (the stall
	// note) seconds before CUPS stops the job: the stop need not be the
	// first note, only reported before giving up.
	if said := n.all(); !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "job stopped") }) {
		t.Errorf("notes %q, want the stop reported before giving up", said)
	}
	// GiveUpAt plus the trouble grace is 7 s; without giving up, Run
	// would wait ten times the 5 s timeout.
	if took > 40*time.Second {
		t.Errorf("gave up after %v", took)
	}
	if jobs := q.Jobs(t); len(jobs) != 0 {
		t.Errorf("jobs left in the queue: %v", jobs)
	}
}

// TestCUPSPausedAndRejecting: a paused queue and one that rejects jobs get
// no job at all, and the error says the device did not act, so that the
// agent may try again; a resumed queue prints.
func TestCUPSPausedAndRejecting(t *testing.T) {
	t.Parallel()
	paused := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{Paused: "Out of paper, back at 3"})
	rejecting := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{Rejecting: "Printer being replaced"})
	for q, want := range map[*drivertest.CUPSQueue]string{paused: "is paused", rejecting: "is not accepting jobs"} {
		_, err := open(t, q.URI).Run(context.Background(), cupsJob("cmd-"+q.Name, drivertest.PDF, time.Minute, &notes{}))
		if !driver.IsNotDone(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Run = %v, want a not-done error saying %q", q.Name, err, want)
		}
		if jobs := q.Jobs(t); len(jobs) != 0 {
			t.Errorf("%s: jobs %v, want none", q.Name, jobs)
		}
	}
	for q, words := range map[*drivertest.CUPSQueue]string{paused: "Out of paper, back at 3", rejecting: "Printer being replaced"} {
		_, err := open(t, q.URI).Run(context.Background(), cupsJob("cmd", drivertest.PDF, time.Minute, &notes{}))
		if err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("%s: error %v does not quote CUPS (%q)", q.Name, err, words)
		}
	}
	paused.Resume(t)
	if _, err := open(t, paused.URI).Run(context.Background(), cupsJob("cmd-resumed", drivertest.PDF, time.Minute, &notes{})); err != nil {
		t.Fatalf("after cupsenable: %v", err)
	}
	if len(paused.Printed(t)) != 1 {
		t.Errorf("printed %v", paused.Printed(t))
	}
}

// TestCUPSUnreachableBackend: CUPS takes the job but its backend cannot
// reach the printer; CUPS keeps the job "processing" and says why in the
// printer's message. The driver reports that message once nothing moves,
// then gives up and cancels the job.
func TestCUPSUnreachableBackend(t *testing.T) {
	t.Parallel()
	q := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{DeviceURI: "socket://127.0.0.1:1"})
	d := open(t, q.URI)
	var n notes
	_, err := d.Run(context.Background(), cupsJob("cmd-unreachable", drivertest.PDF, 6*time.Second, &n))
	if err == nil || driver.IsNotDone(err) || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("Run = %v, want a final error that gave up", err)
	}
	said := n.all()
	if len(said) == 0 || !strings.Contains(err.Error(), said[len(said)-1]) {
		t.Errorf("notes %q; error %q should end with the last one", said, err)
	}
	t.Logf("CUPS said %q; error %q", said, err)
	if jobs := q.Jobs(t); len(jobs) != 0 {
		t.Errorf("jobs left in the queue: %v", jobs)
	}
}

// TestREADMEDemoPrints prints the README's demo command data on a CUPS
// queue: the document staff try first must print.
func TestREADMEDemoPrints(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"FileData":"([A-Za-z0-9+/=]+)"`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("no FileData in the README")
	}
	doc, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatalf("the README's FileData: %v", err)
	}
	q := drivertest.StartCUPSQueue(t, drivertest.CUPSOptions{})
	if _, err := open(t, q.URI).Run(context.Background(), cupsJob("cmd-readme", doc, 30*time.Second, &notes{})); err != nil {
		t.Fatalf("the README's demo PDF does not print: %v", err)
	}
	if n := len(q.Printed(t)); n != 1 {
		t.Errorf("cups-pdf wrote %d files", n)
	}
}
