//go:build unix

package execdrv

import (
	"os/exec"
	"syscall"
)

// killGroup starts the program in a process group of its own and makes a
// cancellation kill the whole group, so a shell script's children die with
// it instead of printing or encoding on after the command ended.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
