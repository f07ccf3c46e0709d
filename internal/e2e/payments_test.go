package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
)

// TestPaymentRecords: a payment command queued through the admin API is
// recorded under the id its Data names, an id already recorded is refused
// without queueing anything, and sending the command again is a new attempt
// with a record of its own, of the same kind.
func TestPaymentRecords(t *testing.T) {
	e := start(t)
	tn := e.tenant("Payments")
	ctx := context.Background()
	terminal := tn.Devices[bellhop.PaymentTerminal]
	preID := bellhop.NewID()
	var data map[string]any
	json.Unmarshal(paymentData(tn.Customer.Id), &data)
	data["PreauthorizationId"] = preID
	raw, _ := json.Marshal(data)
	first, err := e.Admin.CreateCommand(ctx, admin.NewCommand{DeviceId: terminal.Id, Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.Admin.Payment(ctx, preID)
	if err != nil || rec.Kind != client.PaymentTypePreauthorization || rec.CommandId != first.Id || rec.EnterpriseId != tn.Enterprise.Id {
		t.Fatalf("record %+v %v", rec, err)
	}

	_, err = e.Admin.CreateCommand(ctx, admin.NewCommand{DeviceId: terminal.Id, Data: raw})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || apiErr.Message != "Invalid PaymentId" {
		t.Fatalf("payment id used twice: %v", err)
	}
	if cmds, err := e.Admin.AllCommands(ctx, admin.CommandFilter{DeviceId: terminal.Id}); err != nil || len(cmds) != 1 {
		t.Fatalf("%d commands after a refused payment id (%v), want 1", len(cmds), err)
	}

	again, err := e.Admin.ResendCommand(ctx, first.Id)
	if err != nil {
		t.Fatal(err)
	}
	var againData client.PaymentTerminalData
	json.Unmarshal(again.Data, &againData)
	if againData.Kind() != client.PaymentTypePreauthorization || *againData.PreauthorizationId == preID {
		t.Fatalf("resent Data %s", again.Data)
	}
	if shown, err := e.Admin.Command(ctx, again.Id); err != nil || shown.Payment == nil || shown.Payment.Id != *againData.PreauthorizationId {
		t.Errorf("resent command's record %+v %v", shown, err)
	}

	// Without an id the hub names a payment.
	delete(data, "PreauthorizationId")
	raw, _ = json.Marshal(data)
	plain, err := e.Admin.CreateCommand(ctx, admin.NewCommand{DeviceId: terminal.Id, Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	var plainData client.PaymentTerminalData
	json.Unmarshal(plain.Data, &plainData)
	if rec, err := e.Admin.Payment(ctx, *plainData.PaymentId); err != nil || rec.Kind != client.PaymentTypePayment || rec.CommandId != plain.Id {
		t.Errorf("named payment %s: %+v %v", *plainData.PaymentId, rec, err)
	}

	all, err := e.Admin.Payments(ctx, admin.PaymentFilter{EnterpriseId: tn.Enterprise.Id})
	if err != nil || len(all) != 3 || all[0].Id != *plainData.PaymentId {
		t.Errorf("payments of the enterprise, newest first: %+v %v", all, err)
	}
	one, err := e.Admin.Payments(ctx, admin.PaymentFilter{CommandId: first.Id})
	if err != nil || len(one) != 1 || one[0].Id != preID {
		t.Errorf("payments of a command: %+v %v", one, err)
	}
	if _, err := e.Admin.Payment(ctx, bellhop.NewID()); !client.IsNotFound(err) {
		t.Errorf("unknown payment: %v", err)
	}
	expectError(t, e.do(http.MethodGet, "/api/admin/v1/payments?limit=0", nil, "Authorization", "Bearer "+e.AdminToken),
		http.StatusBadRequest, "Invalid limit")
}
