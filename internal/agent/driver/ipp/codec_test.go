package ipp

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\ngot:\n%q\nwant:\n%q", name, got, want)
	}
}

const testURI = "ipp://printer.example:631/ipp/print"

// TestEncodeGolden pins the wire encoding of every request the driver sends.
func TestEncodeGolden(t *testing.T) {
	t.Parallel()
	doc := []byte("%PDF-1.4 tiny")
	for name, m := range map[string]*Message{
		"get-printer-attributes": getPrinterAttributesRequest(1, testURI, "bellhop"),
		"print-job":              printJobRequest(2, testURI, "bellhop", "cmd-1", "application/pdf", 1, doc),
		"print-job-copies":       printJobRequest(3, testURI, "bellhop", "cmd-1", "application/pdf", 2, doc),
		"get-job-attributes":     getJobAttributesRequest(4, testURI, "bellhop", 12),
		"cancel-job":             cancelJobRequest(5, testURI, "bellhop", 12),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".request.golden", b)
			back, err := Decode(b)
			if err != nil {
				t.Fatalf("decoding our own request: %v", err)
			}
			if back.Dump() != m.Dump() {
				t.Errorf("round trip changed the request:\n%s\nwant:\n%s", back.Dump(), m.Dump())
			}
		})
	}
}

// TestDecodeGolden decodes responses captured from ippeveprinter (CUPS 2.4).
func TestDecodeGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.response.bin")
	if len(files) == 0 {
		t.Fatal("no captured responses in testdata")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".bin")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".golden", []byte(m.Dump()))
			// CUPS encodes canonically, so re-encoding gives the same bytes.
			again, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, raw) {
				t.Error("re-encoding the decoded response changed its bytes")
			}
		})
	}
}

func TestDecodeAccessors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/get-printer-attributes.response.bin")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := m.Int(TagPrinter, "printer-state"); !ok || st != 3 {
		t.Errorf("printer-state = %d, %v; want 3 (idle)", st, ok)
	}
	if f := m.Strings(TagPrinter, "document-format-supported"); !strings.Contains(strings.Join(f, ","), "application/pdf") {
		t.Errorf("document-format-supported = %v", f)
	}
	a, _ := m.Lookup(TagPrinter, "copies-supported")
	if lo, hi, ok := a.Values[0].Range(); !ok || lo != 1 || hi != 999 {
		t.Errorf("copies-supported = %d-%d, %v", lo, hi, ok)
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	head := []byte{1, 1, 0, 0, 0, 0, 0, 1}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, in := range map[string][]byte{
		"empty":                {},
		"short header":         head[:5],
		"no end tag":           cat(head, []byte{1}),
		"value before group":   cat(head, []byte{0x44, 0, 1, 'a', 0, 1, 'b', 3}),
		"reserved tag":         cat(head, []byte{0}),
		"length past end":      cat(head, []byte{1, 0x44, 0, 9, 'a'}),
		"value without name":   cat(head, []byte{1, 0x44, 0, 0, 0, 1, 'b', 3}),
		"open collection":      cat(head, []byte{1, 0x34, 0, 1, 'c', 0, 0, 3}),
		"member outside":       cat(head, []byte{1, 0x4A, 0, 0, 0, 1, 'm', 3}),
		"member without value": cat(head, []byte{1, 0x34, 0, 1, 'c', 0, 0, 0x4A, 0, 0, 0, 1, 'm', 0x37, 0, 0, 0, 0, 3}),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(in); !errors.Is(err, ErrMalformed) {
				t.Errorf("Decode = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDecodeDeepCollection(t *testing.T) {
	t.Parallel()
	b := []byte{1, 1, 0, 0, 0, 0, 0, 1, 1, 0x34, 0, 1, 'c', 0, 0}
	for range maxDepth + 2 {
		b = append(b, 0x4A, 0, 0, 0, 1, 'm', 0x34, 0, 0, 0, 0)
	}
	if _, err := Decode(b); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "nested") {
		t.Errorf("Decode = %v, want a nesting error", err)
	}
}

// FuzzDecode checks that no input panics the decoder and that whatever it
// accepts re-encodes to a message that decodes to the same thing.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.bin")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Decode(in)
		if err != nil {
			return
		}
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("re-encoding a decoded message: %v", err)
		}
		back, err := Decode(out)
		if err != nil {
			t.Fatalf("decoding a re-encoded message: %v", err)
		}
		if back.Dump() != m.Dump() || !bytes.Equal(back.Data, m.Data) {
			t.Fatalf("round trip changed the message:\n%s\nwant:\n%s", back.Dump(), m.Dump())
		}
	})
}
