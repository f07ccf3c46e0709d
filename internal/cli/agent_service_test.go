package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// agent install --print shows the unit it would install: the running
// program, the configuration's absolute path, the state directory made
// absolute (a service does not run here) and writable with the drop folders.
func TestAgentInstallPrint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := filepath.Join(dir, "agent.yaml")
	drop := filepath.Join(dir, "drop")
	yaml := "platform_address: http://127.0.0.1:8080\nclient_token: ct\naccess_token: at\nstate_dir: state\n" +
		"devices:\n  - name: Encoder\n    driver: folder:" + drop + "\n"
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"agent", "install", "--config", config, "--user", "root", "--print"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	unit := out.String()
	cwd, _ := os.Getwd()
	for _, want := range []string{
		"Type=notify\n", "WatchdogSec=", "NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "PrivateTmp=yes\n",
		" agent run --config " + config + " --state-dir " + filepath.Join(cwd, "state") + "\n",
		"ReadWritePaths=" + filepath.Join(cwd, "state") + "\n", "ReadWritePaths=" + drop + "\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "User=") {
		t.Errorf("--user root: the unit names a user:\n%s", unit)
	}

	// A configuration the agent would refuse is refused at install.
	if err := os.WriteFile(config, []byte("client_token: ct\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"agent", "install", "--config", config, "--print"}, nil, &out, &errb); code == 0 {
		t.Errorf("invalid configuration installed:\n%s", out.String())
	}
}

// The hidden units command writes the packages' units, which systemd accepts.
func TestUnitsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"units", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, name := range []string{"bellhop-hub.service", "bellhop-agent.service"} {
		unit, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(unit), "ExecStart=/usr/bin/bellhop ") || !strings.Contains(string(unit), "User=bellhop\n") {
			t.Errorf("%s:\n%s", name, unit)
		}
	}
}
