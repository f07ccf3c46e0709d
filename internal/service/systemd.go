package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultUnitDir is where Systemd writes units: the administrator's units.
const DefaultUnitDir = "/etc/systemd/system"

// Systemd installs and controls services as systemd units.
type Systemd struct {
	// UnitDir receives the units; DefaultUnitDir when empty.
	UnitDir string
	// Systemctl runs systemctl with args and returns its combined output;
	// the systemctl on PATH when nil.
	Systemctl func(ctx context.Context, args ...string) ([]byte, error)
}

func (m Systemd) unitPath(name string) string {
	dir := m.UnitDir
	if dir == "" {
		dir = DefaultUnitDir
	}
	return filepath.Join(dir, name+".service")
}

func (m Systemd) systemctl(ctx context.Context, args ...string) error {
	run := m.Systemctl
	if run == nil {
		run = func(ctx context.Context, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
		}
	}
	out, err := run(ctx, args...)
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Install writes the unit of s (mode 0644), creates its writable paths
// (owned by its user, mode 0750) when they are missing, reloads systemd and
// enables the unit, so that it starts at boot; Start starts it now. It
// fails when the user does not exist.
func (m Systemd) Install(ctx context.Context, s Spec) error {
	unit, err := Unit(s)
	if err != nil {
		return err
	}
	uid, gid := -1, -1
	if s.User != "" {
		u, err := user.Lookup(s.User)
		if err != nil {
			return fmt.Errorf("service user %s: %w (create it, e.g. useradd --system --home-dir /var/lib/bellhop --shell /usr/sbin/nologin %s)", s.User, err, s.User)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	for _, p := range s.WritablePaths {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(p, 0o750); err != nil {
				return fmt.Errorf("service: %w", err)
			}
			if uid >= 0 {
				if err := os.Chown(p, uid, gid); err != nil {
					return fmt.Errorf("service: %w", err)
				}
			}
		}
	}
	path := m.unitPath(s.Name)
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if err := m.systemctl(ctx, "daemon-reload"); err != nil {
		return err
	}
	return m.systemctl(ctx, "enable", s.Name+".service")
}

// Uninstall stops and disables the unit, removes its file and reloads
// systemd. It leaves the state and the configuration alone. It fails when
// the unit is not installed.
func (m Systemd) Uninstall(ctx context.Context, name string) error {
	path := m.unitPath(name)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("service %s is not installed: %w", name, err)
	}
	if err := m.systemctl(ctx, "disable", "--now", name+".service"); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return m.systemctl(ctx, "daemon-reload")
}

// Start starts the unit and waits until it is ready (systemctl waits for
// READY=1 of a Type=notify unit).
func (m Systemd) Start(ctx context.Context, name string) error {
	return m.systemctl(ctx, "start", name+".service")
}

// Stop stops the unit and waits until it has stopped.
func (m Systemd) Stop(ctx context.Context, name string) error {
	return m.systemctl(ctx, "stop", name+".service")
}
