package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestAdminFaultsAndRequests sets a fault from the terminal, sees it fire
// on an SDK call, replays its printed form, and reads the request log.
func TestAdminFaultsAndRequests(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	tn := h.Tenant(t, "CLI", bellhop.Printer)
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Run(append([]string{"admin", "--url", h.PlatformAddress(), "--token", h.AdminToken}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("faults", "set", "refuse,rate=1,times=1,status=500,ops=devices/getAll,subscription="+tn.Subscription.Id)
	replay := regexp.MustCompile(`replay with: (\S+)`).FindStringSubmatch(out)
	if code != 0 || replay == nil || !strings.Contains(replay[1], ",seed=") {
		t.Fatalf("set: %d %s", code, out)
	}
	if _, err := h.SDK(tn).Devices(context.Background()); client.StatusCode(err) != 500 {
		t.Fatalf("devices through the fault: %v", err)
	}
	if out, code = run("faults", "list"); code != 0 || !strings.Contains(out, "matched 1, fired 1 (spent)") {
		t.Fatalf("list: %d %s", code, out)
	}
	if out, code = run("faults", "firings"); code != 0 || !strings.Contains(out, "devices/getAll") || !strings.Contains(out, "answered 500") {
		t.Fatalf("firings: %d %s", code, out)
	}
	if out, code = run("faults", "clear"); code != 0 || !strings.Contains(out, "1") {
		t.Fatalf("clear: %d %s", code, out)
	}
	// The printed form sets the same fault again.
	if out, code = run("--json", "faults", "set", replay[1]); code != 0 {
		t.Fatalf("replay: %d %s", code, out)
	}
	var again struct {
		Kind string
		Seed json.Number
	}
	if json.Unmarshal([]byte(out), &again) != nil || !strings.Contains(replay[1], ",seed="+again.Seed.String()) {
		t.Fatalf("replayed %s from %s", out, replay[1])
	}
	if out, code = run("faults", "set", "refuse,rate=2"); code != 1 || !strings.Contains(out, "Invalid Rate") {
		t.Fatalf("bad rate: %d %s", code, out)
	}
	if out, code = run("faults", "set", "refuse,speed=2"); code != 1 || !strings.Contains(out, "unknown key") {
		t.Fatalf("bad key: %d %s", code, out)
	}

	out, code = run("requests", "--subscription", tn.Subscription.Id, "--operation", "devices/getAll", "--body")
	if code != 0 || !strings.Contains(out, "devices/getAll") || !strings.Contains(out, " 500 ") ||
		!strings.Contains(out, `"AccessToken":"***"`) || strings.Contains(out, tn.AccessToken) {
		t.Fatalf("requests: %d %s", code, out)
	}
	if out, code = run("requests", "--status", "7"); code != 1 || !strings.Contains(out, "Invalid status") {
		t.Fatalf("bad status: %d %s", code, out)
	}
	// Time moves only on a development hub.
	if out, code = run("time", "advance", tn.Enterprise.Id, "25h"); code != 1 || !strings.Contains(out, "serve --dev") {
		t.Fatalf("time on a production hub: %d %s", code, out)
	}
}

// TestAdminGenericDevices adds a PBX and a subscription that sees it from
// the terminal.
func TestAdminGenericDevices(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	tn := h.Tenant(t, "CLI")
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Run(append([]string{"admin", "--url", h.PlatformAddress(), "--token", h.AdminToken}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("--json", "devices", "create", "--enterprise", tn.Enterprise.Id, "--type", "Pbx", "--name", "Lobby PBX")
	var pbx struct{ Id, Type string }
	if code != 0 || json.Unmarshal([]byte(out), &pbx) != nil || pbx.Type != "Pbx" {
		t.Fatalf("create a Pbx: %d %s", code, out)
	}
	if out, code = run("devices", "create", "--enterprise", tn.Enterprise.Id, "--type", "pbx-2", "--name", "Bad"); code != 1 || !strings.Contains(out, "Invalid Type") {
		t.Fatalf("a bad label: %d %s", code, out)
	}
	if out, code = run("connect", tn.Subscription.Id, pbx.Id); code != 1 || !strings.Contains(out, "does not see generic devices") {
		t.Fatalf("connect to a Mews-only subscription: %d %s", code, out)
	}
	if out, code = run("subscriptions", "generic", tn.Subscription.Id, "on"); code != 0 || !strings.Contains(out, "GenericDevices  true") {
		t.Fatalf("generic on: %d %s", code, out)
	}
	if out, code = run("connect", tn.Subscription.Id, pbx.Id); code != 0 {
		t.Fatalf("connect: %d %s", code, out)
	}
	out, code = run("--json", "subscriptions", "create", "--integration", tn.Integration.Id, "--enterprise", tn.Enterprise.Id, "--generic-devices")
	if code != 0 || !strings.Contains(out, `"GenericDevices": true`) {
		t.Fatalf("create with generic devices: %d %s", code, out)
	}
	if out, code = run("commands", "create", "--device", pbx.Id, "--data", `{"Extension":"101"}`); code != 0 || !strings.Contains(out, "Pbx") {
		t.Fatalf("a Pbx command: %d %s", code, out)
	}
	if _, err := h.SDK(tn).Devices(context.Background()); err != nil {
		t.Fatal(err)
	}
}
