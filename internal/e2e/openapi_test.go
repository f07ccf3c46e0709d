package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
)

// wire sends requests and checks every answer against the field tables
// (schema_test.go): a 200 against the operation's result, a 204 for being
// empty, anything else against the error body. It counts what it checked.
type wire struct {
	e       *env
	t       *testing.T
	checked map[string]int // "op status" -> answers checked
}

func (w *wire) call(op string, body any, headers ...string) reply {
	w.t.Helper()
	r := w.e.post(op, body, headers...)
	w.verify(op, r)
	return r
}

func (w *wire) verify(op string, r reply) {
	w.t.Helper()
	w.checked[fmt.Sprintf("%s %d", op, r.Status)]++
	var errs []string
	switch {
	case r.Status == http.StatusOK:
		errs = checkResponse(op, r.Body)
	case r.Status == http.StatusNoContent:
		if len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
			errs = []string{fmt.Sprintf("204 with a body %q or Content-Type %q", r.Body, r.Header.Get("Content-Type"))}
		}
	default:
		v, err := decodeNumbers(r.Body)
		if err != nil {
			errs = []string{err.Error()}
			break
		}
		errs = check(op+" error", v, errorResult)
		if m, _ := v.(map[string]any); m == nil || m["Message"] == nil || m["RequestId"] != r.Header.Get("Request-Id") {
			errs = append(errs, fmt.Sprintf("error body %s without its Message or the Request-Id %q", r.Body, r.Header.Get("Request-Id")))
		}
	}
	for _, e := range errs {
		w.t.Errorf("%s (%d): %s\n%s", op, r.Status, e, r.Body)
	}
}

// ok calls op and requires a 200.
func (w *wire) ok(op string, body any, headers ...string) map[string]any {
	w.t.Helper()
	r := w.call(op, body, headers...)
	if r.Status != http.StatusOK {
		w.t.Fatalf("%s: status %d: %s", op, r.Status, r.Body)
	}
	return r.json(w.t)
}

// refused calls op and requires status with Message and, when details is
// not "", Details containing it.
func (w *wire) refused(op string, body any, status int, message, details string) {
	w.t.Helper()
	r := w.call(op, body)
	if r.Status != status {
		w.t.Errorf("%s %v: status %d, want %d: %s", op, body, r.Status, status, r.Body)
		return
	}
	m := r.json(w.t)
	if m["Message"] != message {
		w.t.Errorf("%s: Message %q, want %q", op, m["Message"], message)
	}
	if d, _ := m["Details"].(string); details != "" && !strings.Contains(d, details) {
		w.t.Errorf("%s: Details %q, want it to say %q", op, d, details)
	}
}

func (w *wire) admin(method, path string, body any) map[string]any {
	w.t.Helper()
	b, _ := json.Marshal(body)
	r := w.e.do(method, "/api/admin/v1/"+path, b, "Authorization", "Bearer "+w.e.AdminToken)
	if r.Status/100 != 2 {
		w.t.Fatalf("admin %s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r.json(w.t)
}

// TestPublishedSchemas checks every answer of the eight operations against
// the field tables, for every device type, with and without each optional
// member of the commands' Data, in every state, in both the legacy and the
// 2025 fiscal shape, paged and not, and the errors of each operation. It also
// sends the requests the published schemas allow (each optional member
// present, absent and null) and requires them served, or refused with the
// reason in Details where bellhop cannot serve them.
func TestPublishedSchemas(t *testing.T) {
	e := start(t)
	w := &wire{e: e, t: t, checked: map[string]int{}}
	tn := e.tenant("Schemas")
	ctx := context.Background()

	// A second device of every type with nothing configured: the Data is
	// built from defaults.
	bare := map[bellhop.DeviceType]*admin.Device{}
	for _, typ := range bellhop.DeviceTypes {
		d := admin.Device{EnterpriseId: tn.Enterprise.Id, Type: client.DeviceType(typ), Name: "Bare " + string(typ)}
		if typ == bellhop.FiscalMachine {
			d.Configuration.ApiUrl = "https://fiscal.example/api"
		}
		created, err := e.Admin.CreateDevice(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Admin.Connect(ctx, tn.Subscription.Id, created.Id); err != nil {
			t.Fatal(err)
		}
		bare[typ] = created
	}
	full := tn.Devices
	// A reservation with only what is required, and a company account.
	now := e.Clock.Now()
	minimal, err := e.Admin.CreateReservation(ctx, admin.Reservation{EnterpriseId: tn.Enterprise.Id, StartUtc: bellhop.FormatTime(now),
		EndUtc: bellhop.FormatTime(now.Add(24 * time.Hour)), LastName: "Lee", LockIds: []string{"7"}})
	if err != nil {
		t.Fatal(err)
	}
	company, err := e.Admin.CreateCustomer(ctx, admin.Customer{EnterpriseId: tn.Enterprise.Id, CompanyName: "ACME s.r.o."})
	if err != nil {
		t.Fatal(err)
	}

	w.ok("devices/getAll", reqBody(tn))

	// addPrinter: EnterpriseId absent, null and given.
	var ids []string
	add := func(op string, fields ...any) string {
		t.Helper()
		return w.ok(op, reqBody(tn, fields...))["CommandId"].(string)
	}
	for _, d := range []*admin.Device{full[bellhop.Printer], bare[bellhop.Printer]} {
		ids = append(ids, add("commands/addPrinter", "PrinterId", d.Id, "Data", pdf, "CopyCount", 2))
		ids = append(ids, add("commands/addPrinter", "PrinterId", d.Id, "Data", pdf, "CopyCount", 1, "EnterpriseId", nil))
		ids = append(ids, add("commands/addPrinter", "PrinterId", d.Id, "Data", pdf, "CopyCount", 1, "EnterpriseId", tn.Enterprise.Id))
	}
	// addKeyCutter: a reservation with every optional member and one with none.
	for _, d := range []*admin.Device{full[bellhop.KeyCutter], bare[bellhop.KeyCutter]} {
		for _, r := range []*admin.Reservation{tn.Reservation, minimal} {
			ids = append(ids, add("commands/addKeyCutter", "KeyCutterId", d.Id, "ReservationId", r.Id, "KeyCount", 2))
		}
	}
	// addPaymentTerminal: both kinds, both account types, each amount form,
	// each optional reference present, null and absent.
	amounts := []map[string]any{
		{"Currency": "EUR", "Value": 230},
		{"Currency": "EUR", "Value": 230.00, "Net": nil, "Tax": nil, "TaxRate": nil},
		{"Currency": "EUR", "Net": 100, "TaxRate": 0.21},
		{"Currency": "EUR", "Value": 121, "Tax": 21},
		{"Currency": "EUR", "Value": 121, "Net": 100, "Tax": 21, "TaxRate": 0.21},
		{"Currency": "JPY", "Value": 1500},
	}
	payments := map[string]string{} // command id -> kind
	for i, a := range amounts {
		for _, kind := range []string{"Payment", "Preauthorization"} {
			d, cust := full[bellhop.PaymentTerminal], tn.Customer
			if i%2 == 1 {
				d, cust = bare[bellhop.PaymentTerminal], company
			}
			fields := []any{"TerminalId", d.Id, "CustomerId", cust.Id, "Type", kind, "Amount", a}
			switch i % 3 {
			case 0:
				fields = append(fields, "BillId", bellhop.NewID(), "PaymentRequestId", bellhop.NewID(), "ReservationId", tn.Reservation.Id)
			case 1:
				fields = append(fields, "BillId", nil, "PaymentRequestId", nil, "ReservationId", nil)
			}
			id := add("commands/addPaymentTerminal", fields...)
			ids, payments[id] = append(ids, id), kind
		}
	}
	// What the admin side queues: each type's Data with its optional
	// members set, and with none.
	adminAdd := func(d *admin.Device, data string) string {
		t.Helper()
		return w.admin("POST", "commands", map[string]any{"DeviceId": d.Id, "Data": json.RawMessage(data)})["Id"].(string)
	}
	ids = append(ids,
		adminAdd(bare[bellhop.PassportScanner], `{}`),
		adminAdd(full[bellhop.PassportScanner], `{"PassportScannerId":"PS-1","CustomerId":"`+tn.Customer.Id+`","ReservationId":"`+tn.Reservation.Id+`"}`),
		adminAdd(bare[bellhop.Printer], `{"CopyCount":3,"FileType":"application/pdf","FileData":"`+pdf+`"}`),
		adminAdd(full[bellhop.KeyCutter], `{"KeyCount":1,"LockIds":["12"],"StartUtc":"2025-01-01T14:00:00Z","EndUtc":"2025-01-02T10:00:00Z","LastName":"Nováková"}`),
		adminAdd(full[bellhop.PaymentTerminal], `{"AccountId":"`+company.Id+`","Amount":`+amountJSON+`,"Fee":`+amountJSON+
			`,"PaymentTerminalData":"{\"tip\":true}","PreauthorizationId":"`+bellhop.NewID()+`","BillId":"`+bellhop.NewID()+`",`+
			`"AccountData":{"Discriminator":"Company","Company":{"Name":"ACME s.r.o."}}}`),
	)
	fiscal := []string{
		adminAdd(bare[bellhop.FiscalMachine], `{"Bill":`+billJSON(t, false)+`}`),
		adminAdd(full[bellhop.FiscalMachine], `{"Bill":`+billJSON(t, true)+`,"BillFiscalMachineData":{"Discriminator":"ItalianFiscalMachineData",`+
			`"Value":{"IsRefund":true,"RebatedReceiptNumber":"0001","RebatedReceiptSequence":"0002","RebatedReceiptDateTimeUtc":"2025-01-14T10:00:00Z","PrinterSerialNumber":"FP-1"}}}`),
		adminAdd(full[bellhop.FiscalMachine], `{"FiscalMachineId":"FM-9","ApiUrl":"https://fm9.example","FiscalMachineData":"{\"port\":\"COM1\"}",`+
			`"TaxIdentifier":"999","Bill":`+billJSON(t, false)+`,"PayloadData":{"Discriminator":"ItalianFiscalMachine","Value":"PD94bWwvPg=="}}`),
		adminAdd(bare[bellhop.FiscalMachine], `{"Bill":`+billJSON(t, true)+`,"BillFiscalMachineData":{"Discriminator":"ItalianFiscalMachineData","Value":{}},`+
			`"PayloadData":{"Discriminator":"ItalianFiscalMachine","Value":"PD94bWwvPg=="}}`),
	}
	ids = append(ids, fiscal...)

	// Every command in every read, as Pending (getAllActive reads mark them
	// Received), paged and not.
	all := w.ok("commands/getAllActive", reqBody(tn))
	if got := len(all["Commands"].([]any)); got != len(ids) {
		t.Fatalf("getAllActive: %d commands, want %d", got, len(ids))
	}
	w.ok("commands/getAllActive", reqBody(tn, "Limitation", map[string]any{"Count": 5}))
	w.ok("commands/getAllByIds", reqBody(tn, "CommandIds", ids))
	w.ok("commands/getAllByIds", reqBody(tn, "CommandIds", ids, "Limitation", nil))
	page := w.ok("commands/getAllByIds", reqBody(tn, "CommandIds", ids, "Limitation", map[string]any{"Count": 4}))
	w.ok("commands/getAllByIds", reqBody(tn, "CommandIds", ids, "Limitation", map[string]any{"Count": 4, "Cursor": page["Cursor"]}))
	w.ok("commands/getAllByIds", reqBody(tn, "CommandIds", ids, "Limitation", map[string]any{"Count": 4, "Cursor": nil}))

	// The payment kind is told by the id, and the record behind it is in
	// the admin API with what the Data has no place for.
	byID := map[string]map[string]any{}
	for _, c := range all["Commands"].([]any) {
		byID[c.(map[string]any)["Id"].(string)] = c.(map[string]any)
	}
	for id, kind := range payments {
		data := byID[id]["Data"].(map[string]any)
		field, other := "PaymentId", "PreauthorizationId"
		if kind == "Preauthorization" {
			field, other = other, field
		}
		pid, _ := data[field].(string)
		if pid == "" || data[other] != nil {
			t.Errorf("%s command %s: %s %v, %s %v", kind, id, field, data[field], other, data[other])
			continue
		}
		p := w.admin("GET", "payments/"+pid, nil)
		if p["Kind"] != kind || p["CommandId"] != id || p["AccountId"] != data["AccountId"] {
			t.Errorf("payment record %v of command %s", p, id)
		}
		cmd := w.admin("GET", "commands/"+id, nil)
		if rec, _ := cmd["Payment"].(map[string]any); rec == nil || rec["Id"] != pid {
			t.Errorf("commands/%s shows payment %v, want %s", id, cmd["Payment"], pid)
		}
	}
	// The tax split is kept: Net 100 + TaxRate 0.21.
	for id := range payments {
		a := byID[id]["Data"].(map[string]any)["Amount"].(map[string]any)
		if a["TaxRate"] == 0.21 && (a["NetValue"] != 100.0 || a["GrossValue"] != 121.0 || a["Net"] != 100.0 || a["Tax"] != 21.0) {
			t.Errorf("amount %v of command %s", a, id)
		}
	}

	// The fiscal commands in the 2025 shape: by ids, and by devices and
	// states with every form of UpdatedUtc.
	fiscalDevices := []string{full[bellhop.FiscalMachine].Id, bare[bellhop.FiscalMachine].Id}
	got := w.ok("fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", fiscal, "Limitation", map[string]any{"Count": 10}))
	if n := len(got["Commands"].([]any)); n != len(fiscal) {
		t.Fatalf("fiscal by ids: %d commands, want %d", n, len(fiscal))
	}
	w.ok("fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", fiscal, "EnterpriseIds", nil, "Limitation", map[string]any{"Count": 2}))
	w.ok("fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", fiscal, "EnterpriseIds", []string{tn.Enterprise.Id}, "Limitation", map[string]any{"Count": 2, "Cursor": nil}))
	states := []string{"Pending", "Received", "Processing", "Processed", "Cancelled", "Error"}
	start, end := bellhop.FormatTime(now.Add(-time.Hour)), bellhop.FormatTime(now.Add(time.Hour))
	for _, interval := range []any{
		nil,
		map[string]any{"StartUtc": start, "EndUtc": end},
		map[string]any{"StartUtc": start, "EndUtc": nil},
		map[string]any{"StartUtc": start},
		map[string]any{"EndUtc": end},
		map[string]any{"StartUtc": nil, "EndUtc": nil},
		map[string]any{},
	} {
		fields := []any{"DeviceIds", fiscalDevices, "States", states, "Limitation", map[string]any{"Count": 100}}
		if interval != nil {
			fields = append(fields, "UpdatedUtc", interval)
		}
		got := w.ok("fiscalMachineCommands/getAll", reqBody(tn, fields...))
		if n := len(got["Commands"].([]any)); n != len(fiscal) {
			t.Errorf("fiscal by devices, UpdatedUtc %v: %d commands, want %d", interval, n, len(fiscal))
		}
	}

	// Updates with each optional member, then every read again in the
	// final states.
	for i, id := range ids {
		switch i % 4 {
		case 0:
			w.ok("commands/update", reqBody(tn, "CommandId", id, "State", "Processing", "Progress", 0.5, "Notes", nil))
			w.ok("commands/update", reqBody(tn, "CommandId", id, "State", "Processed", "Notes", "done", "Progress", nil,
				"ExternalRequestIdentifier", map[string]any{"Value": "TX-" + id[len(id)-6:]}))
		case 1:
			r := w.call("commands/update", reqBody(tn, "CommandId", id, "State", "Error", "Notes", "jammed"), "Prefer", "return=minimal")
			if r.Status != http.StatusNoContent {
				t.Errorf("update with return=minimal: %d", r.Status)
			}
		case 2:
			w.ok("commands/update", reqBody(tn, "CommandId", id, "State", "Cancelled"))
		case 3:
			w.ok("commands/update", reqBody(tn, "CommandId", id, "State", "Processing"))
		}
	}
	w.ok("commands/getAllByIds", reqBody(tn, "CommandIds", ids))
	w.ok("fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", fiscalDevices, "States", states, "Limitation", map[string]any{"Count": 100}))
	if r := w.call("commands/getAllActive", reqBody(tn, "Limitation", map[string]any{"Count": 10}), "Prefer", "return=minimal"); r.Status != http.StatusNoContent {
		t.Errorf("empty page with return=minimal: %d %s", r.Status, r.Body)
	}
	w.call("fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", []string{bellhop.NewID()}, "Limitation", map[string]any{"Count": 10}), "Prefer", "return=minimal")
	w.ok("fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", []string{bellhop.NewID()}, "Limitation", map[string]any{"Count": 10}))

	// The external reference is kept with the command and its history.
	cmd := w.admin("GET", "commands/"+ids[0], nil)
	want := "TX-" + ids[0][len(ids[0])-6:]
	hist := cmd["History"].([]any)
	if cmd["ExternalRequestIdentifier"] != want || hist[len(hist)-1].(map[string]any)["ExternalRequestIdentifier"] != want {
		t.Errorf("external reference: command %v, history %v", cmd["ExternalRequestIdentifier"], hist)
	}

	// Requests the schemas allow that bellhop cannot serve: refused, with
	// the reason.
	pay := func(fields ...any) map[string]any {
		return reqBody(tn, append([]any{"TerminalId", full[bellhop.PaymentTerminal].Id, "CustomerId", tn.Customer.Id, "Type", "Payment"}, fields...)...)
	}
	w.refused("commands/addPaymentTerminal", pay(), 400, "Invalid Amount", "Currency and Value")
	w.refused("commands/addPaymentTerminal", pay("BillId", bellhop.NewID()), 400, "Invalid Amount", "no bills")
	w.refused("commands/addPaymentTerminal", pay("Amount", map[string]any{"Currency": "EUR"}), 400, "Invalid Amount", "give Value")
	w.refused("commands/addPaymentTerminal", pay("Amount", map[string]any{"Currency": "EUR", "Net": 100}), 400, "Invalid Amount", "Net without Tax or TaxRate")
	w.refused("commands/addPaymentTerminal", pay("Amount", map[string]any{"Currency": "EUR", "Value": 1.005}), 400, "Invalid Amount Value", "decimal places")
	w.refused("commands/addPaymentTerminal", pay("Amount", map[string]any{"Currency": "EUX", "Value": 1}), 400, "Invalid Amount Currency", "ISO 4217")
	w.refused("commands/addPaymentTerminal", pay("Amount", map[string]any{"Currency": "EUR", "Value": 1}, "ReservationId", bellhop.NewID()), 400, "Invalid ReservationId", "")
	w.refused("commands/update", reqBody(tn, "CommandId", ids[3], "State", "Processed", "ExternalRequestIdentifier", map[string]any{}), 400, "Invalid ExternalRequestIdentifier", "Value is required")
	w.refused("fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", fiscalDevices, "States", states, "Limitation", map[string]any{"Count": 1},
		"UpdatedUtc", map[string]any{"StartUtc": bellhop.FormatTime(now.AddDate(0, -4, 0))}), 400, "Invalid UpdatedUtc", "more than 3 months")
	w.refused("fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", fiscalDevices, "States", states, "Limitation", map[string]any{"Count": 1},
		"UpdatedUtc", map[string]any{"StartUtc": end, "EndUtc": start}), 400, "Invalid UpdatedUtc", "before StartUtc")

	// The errors of each operation: a bad token, a bad body, a bad URL.
	wrong := reqBody(tn)
	wrong["AccessToken"] = "nope"
	for op := range responseSchemas {
		w.call(op, wrong)
		w.call(op, `{"ClientToken":`)
		w.call(op+"/", reqBody(tn))
	}
	w.call("commands/getAllByIds", reqBody(tn, "CommandIds", []string{"not-an-id"}))
	w.refused("commands/addPrinter", reqBody(tn, "PrinterId", full[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1000), 400, "Invalid CopyCount", "from 1 to 100")
	w.call("commands/addKeyCutter", reqBody(tn, "KeyCutterId", full[bellhop.KeyCutter].Id, "ReservationId", bellhop.NewID(), "KeyCount", 1))
	w.refused("commands/update", reqBody(tn, "CommandId", ids[0], "State", "Pending"), 400, "Invalid State", "is Processed, a final state")
	w.refused("commands/update", reqBody(tn, "CommandId", ids[3], "State", "Received"), 400, "Invalid State", "is Processing and cannot go back to Received")
	w.refused("commands/update", reqBody(tn, "CommandId", ids[3], "State", "Processing", "Progress", 2), 400, "Invalid Progress", "a fraction from 0 to 1")
	w.call("devices/getAll", reqBody(tn, "Client", nil, "AccessToken", nil))

	// Every operation answered 200 and an error at least once, each checked.
	var seen []string
	for op := range responseSchemas {
		if w.checked[op+" 200"] == 0 || w.checked[op+" 400"]+w.checked[op+" 401"] == 0 {
			t.Errorf("%s: no 200 or no error checked (%v)", op, w.checked)
		}
	}
	for k, n := range w.checked {
		seen = append(seen, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(seen)
	t.Logf("answers checked: %s", strings.Join(seen, ", "))
}

const amountJSON = `{"Currency":"EUR","NetValue":100,"GrossValue":121,"TaxValues":[{"Code":"IT-22","Value":21}],` +
	`"Breakdown":{"Items":[{"TaxRateCode":"IT-22","NetValue":100,"TaxValue":21}]}}`

// billJSON returns a legacy Bill: with every optional member set when full,
// else with the required ones only.
func billJSON(t testing.TB, full bool) string {
	t.Helper()
	b := map[string]any{"Id": bellhop.NewID(), "EnterpriseId": bellhop.NewID(), "AccountId": bellhop.NewID(),
		"AccountType": "Customer", "State": "Open", "Type": "Receipt", "CreatedUtc": "2025-01-15T10:00:00Z",
		"UpdatedUtc": "2025-01-15T14:25:00Z", "CorrectionState": "Bill"}
	if !full {
		out, _ := json.Marshal(b)
		return string(out)
	}
	id := bellhop.NewID
	customer := map[string]any{"Id": id(), "Address": map[string]any{"Line1": "Via Roma 1", "Line2": nil, "City": "Roma",
		"PostalCode": "00100", "SubdivisionCode": nil, "CountryCode": "IT"}, "LegalIdentifiers": map[string]any{"IT_CF": "X"},
		"BillingCode": "B1", "LastName": "Rossi", "FirstName": "Anna", "SecondLastName": nil, "TitlePrefix": "Miss", "TaxIdentifier": "T1"}
	companyData := map[string]any{"Id": nil, "Name": "ACME", "FiscalIdentifier": "F1", "AdditionalTaxIdentifier": "A1", "DUNS": "D1",
		"Telephone": "+39", "TaxIdentifier": "T2", "InvoicingEmail": "i@acme.example", "Department": "Sales", "BillingCode": nil,
		"Address": nil, "LegalIdentifiers": nil}
	var amount any
	json.Unmarshal([]byte(amountJSON), &amount)
	item := map[string]any{"Id": id(), "AccountId": id(), "CustomerId": id(), "OrderId": id(), "ServiceId": id(), "ProductId": id(),
		"BillId": id(), "InvoiceId": nil, "AccountingCategoryId": id(), "CreditCardId": nil, "Type": "ServiceRevenue",
		"SubType": "SpaceOrder", "Name": "Camera", "Notes": nil, "ConsumptionUtc": "2025-01-15T10:00:00Z", "ClosedUtc": nil,
		"State": "Closed", "SubState": nil, "Amount": amount, "TaxExemptionReasonCode": nil}
	order := map[string]any{"Id": id(), "AccountId": id(), "OrderId": id(), "BillId": id(), "AccountingCategoryId": nil,
		"UnitCount": 2, "UnitAmount": amount, "Amount": amount, "OriginalAmount": amount, "RevenueType": "Service",
		"CreatorProfileId": id(), "UpdaterProfileId": id(), "CreatedUtc": "2025-01-15T10:00:00Z", "UpdatedUtc": "2025-01-15T10:00:00Z",
		"ConsumedUtc": "2025-01-15T10:00:00Z", "CanceledUtc": nil, "ClosedUtc": nil, "StartUtc": nil, "AccountingState": "Open",
		"Data": map[string]any{"Discriminator": "ProductOrder", "Value": map[string]any{"ProductId": id(), "AgeCategoryId": nil}}}
	payment := map[string]any{"Id": id(), "AccountId": id(), "BillId": nil, "AccountingCategoryId": nil, "Amount": amount,
		"OriginalAmount": amount, "AmountDefault": amount, "Notes": "card", "SettlementId": nil, "ConsumedUtc": "2025-01-15T10:00:00Z",
		"ClosedUtc": nil, "AccountingState": "Open", "State": "Charged", "Identifier": "X1",
		"Data": map[string]any{"Discriminator": "Invoice", "Value": map[string]any{"InvoiceId": id()}}}
	for k, v := range map[string]any{"Name": "Hotel invoice", "CustomerId": id(), "CompanyId": id(), "AssociatedAccountIds": []string{id()},
		"CounterId": id(), "Number": "1001", "VariableSymbol": "VS1", "IssuedUtc": "2025-01-15T14:25:00Z", "TaxedUtc": "2025-01-15T14:25:00Z",
		"PaidUtc": nil, "DueUtc": "2025-01-29T23:59:59Z", "LastReminderDateUtc": nil, "PurchaseOrderNumber": "PO-1", "Notes": "n",
		"Options":               map[string]any{"DisplayCustomer": true, "DisplayTaxation": false, "TrackReceivable": true, "DisplayCid": false, "Rebated": false},
		"Revenue":               []any{item},
		"Payments":              []any{item},
		"OrderItems":            []any{order, map[string]any{"Data": map[string]any{"Discriminator": "Rebate", "Value": map[string]any{"RebatedItemId": id()}}}},
		"PaymentItems":          []any{payment},
		"AssigneeData":          map[string]any{"Discriminator": "BillCompanyData", "Value": companyData},
		"OwnerData":             map[string]any{"Discriminator": "BillCustomerData", "Value": customer},
		"CompanyDetails":        companyData,
		"AssociatedAccountData": []any{map[string]any{"Discriminator": "BillCompanyData", "BillCustomerData": nil, "BillCompanyData": companyData}},
		"EnterpriseData": map[string]any{"AdditionalTaxIdentifier": "E1", "CompanyName": "Hotel", "BankAccount": "1", "BankName": "B",
			"Iban": "IT00", "Bic": "BIC"},
		"CorrectionState": "CorrectiveBill", "CorrectionType": "Edit", "CorrectedBillId": id(), "State": "Closed", "Type": "Invoice",
		"AccountType": "Company"} {
		b[k] = v
	}
	// The rebate order item needs every required member too.
	rebate := map[string]any{}
	for k, v := range order {
		rebate[k] = v
	}
	rebate["Id"], rebate["Data"] = id(), map[string]any{"Discriminator": "Rebate", "Value": map[string]any{"RebatedItemId": id()}}
	b["OrderItems"] = []any{order, rebate}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestFieldTablesCatchDrift shows that the tables are not vacuous: each
// departure from the published shape that bellhop once made, or could make,
// is caught.
func TestFieldTablesCatchDrift(t *testing.T) {
	good := `{"PaymentTerminalId":"T1","CustomerId":"35d4b117-4e60-44a3-9580-c582117eff98","AccountId":"35d4b117-4e60-44a3-9580-c582117eff98",` +
		`"FullName":null,"BillId":null,"PaymentId":"35d4b117-4e60-44a3-9580-c582117eff98","PreauthorizationId":null,` +
		`"Amount":` + amountJSON + `,"Fee":null,"PaymentTerminalData":null,"AccountData":{"Discriminator":"Customer","Customer":{"FullName":"A"},"Company":null}}`
	if errs := check("Data", mustDecode(t, good), paymentTerminalData); len(errs) != 0 {
		t.Fatalf("valid payment data refused: %v", errs)
	}
	for name, doc := range map[string]string{
		"a member the schema lacks (Type)": strings.Replace(good, `"FullName":null`, `"FullName":null,"Type":"Payment"`, 1),
		"a required member left out":       strings.Replace(good, `"PaymentTerminalId":"T1",`, ``, 1),
		"null where not nullable":          strings.Replace(good, `"PaymentTerminalId":"T1"`, `"PaymentTerminalId":null`, 1),
		"an empty string under minLength":  strings.Replace(good, `"PaymentTerminalId":"T1"`, `"PaymentTerminalId":""`, 1),
		"not a uuid":                       strings.Replace(good, `"BillId":null`, `"BillId":"B-1"`, 1),
		"not in the enum":                  strings.Replace(good, `"Discriminator":"Customer"`, `"Discriminator":"Person"`, 1),
		"a string for a number":            strings.Replace(good, `"GrossValue":121`, `"GrossValue":"121"`, 1),
		"a nested required member":         strings.Replace(good, `"TaxValues":[{"Code":"IT-22","Value":21}]`, `"TaxValues":[{"Code":"IT-22"}]`, 1),
	} {
		if errs := check("Data", mustDecode(t, doc), paymentTerminalData); len(errs) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	// The legacy bill in the 2025 view, and the 2025 bill in the legacy one.
	legacy := `{"Id":"35d4b117-4e60-44a3-9580-c582117eff98","EnterpriseId":"35d4b117-4e60-44a3-9580-c582117eff98",` +
		`"AccountId":"35d4b117-4e60-44a3-9580-c582117eff98","AccountType":"Customer","AssociatedAccountIds":null,"State":"Closed",` +
		`"Type":"Receipt","CreatedUtc":"2025-01-15T10:00:00Z","UpdatedUtc":"2025-01-15T10:00:00Z","CorrectionState":"Bill",` +
		`"Revenue":null,"Payments":null,"OrderItems":null,"PaymentItems":null}`
	if errs := check("Bill", mustDecode(t, legacy), legacyBillSchema); len(errs) != 0 {
		t.Fatalf("legacy bill refused: %v", errs)
	}
	if errs := check("Bill", mustDecode(t, legacy), bill2025); len(errs) != 4 {
		t.Errorf("legacy bill as a 2025 bill: %v, want its 4 legacy members refused", errs)
	}
	bill := strings.Replace(legacy, `,"Revenue":null,"Payments":null,"OrderItems":null,"PaymentItems":null`, `,"Owner":null`, 1)
	if errs := check("Bill", mustDecode(t, bill), legacyBillSchema); len(errs) != 5 {
		t.Errorf("2025 bill as a legacy bill: %v, want 4 missing members and Owner refused", errs)
	}
	if errs := check("x", mustDecode(t, `{"Message":"m","RequestId":"r","Extra":1}`), errorResult); len(errs) != 1 {
		t.Errorf("error body with an extra member: %v", errs)
	}
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeNumbers([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
