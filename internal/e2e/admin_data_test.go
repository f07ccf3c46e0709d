package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
)

// TestAdminCommandData: a command whose Data breaks its device type's rules
// is refused by the admin API with the message the Connector gives for the
// same rule, and the queue stays as it was; good Data goes in.
func TestAdminCommandData(t *testing.T) {
	e := start(t)
	tn := e.tenant("Data")
	ctx := context.Background()
	create := func(device *admin.Device, data string) reply {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"DeviceId": device.Id, "Data": json.RawMessage(data)})
		return e.do("POST", "/api/admin/v1/commands", body, "Authorization", "Bearer "+e.AdminToken)
	}
	printer, keys, terminal := tn.Devices[bellhop.Printer], tn.Devices[bellhop.KeyCutter], tn.Devices[bellhop.PaymentTerminal]
	count := func() int {
		cmds, _, err := e.Service.ListCommands(ctx, bellhop.CommandFilter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(cmds)
	}
	before := count()

	// The same rule, through both doors, answers the same message.
	same := []struct {
		name       string
		connector  reply
		admin      reply
		wantPrefix string
	}{
		{"copies", e.post("commands/addPrinter", reqBody(tn, "PrinterId", printer.Id, "Data", pdf, "CopyCount", 101)),
			create(printer, `{"CopyCount":101,"FileType":"application/pdf","FileData":"`+pdf+`"}`), "Invalid CopyCount"},
		{"keys", e.post("commands/addKeyCutter", reqBody(tn, "KeyCutterId", keys.Id, "ReservationId", tn.Reservation.Id, "KeyCount", 0)),
			create(keys, `{"KeyCount":0,"LockIds":["101"],"LastName":"Novak"}`), "Invalid KeyCount"},
		{"currency", e.post("commands/addPaymentTerminal", reqBody(tn, "TerminalId", terminal.Id, "CustomerId", tn.Customer.Id, "Type", "Payment",
			"Amount", map[string]any{"Currency": "eur", "Value": 10})),
			create(terminal, `{"Amount":{"Currency":"eur","GrossValue":10}}`), "Invalid Amount Currency"},
	}
	for _, c := range same {
		expectError(t, c.connector, http.StatusBadRequest, c.wantPrefix)
		expectError(t, c.admin, http.StatusBadRequest, c.wantPrefix)
		if cm, am := c.connector.json(t), c.admin.json(t); cm["Message"] != am["Message"] || cm["Details"] != am["Details"] {
			t.Errorf("%s: Connector %q (%v), admin %q (%v)", c.name, cm["Message"], cm["Details"], am["Message"], am["Details"])
		}
	}
	for _, c := range []struct {
		dev  *admin.Device
		data string
		want string
	}{
		{printer, `{"CopyCount":1,"FileType":"application/pdf"}`, "Invalid FileData"}, // the agent could only fail it
		{printer, `{"CopyCount":1,"FileData":"not base64!"}`, "Invalid FileData"},
		{keys, `{"KeyCount":1,"LastName":"Novak"}`, "Invalid LockIds"},
		{terminal, `{"Amount":{"Currency":"EUR","GrossValue":-5}}`, "Invalid Amount Value"},
		{printer, `"a string"`, "Invalid Data: a JSON object"},
	} {
		expectError(t, create(c.dev, c.data), http.StatusBadRequest, c.want)
	}
	if n := count(); n != before {
		t.Fatalf("refused commands entered the queue: %d commands, %d before", n, before)
	}
	if r := create(printer, `{"CopyCount":2,"FileType":"application/pdf","FileData":"`+pdf+`"}`); r.Status != http.StatusCreated {
		t.Fatalf("good Printer Data: %d %s", r.Status, r.Body)
	}
}
