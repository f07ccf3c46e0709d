package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestAdminCommands drives a real hub through `bellhop admin`.
func TestAdminCommands(t *testing.T) {
	h := hubtest.Start(t)
	token := h.AdminToken

	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Run(append([]string{"admin", "--url", h.PlatformAddress(), "--token", token}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("--json", "enterprises", "create", "Grand <Hotel>")
	if code != 0 {
		t.Fatalf("create enterprise: %d %s", code, out)
	}
	var ent struct{ Id, Name string }
	if err := json.Unmarshal([]byte(out), &ent); err != nil || ent.Name != "Grand <Hotel>" {
		t.Fatalf("%q: %v", out, err)
	}
	out, code = run("devices", "create", "--enterprise", ent.Id, "--type", "Printer", "--name", "Lobby", "--config", "PrinterName=Lobby HP")
	if code != 0 || !strings.Contains(out, "Lobby HP") {
		t.Fatalf("create device: %d %s", code, out)
	}
	out, code = run("devices", "list", "--enterprise", ent.Id)
	if code != 0 || !strings.Contains(out, "Lobby") || !strings.Contains(out, "Printer") {
		t.Fatalf("list devices: %d %s", code, out)
	}
	out, code = run("commands", "show", bellhop.NewID())
	if code != 1 || !strings.Contains(out, "Command not found") {
		t.Fatalf("unknown command: %d %s", code, out)
	}
	var errb bytes.Buffer
	if code := Run([]string{"admin", "--url", h.PlatformAddress(), "--token", "wrong", "enterprises", "list"}, &errb, &errb); code != 1 ||
		!strings.Contains(errb.String(), "Invalid admin token") {
		t.Fatalf("wrong token: %d %s", code, errb.String())
	}
}
