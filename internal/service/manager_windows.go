//go:build windows

package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// Local returns the service manager of this system: the Windows service
// control manager.
func Local() Manager { return Windows{} }

// Windows installs and controls services through the service control
// manager. It needs an administrator.
type Windows struct{}

// recovery restarts a failed service after 5 s, then 30 s, then every
// minute; a day without failure resets the count.
var recovery = []mgr.RecoveryAction{
	{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
	{Type: mgr.ServiceRestart, Delay: time.Minute},
}

const recoveryReset = 24 * 60 * 60 // seconds

// Install creates the service (automatic start, delayed after boot, as
// LocalSystem) with the recovery actions above, on crashes and on non-zero
// exits alike, and registers its Event Log source.
func (Windows) Install(_ context.Context, s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connecting to the service manager (run as administrator): %w", err)
	}
	defer m.Disconnect()
	if old, err := m.OpenService(s.Name); err == nil {
		old.Close()
		return fmt.Errorf("service %s is already installed: uninstall it first", s.Name)
	}
	ws, err := m.CreateService(s.Name, s.Exec, mgr.Config{StartType: mgr.StartAutomatic, DelayedAutoStart: true,
		DisplayName: s.DisplayName, Description: s.Description}, s.Args...)
	if err != nil {
		return fmt.Errorf("service: creating %s: %w", s.Name, err)
	}
	defer ws.Close()
	if err := ws.SetRecoveryActions(recovery, recoveryReset); err != nil {
		_ = ws.Delete()
		return fmt.Errorf("service: recovery actions: %w", err)
	}
	if err := ws.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		_ = ws.Delete()
		return fmt.Errorf("service: recovery actions: %w", err)
	}
	// An event source left by an earlier install is fine (x/sys says so
	// only in its message).
	err = eventlog.InstallAsEventCreate(s.Name, eventlog.Error|eventlog.Warning|eventlog.Info)
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		_ = ws.Delete()
		return fmt.Errorf("service: event log source: %w", err)
	}
	return nil
}

// open connects to the manager and opens the service; release lets both go.
func open(name string) (s *mgr.Service, release func(), err error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, nil, fmt.Errorf("service: connecting to the service manager (run as administrator): %w", err)
	}
	s, err = m.OpenService(name)
	if err != nil {
		m.Disconnect()
		return nil, nil, fmt.Errorf("service %s is not installed: %w", name, err)
	}
	return s, func() { s.Close(); m.Disconnect() }, nil
}

// Uninstall stops the service, deletes it and removes its Event Log source.
func (Windows) Uninstall(ctx context.Context, name string) error {
	s, done, err := open(name)
	if err != nil {
		return err
	}
	defer done()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if err := stopAndWait(ctx, s); err != nil {
			return err
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("service: deleting %s: %w", name, err)
	}
	_ = eventlog.Remove(name)
	return nil
}

// Start starts the service and waits until it runs.
func (Windows) Start(ctx context.Context, name string) error {
	s, done, err := open(name)
	if err != nil {
		return err
	}
	defer done()
	if err := s.Start(); err != nil {
		return fmt.Errorf("service: starting %s: %w", name, err)
	}
	return waitState(ctx, s, svc.Running)
}

// Stop stops the service and waits until it has stopped.
func (Windows) Stop(ctx context.Context, name string) error {
	s, done, err := open(name)
	if err != nil {
		return err
	}
	defer done()
	return stopAndWait(ctx, s)
}

func stopAndWait(ctx context.Context, s *mgr.Service) error {
	if _, err := s.Control(svc.Stop); err != nil {
		return fmt.Errorf("service: stopping %s: %w", s.Name, err)
	}
	return waitState(ctx, s, svc.Stopped)
}

// waitState polls the service (the manager has no notification for it
// that x/sys wraps) until it reaches want, fails, or the stop timeout
// passes.
func waitState(ctx context.Context, s *mgr.Service, want svc.State) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultStopTimeout+10*time.Second)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("service: querying %s: %w", s.Name, err)
		}
		if st.State == want {
			return nil
		}
		if want == svc.Running && st.State == svc.Stopped {
			return fmt.Errorf("service %s stopped at start (exit code %d, service code %d): see the Event Log", s.Name, st.Win32ExitCode, st.ServiceSpecificExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s: still %d after %s", s.Name, st.State, DefaultStopTimeout+10*time.Second)
		case <-tick.C:
		}
	}
}
