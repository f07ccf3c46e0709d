// Package folder drops each command as a file into a directory and waits for
// an answer file: the classic interface of hotel lock systems, which watch a
// shared folder.
//
// A target is folder:/path/to/dir. Run writes <CommandId>.json (the same
// JSON as the http driver: {"Id", "Device", "Data"}) atomically, by writing a
// hidden temporary file and renaming it, so the lock system never reads half
// a request. It then looks every Options.PollInterval (default 100 ms) for
// <CommandId>.done, whose contents become the note, or <CommandId>.error,
// whose contents become the error, for at most Options.Timeout (default
// 60 s). Files are left in place for the lock system to clean up.
//
// The action is Repeatable: a re-run does not write a request that already
// exists and picks up an answer that is already there, so the lock system
// sees each command once.
package folder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// Defaults of this driver, which waits for a person at a lock encoder.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultPollInterval = 100 * time.Millisecond
)

// Driver exchanges files in one directory.
type Driver struct {
	dir     string
	timeout time.Duration
	poll    time.Duration
}

// New is the Factory for folder: targets. It fails on an empty path; Check
// tells whether the directory is usable.
func New(target string, opts driver.Options) (driver.Driver, error) {
	dir, ok := strings.CutPrefix(target, "folder:")
	if !ok || strings.TrimSpace(dir) == "" {
		return nil, fmt.Errorf("folder: target %q must be folder:/path/to/dir", target)
	}
	return &Driver{
		dir:     filepath.Clean(dir),
		timeout: driver.Or(opts.Timeout, DefaultTimeout),
		poll:    driver.Or(opts.PollInterval, DefaultPollInterval),
	}, nil
}

// Repeatable is true; see the package documentation.
func (d *Driver) Repeatable() bool { return true }

// Close has nothing to release.
func (d *Driver) Close() error { return nil }

// Check fails unless the directory exists and a file can be created in it.
func (d *Driver) Check(context.Context) error {
	f, err := os.CreateTemp(d.dir, ".bellhop-check-*")
	if err != nil {
		return fmt.Errorf("folder: %s is not a writable directory: %w", d.dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Run writes the request and waits for the answer; see the package
// documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	if err := checkID(job.CommandID); err != nil {
		return driver.Result{}, err
	}
	body, err := driver.RequestBody(job)
	if err != nil {
		return driver.Result{}, fmt.Errorf("folder: %w", err)
	}
	request := filepath.Join(d.dir, job.CommandID+".json")
	if err := writeOnce(request, body); err != nil {
		return driver.Result{}, err
	}
	job.Report(0.1)
	res, err := d.await(ctx, job.CommandID)
	if err == nil {
		job.Report(1)
	}
	return res, err
}

// checkID refuses ids that would escape the directory or hide the file;
// hub ids are UUIDs.
func checkID(id string) error {
	if id == "" || strings.HasPrefix(id, ".") || strings.ContainsAny(id, `/\:`) || strings.ContainsRune(id, 0) {
		return fmt.Errorf("folder: command id %q cannot be a file name", id)
	}
	return nil
}

// writeOnce creates path with body unless it exists: the temporary file is
// synced before the rename so that a crash leaves a whole file or none.
func writeOnce(path string, body []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("folder: writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("folder: writing %s: %w", path, err)
	}
	return nil
}

// await polls for the answer files until one appears, the timeout passes or
// ctx ends.
func (d *Driver) await(ctx context.Context, id string) (driver.Result, error) {
	wait, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	tick := time.NewTicker(d.poll)
	defer tick.Stop()
	done, failed := filepath.Join(d.dir, id+".done"), filepath.Join(d.dir, id+".error")
	for {
		if text, ok, err := readAnswer(done); ok || err != nil {
			return driver.Result{Notes: text}, err
		}
		if text, ok, err := readAnswer(failed); ok || err != nil {
			if err == nil {
				err = fmt.Errorf("folder: %s answered: %s", filepath.Base(failed), text)
			}
			return driver.Result{}, err
		}
		select {
		case <-wait.Done():
			if ctx.Err() != nil {
				return driver.Result{}, fmt.Errorf("folder: waiting for %s: %w", done, ctx.Err())
			}
			return driver.Result{}, fmt.Errorf("folder: no %s or .error within %v", done, d.timeout)
		case <-tick.C:
		}
	}
}

func readAnswer(path string) (text string, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("folder: reading %s: %w", path, err)
	}
	return driver.Bound(string(b)), true, nil
}
