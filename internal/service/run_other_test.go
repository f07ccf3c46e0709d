//go:build !windows

package service

import (
	"context"
	"net"
	"path/filepath"
	"testing"
)

// Under systemd, Run says READY=1 when the program is ready, WATCHDOG=1
// at half the watchdog interval, and STOPPING=1 when asked to stop; the
// messages go to a real datagram socket, as systemd's.
func TestRunNotifiesSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "20000") // pings every 10 ms
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func() string {
		t.Helper()
		m, ok := <-msgs
		if !ok {
			t.Fatal("notify socket closed")
		}
		return m
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	readyCalled := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, func(ctx context.Context, ready func()) error {
			<-readyCalled
			ready()
			ready() // once is enough
			<-ctx.Done()
			return nil
		}, Options{})
	}()
	// Pings come before readiness too (the watchdog runs from the start).
	if m := next(); m != "WATCHDOG=1" {
		t.Fatalf("before ready: %q, want WATCHDOG=1", m)
	}
	close(readyCalled)
	seen := map[string]int{}
	for seen["READY=1"] == 0 || seen["WATCHDOG=1"] < 2 {
		seen[next()]++
	}
	cancel()
	for m := next(); m != "STOPPING=1"; m = next() {
		seen[m]++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if seen["READY=1"] != 1 || len(seen) != 2 {
		t.Errorf("messages %v, want READY=1 once and WATCHDOG=1", seen)
	}
}

// Without NOTIFY_SOCKET (not under systemd), Run just runs the program.
func TestRunWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	ctx, cancel := context.WithCancel(t.Context())
	err := Run(ctx, func(ctx context.Context, ready func()) error { ready(); cancel(); <-ctx.Done(); return nil }, Options{})
	if err != nil {
		t.Fatal(err)
	}
}
