package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// logBuffer keeps an agent's log (info and above) for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines that contain s.
func (b *logBuffer) lines(s string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for l := range strings.Lines(b.buf.String()) {
		if strings.Contains(l, s) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// commandsTotal sums bellhop_agent_commands_total for outcome, of device
// (or of every device when device is "").
func commandsTotal(tb testing.TB, metrics, device, outcome string) float64 {
	tb.Helper()
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(metrics))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "bellhop_agent_commands_total{")
		if !ok || !strings.Contains(line, `outcome="`+outcome+`"`) || (device != "" && !strings.Contains(line, `device="`+device+`"`)) {
			continue
		}
		_, value, _ := strings.Cut(line, "} ")
		n, err := strconv.ParseFloat(value, 64)
		must(tb, err)
		sum += n
	}
	return sum
}

func status(tb testing.TB, url string) int {
	tb.Helper()
	resp, err := http.Get(url)
	must(tb, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestStateDirLock: a second agent on the same state directory is refused
// while the first holds it, and accepted once it is closed.
func TestStateDirLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dev := e.device(bellhop.KeyCutter, "Encoder")
	cfg := e.config(t.TempDir(), agent.DeviceConfig{Name: dev.Name, Driver: "folder:" + t.TempDir()})
	first, err := agent.New(cfg)
	must(t, err)
	if second, err := agent.New(cfg); err == nil || !strings.Contains(err.Error(), "in use by another agent") {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second agent on the same state dir: %v", err)
	}
	must(t, first.Close())
	third, err := agent.New(cfg)
	must(t, err)
	must(t, third.Close())
}

// TestWhatOperatorsSee runs an agent through a hub outage: one info line
// per finished command, one warning when the hub is lost, "reconnected
// after" when it is back; /readyz and /healthz follow, and the device
// names match without case, with a warning and a suggestion for the one
// the hub does not connect.
func TestWhatOperatorsSee(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dev := e.device(bellhop.KeyCutter, "Front desk encoder")
	e.device(bellhop.KeyCutter, "Kitchen printer") // connected, configured with a typo
	tmp := t.TempDir()
	script := writeScript(t, tmp, "encode.sh", "echo encoded\n")
	var logs logBuffer
	cfg := e.config(t.TempDir(),
		agent.DeviceConfig{Name: "FRONT DESK encoder", Driver: "exec:" + script},
		agent.DeviceConfig{Name: "Kitchen printr", Driver: "folder:" + t.TempDir()})
	cfg.Logger = logs.logger()
	cfg.UnreachableGrace = 300 * time.Millisecond
	a, err := agent.New(cfg)
	must(t, err)
	base := "http://" + a.HealthAddr()
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	t.Cleanup(func() {
		must(t, a.Close())
		must(t, <-done)
	})
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the agent never became ready")
	}
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		return status(t, base+"/readyz") == http.StatusOK, "readyz not 200"
	})
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		w := logs.lines("configured device not found at the hub")
		return len(w) == 1 && strings.Contains(w[0], `did you mean \"Kitchen printer\"?`), strings.Join(w, "\n")
	})

	id := e.command(dev, keyJob(1))
	if v := e.waitFinal(10*time.Second, id)[id]; v.State != bellhop.Processed {
		t.Fatalf("command: %s %q", v.State, v.Notes)
	}
	fin := logs.lines("command finished")
	if len(fin) != 1 || !strings.Contains(fin[0], "level=INFO") || !strings.Contains(fin[0], "device=\"FRONT DESK encoder\"") ||
		!strings.Contains(fin[0], "state=Processed") || !strings.Contains(fin[0], "took=") || !strings.Contains(fin[0], "notes=encoded") {
		t.Errorf("finished lines: %q", fin)
	}
	m := httpGet(t, base+"/metrics")
	if n := commandsTotal(t, m, "FRONT DESK encoder", "processed"); n != 1 {
		t.Errorf("processed for the device = %v\n", n)
	}

	// The outage.
	e.stopHub()
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		return status(t, base+"/readyz") == http.StatusServiceUnavailable, "readyz still 200 with the hub down"
	})
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		return status(t, base+"/healthz") == http.StatusServiceUnavailable, "healthz still 200 past the grace"
	})
	// Several reconnect attempts fail meanwhile.
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		return agentRequests(t, a)["websocket error"] >= 3, "fewer than 3 failed attempts"
	})
	e.startHub()
	hubtest.Eventually(t, 15*time.Second, func() (bool, string) {
		return len(logs.lines("reconnected to the hub after")) == 1, "no reconnect line"
	})
	if lost := logs.lines("cannot reach the hub"); len(lost) != 1 {
		t.Errorf("lost the hub %d times in the log, want once: %q", len(lost), lost)
	}
	if still := logs.lines("still unreachable"); len(still) != 0 {
		t.Errorf("reminders within the first minute: %q", still)
	}
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		return status(t, base+"/healthz") == http.StatusOK && status(t, base+"/readyz") == http.StatusOK, "not healthy and ready again"
	})
}

// TestDeviceNamesDifferingInCase: two devices whose names differ only in
// case are one hub device, so the configuration is refused.
func TestDeviceNamesDifferingInCase(t *testing.T) {
	t.Parallel()
	cfg := agent.Config{PlatformAddress: "http://127.0.0.1:1", ClientToken: "c", AccessToken: "a", Devices: []agent.DeviceConfig{
		{Name: "Front desk", Driver: "folder:/tmp"}, {Name: "FRONT DESK", Driver: "folder:/tmp"}}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "devices[1] (FRONT DESK): duplicate of devices[0] (Front desk)") {
		t.Errorf("Validate = %v", err)
	}
}

// TestShutdownCancelsPrintJob stops the agent while a printer prints: the
// job is cancelled at the printer, the printer confirms it stopped before
// printing, so the journal holds it as not done (not interrupted) and the
// next start prints it.
func TestShutdownCancelsPrintJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tmp := t.TempDir()
	release := filepath.Join(tmp, "release")
	script := writeScript(t, tmp, "print.sh", "while [ ! -f "+release+" ]; do sleep 0.05; done\n")
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{Command: script})
	dev := e.device(bellhop.Printer, "Front desk printer")
	stateDir := t.TempDir()
	cfg := e.config(stateDir, agent.DeviceConfig{Name: dev.Name, Driver: p.URI})
	cfg.DriverTimeout = 5 * time.Second
	var logs logBuffer
	cfg.Logger = logs.logger()

	_, stop := startAgent(t, cfg)
	id := e.command(dev, printJob("%PDF-1.4 stopped"))
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		v := e.view(id)
		return v.State == bellhop.Processing, "command is " + string(v.State)
	})
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	// The printer reaches its stop point once Cancel-Job arrived.
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		return strings.Contains(p.Output(), "Cancel-Job successful-ok"), "no Cancel-Job at the printer"
	})
	must(t, os.WriteFile(release, nil, 0o644))
	<-stopped
	if l := logs.lines("runs again after the restart"); len(l) != 1 {
		t.Fatalf("log: %s", strings.Join(logs.lines("agent:"), "\n"))
	}

	j, err := agent.OpenJournal(stateDir, time.Hour, nil)
	must(t, err)
	ent, ok := j.Get(id)
	must(t, j.Close())
	if !ok || ent.Finished() || !ent.Started.IsZero() {
		t.Fatalf("journal entry %+v (%v), want one neither started nor finished", ent, ok)
	}

	startAgent(t, cfg)
	v := e.waitFinal(15*time.Second, id)[id]
	if v.State != bellhop.Processed || !strings.Contains(v.Notes, "printed 1 copies") {
		t.Errorf("after the restart: %s %q, want Processed", v.State, v.Notes)
	}
}
