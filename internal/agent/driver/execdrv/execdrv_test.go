package execdrv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, target string, timeout time.Duration) (driver.Result, error) {
	t.Helper()
	d, err := New(target, driver.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
}

func TestProgramGetsTheJob(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "stdin.json")
	p := script(t, `cat > "$2"; echo "  $1 $BELLHOP_COMMAND_ID $BELLHOP_DEVICE_TYPE"`)
	d, err := New("exec:"+p+" encode "+out, driver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
	if err != nil || res.Notes != "encode cmd-1 KeyCutter" {
		t.Fatalf("Run = %q, %v", res.Notes, err)
	}
	b, _ := os.ReadFile(out)
	if req, err := drivertest.DecodeRequest(b); err != nil || req.Id != "cmd-1" || req.Device.Id != "dev-keys" {
		t.Errorf("stdin = %s (%v)", b, err)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	// Only the timeout case has a short timeout: on a loaded machine the
	// others may take longer than 200 ms to run.
	for name, tc := range map[string]struct {
		body, err string
		timeout   time.Duration
	}{
		"non-zero exit": {`echo noise; echo "early line" >&2; echo "encoder jammed" >&2; exit 3`, "exited with status 3: early line\nencoder jammed", 30 * time.Second},
		"timeout":       {`sleep 30 & wait`, "killed after the 200ms timeout", 200 * time.Millisecond},
		"stderr tail":   {`head -c 5000 /dev/zero | tr '\0' a >&2; echo END >&2; exit 1`, strings.Repeat("a", 1020) + "END", 30 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := run(t, "exec:"+script(t, tc.body), tc.timeout)
			if err == nil || !strings.HasSuffix(err.Error(), tc.err) {
				t.Errorf("Run = %v, want it to end with %q", err, tc.err)
			}
			if time.Since(start) > 5*time.Second {
				t.Error("Run waited for the killed program's children")
			}
		})
	}
}

func TestCancelKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p := script(t, `sleep 30 & echo $! > `+pidFile+`; wait`)
	d, err := New("exec:"+p, driver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := d.Run(ctx, drivertest.KeyCutterJob("cmd-1", "")); done <- err }()
	var pid int
	waitFor(t, func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	waitFor(t, func() bool { return !alive(pid) })
}

// alive reports whether pid runs; a zombie nobody reaped yet counts as dead.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	plain := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(plain, []byte("x"), 0o644)
	for _, target := range []string{"exec:" + plain, "exec:/does/not/exist", "exec:" + t.TempDir()} {
		d, err := New(target, driver.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Check(context.Background()); err == nil {
			t.Errorf("Check(%s) succeeded", target)
		}
	}
	if _, err := New("exec:  ", driver.Options{}); err == nil {
		t.Error("New accepted a target without a program")
	}
}

func TestQuotedProgramPathAndArguments(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "Program Files", "Vendor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "encode tool")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nprintf '%s|' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := New(`exec:"`+p+`" --room "Front desk" --say "a ""quoted"" word" C:\keys\`, driver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
	if want := `--room|Front desk|--say|a "quoted" word|C:\keys\|`; err != nil || res.Notes != want {
		t.Fatalf("Run = %q, %v; want %q", res.Notes, err, want)
	}
	if _, err := New(`exec:"`+p, driver.Options{}); err == nil || !strings.Contains(err.Error(), "not closed") {
		t.Errorf("New with an open quote = %v", err)
	}
}
