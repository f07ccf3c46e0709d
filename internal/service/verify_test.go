package service

import (
	"os/exec"
	"strings"
	"testing"
)

// VerifyUnit runs systemd-analyze verify on the unit at path and fails on
// any complaint about it.
func VerifyUnit(t testing.TB, analyze, path string) {
	t.Helper()
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
}
