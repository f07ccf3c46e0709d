package client

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseMessage(f *testing.F) {
	for _, name := range []string{"websocket-message.json", "websocket-DeviceCommand-event.mews-terminals.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Events": [{"Type": "DeviceCommand", "Id": "x", "State": "Pending"}, {"Type": null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := parseMessage(b)
		if err != nil {
			return
		}
		for _, e := range events {
			if e.Type != EventTypeDeviceCommand || e.Id == "" {
				t.Fatalf("delivered %+v", e)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "1", "120", "-1", "Sun, 01 Mar 2026 12:00:30 GMT", "1e3", "999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if d := ParseRetryAfter(h, now); d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v", h, d)
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	for _, name := range []string{"commands-getAllActive.response.json", "fiscalMachineCommands-getAll.response.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var page CommandPage
		if json.Unmarshal(b, &page) != nil {
			return
		}
		for _, cmd := range page.Commands {
			var p PrinterData
			_ = cmd.DecodeData(&p)
			var m map[string]any
			_ = cmd.DecodeData(&m)
		}
	})
}

// TestImports keeps the package standalone: standard library and
// github.com/coder/websocket only, nothing of the bellhop module.
func TestImports(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/coder/websocket" {
				t.Errorf("%s imports %s", file, path)
			}
		}
	}
}
