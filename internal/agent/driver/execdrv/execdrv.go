// Package execdrv runs a local program for each command, the adapter for
// vendor tools that come as a command-line encoder or a script.
//
// A target is exec: followed by the program and its arguments, separated by
// spaces, with double quotes around anything that holds a space and
// backslashes taken literally on every system (see SplitArgs):
//
//	exec:/usr/local/bin/encode --port /dev/ttyUSB0
//	exec:"C:\Program Files\Vendor\encode.exe" --room "Front desk"
//
// The program gets the command as JSON on standard input, {"Id", "Device":
// {"Id", "Name", "Type"}, "Data"}, and BELLHOP_COMMAND_ID, BELLHOP_DEVICE_ID
// and BELLHOP_DEVICE_TYPE in its environment. Exit status 0 finishes the
// command with the program's standard output (trimmed, first 1 KiB) as its
// note; any other status fails it with the end of standard error. A program
// that runs past Options.Timeout (default 30 s), or whose command is
// cancelled, is killed with its whole process group. Running a program is not
// Repeatable: the agent cannot know what it does.
package execdrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// Driver runs one program.
type Driver struct {
	path    string
	args    []string
	timeout time.Duration
}

// New is the Factory for exec: targets. It fails on a target without a
// program path; Check tells whether the program can run.
func New(target string, opts driver.Options) (driver.Driver, error) {
	rest, ok := strings.CutPrefix(target, "exec:")
	if !ok {
		return nil, fmt.Errorf("exec: target %q must be exec:/path/to/program [args...]", target)
	}
	fields, err := SplitArgs(rest)
	if err != nil {
		return nil, fmt.Errorf("exec: target %q must be exec:/path/to/program [args...]: %w", target, err)
	}
	return &Driver{path: fields[0], args: fields[1:], timeout: driver.Or(opts.Timeout, driver.DefaultTimeout)}, nil
}

// Repeatable is false: the agent cannot know what the program does.
func (d *Driver) Repeatable() bool { return false }

// Close has nothing to release.
func (d *Driver) Close() error { return nil }

// Check fails unless the program can run: a regular file with an execute
// bit, or on Windows a file (not a directory) whose extension is in
// PATHEXT, found as Windows finds it when the target leaves it out.
func (d *Driver) Check(context.Context) error { return checkProgram(d.path) }

// Run runs the program for the job; see the package documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	input, err := driver.RequestBody(job)
	if err != nil {
		return driver.Result{}, fmt.Errorf("exec: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, d.path, d.args...)
	cmd.Stdin = bytes.NewReader(input)
	cmd.Env = append(os.Environ(),
		"BELLHOP_COMMAND_ID="+job.CommandID, "BELLHOP_DEVICE_ID="+job.DeviceID, "BELLHOP_DEVICE_TYPE="+job.DeviceType)
	stdout, stderr := &head{}, &tail{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killGroup(cmd)
	// A grandchild that keeps the output pipes open must not hold Run.
	cmd.WaitDelay = time.Second
	job.Report(0)
	err = cmd.Run()
	switch {
	case err == nil:
		job.Report(1)
		return driver.Result{Notes: driver.Bound(stdout.String())}, nil
	case ctx.Err() != nil:
		return driver.Result{}, fmt.Errorf("exec: %s killed: %w", d.path, ctx.Err())
	case rctx.Err() != nil:
		return driver.Result{}, fmt.Errorf("exec: %s killed after the %v timeout", d.path, d.timeout)
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return driver.Result{}, fmt.Errorf("exec: %s exited with status %d: %s", d.path, exit.ExitCode(), driver.Bound(stderr.String()))
	}
	return driver.Result{}, fmt.Errorf("exec: running %s: %w", d.path, err)
}

// head keeps the first MaxNotes bytes written to it and drops the rest, so a
// verbose program cannot grow the agent's memory.
type head struct{ b []byte }

func (h *head) Write(p []byte) (int, error) {
	if room := driver.MaxNotes + 1 - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *head) String() string { return string(h.b) }

// tail keeps the last MaxNotes bytes written to it: the end of standard
// error is where programs say why they failed.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if extra := len(t.b) - driver.MaxNotes; extra > 0 {
		t.b = append(t.b[:0], t.b[extra:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
