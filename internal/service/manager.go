package service

import "context"

// Manager installs and controls services on this system: Systemd on
// Linux, the Windows service control manager on Windows.
type Manager interface {
	// Install registers s to start at boot (and, on failure, again).
	Install(ctx context.Context, s Spec) error
	// Uninstall stops the service and removes it; state and configuration
	// stay.
	Uninstall(ctx context.Context, name string) error
	// Start starts the service and Stop stops it, each waiting for it.
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
}
