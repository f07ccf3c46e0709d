package drivertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// CUPSQueue is a print queue on the machine's CUPS scheduler, made for one
// test and deleted at its end.
type CUPSQueue struct {
	Name string
	URI  string // ipp://localhost:631/printers/<Name>
	// OutDir is where a cups-pdf queue writes what it printed.
	OutDir string
}

// CUPSOptions configure StartCUPSQueue; the zero value is a working
// cups-pdf queue (a virtual printer that writes PDF files).
type CUPSOptions struct {
	// DeviceURI replaces the cups-pdf backend, e.g. socket://127.0.0.1:1
	// for a printer that cannot be reached.
	DeviceURI string
	// Paused disables the queue with this reason (cupsdisable -r): jobs are
	// accepted but wait.
	Paused string
	// Rejecting makes the queue refuse jobs with this reason (cupsreject -r).
	Rejecting string
}

var cupsQueues atomic.Int64

// StartCUPSQueue creates a queue on the local CUPS scheduler (Debian
// packages cups and printer-driver-cups-pdf), starting cupsd when it is not
// running, and deletes the queue, its jobs and its files at cleanup. Queue
// names are unique per process and test, because the scheduler is shared
// by everything on the machine. Without CUPS, or when not root (creating
// queues needs it), the test is skipped, or fails when CI is set.
func StartCUPSQueue(tb testing.TB, opts CUPSOptions) *CUPSQueue {
	tb.Helper()
	need(tb, "cupsd", "lpadmin", "cupsdisable", "cupsreject")
	if _, err := os.Stat("/usr/lib/cups/backend/cups-pdf"); err != nil {
		skipOrFail(tb, "the cups-pdf backend is not installed (apt-get install printer-driver-cups-pdf)")
	}
	if os.Geteuid() != 0 {
		skipOrFail(tb, "creating CUPS queues needs root")
	}
	cupsOnce.Do(func() { cupsErr = startCUPS() })
	if cupsErr != nil {
		tb.Fatalf("cupsd: %v", cupsErr)
	}
	name := fmt.Sprintf("bellhop-%s-%d-%d", queueSafe(tb.Name()), os.Getpid(), cupsQueues.Add(1))
	// cups-pdf writes as an unprivileged user, which cannot enter a test's
	// private temporary directory: its output goes to a directory of its own.
	out, err := os.MkdirTemp("", "bellhop-cups-pdf-")
	must(tb, err)
	tb.Cleanup(func() { _ = os.RemoveAll(out) })
	must(tb, os.Chmod(out, 0o777))
	q := &CUPSQueue{Name: name, URI: "ipp://localhost:631/printers/" + name, OutDir: out}
	// cups-pdf reads a configuration of its own per queue:
	// cups-pdf-<name>.conf names the output directory.
	conf := filepath.Join("/etc/cups", "cups-pdf-"+name+".conf")
	must(tb, os.WriteFile(conf, fmt.Appendf(nil, "Out %s\nAnonDirName %s\nLabel 0\n", q.OutDir, q.OutDir), 0o644))
	device := opts.DeviceURI
	if device == "" {
		device = "cups-pdf:/" + name
	}
	tb.Cleanup(func() {
		_ = exec.Command("cancel", "-a", "-x", name).Run()
		_ = exec.Command("lpadmin", "-x", name).Run()
		_ = os.Remove(conf)
	})
	run(tb, "lpadmin", "-p", name, "-E", "-v", device, "-m", "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd",
		"-o", "printer-error-policy=retry-job")
	if opts.Paused != "" {
		run(tb, "cupsdisable", "-r", opts.Paused, name)
	}
	if opts.Rejecting != "" {
		run(tb, "cupsreject", "-r", opts.Rejecting, name)
	}
	return q
}

// Resume enables a paused queue (cupsenable).
func (q *CUPSQueue) Resume(tb testing.TB) { tb.Helper(); run(tb, "cupsenable", q.Name) }

// Printed lists the PDF files the cups-pdf queue wrote so far.
func (q *CUPSQueue) Printed(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(q.OutDir, "*.pdf"))
	must(tb, err)
	return files
}

// Jobs lists the queue's jobs not completed ("lpstat -o"), one per line.
func (q *CUPSQueue) Jobs(tb testing.TB) []string {
	tb.Helper()
	out, _ := exec.Command("lpstat", "-o", q.Name).Output()
	return strings.Fields(strings.TrimSpace(string(out)))
}

var (
	cupsOnce sync.Once
	cupsErr  error
)

// startCUPS starts the scheduler when nothing answers on localhost:631.
func startCUPS() error {
	if c, err := net.DialTimeout("tcp", "localhost:631", time.Second); err == nil {
		c.Close()
		return nil
	}
	if out, err := exec.Command("cupsd").CombinedOutput(); err != nil {
		return fmt.Errorf("starting cupsd: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "localhost:631", time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cupsd does not listen on localhost:631: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

var unsafeQueue = regexp.MustCompile(`[^A-Za-z0-9_]+`)

func queueSafe(s string) string {
	s = unsafeQueue.ReplaceAllString(s, "_")
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return s
}

// need skips (or fails under CI) when a program is missing.
func need(tb testing.TB, programs ...string) {
	tb.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			skipOrFail(tb, p+" not installed (apt-get install cups printer-driver-cups-pdf)")
		}
	}
}

func skipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
