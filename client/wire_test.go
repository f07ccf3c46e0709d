package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestRequestsMatchSpecExamples sends each operation with the values of
// the documented example request and checks URL, method, headers and body
// against the example; the documented response is decoded into the result.
func TestRequestsMatchSpecExamples(t *testing.T) {
	t.Parallel()
	enterprise := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	newCommandID := "2391a3df-1c61-4131-b6f8-c85b4234adcb"
	printer := readTestdata(t, "commands-addPrinter.request.json")
	var printerReq struct{ Data string }
	if err := json.Unmarshal(printer, &printerReq); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		request, response string
		path              string
		call              func(ctx context.Context, c *Client) error
	}{
		{"devices-getAll.request.json", "devices-getAll.response.json", "devices/getAll",
			func(ctx context.Context, c *Client) error {
				got, err := c.Devices(ctx)
				want := []Device{{Id: "d14efcfd-75b9-4bd3-9f10-5657a01f860a", Name: "Key cutter 1", Type: DeviceTypeKeyCutter}}
				if err == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("Devices = %+v, want %+v", got, want)
				}
				return err
			}},
		{"commands-getAllActive.request.json", "commands-getAllActive.response.json", "commands/getAllActive",
			func(ctx context.Context, c *Client) error {
				page, err := c.ActiveCommands(ctx, nil)
				if err == nil {
					checkExampleCommands(t, page.Commands)
				}
				return err
			}},
		{"commands-getAllByIds.request.json", "commands-getAllByIds.response.json", "commands/getAllByIds",
			func(ctx context.Context, c *Client) error {
				cmds, err := c.CommandsByIds(ctx, []string{"aa20961f-6d9e-4b35-ad25-071213530aec"})
				if err == nil {
					checkExampleCommands(t, cmds)
				}
				return err
			}},
		{"commands-update.request.json", "commands-update.response.json", "commands/update",
			func(ctx context.Context, c *Client) error {
				return c.UpdateCommand(ctx, UpdateRequest{CommandId: "aa20961f-6d9e-4b35-ad25-071213530aec", State: StateProcessed})
			}},
		{"commands-addPrinter.request.json", "commands-addPrinter.response.json", "commands/addPrinter",
			func(ctx context.Context, c *Client) error {
				id, err := c.AddPrinterCommand(ctx, AddPrinterRequest{EnterpriseId: &enterprise,
					PrinterId: "d117866d-78de-4459-9077-42d7ea0120e3", CopyCount: 1, Data: printerReq.Data})
				if err == nil && id != newCommandID {
					t.Errorf("CommandId = %q", id)
				}
				return err
			}},
		{"commands-addKeyCutter.request.json", "commands-addKeyCutter.response.json", "commands/addKeyCutter",
			func(ctx context.Context, c *Client) error {
				id, err := c.AddKeyCutterCommand(ctx, AddKeyCutterRequest{EnterpriseId: &enterprise,
					KeyCutterId: "7dafffff-a727-4917-a203-bd53995f21bf", ReservationId: "be35b39e-ad7e-460a-8de9-4c7581e016a2", KeyCount: 1})
				if err == nil && id != newCommandID {
					t.Errorf("CommandId = %q", id)
				}
				return err
			}},
		{"commands-addPaymentTerminal.request.json", "commands-addPaymentTerminal.response.json", "commands/addPaymentTerminal",
			addExamplePayment},
		{"commands-addPaymentTerminal.request.mews-terminals.json", "commands-addPaymentTerminal.response.json", "commands/addPaymentTerminal",
			addExamplePayment},
		{"fiscalMachineCommands-getAll.request.json", "fiscalMachineCommands-getAll.response.json", "fiscalMachineCommands/getAll",
			func(ctx context.Context, c *Client) error {
				page, err := c.FiscalMachineCommands(ctx, FiscalMachineCommandsRequest{
					DeviceIds: []string{"d117866d-78de-4459-9077-42d7ea0120e3", "7dafffff-a727-4917-a203-bd53995f21bf"},
					States:    []State{StateProcessed, StateProcessing},
					UpdatedUtc: &TimeInterval{
						// A non-UTC location must still be sent in UTC.
						StartUtc: time.Date(2025, 1, 10, 1, 0, 0, 0, time.FixedZone("CET", 3600)),
						EndUtc:   time.Date(2025, 1, 17, 0, 0, 0, 0, time.UTC),
					},
					EnterpriseIds: []string{enterprise, "4d0201db-36f5-428b-8d11-4f0a65e960cc"},
					Limitation:    Limitation{Count: 100},
				})
				if err == nil {
					if len(page.Commands) != 2 || page.Cursor == nil || *page.Cursor != "f2e8c456-1234-4567-89ab-cdef01234567" {
						t.Errorf("page = %d commands, cursor %v", len(page.Commands), page.Cursor)
					} else if d := page.Commands[0].CommandData; d == nil || d.ItalianFiscalMachineData == nil ||
						*d.ItalianFiscalMachineData.PrinterSerialNumber != "FP001-123456" {
						t.Errorf("CommandData = %+v", d)
					}
				}
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.request, func(t *testing.T) {
			t.Parallel()
			want := readTestdata(t, tt.request)
			response := readTestdata(t, tt.response)
			var creds struct{ ClientToken, AccessToken, Client string }
			if err := json.Unmarshal(want, &creds); err != nil {
				t.Fatal(err)
			}
			f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, string(response))
			})
			c, _ := newTestClient(t, f.srv.URL+"/", func(cfg *Config) {
				cfg.ClientToken, cfg.AccessToken, cfg.Client = creds.ClientToken, creds.AccessToken, creds.Client
			})
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/api/connector/v1/"+tt.path {
				t.Errorf("request = %s %s, want POST /api/connector/v1/%s", r.Method, r.Path, tt.path)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			sameJSON(t, "request body", r.Body, want)
		})
	}
}

func addExamplePayment(ctx context.Context, c *Client) error {
	_, err := c.AddPaymentTerminalCommand(ctx, AddPaymentTerminalRequest{
		Type: PaymentTypePayment, TerminalId: "be35b39e-ad7e-460a-8de9-4c7581e016a2",
		CustomerId: "35d4b117-4e60-44a3-9580-c582117eff98", Amount: CurrencyValue{Currency: "EUR", Value: 230},
	})
	return err
}

func checkExampleCommands(t testing.TB, cmds []Command) {
	t.Helper()
	if len(cmds) != 1 {
		t.Fatalf("%d commands, want 1", len(cmds))
	}
	cmd := cmds[0]
	if cmd.Id != "aa20961f-6d9e-4b35-ad25-071213530aec" || cmd.State != StatePending ||
		!cmd.CreatedUtc.Equal(time.Date(2015, 9, 2, 19, 25, 44, 0, time.UTC)) ||
		cmd.Creator == nil || cmd.Creator.LastName != "User" || cmd.Device.Type != DeviceTypePrinter {
		t.Errorf("command = %+v", cmd)
	}
	var d PrinterData
	if err := cmd.DecodeData(&d); err != nil {
		t.Fatal(err)
	}
	want := PrinterData{CopyCount: 1, FileType: "application/pdf", FileData: "...", PrinterName: "Printer"}
	if d != want {
		t.Errorf("PrinterData = %+v, want %+v", d, want)
	}
}

// TestCommonRequestBody checks the identifying fields against the
// documented common body (whose null LanguageCode and CultureCode may be
// left out).
func TestCommonRequestBody(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, "http://localhost")
	got, err := json.Marshal(c.base())
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "base body", got, readTestdata(t, "common-request-body.json"))
}

// TestResponseExamplesRoundTrip decodes each documented response into the
// SDK's types and encodes it again: a documented field the types miss
// would be lost and show up as a difference.
func TestResponseExamplesRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		into func() any
	}{
		{"devices-getAll.response.json", func() any { return new(struct{ Devices []Device }) }},
		{"commands-getAllActive.response.json", func() any { return new(CommandPage) }},
		{"commands-getAllByIds.response.json", func() any { return new(CommandPage) }},
		{"commands-addPrinter.response.json", func() any { return new(struct{ CommandId string }) }},
		{"commands-addKeyCutter.response.json", func() any { return new(struct{ CommandId string }) }},
		{"commands-addPaymentTerminal.response.json", func() any { return new(struct{ CommandId string }) }},
		{"commands-update.response.json", func() any { return new(struct{}) }},
		{"fiscalMachineCommands-getAll.response.json", func() any { return new(FiscalMachineCommandPage) }},
		{"time-interval.json", func() any { return new(TimeInterval) }},
		{"websocket-DeviceCommand-event.mews-terminals.json", func() any { return new(Event) }},
		{"data-printer.json", func() any { return new(PrinterData) }},
		{"data-keycutter.json", func() any { return new(KeyCutterData) }},
		{"data-paymentterminal.json", func() any { return new(PaymentTerminalData) }},
		{"data-paymentterminal-legacy.json", func() any { return new(PaymentTerminalData) }},
		{"data-paymentterminal-split.json", func() any { return new(PaymentTerminalData) }},
		{"data-fiscalmachine.json", func() any { return new(FiscalMachineData) }},
		{"data-passportscanner.json", func() any { return new(PassportScannerData) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw := readTestdata(t, tt.file)
			v := tt.into()
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "re-encoded", again, raw)
		})
	}
}

func TestDecodeData(t *testing.T) {
	t.Parallel()
	var page CommandPage
	if err := json.Unmarshal(readTestdata(t, "commands-getAllActive.response.json"), &page); err != nil {
		t.Fatal(err)
	}
	cmd := page.Commands[0]
	var k KeyCutterData
	if err := cmd.DecodeData(&k); err == nil {
		t.Error("decoding Printer data as KeyCutterData: no error")
	}
	var m map[string]any
	if err := cmd.DecodeData(&m); err != nil || m["PrinterName"] != "Printer" {
		t.Errorf("DecodeData(map) = %v, %v", m, err)
	}
	cmd.Data = json.RawMessage("null")
	var p PrinterData
	if err := cmd.DecodeData(&p); !errors.Is(err, ErrNoData) {
		t.Errorf("null Data: err = %v, want ErrNoData", err)
	}
	cmd.Data = json.RawMessage(`{"CopyCount": "two"}`)
	if err := cmd.DecodeData(&p); err == nil {
		t.Error("bad Data: no error")
	}
	d := PrinterData{FileData: "JVBERi0="}
	if b, err := d.File(); err != nil || string(b) != "%PDF-" {
		t.Errorf("File() = %q, %v", b, err)
	}

	for file, want := range map[string]PaymentType{"data-paymentterminal.json": PaymentTypePayment,
		"data-paymentterminal-split.json": PaymentTypePreauthorization, "data-paymentterminal-legacy.json": ""} {
		var pay PaymentTerminalData
		if err := json.Unmarshal(readTestdata(t, file), &pay); err != nil || pay.Kind() != want {
			t.Errorf("%s: Kind() = %q (%v), want %q", file, pay.Kind(), err, want)
		}
	}

	var fiscal FiscalMachineData
	if err := json.Unmarshal(readTestdata(t, "data-fiscalmachine.json"), &fiscal); err != nil {
		t.Fatal(err)
	}
	bill, err := fiscal.DecodeBill()
	if err != nil || bill.Id != "ea087d64-3901-4eee-b0b7-9fce4c58a005" || bill.Number == nil || *bill.Number != "1001" {
		t.Errorf("DecodeBill = %+v, %v", bill, err)
	}
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	events, err := parseMessage(readTestdata(t, "websocket-message.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Type: "DeviceCommand", Id: "2391a3df-1c61-4131-b6f8-c85b4234adcb", State: StatePending}}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("events = %+v, want %+v", events, want)
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"Events": [1]}`, `{"Events": [{"Type": "DeviceCommand"}]}`,
		`{"Events": [{"Type": "DeviceCommand", "Id": 5}]}`} {
		if _, err := parseMessage([]byte(bad)); err == nil {
			t.Errorf("parseMessage(%q): no error", bad)
		}
	}
	// Other event types may have any shape.
	events, err = parseMessage([]byte(`{"Events": [{"Type": "Reservation", "Id": 5}, {"Type": 7}]}`))
	if err != nil || len(events) != 0 {
		t.Errorf("foreign events: %v, %v", events, err)
	}
}

func TestStates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s             State
		active, final bool
	}{
		{StatePending, true, false}, {StateReceived, true, false}, {StateProcessing, false, false},
		{StateProcessed, false, true}, {StateCancelled, false, true}, {StateError, false, true},
	} {
		if tt.s.Active() != tt.active || tt.s.Final() != tt.final {
			t.Errorf("%s: Active %v Final %v", tt.s, tt.s.Active(), tt.s.Final())
		}
	}
	if StateCancelled != "Cancelled" || StateError != "Error" {
		t.Error("state spelling")
	}
}

// TestTimeIntervalOpenBounds: a zero bound is sent as null, an open end.
func TestTimeIntervalOpenBounds(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 10, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	for in, want := range map[TimeInterval]string{
		{StartUtc: start}:                `{"StartUtc":"2025-01-10T00:00:00Z","EndUtc":null}`,
		{EndUtc: start}:                  `{"StartUtc":null,"EndUtc":"2025-01-10T00:00:00Z"}`,
		{StartUtc: start, EndUtc: start}: `{"StartUtc":"2025-01-10T00:00:00Z","EndUtc":"2025-01-10T00:00:00Z"}`,
	} {
		if got, err := json.Marshal(in); err != nil || string(got) != want {
			t.Errorf("%+v: %s (%v), want %s", in, got, err, want)
		}
	}
}

// BenchmarkParseMessage decodes one event as bellhop sends it, the work of
// every message an agent's socket receives.
func BenchmarkParseMessage(b *testing.B) {
	msg := []byte(`{"Events":[{"Type":"DeviceCommand","Id":"0190a000-0000-7000-8000-000000000001","State":"Processing"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if events, err := parseMessage(msg); err != nil || len(events) != 1 {
			b.Fatal(events, err)
		}
	}
}
