package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/node"
)

var pdf = base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n%%EOF\n"))

// addPrinter queues a print command for the tenant through the SDK.
func (e *env) addPrinter(tn *tenant) string {
	e.t.Helper()
	id, err := e.SDK(tn).AddPrinterCommand(context.Background(), client.AddPrinterRequest{
		PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1})
	if err != nil {
		e.t.Fatalf("addPrinter: %v", err)
	}
	return id
}

// addFiscal queues a fiscal command the way a PMS does, through the admin side.
func (e *env) addFiscal(tn *tenant) string {
	e.t.Helper()
	// The documented bill, in the legacy Data shape a PMS sends.
	var example struct {
		Commands []struct{ Bill, CommandData json.RawMessage }
	}
	b, err := os.ReadFile("testdata/spec/fiscalMachineCommands-getAll.response.json")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &example); err != nil {
		e.t.Fatal(err)
	}
	data := `{"FiscalMachineId":"FM-1","ApiUrl":"http://127.0.0.1:1/api","FiscalMachineData":"{}","TaxIdentifier":"123","Bill":` +
		string(legacyBill(e.t, example.Commands[0].Bill)) + `,"BillFiscalMachineData":{"Discriminator":"ItalianFiscalMachineData","Value":{"IsRefund":false}}}`
	cmd, err := e.Service.CreateCommand(context.Background(), tn.Devices[bellhop.FiscalMachine].Id, json.RawMessage(data), "pms", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return cmd.ID
}

// legacyBill turns a 2025 Bill into the legacy shape of command Data: the
// owner and associated accounts under their legacy names.
func legacyBill(t testing.TB, bill2025 json.RawMessage) json.RawMessage {
	var b map[string]json.RawMessage
	if err := json.Unmarshal(bill2025, &b); err != nil {
		t.Fatal(err)
	}
	b["OwnerData"], b["AssociatedAccountData"] = b["Owner"], b["AssociatedAccountsData"]
	delete(b, "Owner")
	delete(b, "AssociatedAccountsData")
	out, _ := json.Marshal(b)
	return out
}

// paymentData is the Data of a payment of 10 EUR for a customer, as a PMS
// sends it through the admin side.
func paymentData(accountID string) json.RawMessage {
	return json.RawMessage(`{"AccountId":"` + accountID + `","CustomerId":"` + accountID + `",` +
		`"Amount":{"Currency":"EUR","NetValue":10,"GrossValue":10,"TaxValues":[],"Breakdown":{"Items":[{"NetValue":10,"TaxValue":0}]}},` +
		`"AccountData":{"Discriminator":"Customer","Customer":{"FullName":"Ann Lee"}}}`)
}

func TestCommandData(t *testing.T) {
	e := start(t)
	tn := e.tenant("Data")
	c := e.SDK(tn)
	ctx := context.Background()

	printID := e.addPrinter(tn)
	keyID, err := c.AddKeyCutterCommand(ctx, client.AddKeyCutterRequest{KeyCutterId: tn.Devices[bellhop.KeyCutter].Id,
		ReservationId: tn.Reservation.Id, KeyCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	payID, err := c.AddPaymentTerminalCommand(ctx, client.AddPaymentTerminalRequest{TerminalId: tn.Devices[bellhop.PaymentTerminal].Id,
		CustomerId: tn.Customer.Id, Type: client.PaymentTypePayment, Amount: client.CurrencyValue{Currency: "EUR", Value: 230}})
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := c.CommandsByIds(ctx, []string{printID, keyID, payID})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 3 {
		t.Fatalf("%d commands", len(cmds))
	}
	byID := map[string]client.Command{}
	for _, cmd := range cmds {
		byID[cmd.Id] = cmd
		if cmd.State != client.StateReceived {
			t.Errorf("%s: state %s after a connected read, want Received", cmd.Id, cmd.State)
		}
		if cmd.Creator == nil || cmd.Creator.LastName != tn.Integration.Name {
			t.Errorf("creator %+v", cmd.Creator)
		}
	}
	var p client.PrinterData
	if err := byID[printID].DecodeData(&p); err != nil {
		t.Fatal(err)
	}
	if p.FileData != pdf || p.CopyCount != 1 || p.FileType != "application/pdf" || p.PrinterName != "P1" {
		t.Errorf("printer data %+v", p)
	}
	var k client.KeyCutterData
	if err := byID[keyID].DecodeData(&k); err != nil {
		t.Fatal(err)
	}
	if k.KeyCount != 2 || k.LastName != "Dvořák" || k.NormalizedLastName == nil || *k.NormalizedLastName != "Dvorak" ||
		len(k.LockIds) != 2 || k.ReservationNumber == nil || *k.ReservationNumber != "1001" ||
		k.ApiUrl == nil || *k.ApiUrl != "http://127.0.0.1:1/api" || k.StartUtc.Format(time.RFC3339) != tn.Reservation.StartUtc {
		t.Errorf("key cutter data %+v", k)
	}
	var pay client.PaymentTerminalData
	if err := byID[payID].DecodeData(&pay); err != nil {
		t.Fatal(err)
	}
	if pay.AccountId != tn.Customer.Id || pay.Amount.Currency != "EUR" || pay.Amount.GrossValue == nil || *pay.Amount.GrossValue != 230 ||
		pay.AccountData.Discriminator != "Customer" || pay.AccountData.Customer == nil || pay.AccountData.Customer.FullName != "Ann Lee" ||
		pay.Kind() != client.PaymentTypePayment {
		t.Errorf("payment data %+v", pay)
	}
	// The terminal reports its transaction reference with the outcome.
	if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: payID, State: client.StateProcessed,
		ExternalRequestIdentifier: &client.ExternalRequestIdentifier{Value: "TX-230"}}); err != nil {
		t.Fatal(err)
	}
	if v, hist, err := e.Service.Command(ctx, payID); err != nil || v.ExternalID != "TX-230" || hist[len(hist)-1].ExternalID != "TX-230" ||
		v.Payment == nil || v.Payment.ID != *pay.PaymentId {
		t.Errorf("after the update: %+v %+v %v", v, hist, err)
	}
	// A refusal's Details reach the SDK's error.
	_, err = c.AddPaymentTerminalCommand(ctx, client.AddPaymentTerminalRequest{TerminalId: tn.Devices[bellhop.PaymentTerminal].Id,
		CustomerId: tn.Customer.Id, Type: client.PaymentTypePayment, Amount: client.CurrencyValue{Currency: "EUR", Net: &[]float64{100}[0]}})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Message != "Invalid Amount" || !strings.Contains(apiErr.Details, "Net without Tax or TaxRate") {
		t.Errorf("refused amount: %v", err)
	}
}

func TestStateTransitions(t *testing.T) {
	e := start(t)
	tn := e.tenant("States")
	c := e.SDK(tn)
	ctx := context.Background()
	half := 0.5
	tests := []struct {
		path []bellhop.State // states applied in order; the last one is checked
		ok   bool
	}{
		{[]bellhop.State{bellhop.Received}, true},
		{[]bellhop.State{bellhop.Processing}, true},
		{[]bellhop.State{bellhop.Processed}, true}, // skip forward
		{[]bellhop.State{bellhop.Cancelled}, true},
		{[]bellhop.State{bellhop.Failed}, true},
		{[]bellhop.State{bellhop.Processing, bellhop.Received}, false},
		{[]bellhop.State{bellhop.Processing, bellhop.Pending}, false},
		{[]bellhop.State{bellhop.Processed, bellhop.Processing}, false},
		{[]bellhop.State{bellhop.Processed, bellhop.Failed}, false},
		{[]bellhop.State{bellhop.Cancelled, bellhop.Processed}, false},
		{[]bellhop.State{bellhop.Failed, bellhop.Pending}, false},
		{[]bellhop.State{bellhop.Processed, bellhop.Processed}, true}, // a retried update
		{[]bellhop.State{bellhop.Processing, bellhop.Processing}, true},
		{[]bellhop.State{bellhop.Received, bellhop.Received}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.path), func(t *testing.T) {
			id := e.addPrinter(tn)
			var err error
			for _, st := range tt.path {
				err = c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.State(st)})
			}
			if tt.ok && err != nil {
				t.Fatalf("want accepted: %v", err)
			}
			if !tt.ok {
				var ce *client.Error
				if !errors.As(err, &ce) || ce.StatusCode != 400 || ce.Message != "Invalid State" {
					t.Fatalf("want 400 Invalid State, got %v", err)
				}
				// Nothing changed: the state is still the one before.
				v, _, err := e.Service.Command(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if v.State != tt.path[len(tt.path)-2] {
					t.Fatalf("state %s after a refused update", v.State)
				}
			}
		})
	}

	t.Run("progress and notes", func(t *testing.T) {
		id := e.addPrinter(tn)
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessing, Progress: &half}); err != nil {
			t.Fatal(err)
		}
		bad := 1.5
		err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessing, Progress: &bad})
		if !client.IsInvalid(err) || !strings.Contains(err.Error(), "Invalid Progress") {
			t.Fatalf("progress 1.5: %v", err)
		}
		notes := "printed 2 pages"
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed, Notes: &notes}); err != nil {
			t.Fatal(err)
		}
		v, hist, err := e.Service.Command(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Notes != notes || v.State != bellhop.Processed || v.Progress == nil || *v.Progress != 1 {
			t.Fatalf("command %+v", v.Command)
		}
		var states []string
		for _, h := range hist {
			states = append(states, string(h.State))
		}
		if got := strings.Join(states, ","); got != "Pending,Processing,Processed" {
			t.Fatalf("history %s", got)
		}
		// The same final update again is fine; other notes are not.
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed, Notes: &notes}); err != nil {
			t.Fatalf("repeat: %v", err)
		}
		other := "other"
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed, Notes: &other}); !client.IsInvalid(err) {
			t.Fatalf("changing final notes: %v", err)
		}
	})

	// bellhop keeps what a device says while it works (Mews ignores notes on
	// Processing): each new note is a history entry, a repeat is not.
	t.Run("notes while processing", func(t *testing.T) {
		id := e.addPrinter(tn)
		for _, n := range []string{"queue paused", "queue paused", "", "media-empty: load paper"} {
			if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessing, Notes: &n}); err != nil {
				t.Fatal(err)
			}
		}
		v, hist, err := e.Service.Command(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.State != bellhop.Processing || v.Notes != "media-empty: load paper" {
			t.Fatalf("command %s %q", v.State, v.Notes)
		}
		var notes []string
		for _, h := range hist {
			notes = append(notes, string(h.State)+":"+h.Notes)
		}
		if got := strings.Join(notes, ","); got != "Pending:,Processing:queue paused,Processing:media-empty: load paper" {
			t.Fatalf("history %s", got)
		}
	})
}

func TestErrors(t *testing.T) {
	e := start(t, func(c *node.Config) { c.MaxBody = 1 << 20 })
	tn := e.tenant("Errors")
	other := e.tenant("Other")
	id := e.addPrinter(tn)
	foreign := e.addPrinter(other)
	printer := tn.Devices[bellhop.Printer].Id
	tests := []struct {
		name, op string
		body     any
		status   int
		message  string
	}{
		{"invalid JSON", "devices/getAll", `{"ClientToken":`, 400, "Invalid JSON"},
		{"trailing comma", "devices/getAll", `{"ClientToken":"a","AccessToken":"b",}`, 400, "Invalid JSON"},
		{"not an object", "devices/getAll", `[1,2]`, 400, "Invalid JSON"},
		{"deep JSON", "devices/getAll", strings.Repeat("[", 100) + strings.Repeat("]", 100), 400, "Invalid JSON"},
		{"no tokens", "devices/getAll", `{}`, 401, "Invalid ClientToken"},
		{"wrong client token", "devices/getAll", map[string]any{"ClientToken": other.ClientToken, "AccessToken": tn.AccessToken, "Client": "x"}, 401, "Invalid ClientToken"},
		{"ill-typed token", "devices/getAll", map[string]any{"ClientToken": 5, "AccessToken": tn.AccessToken}, 400, "Invalid ClientToken"},
		{"missing CommandId", "commands/update", reqBody(tn, "State", "Processed"), 400, "Invalid CommandId"},
		{"missing State", "commands/update", reqBody(tn, "CommandId", id), 400, "Invalid State"},
		{"unknown state", "commands/update", reqBody(tn, "CommandId", id, "State", "Done"), 400, "Invalid State"},
		{"ill-typed progress", "commands/update", reqBody(tn, "CommandId", id, "State", "Processing", "Progress", "half"), 400, "Invalid Progress"},
		{"unknown command", "commands/update", reqBody(tn, "CommandId", bellhop.NewID(), "State", "Processed"), 400, "Invalid CommandId"},
		{"foreign command", "commands/update", reqBody(tn, "CommandId", foreign, "State", "Processed"), 400, "Invalid CommandId"},
		{"malformed id", "commands/update", reqBody(tn, "CommandId", "nope", "State", "Processed"), 400, "Invalid CommandId"},
		{"too many ids", "commands/getAllByIds", reqBody(tn, "CommandIds", make([]string, 1001)), 400, "Invalid CommandIds"},
		{"missing ids", "commands/getAllByIds", reqBody(tn), 400, "Invalid CommandIds"},
		{"foreign printer", "commands/addPrinter", reqBody(tn, "PrinterId", other.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1), 400, "Invalid PrinterId"},
		{"printer of other type", "commands/addPrinter", reqBody(tn, "PrinterId", tn.Devices[bellhop.KeyCutter].Id, "Data", pdf, "CopyCount", 1), 400, "Invalid PrinterId"},
		{"bad base64", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", "%%%", "CopyCount", 1), 400, "Invalid Data"},
		{"zero copies", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", pdf, "CopyCount", 0), 400, "Invalid CopyCount"},
		{"too many copies", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", pdf, "CopyCount", 101), 400, "Invalid CopyCount"},
		{"fractional copies", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", pdf, "CopyCount", 1.5), 400, "Invalid CopyCount"},
		{"missing copies", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", pdf), 400, "Invalid CopyCount"},
		{"foreign reservation", "commands/addKeyCutter", reqBody(tn, "KeyCutterId", tn.Devices[bellhop.KeyCutter].Id, "ReservationId", other.Reservation.Id, "KeyCount", 1), 400, "Invalid ReservationId"},
		{"too many keys", "commands/addKeyCutter", reqBody(tn, "KeyCutterId", tn.Devices[bellhop.KeyCutter].Id, "ReservationId", tn.Reservation.Id, "KeyCount", 21), 400, "Invalid KeyCount"},
		{"bad payment type", "commands/addPaymentTerminal", reqBody(tn, "TerminalId", tn.Devices[bellhop.PaymentTerminal].Id, "CustomerId", tn.Customer.Id, "Type", "Gift", "Amount", map[string]any{"Currency": "EUR", "Value": 1}), 400, "Invalid Type"},
		{"bad currency", "commands/addPaymentTerminal", reqBody(tn, "TerminalId", tn.Devices[bellhop.PaymentTerminal].Id, "CustomerId", tn.Customer.Id, "Type", "Payment", "Amount", map[string]any{"Currency": "euro", "Value": 1}), 400, "Invalid Amount Currency"},
		{"foreign customer", "commands/addPaymentTerminal", reqBody(tn, "TerminalId", tn.Devices[bellhop.PaymentTerminal].Id, "CustomerId", other.Customer.Id, "Type", "Payment", "Amount", map[string]any{"Currency": "EUR", "Value": 1}), 400, "Invalid CustomerId"},
		{"fiscal without limitation", "fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", []string{id}), 400, "Invalid Limitation"},
		{"fiscal both sets", "fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", []string{id}, "DeviceIds", []string{printer}, "Limitation", map[string]any{"Count": 10}), 400, "Invalid parameters"},
		{"fiscal long interval", "fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", []string{printer}, "States", []string{"Pending"}, "UpdatedUtc", map[string]any{"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-02T00:00:00Z"}, "Limitation", map[string]any{"Count": 10}), 400, "Invalid UpdatedUtc"},
		{"fiscal foreign enterprise", "fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", []string{printer}, "States", []string{"Pending"}, "EnterpriseIds", []string{other.Enterprise.Id}, "Limitation", map[string]any{"Count": 10}), 400, "Invalid EnterpriseIds"},
		{"count too large", "commands/getAllActive", reqBody(tn, "Limitation", map[string]any{"Count": 1001}), 400, "Invalid Limitation Count"},
		{"unknown cursor", "commands/getAllActive", reqBody(tn, "Limitation", map[string]any{"Count": 10, "Cursor": bellhop.NewID()}), 400, "Invalid Cursor"},
		{"wrong case", "commands/getallactive", reqBody(tn), 404, "Not found"},
		{"trailing slash", "commands/getAllActive/", reqBody(tn), 404, "Not found"},
		{"unknown operation", "commands/delete", reqBody(tn), 404, "Not found"},
		{"too large", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", strings.Repeat("A", 2<<20), "CopyCount", 1), 413, "Request body too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot(tn, other)
			expectError(t, e.post(tt.op, tt.body), tt.status, tt.message)
			if after := e.snapshot(tn, other); after != before {
				t.Fatalf("a refused request changed the queue:\n%s\n%s", before, after)
			}
		})
	}
	t.Run("GET is not an operation", func(t *testing.T) {
		expectError(t, e.do(http.MethodGet, "/api/connector/v1/devices/getAll", nil), 404, "Not found")
	})
	t.Run("request id on success", func(t *testing.T) {
		r := e.post("devices/getAll", reqBody(tn))
		if r.Status != 200 || len(r.Header.Get("Request-Id")) != 36 {
			t.Fatalf("status %d, Request-Id %q", r.Status, r.Header.Get("Request-Id"))
		}
	})
}

// snapshot renders every command of the tenants with state and notes, to
// prove that a refused request changed nothing.
func (e *env) snapshot(tenants ...*tenant) string {
	e.t.Helper()
	var b strings.Builder
	for _, tn := range tenants {
		cmds, err := e.Admin.AllCommands(context.Background(), admin.CommandFilter{EnterpriseId: tn.Enterprise.Id})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range cmds {
			fmt.Fprintf(&b, "%s %s %q %v\n", c.Id, c.State, c.Notes, c.Progress)
		}
	}
	return b.String()
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

// TestRequestBuffersAreNotShared: request bodies are read into reused
// buffers; what a request created keeps its own data after the next
// request of the same size was read into the same buffer.
func TestRequestBuffersAreNotShared(t *testing.T) {
	e := start(t)
	tn := e.tenant("Buffers")
	c := e.SDK(tn)
	ctx := context.Background()
	var ids, files []string
	for _, s := range []string{"%PDF-1.4\n%first\n%%EOF\n", "%PDF-1.4\n%other\n%%EOF\n"} {
		f := base64.StdEncoding.EncodeToString([]byte(s))
		id, err := c.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: f, CopyCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids, files = append(ids, id), append(files, f)
	}
	cmds, err := c.CommandsByIds(ctx, ids)
	if err != nil || len(cmds) != len(ids) {
		t.Fatalf("%d commands, %v", len(cmds), err)
	}
	for _, cmd := range cmds {
		var p client.PrinterData
		if err := cmd.DecodeData(&p); err != nil {
			t.Fatal(err)
		}
		if want := files[slices.Index(ids, cmd.Id)]; p.FileData != want {
			t.Errorf("%s: FileData %q, want %q", cmd.Id, p.FileData, want)
		}
	}
}
