//go:build windows

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// lockDir takes an exclusive lock on dir/lock with LockFileEx, so that two
// agents never share a journal. Windows drops the lock when the handle is
// closed, which it does when the process dies, however it dies, so a
// crashed agent never blocks its successor.
func lockDir(dir string) (unlock func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state dir lock: %w", err)
	}
	ol := new(windows.Overlapped)
	// One byte at offset 0 is enough: every agent asks for the same one.
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, fmt.Errorf("state dir %s is in use by another agent", dir)
		}
		return nil, fmt.Errorf("state dir lock: %w", err)
	}
	return func() error {
		_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
		return f.Close()
	}, nil
}
