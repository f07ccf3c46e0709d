//go:build !unix && !windows

package agent

// lockDir is a no-op where neither flock nor LockFileEx is available: run
// one agent per state directory.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
