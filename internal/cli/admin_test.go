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
	t.Parallel()
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
	if out, code = run("enterprises", "time-zone", ent.Id, "Europe/Prague"); code != 0 || !strings.Contains(out, "Europe/Prague") {
		t.Fatalf("time zone: %d %s", code, out)
	}
	if out, code = run("enterprises", "time-zone", ent.Id, "Mars/Olympus"); code != 1 || !strings.Contains(out, "Invalid TimeZone") {
		t.Fatalf("unknown time zone: %d %s", code, out)
	}
	if out, code = run("enterprises", "list"); code != 0 || !strings.Contains(out, "Europe/Prague") {
		t.Fatalf("list with the zone: %d %s", code, out)
	}
	out, code = run("devices", "create", "--enterprise", ent.Id, "--type", "Printer", "--name", "Lobby", "--config", "PrinterName=Lobby HP")
	if code != 0 || !strings.Contains(out, "Lobby HP") {
		t.Fatalf("create device: %d %s", code, out)
	}
	out, code = run("devices", "list", "--enterprise", ent.Id)
	if code != 0 || !strings.Contains(out, "Lobby") || !strings.Contains(out, "Printer") {
		t.Fatalf("list devices: %d %s", code, out)
	}
	if out, code = run("devices", "create", "--enterprise", ent.Id, "--type", "Printer", "--name", "X", "--config", "Colour=red"); code != 1 ||
		!strings.Contains(out, `unknown field "Colour"`) {
		t.Fatalf("a misspelt configuration key: %d %s", code, out)
	}
	// A subscription's devices: connect, list as the API's JSON, disconnect.
	tn := h.Tenant(t, "CLI", bellhop.KeyCutter)
	var listed struct{ Devices []struct{ Id string } }
	out, code = run("--json", "subscriptions", "devices", tn.Subscription.Id)
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed.Devices) != 1 {
		t.Fatalf("connected devices: %d %s", code, out)
	}
	keys := tn.Devices[bellhop.KeyCutter].Id
	if out, code = run("disconnect", tn.Subscription.Id, keys); code != 0 || out != "" {
		t.Fatalf("disconnect: %d %q", code, out)
	}
	if out, code = run("subscriptions", "devices", tn.Subscription.Id); code != 0 || strings.Contains(out, keys) {
		t.Fatalf("after disconnect: %d %s", code, out)
	}
	if out, code = run("connect", tn.Subscription.Id, keys); code != 0 {
		t.Fatalf("connect: %d %s", code, out)
	}
	if out, code = run("subscriptions", "devices", tn.Subscription.Id); code != 0 || !strings.Contains(out, keys) {
		t.Fatalf("after connect: %d %s", code, out)
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

// TestAdminUsers adds console users from the terminal, with a password made
// by the hub and with one read from standard input, and reads the audit list.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	token := h.AdminToken

	run := func(stdin string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(append([]string{"admin", "--url", h.PlatformAddress(), "--token", token}, args...), strings.NewReader(stdin), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("", "--json", "users", "add", "Anna", "--role", "operator")
	var anna struct{ Id, Name, Role, Password string }
	if code != 0 || json.Unmarshal([]byte(out), &anna) != nil || anna.Name != "anna" || anna.Role != "operator" || len(anna.Password) != 32 {
		t.Fatalf("add with a made password: %d %s", code, out)
	}
	out, code = run("typed at the prompt\n", "users", "add", "bob", "--role", "viewer", "--password-stdin")
	if code != 0 || strings.Contains(out, "typed at the prompt") || strings.Contains(out, "Password") {
		t.Fatalf("add with a password from stdin: %d %s", code, out)
	}
	out, code = run("short\n", "users", "add", "carl", "--role", "viewer", "--password-stdin")
	if code != 1 || !strings.Contains(out, "Invalid Password") {
		t.Fatalf("a short password: %d %s", code, out)
	}
	out, code = run("", "users", "add", "dora", "--role", "root")
	if code == 0 {
		t.Fatalf("an unknown role: %d %s", code, out)
	}
	if out, code = run("", "users", "role", anna.Id, "admin"); code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("role: %d %s", code, out)
	}
	out, code = run("", "users", "list")
	if code != 0 || !strings.Contains(out, "anna") || !strings.Contains(out, "bob") || strings.Contains(out, "carl") {
		t.Fatalf("list: %d %s", code, out)
	}
	if out, code = run("", "users", "remove", anna.Id); code != 0 {
		t.Fatalf("remove: %d %s", code, out)
	}
	out, code = run("", "audit")
	for _, want := range []string{"user added", "role changed", "operator → admin", "user removed", "admin token"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("audit lacks %q: %d %s", want, code, out)
		}
	}
}
