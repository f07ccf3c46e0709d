package drivertest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TCPSink is a raw 9100 printer: it accepts connections, counts the bytes
// it reads until the client half-closes, then closes its side.
type TCPSink struct {
	l       net.Listener
	mu      sync.Mutex
	bytes   int64
	conns   int
	changed chan struct{} // closed and replaced on every change
	stall   bool
}

// StartTCPSink listens on a free loopback port until the test ends. A
// stalling sink accepts connections but never reads them, so a writer blocks
// once the socket buffers fill: the peer for cancellation tests.
func StartTCPSink(tb testing.TB, stall bool) *TCPSink {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("tcp sink: %v", err)
	}
	s := &TCPSink{l: l, changed: make(chan struct{}), stall: stall}
	var wg sync.WaitGroup
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() { s.serve(&wg) })
	return s
}

// Addr is host:port of the sink.
func (s *TCPSink) Addr() string { return s.l.Addr().String() }

func (s *TCPSink) serve(wg *sync.WaitGroup) {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.update(0, 1)
		wg.Go(func() {
			defer c.Close()
			if s.stall {
				_, _ = c.Read(make([]byte, 1)) // returns when the client goes away
				return
			}
			n, _ := io.Copy(io.Discard, c)
			s.update(n, 0)
		})
	}
}

func (s *TCPSink) update(bytes int64, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += bytes
	s.conns += conns
	close(s.changed)
	s.changed = make(chan struct{})
}

// Counts returns the bytes received on finished connections and the number
// of connections accepted.
func (s *TCPSink) Counts() (bytes int64, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.conns
}

// WaitBytes waits until n bytes have arrived on finished connections,
// failing the test after within.
func (s *TCPSink) WaitBytes(tb testing.TB, n int64, within time.Duration) {
	tb.Helper()
	s.wait(tb, within, func(b int64, _ int) bool { return b >= n })
}

// WaitConns waits until n connections have been accepted.
func (s *TCPSink) WaitConns(tb testing.TB, n int, within time.Duration) {
	tb.Helper()
	s.wait(tb, within, func(_ int64, c int) bool { return c >= n })
}

func (s *TCPSink) wait(tb testing.TB, within time.Duration, done func(bytes int64, conns int) bool) {
	tb.Helper()
	timeout := time.After(within)
	for {
		s.mu.Lock()
		b, c, changed := s.bytes, s.conns, s.changed
		s.mu.Unlock()
		if done(b, c) {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			tb.Fatalf("tcp sink: gave up after %v with %d bytes on %d connections", within, b, c)
		}
	}
}
