//go:build unix

package sqlite_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// openFromHelper is set in the environment of this test binary when it runs
// as another process that opens the database at its value (TestOneProcess).
const openFromHelper = "BELLHOP_SQLITE_OPEN_FROM_HELPER"

// TestOneProcess: while a store has the database open, another process that
// opens it is refused with ErrInUse within its busy timeout, and the store's
// WAL index is in its heap (no -shm file); once the store is closed, the
// other process opens it. Within the process, more connections are fine (the
// store's own readers and checkpointer, and TestLifecyclePages' plain one).
func TestOneProcess(t *testing.T) {
	if path := os.Getenv(openFromHelper); path != "" {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path, BusyTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return
	}
	path := filepath.Join(t.TempDir(), "bellhop.db")
	s := open(t, sqlite.Config{Path: path})
	e := bellhop.Enterprise{ID: bellhop.NewID(), Name: "Hotel", CreatedUtc: time.Now().UTC()}
	if err := s.CreateEnterprise(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-shm"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s-shm: %v; want no file: the WAL index belongs in the process", path, err)
	}

	other := func() (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOneProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), openFromHelper+"="+path)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := other()
	if err == nil || !strings.Contains(out, sqlite.ErrInUse.Error()) {
		t.Fatalf("another process opened the database the store holds: %v\n%s", err, out)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := other(); err != nil {
		t.Fatalf("another process could not open the database after Close: %v\n%s", err, out)
	}
	got, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if _, err := got.GetEnterprise(t.Context(), e.ID); err != nil {
		t.Errorf("the enterprise written before: %v", err)
	}
}
