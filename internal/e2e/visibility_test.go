package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
)

// Who sees what: connected devices, the creator, portfolio tokens.

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
	pos := a.NewIntegration(t, "POS")
	sub := pos.Subscription
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
	other, err := e.Service.CreateCommand(ctx, a.Devices[bellhop.PaymentTerminal].Id, paymentData(a.Customer.Id), "pms", nil)
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
