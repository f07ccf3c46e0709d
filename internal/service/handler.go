package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Program is what a service runs: it starts, calls ready once it serves,
// and runs until ctx is done. A nil error after ctx is done is a clean stop;
// returning before that, with or without an error, is a failure.
type Program func(ctx context.Context, ready func()) error

// DefaultStopTimeout is how long a stop request waits for the program to
// return before the service reports itself stopped anyway. It is longer
// than the agent's default shutdown grace (10 s) twice over, since the
// agent spends the grace once on running actions and once on reporting.
const DefaultStopTimeout = 25 * time.Second

// State is a service's state as a service manager sees it.
type State int

// The states a handler reports, in the order it reports them.
const (
	StartPending State = iota + 1
	Running
	StopPending
)

func (s State) String() string {
	switch s {
	case StartPending:
		return "start pending"
	case Running:
		return "running"
	case StopPending:
		return "stop pending"
	}
	return "unknown"
}

// Status is what a handler tells the manager: its state and, while
// pending, how long the manager should wait before it worries.
type Status struct {
	State    State
	WaitHint time.Duration
}

// Request is a control request of the manager.
type Request int

// The requests a handler serves.
const (
	Interrogate Request = iota + 1
	Stop
	Shutdown
)

// Exit codes a handler returns. ExitFailed tells the manager that the
// program failed, so that its recovery actions run.
const (
	ExitOK     uint32 = 0
	ExitFailed uint32 = 1
)

// errEnded is a run that ended by itself without an error: a service
// should run until it is stopped.
var errEnded = errors.New("service: the program ended without being asked to stop")

// handle runs prog (with a context derived from parent) under a service manager that sends requests and hears
// statuses: StartPending at once, Running when prog calls ready, StopPending
// on Stop or Shutdown (after which ctx of prog is done). It returns when
// prog returns, or stopTimeout after a stop request if prog has not
// returned by then (the process is about to exit anyway). The exit code is
// ExitOK after a requested stop and ExitFailed when prog ended by itself.
func handle(parent context.Context, prog Program, stopTimeout time.Duration, requests <-chan Request, status func(Status), log *slog.Logger) uint32 {
	if stopTimeout <= 0 {
		stopTimeout = DefaultStopTimeout
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	readyC := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() { done <- prog(ctx, func() { once.Do(func() { close(readyC) }) }) }()

	current := Status{State: StartPending, WaitHint: stopTimeout}
	status(current)
	for {
		select {
		case <-readyC:
			readyC = nil
			current = Status{State: Running}
			status(current)
		case req := <-requests:
			switch req {
			case Interrogate:
				status(current)
			case Stop, Shutdown:
				status(Status{State: StopPending, WaitHint: stopTimeout})
				cancel()
				timer := time.NewTimer(stopTimeout)
				defer timer.Stop()
				select {
				case err := <-done:
					if err != nil {
						log.Error("service: stopped with an error", "error", err)
					}
				case <-timer.C:
					log.Error("service: the program did not stop in time; stopping anyway", "timeout", stopTimeout)
				}
				return ExitOK
			}
		case err := <-done:
			if err == nil {
				err = errEnded
			}
			log.Error("service: failed", "error", err)
			return ExitFailed
		}
	}
}
