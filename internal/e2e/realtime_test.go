package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/node"
)

func TestWebSocketEvents(t *testing.T) {
	e := start(t)
	tn := e.tenant("WS")
	c := e.SDK(tn)
	ctx := context.Background()
	ws := e.dial(tn)

	// Every state change reaches the socket, in order, the caller's own
	// updates included.
	id := e.addPrinter(tn)
	ws.expect(t, id, bellhop.Pending)
	if _, err := c.CommandsByIds(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	ws.expect(t, id, bellhop.Received)
	for _, st := range []client.State{client.StateProcessing, client.StateProcessed} {
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	ws.expect(t, id, bellhop.Processing)
	ws.expect(t, id, bellhop.Processed)

	// A repeated update changes nothing and sends nothing: the next event
	// is the marker's.
	if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed}); err != nil {
		t.Fatal(err)
	}
	marker := e.addPrinter(tn)
	ws.expect(t, marker, bellhop.Pending)

	// Cancelling through the admin side reaches the agent.
	if _, err := e.Service.CancelCommand(ctx, marker, "test", ""); err != nil {
		t.Fatal(err)
	}
	ws.expect(t, marker, bellhop.Cancelled)
}

func TestWebSocketAuth(t *testing.T) {
	e := start(t)
	tn := e.tenant("Auth")
	other := e.tenant("Other")
	for name, tokens := range map[string][2]string{
		"no tokens":    {"", ""},
		"wrong access": {tn.ClientToken, other.AccessToken},
		"garbage":      {"x", "y"},
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := e.dialRaw(tokens[0], tokens[1], false)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("want 401 before the upgrade, got %v %v", resp, err)
			}
		})
	}
	t.Run("deprecated query string", func(t *testing.T) {
		s, _, err := e.dialRaw(tn.ClientToken, tn.AccessToken, true)
		if err != nil {
			t.Fatal(err)
		}
		id := e.addPrinter(tn)
		s.expect(t, id, bellhop.Pending)
	})
}

func TestVisibility(t *testing.T) {
	e := start(t)
	a := e.tenant("A")
	b := e.tenant("B")
	ctx := context.Background()
	wsA, wsB := e.dial(a), e.dial(b)
	idA := e.addPrinter(a)
	idB := e.addPrinter(b)
	// Each socket sees only its own enterprise's command.
	wsA.expect(t, idA, bellhop.Pending)
	wsB.expect(t, idB, bellhop.Pending)
	markerA := e.addPrinter(a)
	wsA.expect(t, markerA, bellhop.Pending)

	ca, cb := e.SDK(a), e.SDK(b)
	got, err := ca.CommandsByIds(ctx, []string{idA, idB})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Id != idA {
		t.Fatalf("A sees %v", got)
	}
	devs, err := cb.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Id == a.Devices[bellhop.Printer].Id {
			t.Fatal("B sees A's printer")
		}
	}
	active, err := cb.AllActiveCommands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range active {
		if cmd.Id == idA || cmd.Id == markerA {
			t.Fatal("B's getAllActive returns A's command")
		}
	}

	// A second integration subscribed to A's enterprise sees nothing until a
	// device is connected to it; then it sees that device's commands at once,
	// on its open socket.
	integ, err := e.Admin.CreateIntegration(ctx, "POS")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.Admin.CreateSubscription(ctx, integ.Id, a.Enterprise.Id)
	if err != nil {
		t.Fatal(err)
	}
	pos := &tenant{Enterprise: a.Enterprise, Integration: integ, Subscription: sub, ClientToken: integ.ClientToken,
		AccessToken: sub.AccessToken, Devices: map[bellhop.DeviceType]*admin.Device{}}
	wsPOS := e.dial(pos)
	if got, err := e.SDK(pos).CommandsByIds(ctx, []string{idA}); err != nil || len(got) != 0 {
		t.Fatalf("unconnected integration sees %v, %v", got, err)
	}
	if err := e.Admin.Connect(ctx, sub.Id, a.Devices[bellhop.PaymentTerminal].Id); err != nil {
		t.Fatal(err)
	}
	pos.Devices[bellhop.PaymentTerminal] = a.Devices[bellhop.PaymentTerminal]
	payID, err := e.SDK(pos).AddPaymentTerminalCommand(ctx, client.AddPaymentTerminalRequest{TerminalId: a.Devices[bellhop.PaymentTerminal].Id,
		CustomerId: a.Customer.Id, Type: client.PaymentTypePayment, Amount: client.CurrencyValue{Currency: "EUR", Value: 10}})
	if err != nil {
		t.Fatal(err)
	}
	wsPOS.expect(t, payID, bellhop.Pending)
	wsA.expect(t, payID, bellhop.Pending)

	// Disconnected: the POS still hears of the command it created (it is
	// the creator), but not of new ones for the terminal.
	if err := e.Admin.Disconnect(ctx, sub.Id, a.Devices[bellhop.PaymentTerminal].Id); err != nil {
		t.Fatal(err)
	}
	if err := ca.UpdateCommand(ctx, client.UpdateRequest{CommandId: payID, State: client.StateProcessed}); err != nil {
		t.Fatal(err)
	}
	wsPOS.expect(t, payID, bellhop.Processed)
	other, err := e.Service.CreateCommand(ctx, a.Devices[bellhop.PaymentTerminal].Id, []byte(`{"Amount":{"Currency":"EUR","GrossValue":1}}`), "pms", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsA.expect(t, other.ID, bellhop.Pending)
	// The POS gets the creator's events only: revoke it and see its socket
	// close with 1008 before any event of the other command.
	if err := e.Admin.RevokeSubscription(ctx, sub.Id); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-wsPOS.events:
		t.Fatalf("disconnected integration got %v", ev)
	case code := <-wsPOS.closed:
		if code != websocket.StatusPolicyViolation {
			t.Fatalf("close code %d, want 1008", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("revoked socket not closed")
	}
	if _, err := e.SDK(pos).Devices(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("revoked token: %v", err)
	}
}

func TestPortfolio(t *testing.T) {
	e := start(t)
	a := e.tenant("PA")
	b := e.tenant("PB")
	ctx := context.Background()
	sub, err := e.Admin.CreateSubscription(ctx, a.Integration.Id, a.Enterprise.Id, b.Enterprise.Id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*admin.Device{a.Devices[bellhop.Printer], b.Devices[bellhop.Printer]} {
		if err := e.Admin.Connect(ctx, sub.Id, d.Id); err != nil {
			t.Fatal(err)
		}
	}
	port := &tenant{ClientToken: a.ClientToken, AccessToken: sub.AccessToken}
	// A portfolio token must name the enterprise, and the printer must be in it.
	expectError(t, e.post("commands/addPrinter", reqBody(port, "PrinterId", b.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1)), 400, "Invalid EnterpriseId")
	expectError(t, e.post("commands/addPrinter", reqBody(port, "EnterpriseId", a.Enterprise.Id, "PrinterId", b.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1)), 400, "Invalid PrinterId")
	r := e.post("commands/addPrinter", reqBody(port, "EnterpriseId", b.Enterprise.Id, "PrinterId", b.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1))
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	_ = sub
}

func TestPagingAndPreferMinimal(t *testing.T) {
	e := start(t)
	tn := e.tenant("Paging")
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, e.addPrinter(tn))
	}
	// getAllActive pages oldest first; the Cursor is the last item's id.
	var seen []string
	cursor := any(nil)
	for {
		r := e.post("commands/getAllActive", reqBody(tn, "Limitation", map[string]any{"Count": 3, "Cursor": cursor}))
		m := r.json(t)
		cmds := m["Commands"].([]any)
		for _, c := range cmds {
			seen = append(seen, c.(map[string]any)["Id"].(string))
		}
		if len(cmds) < 3 {
			break
		}
		cursor = m["Cursor"]
		if cursor != seen[len(seen)-1] {
			t.Fatalf("cursor %v, last %s", cursor, seen[len(seen)-1])
		}
	}
	if len(seen) != 7 {
		t.Fatalf("paged %d of 7", len(seen))
	}
	for i := range ids {
		if seen[i] != ids[i] {
			t.Fatalf("order %v, want %v", seen, ids)
		}
	}
	// getAllByIds with a Limitation pages newest first.
	r := e.post("commands/getAllByIds", reqBody(tn, "CommandIds", ids, "Limitation", map[string]any{"Count": 2}))
	m := r.json(t)
	cmds := m["Commands"].([]any)
	if len(cmds) != 2 || cmds[0].(map[string]any)["Id"] != ids[6] || m["Cursor"] != ids[5] {
		t.Fatalf("newest first: %s", r.Body)
	}
	// Prefer: return=minimal: update answers 204 with no body and no
	// Content-Type; an empty page answers 204.
	r = e.post("commands/update", reqBody(tn, "CommandId", ids[0], "State", "Processing"), "Prefer", "return=minimal")
	if r.Status != 204 || len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
		t.Fatalf("minimal update: %d %q %q", r.Status, r.Body, r.Header.Get("Content-Type"))
	}
	r = e.post("commands/getAllByIds", reqBody(tn, "CommandIds", []string{bellhop.NewID()}, "Limitation", map[string]any{"Count": 2}), "Prefer", "return=minimal")
	if r.Status != 204 {
		t.Fatalf("minimal empty page: %d %s", r.Status, r.Body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := start(t)
	tn := e.tenant("Idem")
	body := reqBody(tn, "PrinterId", tn.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1)
	r1 := e.post("commands/addPrinter", body, "Idempotency-Key", "k1")
	r2 := e.post("commands/addPrinter", body, "Idempotency-Key", "k1")
	if r1.Status != 200 || r2.Status != 200 || r1.json(t)["CommandId"] != r2.json(t)["CommandId"] {
		t.Fatalf("same key, same body: %s / %s", r1.Body, r2.Body)
	}
	body["CopyCount"] = 2
	expectError(t, e.post("commands/addPrinter", body, "Idempotency-Key", "k1"), 409, "Idempotency-Key")
	r3 := e.post("commands/addPrinter", body, "Idempotency-Key", "k2")
	if r3.json(t)["CommandId"] == r1.json(t)["CommandId"] {
		t.Fatal("another key gave the same command")
	}
}

func TestRateLimit(t *testing.T) {
	e := start(t, func(c *node.Config) { c.RateLimit, c.RateWindow = 5, time.Hour })
	tn := e.tenant("Rate")
	for i := 0; i < 5; i++ {
		if r := e.post("devices/getAll", reqBody(tn)); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := e.post("devices/getAll", reqBody(tn))
	expectError(t, r, 429, "Too many requests")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// WebSocket upgrades count against the same limit.
	_, resp, err := e.dialRaw(tn.ClientToken, tn.AccessToken, false)
	if err == nil || resp == nil || resp.StatusCode != 429 {
		t.Fatalf("upgrade over the limit: %v %v", resp, err)
	}
	// Another token is not affected.
	other := e.tenant("Other")
	if r := e.post("devices/getAll", reqBody(other)); r.Status != 200 {
		t.Fatalf("other token: %d", r.Status)
	}
}

func TestExpiry(t *testing.T) {
	e := start(t)
	tn := e.tenant("Expiry")
	ctx := context.Background()
	c := e.SDK(tn)
	ws := e.dial(tn)
	waiting := e.addPrinter(tn)
	processing := e.addPrinter(tn)
	if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: processing, State: client.StateProcessing}); err != nil {
		t.Fatal(err)
	}
	ws.expect(t, waiting, bellhop.Pending)
	ws.expect(t, processing, bellhop.Pending)
	ws.expect(t, processing, bellhop.Processing)
	e.Clock.Advance(16 * time.Minute)
	if r := e.Sweep(t); r.Failed != 1 || r.Cancelled != 0 {
		t.Fatalf("after 16 min: %+v", r)
	}
	ws.expect(t, processing, bellhop.Failed)
	e.Clock.Advance(24 * time.Hour)
	if r := e.Sweep(t); r.Cancelled != 1 {
		t.Fatalf("after 24 h: %+v", r)
	}
	ws.expect(t, waiting, bellhop.Cancelled)
	v, _, err := e.Service.Command(ctx, waiting)
	if err != nil {
		t.Fatal(err)
	}
	if v.Notes == "" {
		t.Fatal("expiry wrote no note")
	}
	// Retention: final commands older than 30 days are purged.
	e.Clock.Advance(31 * 24 * time.Hour)
	if r := e.Sweep(t); r.Purged != 2 {
		t.Fatalf("after 31 days: %+v", r)
	}
	if _, _, err := e.Service.Command(ctx, waiting); bellhop.ErrorCode(err) != bellhop.ENOTFOUND {
		t.Fatalf("purged command: %v", err)
	}
}
