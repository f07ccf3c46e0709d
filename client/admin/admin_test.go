package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestClient calls every operation of a real hub's admin API and reads
// back what each one did.
func TestClient(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	a, ctx := h.Admin, context.Background()

	ent, err := a.CreateEnterprise(ctx, "Grand Hotel")
	must(t, err)
	integ, err := a.CreateIntegration(ctx, "Lock vendor")
	must(t, err)
	if ent.Id == "" || ent.CreatedUtc == "" || integ.ClientToken == "" {
		t.Fatalf("created %+v %+v", ent, integ)
	}
	sub, err := a.CreateSubscription(ctx, integ.Id, ent.Id)
	must(t, err)
	if sub.AccessToken == "" || len(sub.EnterpriseIds) != 1 || sub.EnterpriseIds[0] != ent.Id {
		t.Fatalf("subscription %+v", sub)
	}
	d, err := a.CreateDevice(ctx, admin.Device{EnterpriseId: ent.Id, Type: client.DeviceTypeKeyCutter, Name: "Encoder",
		Identifier: "KC-7", Configuration: admin.DeviceConfig{KeyCutterID: "KC-7", ApiUrl: "http://127.0.0.1:1/encode"}})
	must(t, err)
	if d.Configuration.KeyCutterID != "KC-7" || d.Type != client.DeviceTypeKeyCutter {
		t.Fatalf("device %+v", d)
	}
	must(t, a.Connect(ctx, sub.Id, d.Id))
	if devs, err := a.ConnectedDevices(ctx, sub.Id); err != nil || len(devs) != 1 || devs[0].Id != d.Id {
		t.Fatalf("connected %+v %v", devs, err)
	}
	res, err := a.CreateReservation(ctx, admin.Reservation{EnterpriseId: ent.Id, Number: "7", StartUtc: "2026-01-01T14:00:00Z",
		EndUtc: "2026-01-03T10:00:00Z", LastName: "Novák", LockIds: []string{"101"}})
	must(t, err)
	cust, err := a.CreateCustomer(ctx, admin.Customer{EnterpriseId: ent.Id, CompanyName: "ACME"})
	must(t, err)
	if res.Id == "" || res.LockIds[0] != "101" || cust.Id == "" || cust.CompanyName != "ACME" {
		t.Fatalf("reference data %+v %+v", res, cust)
	}

	// Commands: create (once per idempotency key), list, show, cancel, resend.
	key := `{"KeyCount":1,"LockIds":["101"],"LastName":"Novák","StartUtc":"2026-01-01T14:00:00Z","EndUtc":"2026-01-03T10:00:00Z"}`
	nc := admin.NewCommand{DeviceId: d.Id, Data: json.RawMessage(key), IdempotencyKey: "k1"}
	c1, err := a.CreateCommand(ctx, nc)
	must(t, err)
	again, err := a.CreateCommand(ctx, nc)
	must(t, err)
	if again.Id != c1.Id || c1.State != client.StatePending || c1.DeviceName != "Encoder" {
		t.Fatalf("created %+v, repeated %+v", c1, again)
	}
	cancelled, err := a.CancelCommand(ctx, c1.Id, "guest left")
	must(t, err)
	if cancelled.State != client.StateCancelled || cancelled.Notes != "guest left" || len(cancelled.History) != 2 {
		t.Fatalf("cancelled %+v", cancelled)
	}
	resent, err := a.ResendCommand(ctx, c1.Id)
	must(t, err)
	page, err := a.Commands(ctx, admin.CommandFilter{States: []client.State{client.StatePending}, DeviceId: d.Id, Limit: 1})
	must(t, err)
	if len(page.Commands) != 1 || page.Commands[0].Id != resent.Id || page.Cursor == nil {
		t.Fatalf("page %+v", page)
	}
	all, err := a.AllCommands(ctx, admin.CommandFilter{EnterpriseId: ent.Id, Limit: 1})
	must(t, err)
	if len(all) != 2 || all[0].Id != resent.Id || all[1].Id != c1.Id {
		t.Fatalf("all commands %+v", all)
	}
	shown, err := a.Command(ctx, c1.Id)
	must(t, err)
	var data client.KeyCutterData
	if shown.State != client.StateCancelled || json.Unmarshal(shown.Data, &data) != nil || data.LockIds[0] != "101" ||
		data.KeyCutterId == nil || *data.KeyCutterId != "KC-7" {
		t.Fatalf("shown %+v", shown)
	}

	// A payment command and its record.
	term, err := a.CreateDevice(ctx, admin.Device{EnterpriseId: ent.Id, Type: client.DeviceTypePaymentTerminal, Name: "Terminal"})
	must(t, err)
	pay, err := a.CreateCommand(ctx, admin.NewCommand{DeviceId: term.Id, Data: json.RawMessage(`{"AccountId":"` + cust.Id + `",` +
		`"Amount":{"Currency":"EUR","NetValue":10,"GrossValue":10,"TaxValues":[],"Breakdown":{"Items":[]}},` +
		`"AccountData":{"Discriminator":"Company","Company":{"Name":"ACME"}}}`)})
	must(t, err)
	payments, err := a.Payments(ctx, admin.PaymentFilter{EnterpriseId: ent.Id})
	must(t, err)
	if len(payments) != 1 || payments[0].CommandId != pay.Id || payments[0].Kind != client.PaymentTypePayment ||
		*payments[0].Amount.GrossValue != 10 {
		t.Fatalf("payments %+v", payments)
	}
	one, err := a.Payment(ctx, payments[0].Id)
	must(t, err)
	if shown, err := a.Command(ctx, pay.Id); err != nil || shown.Payment == nil || shown.Payment.Id != one.Id {
		t.Fatalf("payment command %+v %v", shown, err)
	}

	// Lists, and the ends of things.
	for name, n := range map[string]func() (int, error){
		"enterprises":   func() (int, error) { l, err := a.Enterprises(ctx); return len(l), err },
		"integrations":  func() (int, error) { l, err := a.Integrations(ctx); return len(l), err },
		"subscriptions": func() (int, error) { l, err := a.Subscriptions(ctx, integ.Id); return len(l), err },
		"devices":       func() (int, error) { l, err := a.Devices(ctx, ent.Id); return len(l), err },
	} {
		want := 1
		if name == "devices" {
			want = 2
		}
		if got, err := n(); err != nil || got != want {
			t.Errorf("%s: %d, %v", name, got, err)
		}
	}
	must(t, a.Disconnect(ctx, sub.Id, d.Id))
	must(t, a.DeleteDevice(ctx, d.Id))
	must(t, a.RevokeSubscription(ctx, sub.Id))
	if subs, err := a.Subscriptions(ctx, ""); err != nil || len(subs) != 1 || !subs[0].Revoked {
		t.Fatalf("after revoking: %+v %v", subs, err)
	}
}

// TestErrors: the hub's refusals arrive as *client.Error with its message.
func TestErrors(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	ctx := context.Background()
	_, err := h.Admin.Command(ctx, bellhop.NewID())
	if client.StatusCode(err) != http.StatusNotFound || !client.IsNotFound(err) {
		t.Fatalf("unknown command: %v", err)
	}
	var apiErr *client.Error
	if _, err := h.Admin.CreateEnterprise(ctx, " "); !client.IsInvalid(err) || !errors.As(err, &apiErr) || apiErr.Message != "Invalid Name" {
		t.Fatalf("blank name: %v", err)
	}
	wrong, err := admin.New(admin.Config{Address: h.PlatformAddress(), Token: "wrong"})
	must(t, err)
	if _, err := wrong.Enterprises(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("wrong token: %v", err)
	}
	for _, cfg := range []admin.Config{{Token: "t"}, {Address: "ftp://x", Token: "t"}, {Address: "http://x"}} {
		if _, err := admin.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
