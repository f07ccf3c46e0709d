//go:build !linux && !windows

package service

import (
	"context"
	"fmt"
	"runtime"
)

// Local returns the service manager of this system: none here.
func Local() Manager { return unsupported{} }

type unsupported struct{}

func (unsupported) err() error {
	return fmt.Errorf("service: installing a service is supported on Linux (systemd) and Windows, not %s", runtime.GOOS)
}
func (u unsupported) Install(context.Context, Spec) error     { return u.err() }
func (u unsupported) Uninstall(context.Context, string) error { return u.err() }
func (u unsupported) Start(context.Context, string) error     { return u.err() }
func (u unsupported) Stop(context.Context, string) error      { return u.err() }
