package service

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// systemctlCalls is a systemctl stand-in that records its arguments.
type systemctlCalls struct {
	calls [][]string
	fail  string // fails the call whose first argument this is
}

func (s *systemctlCalls) run(_ context.Context, args ...string) ([]byte, error) {
	s.calls = append(s.calls, args)
	if len(args) > 0 && args[0] == s.fail {
		return []byte("Failed to " + s.fail), errors.New("exit status 1")
	}
	return nil, nil
}

func TestSystemdInstallUninstall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	units := filepath.Join(dir, "units")
	if err := os.Mkdir(units, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state", "agent")
	var sc systemctlCalls
	m := Systemd{UnitDir: units, Systemctl: sc.run}
	spec := AgentSpec("/usr/local/bin/bellhop", "/etc/bellhop/agent.yaml", "", state)
	ctx := t.Context()
	if err := m.Install(ctx, spec); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(filepath.Join(units, "bellhop-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Unit(spec)
	if string(written) != string(want) {
		t.Errorf("unit written:\n%s\nwant:\n%s", written, want)
	}
	if fi, err := os.Stat(state); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Errorf("state dir: %v %v, want a 0750 directory", fi, err)
	}
	if err := m.Start(ctx, AgentName); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx, AgentName); err != nil {
		t.Fatal(err)
	}
	if err := m.Uninstall(ctx, AgentName); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(units, "bellhop-agent.service")); !os.IsNotExist(err) {
		t.Errorf("unit still there after uninstall: %v", err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("uninstall removed the state: %v", err)
	}
	wantCalls := [][]string{{"daemon-reload"}, {"enable", "bellhop-agent.service"}, {"start", "bellhop-agent.service"},
		{"stop", "bellhop-agent.service"}, {"disable", "--now", "bellhop-agent.service"}, {"daemon-reload"}}
	if !reflect.DeepEqual(sc.calls, wantCalls) {
		t.Errorf("systemctl calls %q, want %q", sc.calls, wantCalls)
	}
	if err := m.Uninstall(ctx, AgentName); err == nil {
		t.Error("uninstalling twice: no error")
	}
}

func TestSystemdInstallErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sc := systemctlCalls{fail: "enable"}
	m := Systemd{UnitDir: dir, Systemctl: sc.run}
	err := m.Install(t.Context(), AgentSpec("/usr/bin/bellhop", "/etc/bellhop/agent.yaml", "", filepath.Join(dir, "s")))
	if err == nil || !strings.Contains(err.Error(), "Failed to enable") {
		t.Errorf("failing systemctl: %v, want its output in the error", err)
	}
	err = m.Install(t.Context(), AgentSpec("/usr/bin/bellhop", "/etc/bellhop/agent.yaml", "no-such-user-bellhop", dir))
	if err == nil || !strings.Contains(err.Error(), "useradd") {
		t.Errorf("missing user: %v, want a hint to create it", err)
	}
	if err := m.Install(t.Context(), AgentSpec("bellhop", "agent.yaml", "", "state")); err == nil {
		t.Error("relative paths: no error")
	}
}

func TestUnitQuoting(t *testing.T) {
	t.Parallel()
	spec := AgentSpec("/opt/bell hop/bellhop", `/etc/bellhop/a "b" 100%.yaml`, "", "/var/lib/$x")
	unit, err := Unit(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := `ExecStart="/opt/bell hop/bellhop" agent run --config "/etc/bellhop/a \"b\" 100%%.yaml"` + "\n"
	if !strings.Contains(string(unit), want) {
		t.Errorf("unit:\n%s\nwant the line %s", unit, want)
	}
	spec.Args = append(spec.Args, "x\ny")
	if _, err := Unit(spec); err == nil {
		t.Error("a line break in an argument: no error")
	}
}

// The units pass systemd's own check. systemd-analyze verify works without a
// running systemd (containers); it needs the program to exist.
func TestUnitsVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing (apt-get install systemd)")
		}
		t.Skip("no systemd-analyze")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for file, spec := range PackageUnits() {
		spec.Exec, spec.User = bin, ""
		unit, err := Unit(spec)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, unit, 0o644); err != nil {
			t.Fatal(err)
		}
		VerifyUnit(t, analyze, path)
	}
}
