// Package hubtest is the test kit every test of the project uses: one way
// to start a hub (in this process, or as a `bellhop serve` process), build
// the bellhop binary, create a tenant, run an agent process, reach the test
// PostgreSQL and wait for a condition.
//
// A second copy of one of these in a test file is a sign to move the first
// one here.
//
// Environment:
//
//	BELLHOP_TEST_STORE=postgres    hubs started with Start use a fresh schema of the test PostgreSQL
//	BELLHOP_TEST_DATABASE_URL      the test PostgreSQL (default: postgres@127.0.0.1:5432/test)
//	BELLHOP_TEST_LOG=1             hubs in this process log to stderr (they are quiet by default)
//	CI                             a test whose outside component is missing fails instead of skipping
package hubtest

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// Eventually calls cond every 10 ms until it reports true, and fails the test
// with cond's last explanation once within has passed. It is the one way
// tests wait for a condition they cannot be told about.
func Eventually(tb testing.TB, within time.Duration, cond func() (ok bool, why string)) {
	tb.Helper()
	var why string
	if !Poll(within, func() (ok bool) { ok, why = cond(); return ok }) {
		tb.Fatalf("gave up after %v: %s", within, why)
	}
}

// Poll calls cond every 10 ms until it reports true or within has passed,
// and reports whether it did: Eventually for a test that goes on to
// report in detail what did not happen.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// Unavailable reports that an outside component the test needs (a
// PostgreSQL server, Chromium, CUPS) is missing: the test is skipped, or
// fails when CI is set, where everything must be there.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Logger is the logger of code under test: it discards everything unless
// BELLHOP_TEST_LOG is set, because hubs and agents log every connection.
func Logger() *slog.Logger {
	if os.Getenv("BELLHOP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Buffer is a bytes.Buffer that goroutines may write concurrently: the
// stdout or stderr of code under test, where loggers and progress lines
// write from their own goroutines (a terminal's file is safe for that, a
// bytes.Buffer is not).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
