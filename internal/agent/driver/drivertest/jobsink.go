package drivertest

import (
	"io"
	"maps"
	"net"
	"sync"
	"testing"
)

// JobSink is a raw 9100 printer that keeps what each connection carried,
// so that a test can tell which command a print belongs to and how many
// times it was printed.
type JobSink struct {
	l    net.Listener
	mu   sync.Mutex
	jobs map[string]int
}

// StartJobSink listens on a free loopback port until the test ends.
func StartJobSink(tb testing.TB) *JobSink {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("job sink: %v", err)
	}
	s := &JobSink{l: l, jobs: map[string]int{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				if len(b) > 0 {
					s.mu.Lock()
					s.jobs[string(b)]++
					s.mu.Unlock()
				}
			})
		}
	})
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	return s
}

// Addr is host:port of the sink.
func (s *JobSink) Addr() string { return s.l.Addr().String() }

// Jobs returns, per content received, how many connections carried it
// (a cut-off write is content of its own).
func (s *JobSink) Jobs() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.jobs)
}
