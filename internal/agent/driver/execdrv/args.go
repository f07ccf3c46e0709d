package execdrv

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// SplitArgs splits the part of an exec: target after "exec:" into the
// program and its arguments, with one syntax on every system:
//
//   - spaces and tabs separate arguments;
//   - double quotes group: "C:\Program Files\Vendor\encode.exe" is one
//     argument, and quoted and unquoted parts next to each other join
//     (--name="Front desk" is --name=Front desk);
//   - inside double quotes, two double quotes ("") stand for one;
//   - every other character is literal, backslashes included, so Windows
//     paths are written as they are.
//
// It returns an error for a quote that is not closed, and for an empty
// target.
func SplitArgs(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inArg   bool // cur holds an argument, possibly an empty quoted one
		quoted  bool
		openPos int
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted, inArg = !quoted, true
			openPos = i
		case !quoted && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("the double quote at position %d is not closed (write \"\" for a quote inside quotes)", openPos+1)
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 || args[0] == "" {
		return nil, errors.New("no program")
	}
	return args, nil
}

// checkWindows is what "executable" means on Windows, where Go reports
// every file as mode 0666 or 0444: the file exists, is not a directory,
// and its extension is one of pathext (the PATHEXT variable, e.g.
// ".COM;.EXE;.BAT;.CMD"; empty means those four), compared without case.
// A path without such an extension is tried with each of them, as Windows
// itself does. It returns the path that would run. stat is os.Stat; it is
// a parameter so that the rule is tested on every system.
func checkWindows(path, pathext string, stat func(string) (fs.FileInfo, error)) (string, error) {
	exts := windowsExts(pathext)
	try := func(p string) (string, error) {
		fi, err := stat(p)
		if err != nil {
			return "", err
		}
		if fi.IsDir() {
			return "", fmt.Errorf("%s is a directory", p)
		}
		return p, nil
	}
	ext := strings.ToLower(winExt(path))
	for _, e := range exts {
		if ext == e {
			return try(path)
		}
	}
	for _, e := range exts {
		if p, err := try(path + e); err == nil {
			return p, nil
		}
	}
	if _, err := stat(path); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s is not a program: its extension is not one of PATHEXT (%s)", path, strings.ToUpper(strings.Join(exts, ";")))
}

// windowsExts parses PATHEXT into lower-case extensions with their dot.
func windowsExts(pathext string) []string {
	var exts []string
	for e := range strings.SplitSeq(strings.ToLower(pathext), ";") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		exts = append(exts, e)
	}
	if len(exts) == 0 {
		exts = []string{".com", ".exe", ".bat", ".cmd"}
	}
	return exts
}

// winExt is filepath.Ext with Windows separators, on every system.
func winExt(path string) string {
	for i := len(path) - 1; i >= 0 && path[i] != '\\' && path[i] != '/' && path[i] != ':'; i-- {
		if path[i] == '.' {
			return path[i:]
		}
	}
	return ""
}
