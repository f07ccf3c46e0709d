//go:build !windows

package execdrv

import (
	"fmt"
	"os"
)

// checkProgram fails unless path is a regular file with an execute bit.
func checkProgram(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("exec: %s is not an executable file (mode %v)", path, fi.Mode())
	}
	return nil
}
