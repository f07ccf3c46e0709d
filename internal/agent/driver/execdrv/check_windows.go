//go:build windows

package execdrv

import (
	"fmt"
	"os"
)

// checkProgram applies Windows' rule (see checkWindows): mode bits mean
// nothing there.
func checkProgram(path string) error {
	if _, err := checkWindows(path, os.Getenv("PATHEXT"), os.Stat); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}
