package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/internal/buildinfo"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestBuildInfoMetric: the hub's /metrics says which bellhop runs.
func TestBuildInfoMetric(t *testing.T) {
	t.Parallel()
	e := start(t)
	r := e.do(http.MethodGet, "/metrics", nil)
	in := buildinfo.Get()
	want := `bellhop_build_info{commit="` + in.Commit + `",goversion="` + in.GoVersion + `",version="` + in.Version + `"} 1`
	if in.GoVersion == "" || !strings.Contains(string(r.Body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// TestVersion builds the binary in a git repository and reads what
// `bellhop version` and `bellhop --version` print: the commit it was built
// from, the commit's time and whether the tree was modified, from the Go
// build information; the version is Go's pseudo-version of the commit, and a
// version set with -ldflags wins.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary three times")
	}
	t.Parallel()
	repo := hubtest.NewModuleRepo(t)
	version := func(bin string, args ...string) map[string]string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		got := map[string]string{}
		first, ok := strings.CutPrefix(lines[0], "bellhop ")
		if !ok {
			t.Fatalf("first line %q, want bellhop <version>", lines[0])
		}
		got["version"] = first
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, ": ")
			got[k] = v
		}
		return got
	}

	clean := repo.Build()
	for _, args := range [][]string{{"version"}, {"--version"}, {"serve", "--version"}} {
		got := version(clean, args...)
		if !strings.HasPrefix(got["version"], "v0.0.0-") || !strings.HasSuffix(got["version"], repo.Commit[:12]) ||
			got["commit"] != repo.Commit || got["modified"] != "false" {
			t.Errorf("%v printed %v, want the pseudo-version of commit %s, modified false", args, got, repo.Commit)
		}
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(got["time"]) {
			t.Errorf("%v: time %q, want the commit's RFC 3339 time", args, got["time"])
		}
		if !strings.HasPrefix(got["go"], "go1.") {
			t.Errorf("%v: go %q", args, got["go"])
		}
	}

	// A change not committed: modified, and the -ldflags version wins.
	f := filepath.Join(repo.Dir, "README.md")
	if err := os.WriteFile(f, []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirty := repo.Build("-ldflags", "-X github.com/bellhop/bellhop/internal/buildinfo.Version=1.4.0")
	got := version(dirty, "version")
	if got["version"] != "1.4.0" || got["commit"] != repo.Commit || got["modified"] != "true" {
		t.Errorf("modified build printed %v, want version 1.4.0, commit %s, modified true", got, repo.Commit)
	}
}
