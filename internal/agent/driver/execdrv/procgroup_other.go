//go:build !unix

package execdrv

import "os/exec"

// killGroup keeps exec's default on systems without process groups: only
// the program itself is killed.
func killGroup(*exec.Cmd) {}
