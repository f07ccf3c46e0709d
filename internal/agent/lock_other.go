//go:build !unix

package agent

// lockDir is a no-op where flock is not available: run one agent per state
// directory.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
