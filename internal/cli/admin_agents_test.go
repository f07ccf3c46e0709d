package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestAdminAgents: bellhop admin agents prints each subscription's client,
// with the devices it serves, as a table and as the API's JSON.
func TestAdminAgents(t *testing.T) {
	h := hubtest.Start(t)
	tn := h.Tenant(t, "Front desk", bellhop.Printer)
	h.Service.Seen(tn.Subscription.Id, "bellhop-agent/1.4.0 (desk-pc)", "10.0.0.7:50001")
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(append([]string{"admin", "--url", h.PlatformAddress(), "--token", h.AdminToken, "agents"}, args...), nil, &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run()
	for _, want := range []string{"Front desk", tn.Subscription.Id, "bellhop-agent/1.4.0 (desk-pc)", "10.0.0.7", tn.Devices[bellhop.Printer].Name} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("agents table lacks %q: %d %s", want, code, out)
		}
	}
	out, code = run("--json")
	var got struct {
		Agents []struct{ Version, Host string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Agents) != 1 || got.Agents[0].Version != "1.4.0" || got.Agents[0].Host != "desk-pc" {
		t.Fatalf("agents --json: %d %s", code, out)
	}
}
