package drivertest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TCPSink is a raw 9100 printer: it accepts connections, counts the bytes
// it reads until the client half-closes, then closes its side.
type TCPSink struct {
	l        net.Listener
	mu       sync.Mutex
	bytes    int64
	conns    int
	received [][]byte      // what each finished connection carried
	changed  chan struct{} // closed and replaced on every change
	stall    bool
	keepOpen bool
}

// StartKeepOpenSink is a TCPSink that reads everything but never closes
// its side, as some printers do: bytes count as they arrive, and a
// connection counts as finished once the client half-closes.
func StartKeepOpenSink(tb testing.TB) *TCPSink {
	tb.Helper()
	return startSink(tb, &TCPSink{keepOpen: true})
}

// Received returns the bytes of each finished connection, in the order
// they finished.
func (s *TCPSink) Received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received...)
}

// StartTCPSink listens on a free loopback port until the test ends. A
// stalling sink accepts connections but never reads or closes them until
// the test ends, so a writer blocks once the socket buffers fill: the peer
// for cancellation tests.
func StartTCPSink(tb testing.TB, stall bool) *TCPSink {
	tb.Helper()
	return startSink(tb, &TCPSink{stall: stall})
}

func startSink(tb testing.TB, s *TCPSink) *TCPSink {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("tcp sink: %v", err)
	}
	s.l, s.changed = l, make(chan struct{})
	var wg sync.WaitGroup
	done := make(chan struct{})
	tb.Cleanup(func() { close(done); l.Close(); wg.Wait() })
	wg.Go(func() { s.serve(&wg, done) })
	return s
}

// Addr is host:port of the sink.
func (s *TCPSink) Addr() string { return s.l.Addr().String() }

func (s *TCPSink) serve(wg *sync.WaitGroup, done chan struct{}) {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.update(0, 1, nil)
		wg.Go(func() {
			defer c.Close()
			if s.stall {
				// Reading even one byte would end the stall: closing a
				// socket with unread data resets it, and the writer
				// fails with ECONNRESET instead of blocking.
				<-done
				return
			}
			var buf bytes.Buffer
			if !s.keepOpen {
				_, _ = io.Copy(&buf, c)
				s.update(int64(buf.Len()), 0, buf.Bytes())
				return
			}
			chunk := make([]byte, 32<<10)
			for {
				n, err := c.Read(chunk)
				buf.Write(chunk[:n])
				s.update(int64(n), 0, nil)
				if err != nil {
					break
				}
			}
			s.update(0, 0, buf.Bytes())
			<-done // the printer keeps its side open until the test ends
		})
	}
}

func (s *TCPSink) update(n int64, conns int, finished []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += n
	s.conns += conns
	if finished != nil {
		s.received = append(s.received, finished)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Counts returns the bytes received (on finished connections, or as they
// arrive for a keep-open sink) and the number of connections accepted.
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
