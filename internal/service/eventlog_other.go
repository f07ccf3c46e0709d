//go:build !windows

package service

import "log/slog"

// EventLogHandler returns nil: only Windows has an Event Log.
func EventLogHandler(string, slog.Leveler) (slog.Handler, func() error) {
	return nil, func() error { return nil }
}
