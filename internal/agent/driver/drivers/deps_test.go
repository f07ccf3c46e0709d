package drivers

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// TestAdaptersDoNotImportEachOther keeps each driver package independent:
// only this package and the tests' drivertest may see them all. What
// several drivers need (drawing PDF pages) lives in shared packages that
// import no driver.
func TestAdaptersDoNotImportEachOther(t *testing.T) {
	t.Parallel()
	const base = "github.com/bellhop/bellhop/internal/agent/driver/"
	adapters := []string{"ipp", "socket", "httpdrv", "execdrv", "folder", "epson"}
	shared := []string{"render"}
	for _, pkg := range slices.Concat(adapters, shared, []string{"drivertest"}) {
		files, _ := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if rest, ok := strings.CutPrefix(path, base); ok && rest != pkg && !slices.Contains(shared, rest) {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	_, err := Open("lpd://printer/queue", driver.Options{})
	if !errors.Is(err, driver.ErrUnknownScheme) || !strings.Contains(err.Error(), "known: apiurl, epson-fiscal, exec, folder, http, https, ipp, ipps, socket") {
		t.Errorf("Open(lpd) = %v", err)
	}
	if _, err := Open("ipp://", driver.Options{}); err == nil || !strings.Contains(err.Error(), `driver target "ipp://": ipp: target`) {
		t.Errorf("Open(ipp://) = %v", err)
	}
	if _, err := Open("http://x", driver.Options{Timeout: -1}); err == nil {
		t.Error("Open accepted a negative timeout")
	}
	for target, scheme := range map[string]string{"IPP://x": "ipp", "exec:/bin/x a": "exec", "apiurl": "apiurl", " folder:C:\\x": "folder"} {
		if got := driver.Scheme(target); got != scheme {
			t.Errorf("Scheme(%q) = %q, want %q", target, got, scheme)
		}
	}
}
