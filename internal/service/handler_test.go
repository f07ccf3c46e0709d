package service

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// fakeManager plays the service control manager: it sends requests and
// hears statuses, as svc.Run does for a Windows service.
type fakeManager struct {
	requests chan Request
	statuses chan Status
	exit     chan uint32
}

func startFake(t *testing.T, prog Program, stopTimeout time.Duration) *fakeManager {
	t.Helper()
	m := &fakeManager{requests: make(chan Request), statuses: make(chan Status, 16), exit: make(chan uint32, 1)}
	go func() {
		m.exit <- handle(t.Context(), prog, stopTimeout, m.requests, func(s Status) { m.statuses <- s }, slog.New(slog.DiscardHandler))
	}()
	return m
}

func (m *fakeManager) expect(t *testing.T, want State) Status {
	t.Helper()
	select {
	case s := <-m.statuses:
		if s.State != want {
			t.Fatalf("status %s, want %s", s.State, want)
		}
		return s
	case code := <-m.exit:
		t.Fatalf("handler returned %d, want status %s", code, want)
	}
	return Status{}
}

func (m *fakeManager) exitCode(t *testing.T) uint32 {
	t.Helper()
	return <-m.exit
}

// serving is a program that is ready at once and stops when asked.
func serving(stopped chan<- error) Program {
	return func(ctx context.Context, ready func()) error {
		ready()
		<-ctx.Done()
		stopped <- ctx.Err()
		return nil
	}
}

func TestHandlerStartStop(t *testing.T) {
	for _, req := range []Request{Stop, Shutdown} {
		t.Run(map[Request]string{Stop: "stop", Shutdown: "shutdown"}[req], func(t *testing.T) {
			t.Parallel()
			stopped := make(chan error, 1)
			m := startFake(t, serving(stopped), time.Minute)
			if s := m.expect(t, StartPending); s.WaitHint <= 0 {
				t.Errorf("start pending without a wait hint")
			}
			m.expect(t, Running)
			m.requests <- Interrogate
			m.expect(t, Running)
			m.requests <- req
			if s := m.expect(t, StopPending); s.WaitHint != time.Minute {
				t.Errorf("stop wait hint %s, want the stop timeout", s.WaitHint)
			}
			if code := m.exitCode(t); code != ExitOK {
				t.Errorf("exit code %d after a requested stop, want %d", code, ExitOK)
			}
			if err := <-stopped; !errors.Is(err, context.Canceled) {
				t.Errorf("program's context: %v, want cancelled", err)
			}
		})
	}
}

// A program that fails, before or after it is ready, is a failure the
// manager hears about, so that its recovery actions restart it.
func TestHandlerFailure(t *testing.T) {
	t.Parallel()
	t.Run("at start", func(t *testing.T) {
		t.Parallel()
		m := startFake(t, func(context.Context, func()) error { return errors.New("state dir in use") }, time.Minute)
		m.expect(t, StartPending)
		if code := m.exitCode(t); code != ExitFailed {
			t.Errorf("exit code %d, want %d", code, ExitFailed)
		}
	})
	t.Run("while running", func(t *testing.T) {
		t.Parallel()
		fail := make(chan error)
		m := startFake(t, func(_ context.Context, ready func()) error { ready(); return <-fail }, time.Minute)
		m.expect(t, StartPending)
		m.expect(t, Running)
		fail <- errors.New("journal broken")
		if code := m.exitCode(t); code != ExitFailed {
			t.Errorf("exit code %d, want %d", code, ExitFailed)
		}
	})
	t.Run("ends without error", func(t *testing.T) {
		t.Parallel()
		end := make(chan struct{})
		m := startFake(t, func(_ context.Context, ready func()) error { ready(); <-end; return nil }, time.Minute)
		m.expect(t, StartPending)
		m.expect(t, Running)
		close(end)
		if code := m.exitCode(t); code != ExitFailed {
			t.Errorf("exit code %d, want %d", code, ExitFailed)
		}
	})
}

// A stop request is answered within the stop timeout even when the program
// does not return: the manager must not wait for ever.
func TestHandlerStopTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	m := startFake(t, func(_ context.Context, ready func()) error { ready(); <-release; return nil }, 10*time.Millisecond)
	m.expect(t, StartPending)
	m.expect(t, Running)
	m.requests <- Stop
	m.expect(t, StopPending)
	if code := m.exitCode(t); code != ExitOK {
		t.Errorf("exit code %d, want %d", code, ExitOK)
	}
}

// A stop request while the program is still starting stops it too.
func TestHandlerStopWhileStarting(t *testing.T) {
	t.Parallel()
	m := startFake(t, func(ctx context.Context, _ func()) error { <-ctx.Done(); return nil }, time.Minute)
	m.expect(t, StartPending)
	m.requests <- Stop
	m.expect(t, StopPending)
	if code := m.exitCode(t); code != ExitOK {
		t.Errorf("exit code %d, want %d", code, ExitOK)
	}
}
