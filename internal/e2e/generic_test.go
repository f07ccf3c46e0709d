package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// TestGenericDevices: a PBX with a Type label of its own, created by the
// admin API, seen through the same operations and events by a subscription
// that opted in, never by one that did not.
func TestGenericDevices(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *node.Config) { c.DevTime = true })
	ctx := context.Background()
	tn := e.tenant("Generic") // a subscription that knows the Mews types only
	for _, label := range []string{"printer", "Pbx-1", "1Tv", strings.Repeat("A", 65)} {
		_, err := e.Admin.CreateDevice(ctx, admin.Device{EnterpriseId: tn.Enterprise.Id, Type: client.DeviceType(label), Name: "Bad"})
		if client.StatusCode(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Invalid Type") {
			t.Fatalf("type %q: %v", label, err)
		}
	}
	pbx, err := e.Admin.CreateDevice(ctx, admin.Device{EnterpriseId: tn.Enterprise.Id, Type: "Pbx", Name: "Lobby PBX", Identifier: "PBX-1"})
	if err != nil || pbx.Type != "Pbx" {
		t.Fatalf("create a Pbx: %+v %v", pbx, err)
	}
	if err := e.Admin.Connect(ctx, tn.Subscription.Id, pbx.Id); client.StatusCode(err) != http.StatusBadRequest ||
		!strings.Contains(err.Error(), "does not see generic devices") {
		t.Fatalf("connect a Pbx to a Mews-only subscription: %v", err)
	}
	// The subscription that opts in: the same integration, another token.
	sub, err := e.Admin.CreateSubscriptionWith(ctx, admin.Subscription{IntegrationId: tn.Integration.Id,
		EnterpriseIds: []string{tn.Enterprise.Id}, GenericDevices: true})
	if err != nil || !sub.GenericDevices {
		t.Fatalf("subscription with generic devices: %+v %v", sub, err)
	}
	if err := e.Admin.Connect(ctx, sub.Id, pbx.Id); err != nil {
		t.Fatal(err)
	}
	if err := e.Admin.Connect(ctx, sub.Id, tn.Devices[bellhop.Printer].Id); err != nil {
		t.Fatal(err)
	}
	opted := &hubtest.Tenant{ClientToken: tn.ClientToken, AccessToken: sub.AccessToken}
	mews, generic := e.dial(tn), e.dial(opted)

	// Data is any JSON object, kept verbatim; anything else is refused.
	for _, bad := range []string{`[1]`, `"call"`, `null`} {
		if _, err := e.Admin.CreateCommand(ctx, admin.NewCommand{DeviceId: pbx.Id, Data: json.RawMessage(bad)}); client.StatusCode(err) != http.StatusBadRequest {
			t.Fatalf("Data %s: %v", bad, err)
		}
	}
	data := `{"Extension":"101","Action":"WakeUpCall","At":"07:00","Nested":{"Ring":[1,2,3]}}`
	cmd, err := e.Admin.CreateCommand(ctx, admin.NewCommand{DeviceId: pbx.Id, Data: json.RawMessage(data)})
	if err != nil {
		t.Fatal(err)
	}
	generic.expect(t, cmd.Id, bellhop.Pending)

	// The Mews-only subscription sees none of it: raw devices/getAll,
	// getAllActive, getAllByIds, and its socket.
	r := e.post("devices/getAll", reqBody(tn))
	if r.Status != 200 || strings.Contains(string(r.Body), "Pbx") || strings.Contains(string(r.Body), pbx.Id) {
		t.Fatalf("Mews-only devices/getAll: %s", r.Body)
	}
	for _, op := range []struct{ path, body string }{{"commands/getAllActive", ""}, {"commands/getAllByIds", cmd.Id}} {
		body := reqBody(tn)
		if op.body != "" {
			body["CommandIds"] = []string{op.body}
		}
		if r := e.post(op.path, body); r.Status != 200 || strings.Contains(string(r.Body), cmd.Id) {
			t.Fatalf("Mews-only %s: %d %s", op.path, r.Status, r.Body)
		}
	}
	marker := e.addPrinter(tn)
	if ev := mews.next(t); ev["Id"] != marker {
		t.Fatalf("the Mews-only socket got %v before its own command %s", ev, marker)
	}
	if r := e.post("commands/update", reqBody(tn, "CommandId", cmd.Id, "State", "Processing")); r.Status != http.StatusBadRequest {
		t.Fatalf("Mews-only update of the Pbx command: %d %s", r.Status, r.Body)
	}

	// The opted-in subscription: raw, then through the SDK.
	r = e.post("devices/getAll", reqBody(opted))
	var devs struct{ Devices []map[string]any }
	json.Unmarshal(r.Body, &devs)
	found := false
	for _, d := range devs.Devices {
		found = found || d["Id"] == pbx.Id && d["Type"] == "Pbx" && d["Name"] == "Lobby PBX" && d["Identifier"] == "PBX-1"
	}
	if !found {
		t.Fatalf("opted-in devices/getAll: %s", r.Body)
	}
	sdk := e.SDK(opted)
	active, err := sdk.AllActiveCommands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got *client.Command
	for i := range active {
		if active[i].Id == cmd.Id {
			got = &active[i]
		}
	}
	if got == nil || got.Device.Type != "Pbx" || got.Device.Type.Mews() || string(got.Data) != data {
		t.Fatalf("opted-in getAllActive: %+v", got)
	}
	var call struct{ Extension, Action string }
	if err := got.DecodeData(&call); err != nil || call.Extension != "101" || call.Action != "WakeUpCall" {
		t.Fatalf("DecodeData: %+v %v", call, err)
	}
	generic.expect(t, marker, bellhop.Pending) // the printer is connected to both
	generic.expect(t, cmd.Id, bellhop.Received)
	if err := sdk.UpdateCommand(ctx, client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessed, Notes: ptr("rang room 101")}); err != nil {
		t.Fatal(err)
	}
	generic.expect(t, cmd.Id, bellhop.Processed)
	done, _ := e.Admin.Command(ctx, cmd.Id)
	if done.State != client.StateProcessed || done.Notes != "rang room 101" || done.DeviceType != "Pbx" {
		t.Fatalf("after processing: %+v", done)
	}
	list, err := e.Admin.Commands(ctx, admin.CommandFilter{Type: "Pbx"})
	if err != nil || len(list.Commands) != 1 {
		t.Fatalf("admin list by type Pbx: %+v %v", list, err)
	}

	// A subscription may not stop seeing generic devices while one is
	// connected; once disconnected, it may.
	if _, err := e.Admin.SetGenericDevices(ctx, sub.Id, false); client.StatusCode(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Lobby PBX") {
		t.Fatalf("opt out with a Pbx connected: %v", err)
	}
	if err := e.Admin.Disconnect(ctx, sub.Id, pbx.Id); err != nil {
		t.Fatal(err)
	}
	if s, err := e.Admin.SetGenericDevices(ctx, sub.Id, false); err != nil || s.GenericDevices {
		t.Fatalf("opt out: %+v %v", s, err)
	}

	// Expiry covers generic devices: a waiting Pbx command is Cancelled
	// after a day, as any other.
	waiting, err := e.Admin.CreateCommand(ctx, admin.NewCommand{DeviceId: pbx.Id, Data: json.RawMessage(`{"Action":"Ring"}`)})
	if err != nil {
		t.Fatal(err)
	}
	adv, err := e.Admin.AdvanceTime(ctx, tn.Enterprise.Id, 24*time.Hour+time.Minute)
	if err != nil || adv.Swept.Cancelled < 1 || e.commandState(waiting.Id) != client.StateCancelled {
		t.Fatalf("generic command after a day: %+v %v %s", adv, err, e.commandState(waiting.Id))
	}
}

func ptr[T any](v T) *T { return &v }
