package hubtest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ModuleRepo is a copy of the bellhop module's source in a git repository
// of its own, with everything committed: Go stamps a binary built there with
// the commit (go build records VCS information only in a repository's main
// working tree, never in a linked worktree).
type ModuleRepo struct {
	Dir    string // the copy
	Commit string // its one commit
	tb     testing.TB
}

// NewModuleRepo copies the module's source (Go files, go.mod, go.sum and
// embedded assets; no .git) into a temporary directory and commits it. It
// needs git: without it the test skips, or fails when CI is set.
func NewModuleRepo(tb testing.TB) *ModuleRepo {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		Unavailable(tb, "git is not installed: %v", err)
	}
	root := moduleRoot(tb)
	dir := tb.TempDir()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		// Nothing hidden: above all not .git, which in a linked worktree is
		// a file pointing at the real repository.
		if name := d.Name(); strings.HasPrefix(name, ".") || name == "testdata" || name == "bellhop-data" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		tb.Fatalf("copy the module: %v", err)
	}
	r := &ModuleRepo{Dir: dir, tb: tb}
	r.git("init", "-q")
	r.git("add", "-A")
	r.git("-c", "user.name=bellhop test", "-c", "user.email=test@bellhop.invalid", "commit", "-q", "-m", "test build")
	r.Commit = strings.TrimSpace(r.git("rev-parse", "HEAD"))
	return r
}

func (r *ModuleRepo) git(args ...string) string {
	r.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	// Only ever the copy's own repository, whatever surrounds it.
	cmd.Env = append(os.Environ(), "GIT_DIR="+filepath.Join(r.Dir, ".git"), "GIT_WORK_TREE="+r.Dir,
		"GIT_CEILING_DIRECTORIES="+filepath.Dir(r.Dir))
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Build builds cmd/bellhop in the copy, with VCS stamping (whatever GOFLAGS
// say) and extra go build flags (e.g. -ldflags), and returns the binary's
// path.
func (r *ModuleRepo) Build(extra ...string) string {
	r.tb.Helper()
	bin := filepath.Join(r.tb.TempDir(), "bellhop")
	// -trimpath keeps the copy's directory out of the build cache's keys:
	// the next copy of the same source reuses what this one compiled.
	args := append([]string{"build", "-buildvcs=true", "-trimpath", "-o", bin}, extra...)
	cmd := exec.Command("go", append(args, "./cmd/bellhop")...)
	cmd.Dir = r.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		r.tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// moduleRoot is the directory of bellhop's go.mod.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("hubtest: no caller information")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
