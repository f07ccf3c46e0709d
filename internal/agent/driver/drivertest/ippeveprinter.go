package drivertest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// IPPPrinter is a running ippeveprinter.
type IPPPrinter struct {
	URI      string // ipp://127.0.0.1:PORT/ipp/print (ipps:// with TLS)
	SpoolDir string // where it keeps job files (-k -d)
	Port     int
	// CertFile is the self-signed certificate it made for TLS.
	CertFile string
	stop     func()
	out      *syncBuffer
}

// Output returns what the printer logged so far (one line per request,
// e.g. "Cancel-Job successful-ok").
func (p *IPPPrinter) Output() string { return p.out.String() }

// syncBuffer is a bytes.Buffer that a process writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Stop ends the printer before the test does (it is stopped at cleanup
// anyway).
func (p *IPPPrinter) Stop() { p.stop() }

// SpooledFiles lists the job files the printer has kept so far.
func (p *IPPPrinter) SpooledFiles(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir(p.SpoolDir)
	if err != nil {
		tb.Fatalf("reading spool dir: %v", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, filepath.Join(p.SpoolDir, e.Name()))
		}
	}
	return names
}

// IPPOptions configure StartIPPEverywhere; the zero value is a PDF printer
// whose jobs complete at once.
type IPPOptions struct {
	// Formats are the document formats it accepts; default
	// application/pdf and image/pwg-raster.
	Formats []string
	// Command runs for each job with the spooled file as its argument; the
	// job completes when it exits 0. Default /bin/true.
	Command string
	// TLS serves ipps with a self-signed certificate of its own (-K).
	TLS bool
	// Port is the port to listen on; zero picks a free one.
	Port int
}

// StartIPPEverywhere runs CUPS' IPP Everywhere printer simulator
// (ippeveprinter, Debian package cups-ipp-utils) on a free port and stops it
// at cleanup.
// It starts dbus and avahi-daemon first when they are not running, because
// ippeveprinter registers itself with DNS-SD. Without ippeveprinter the test
// is skipped, or fails when the CI environment variable is set.
func StartIPPEverywhere(tb testing.TB, opts IPPOptions) *IPPPrinter {
	tb.Helper()
	bin, err := exec.LookPath("ippeveprinter")
	if err != nil {
		msg := "ippeveprinter not installed (apt-get install cups-ipp-utils avahi-daemon dbus)"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	daemons.Do(func() { startDaemons(tb) })
	formats, command := opts.Formats, opts.Command
	if len(formats) == 0 {
		formats = []string{"application/pdf", "image/pwg-raster"}
	}
	if command == "" {
		command = "/bin/true"
	}
	port := opts.Port
	if port == 0 {
		port = freePort(tb)
	}
	spool := tb.TempDir()
	out := &syncBuffer{}
	args := []string{"-k", "-d", spool, "-p", strconv.Itoa(port), "-f", strings.Join(formats, ","), "-c", command}
	keys := ""
	if opts.TLS {
		keys = tb.TempDir()
		args = append(args, "-K", keys)
	}
	cmd := exec.Command(bin, append(args, fmt.Sprintf("bellhop-test-%d", port))...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second // a job command left running keeps the output pipe open
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting ippeveprinter: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if tb.Failed() {
				tb.Logf("ippeveprinter output:\n%s", out.String())
			}
		})
	}
	tb.Cleanup(stop)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	WaitListening(tb, addr, 10*time.Second)
	p := &IPPPrinter{URI: "ipp://" + addr + "/ipp/print", SpoolDir: spool, Port: port, stop: stop, out: out}
	if opts.TLS {
		p.URI = "ipps://" + addr + "/ipp/print"
		// It makes its certificate at the first handshake.
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // only to trigger it
		if err != nil {
			tb.Fatalf("TLS to ippeveprinter: %v", err)
		}
		c.Close()
		certs, _ := filepath.Glob(filepath.Join(keys, "*.crt"))
		if len(certs) != 1 {
			tb.Fatalf("ippeveprinter made certificates %v in %s, want one", certs, keys)
		}
		p.CertFile = certs[0]
	}
	return p
}

var daemons sync.Once

// startDaemons starts the system bus and avahi when they are not running;
// "already running" answers are fine, other failures only logged because
// ippeveprinter may still serve IPP without DNS-SD.
func startDaemons(tb testing.TB) {
	// A socket file left by a bus that died does not answer: start anew.
	if c, err := net.DialTimeout("unix", "/run/dbus/system_bus_socket", time.Second); err == nil {
		c.Close()
	} else if exec.Command("pgrep", "-x", "dbus-daemon").Run() != nil {
		// No bus runs (another test process may be starting one): clear
		// what a dead one left and start it.
		_ = os.MkdirAll("/run/dbus", 0o755)
		_ = os.Remove("/run/dbus/system_bus_socket")
		_ = os.Remove("/run/dbus/pid")
		if out, err := exec.Command("dbus-daemon", "--system", "--fork").CombinedOutput(); err != nil {
			tb.Logf("dbus-daemon: %v: %s", err, out)
		}
	}
	if exec.Command("avahi-daemon", "--check").Run() != nil {
		_ = os.Remove("/run/avahi-daemon/pid")
		if out, err := exec.Command("avahi-daemon", "-D").CombinedOutput(); err != nil {
			tb.Logf("avahi-daemon: %v: %s", err, out)
		}
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListening polls until addr accepts TCP connections or the deadline
// passes, which fails the test.
func WaitListening(tb testing.TB, addr string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s is not listening after %v: %v", addr, within, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}
