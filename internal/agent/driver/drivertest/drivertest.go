// Package drivertest holds the peers that the driver tests run against: a
// TCP sink for raw 9100 printing, an HTTP peer that records requests, an
// Epson fpMate endpoint, and a helper that starts CUPS' ippeveprinter.
// It imports no driver, so every driver's tests and the shared conformance
// suite can use it.
package drivertest

import (
	"encoding/base64"
	"encoding/json"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/pdf"
)

// PDF is a small, valid one-page PDF document with a correct xref table.
var PDF = pdf.Text("bellhop test")

// PrinterJob is a Printer job for doc with the given copies.
func PrinterJob(id string, doc []byte, copies int) driver.Job {
	return driver.Job{
		CommandID: id, DeviceID: "dev-printer", DeviceName: "Front desk", DeviceType: "Printer",
		Data: bellhop.MarshalData(bellhop.PrinterData{
			CopyCount: copies, FileType: "application/pdf", FileData: base64.StdEncoding.EncodeToString(doc),
			PrinterName: "Front desk",
		}),
	}
}

// KeyCutterJob is a KeyCutter job; apiURL fills Data.ApiUrl when not empty.
func KeyCutterJob(id, apiURL string) driver.Job {
	d := bellhop.KeyCutterData{KeyCount: 2, LockIds: []string{"101", "102"},
		StartUtc: "2025-01-01T14:00:00Z", EndUtc: "2025-01-03T10:00:00Z", LastName: "Novák"}
	if apiURL != "" {
		d.ApiUrl = &apiURL
	}
	return driver.Job{CommandID: id, DeviceID: "dev-keys", DeviceName: "Encoder", DeviceType: "KeyCutter",
		Data: bellhop.MarshalData(d)}
}

// Progress records the fractions a driver reports, safe for the driver's
// goroutine; read it after Run returned.
type Progress struct{ Values []float64 }

// Func returns the callback to put in Job.Progress.
func (p *Progress) Func() func(float64) { return func(f float64) { p.Values = append(p.Values, f) } }

// DecodeRequest parses what the http, exec and folder drivers send.
func DecodeRequest(b []byte) (driver.Request, error) {
	var r driver.Request
	err := json.Unmarshal(b, &r)
	return r, err
}

// FiscalJob is a FiscalMachine job for a bill of two revenue items (90.00
// and 12.50) paid by card, in the published legacy Data shape; payloadXML,
// when not empty, is sent instead as an ItalianFiscalMachine payload.
func FiscalJob(id, payloadXML string) driver.Job {
	text := func(s string) *string { return &s }
	eur := func(v float64) *bellhop.ExtendedAmount {
		return &bellhop.ExtendedAmount{Currency: "EUR", NetValue: v, GrossValue: v, TaxValues: []bellhop.TaxValue{},
			Breakdown: bellhop.Breakdown{Items: []bellhop.BreakdownItem{{NetValue: v}}}}
	}
	const billID, account = "0190a000-0000-7000-8000-00000000b111", "0190a000-0000-7000-8000-00000000a111"
	data := bellhop.FiscalMachineData{
		FiscalMachineId: text("FM-001"),
		Bill: bellhop.Bill{Id: billID, Number: text("1001"), EnterpriseId: account, AccountId: account, AccountType: "Customer",
			State: "Closed", Type: "Receipt", CreatedUtc: "2025-01-15T10:00:00Z", UpdatedUtc: "2025-01-15T10:00:00Z",
			CorrectionState: "Bill",
			Revenue: []bellhop.AccountingItem{
				{Name: text("Camera doppia"), Type: text("ServiceRevenue"), Amount: eur(90)},
				{Name: text("Colazione & caffè <extra>"), Type: text("ProductRevenue"), Amount: eur(12.5)},
			},
			Payments: []bellhop.AccountingItem{{Name: text("Carta"), Type: text("Payment"), SubType: text("CreditCard"), Amount: eur(102.5)}},
		},
	}
	if payloadXML != "" {
		data.PayloadData = &bellhop.FiscalMachinePayloadData{Discriminator: "ItalianFiscalMachine",
			Value: base64.StdEncoding.EncodeToString([]byte(payloadXML))}
	}
	return driver.Job{CommandID: id, DeviceID: "dev-fiscal", DeviceName: "Fiscal Printer", DeviceType: "FiscalMachine",
		Data: bellhop.MarshalData(data)}
}
