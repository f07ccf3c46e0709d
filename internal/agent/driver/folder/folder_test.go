package folder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

func open(t *testing.T, dir string, timeout time.Duration) driver.Driver {
	t.Helper()
	d, err := New("folder:"+dir, driver.Options{Timeout: timeout, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLockSystemAnswers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ ext, text, notes, err string }{
		"done":  {".done", "encoded 2 cards\n", "encoded 2 cards", ""},
		"error": {".error", "encoder offline", "", "folder: cmd-1.error answered: encoder offline"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d := open(t, dir, 5*time.Second)
			if err := d.Check(context.Background()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			seen := drivertest.AnswerFolder(t, dir, "cmd-1", tc.ext, tc.text)
			res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
			if res.Notes != tc.notes || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
				t.Errorf("Run = %q, %v; want %q, %q", res.Notes, err, tc.notes, tc.err)
			}
			if req := <-seen; req.Id != "cmd-1" || req.Device.Type != "KeyCutter" {
				t.Errorf("request file held %+v", req)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

func TestRerunDoesNotRewriteTheRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := open(t, dir, 5*time.Second)
	if !d.Repeatable() {
		t.Fatal("folder must be Repeatable")
	}
	request := filepath.Join(dir, "cmd-1.json")
	if err := os.WriteFile(request, []byte("taken by the lock system"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmd-1.done"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
	if err != nil || res.Notes != "ok" {
		t.Fatalf("Run = %q, %v", res.Notes, err)
	}
	if b, _ := os.ReadFile(request); string(b) != "taken by the lock system" {
		t.Errorf("request rewritten: %s", b)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	d := open(t, t.TempDir(), 50*time.Millisecond)
	if _, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", "")); err == nil || !strings.Contains(err.Error(), "or .error within 50ms") {
		t.Errorf("Run = %v, want a timeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Run(ctx, drivertest.KeyCutterJob("cmd-2", "")); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestRefusesBadIDsAndDirs(t *testing.T) {
	t.Parallel()
	d := open(t, t.TempDir(), time.Second)
	for _, id := range []string{"", "../x", ".hidden", `a\b`} {
		if _, err := d.Run(context.Background(), drivertest.KeyCutterJob(id, "")); err == nil {
			t.Errorf("Run accepted command id %q", id)
		}
	}
	if err := open(t, "/does/not/exist", time.Second).Check(context.Background()); err == nil {
		t.Error("Check accepted a missing directory")
	}
}
