package execdrv

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "/usr/local/bin/encode", want: []string{"/usr/local/bin/encode"}},
		{in: "  /bin/tool   a\tb  ", want: []string{"/bin/tool", "a", "b"}},
		{in: `"C:\Program Files\Vendor\encode.exe" --port COM3`, want: []string{`C:\Program Files\Vendor\encode.exe`, "--port", "COM3"}},
		{in: `C:\Tools\encode.exe C:\Data\keys\`, want: []string{`C:\Tools\encode.exe`, `C:\Data\keys\`}},
		{in: `"C:\Program Files\Vendor\" next`, want: []string{`C:\Program Files\Vendor\`, "next"}},
		{in: `\\server\share\encode.cmd \n \`, want: []string{`\\server\share\encode.cmd`, `\n`, `\`}},
		{in: `tool --room="Front desk" x`, want: []string{"tool", "--room=Front desk", "x"}},
		{in: `tool "say ""hi""" ""`, want: []string{"tool", `say "hi"`, ""}},
		{in: `tool "a"b"c d"`, want: []string{"tool", "abc d"}},
		{in: `tool 'single quotes' stay`, want: []string{"tool", "'single", "quotes'", "stay"}},
		{in: `"C:\Program Files\Vendor\encode.exe`, err: "position 1 is not closed"},
		{in: "   ", err: "no program"},
		{in: `"" arg`, err: "no program"},
	} {
		got, err := SplitArgs(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitArgs(%s) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
		case err != nil || !slices.Equal(got, tc.want):
			t.Errorf("SplitArgs(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`"C:\Program Files\x.exe" a "b ""c"""`, `a b`, `"`, `""""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err != nil {
			return
		}
		// Quoting every argument again must give the same arguments back.
		var q []string
		for _, a := range args {
			q = append(q, `"`+strings.ReplaceAll(a, `"`, `""`)+`"`)
		}
		again, err := SplitArgs(strings.Join(q, " "))
		if err != nil || !slices.Equal(again, args) {
			t.Fatalf("SplitArgs(%q) = %q; re-quoted %q", s, args, again)
		}
	})
}

// fakeFS is a stat over a fixed set of Windows paths (case-insensitive, as
// NTFS is), for the Windows rule on any system.
type fakeFS map[string]bool // path -> is a directory

func (m fakeFS) stat(p string) (fs.FileInfo, error) {
	for k, dir := range m {
		if strings.EqualFold(k, p) {
			return fakeInfo{dir}, nil
		}
	}
	return nil, &fs.PathError{Op: "CreateFile", Path: p, Err: fs.ErrNotExist}
}

type fakeInfo struct{ dir bool }

func (fakeInfo) Name() string { return "" }
func (fakeInfo) Size() int64  { return 0 }
func (i fakeInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o777
	}
	return 0o666 // what Go reports for every file on Windows
}
func (fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool      { return i.dir }
func (fakeInfo) Sys() any           { return nil }

func TestCheckWindows(t *testing.T) {
	t.Parallel()
	files := fakeFS{
		`C:\Program Files\Vendor\encode.exe`: false,
		`C:\Program Files\Vendor\readme.txt`: false,
		`C:\Tools\run.CMD`:                   false,
		`C:\Tools\dir.exe`:                   true,
		`C:\Tools\setup.v2.exe`:              false,
	}
	for _, tc := range []struct {
		path, pathext, want, err string
		missing                  bool
	}{
		{path: `C:\Program Files\Vendor\encode.exe`, want: `C:\Program Files\Vendor\encode.exe`},
		{path: `C:\Program Files\Vendor\ENCODE.EXE`, want: `C:\Program Files\Vendor\ENCODE.EXE`},
		{path: `C:\Program Files\Vendor\encode`, want: `C:\Program Files\Vendor\encode.exe`},
		{path: `C:\Tools\run.cmd`, want: `C:\Tools\run.cmd`},
		{path: `C:\Tools\run`, pathext: ".COM;.EXE;.BAT;.CMD", want: `C:\Tools\run.CMD`},
		{path: `C:\Tools\setup.v2`, want: `C:\Tools\setup.v2.exe`},
		{path: `C:\Program Files\Vendor\readme.txt`, err: "not one of PATHEXT (.COM;.EXE;.BAT;.CMD)"},
		{path: `C:\Program Files\Vendor\encode.exe`, pathext: ".BAT;.CMD", err: "not one of PATHEXT (.BAT;.CMD)"},
		{path: `C:\Tools\dir.exe`, err: "is a directory"},
		{path: `C:\Tools\missing.exe`, missing: true},
		{path: `C:\Tools\missing`, missing: true},
	} {
		got, err := checkWindows(tc.path, tc.pathext, files.stat)
		switch {
		case tc.missing:
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("checkWindows(%s) = %q, %v; want not found", tc.path, got, err)
			}
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("checkWindows(%s, %q) = %q, %v; want an error with %q", tc.path, tc.pathext, got, err, tc.err)
			}
		case err != nil || !strings.EqualFold(got, tc.want):
			t.Errorf("checkWindows(%s, %q) = %q, %v; want %q", tc.path, tc.pathext, got, err, tc.want)
		}
	}
}
