package bellhop

import (
	"encoding/json"
	"strings"
	"testing"
)

const testBill = `{"Id":"ea087d64-3901-4eee-b0b7-9fce4c58a005","EnterpriseId":"3fa85f64-5717-4562-b3fc-2c963f66afa6",
	"AccountId":"fadd5bb6-b428-45d5-94f8-fd0d89fece6d","AccountType":"Customer","State":"Closed","Type":"Receipt",
	"CreatedUtc":"2025-01-15T10:00:00Z","UpdatedUtc":"2025-01-15T14:25:00Z","CorrectionState":"Bill"`

func TestCompleteData(t *testing.T) {
	dev := func(typ DeviceType, cfg DeviceConfig) *Device {
		return &Device{ID: "d117866d-78de-4459-9077-42d7ea0120e3", Type: typ, Name: "Front desk", Identifier: "FD-1", Config: cfg}
	}
	account := `"AccountId":"35d4b117-4e60-44a3-9580-c582117eff98"`
	amount := `"Amount":{"Currency":"EUR","NetValue":10,"GrossValue":10,"TaxValues":[],"Breakdown":{"Items":[]}}`
	customer := `"AccountData":{"Discriminator":"Customer","Customer":{"FullName":"Ann Lee"}}`
	tests := []struct {
		name string
		dev  *Device
		data string
		want string // a JSON fragment of the completed Data, or the error's Details
		err  bool
	}{
		{"printer names from the device", dev(Printer, DeviceConfig{PrinterPortName: "LPT1"}),
			`{"CopyCount":1,"FileType":"application/pdf","FileData":"JVBERi0="}`,
			`"PrinterName":"Front desk","PrinterDriverName":"default","PrinterPortName":"LPT1"`, false},
		{"printer without copies", dev(Printer, DeviceConfig{}), `{"FileType":"application/pdf","FileData":"JVBERi0="}`,
			"Invalid CopyCount: from 1 to 100", true},
		{"printer data not base64", dev(Printer, DeviceConfig{}), `{"CopyCount":1,"FileType":"application/pdf","FileData":"%PDF"}`,
			"Invalid FileData", true},
		{"unknown member", dev(PassportScanner, DeviceConfig{}), `{"Test":true}`, `unknown field "Test"`, true},
		{"wrong type", dev(Printer, DeviceConfig{}), `{"CopyCount":"one"}`, "Invalid CopyCount", true},
		{"passport scanner id from the device", dev(PassportScanner, DeviceConfig{}), `{}`, `"PassportScannerId":"FD-1"`, false},
		{"key cutter without locks", dev(KeyCutter, DeviceConfig{}),
			`{"KeyCount":1,"LastName":"Lee","StartUtc":"2025-01-01T14:00:00Z","EndUtc":"2025-01-02T10:00:00Z"}`, "Invalid LockIds", true},
		{"key cutter without times", dev(KeyCutter, DeviceConfig{}),
			`{"KeyCount":1,"LockIds":["1"],"LastName":"Lee"}`, "StartUtc is required.", true},
		{"printer with a member of another type", dev(Printer, DeviceConfig{}),
			`{"CopyCount":1,"FileType":"application/pdf","FileData":"JVBERi0=","KeyCount":1}`, `unknown field "KeyCount"`, true},
		{"key cutter with a bad time", dev(KeyCutter, DeviceConfig{}),
			`{"KeyCount":1,"LockIds":["1"],"LastName":"Lee","StartUtc":"tomorrow","EndUtc":"2025-01-02T10:00:00Z"}`, `StartUtc "tomorrow" is not`, true},
		{"key cutter normalized names", dev(KeyCutter, DeviceConfig{KeyCutterID: "KC"}),
			`{"KeyCount":1,"LockIds":["1"],"FirstName":"Jiří","LastName":"Dvořák","StartUtc":"2025-01-01T14:00:00Z","EndUtc":"2025-01-02T10:00:00Z"}`,
			`"NormalizedFirstName":"Jiri","NormalizedLastName":"Dvorak","Telephone":null`, false},
		{"payment: deprecated members filled", dev(PaymentTerminal, DeviceConfig{}), `{` + account + `,` + amount + `,` + customer + `}`,
			`"PaymentTerminalId":"FD-1","AccountId":"35d4b117-4e60-44a3-9580-c582117eff98"`, false},
		{"payment and preauthorization", dev(PaymentTerminal, DeviceConfig{}), `{` + account + `,` + amount + `,` + customer +
			`,"PaymentId":"35d4b117-4e60-44a3-9580-c582117eff98","PreauthorizationId":"35d4b117-4e60-44a3-9580-c582117eff98"}`, "not both", true},
		{"payment amount without breakdown", dev(PaymentTerminal, DeviceConfig{}),
			`{` + account + `,` + customer + `,"Amount":{"Currency":"EUR","NetValue":10,"GrossValue":10,"TaxValues":[]}}`, "Amount.Breakdown is required.", true},
		{"payment slot missing", dev(PaymentTerminal, DeviceConfig{}), `{` + account + `,` + amount + `,"AccountData":{"Discriminator":"Company"}}`,
			"Company without its slot", true},
		{"fiscal settings from the device", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm.example/api", TaxIdentifier: "123"}),
			`{"Bill":` + testBill + `}}`,
			`"FiscalMachineId":"FD-1","ApiUrl":"https://fm.example/api","FiscalMachineData":"{}"`, false},
		{"fiscal without ApiUrl", dev(FiscalMachine, DeviceConfig{}), `{"Bill":` + testBill + `}}`, "ApiUrl", true},
		{"fiscal bill state", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}), `{"Bill":` + strings.Replace(testBill, `"Closed"`, `"Done"`, 1) + `}}`,
			`Bill.State "Done" is not one of Open, Closed.`, true},
		{"fiscal bill without id", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}), `{"Bill":{"AccountType":"Customer"}}`, "Bill.Id is required.", true},
		{"fiscal bill id not an id", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}), `{"Bill":` + strings.Replace(testBill, `"ea087d64-3901-4eee-b0b7-9fce4c58a005"`, `"B-1"`, 1) + `}}`,
			`Bill.Id "B-1" is not an id.`, true},
		{"fiscal 2025 owner", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}), `{"Bill":` + testBill + `,"Owner":null}}`, `unknown field "Owner"`, true},
		{"fiscal order item", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}), `{"Bill":` + testBill + `,"OrderItems":[{"Name":"Room"}]}}`,
			`unknown field "Name"`, true},
		{"fiscal owner data", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}),
			`{"Bill":` + testBill + `,"OwnerData":{"Discriminator":"BillCompanyData","Value":{"Name":"ACME"}}}}`,
			`"OwnerData":{"Discriminator":"BillCompanyData","Value":{"Id":null,`, false},
		{"fiscal owner without value", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}),
			`{"Bill":` + testBill + `,"OwnerData":{"Discriminator":"BillCompanyData"}}}`, "without a Value", true},
		{"fiscal payload", dev(FiscalMachine, DeviceConfig{ApiUrl: "https://fm"}),
			`{"Bill":` + testBill + `},"PayloadData":{"Discriminator":"ItalianFiscalMachine","Value":""}}`, "PayloadData.Value must not be empty.", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := CompleteData(tt.dev, json.RawMessage(tt.data))
			if tt.err {
				ok := strings.Contains(ErrorText(err), tt.want)
				if !strings.HasPrefix(tt.want, "Invalid ") {
					ok = ErrorMessage(err) == "Invalid Data" && strings.Contains(ErrorDetails(err), tt.want)
				}
				if ErrorCode(err) != EINVALID || !ok {
					t.Fatalf("err %v, want %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(MarshalData(v)); !strings.Contains(got, tt.want) {
				t.Errorf("got %s, want it to contain %s", got, tt.want)
			}
		})
	}
}

func TestBill2025(t *testing.T) {
	var b Bill
	legacy := testBill + `,"Revenue":[{"Name":"Room"}],"Payments":null,"CustomerId":"fadd5bb6-b428-45d5-94f8-fd0d89fece6d",
		"AssigneeData":{"Discriminator":"BillCustomerData","Value":{"Id":"c1","LastName":"Old"}},
		"AssociatedAccountData":[{"Discriminator":"BillCompanyData","BillCompanyData":{"Id":null,"Name":"ACME"}}]}`
	if err := json.Unmarshal([]byte(legacy), &b); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(b.Bill2025())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(out, &m)
	for _, gone := range []string{"Revenue", "Payments", "OrderItems", "PaymentItems", "CustomerId", "CompanyId", "OwnerData",
		"AssigneeData", "CompanyDetails", "AssociatedAccountData"} {
		if _, ok := m[gone]; ok {
			t.Errorf("2025 bill has %s", gone)
		}
	}
	if string(m["Owner"]) != `{"Discriminator":"BillCustomerData","BillCustomerData":{"Id":"c1","Address":null,"LegalIdentifiers":null,"BillingCode":null,"LastName":"Old","FirstName":null,"SecondLastName":null,"TitlePrefix":null,"TaxIdentifier":null},"BillCompanyData":null}` {
		t.Errorf("Owner from the deprecated AssigneeData: %s", m["Owner"])
	}
	if !strings.Contains(string(m["AssociatedAccountsData"]), `"Name":"ACME"`) || string(m["AssociatedAccountIds"]) != "null" {
		t.Errorf("associated accounts: %s", out)
	}
	if len(m) != 27 {
		t.Errorf("%d members, want the 27 of Bill (ver 2025-06-23): %s", len(m), out)
	}
}

// FuzzCompleteData: whatever Data an admin sends, CompleteData does not
// panic, and what it accepts it accepts again unchanged once completed (the
// canonical form is a fixed point), so a resent command keeps its Data.
func FuzzCompleteData(f *testing.F) {
	f.Add(uint8(0), []byte(`{"CopyCount":1,"FileType":"application/pdf","FileData":"JVBERi0="}`))
	f.Add(uint8(1), []byte(`{"AccountId":"35d4b117-4e60-44a3-9580-c582117eff98","Amount":{"Currency":"EUR","NetValue":10,"GrossValue":10,"TaxValues":[],"Breakdown":{"Items":[]}},"AccountData":{"Discriminator":"Customer","Customer":{"FullName":"A"}}}`))
	f.Add(uint8(2), []byte(`{"KeyCount":1,"LockIds":["1"],"LastName":"Lee","StartUtc":"2025-01-01T14:00:00Z","EndUtc":"2025-01-02T10:00:00Z"}`))
	f.Add(uint8(3), []byte(`{"Bill":`+testBill+`,"OwnerData":{"Discriminator":"BillCompanyData","Value":{"Name":"ACME"}}}}`))
	f.Add(uint8(4), []byte(`{"PassportScannerId":null}`))
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		d := &Device{ID: "d117866d-78de-4459-9077-42d7ea0120e3", Type: DeviceTypes[int(typ)%len(DeviceTypes)], Name: "D",
			Config: DeviceConfig{ApiUrl: "https://fm.example"}}
		v, err := CompleteData(d, data)
		if err != nil {
			if ErrorMessage(err) != "Invalid Data" && ErrorMessage(err) != "Invalid Type" {
				t.Fatalf("error %v is not Invalid Data", err)
			}
			return
		}
		first := MarshalData(v)
		again, err := CompleteData(d, first)
		if err != nil {
			t.Fatalf("completed Data %s refused: %v", first, err)
		}
		if second := MarshalData(again); string(second) != string(first) {
			t.Fatalf("not a fixed point:\n%s\n%s", first, second)
		}
	})
}
