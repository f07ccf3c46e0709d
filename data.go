package bellhop

import "encoding/json"

// Limits on what the add-operations accept.
const (
	MaxCopyCount = 100
	MaxKeyCount  = 20
)

// PrinterData is the Data of a Printer command.
type PrinterData struct {
	CopyCount         int
	FileType          string
	FileData          string
	PrinterName       string
	PrinterDriverName string
	PrinterPortName   string
}

// NewPrinterData builds a print command's Data from the device configuration
// and the request (spec 7.4).
func NewPrinterData(d *Device, pdfBase64 string, copies int) PrinterData {
	return PrinterData{
		CopyCount: copies, FileType: "application/pdf", FileData: pdfBase64,
		PrinterName: orDefault(d.Config.PrinterName, d.Name), PrinterDriverName: d.Config.PrinterDriverName,
		PrinterPortName: d.Config.PrinterPortName,
	}
}

// KeyCutterData is the Data of a KeyCutter command.
type KeyCutterData struct {
	KeyCutterId         *string
	ApiUrl              *string
	KeyCutterData       *string
	KeyCount            int
	LockIds             []string
	StartUtc            string
	EndUtc              string
	FirstName           *string
	LastName            string
	NormalizedFirstName *string
	NormalizedLastName  *string
	Telephone           *string
	Email               *string
	ReservationId       *string
	ReservationNumber   *string
}

// NewKeyCutterData builds a key cutter command's Data from the device
// configuration and the reservation (spec 7.4).
func NewKeyCutterData(d *Device, r *Reservation, keys int) KeyCutterData {
	return KeyCutterData{
		KeyCutterId: nullable(orDefault(d.Config.KeyCutterID, d.Identifier)), ApiUrl: nullable(d.Config.ApiUrl),
		KeyCutterData: nullable(d.Config.KeyCutterData), KeyCount: keys, LockIds: r.LockIDs,
		StartUtc: FormatTime(r.StartUtc), EndUtc: FormatTime(r.EndUtc),
		FirstName: nullable(r.FirstName), LastName: r.LastName,
		NormalizedFirstName: nullable(Normalize(r.FirstName)), NormalizedLastName: nullable(Normalize(r.LastName)),
		Telephone: nullable(r.Telephone), Email: nullable(r.Email), ReservationId: nullable(r.ID),
		ReservationNumber: nullable(r.Number),
	}
}

// ExtendedAmount is the money type of payment terminal commands.
type ExtendedAmount struct {
	Currency   string
	NetValue   float64
	GrossValue float64
	TaxValues  []TaxValue
	Breakdown  Breakdown
}

// TaxValue is one tax of an ExtendedAmount.
type TaxValue struct {
	Code  *string
	Value float64
}

// Breakdown splits an ExtendedAmount by tax rate.
type Breakdown struct{ Items []BreakdownItem }

// BreakdownItem is one tax rate's part; a null TaxRateCode means untaxed.
type BreakdownItem struct {
	TaxRateCode *string
	NetValue    float64
	TaxValue    float64
}

// UntaxedAmount turns the request's {Currency, Value} into an ExtendedAmount.
// A payment carries no tax split (taxes belong to the bill's items), so the
// whole value is one untaxed item and net equals gross.
func UntaxedAmount(currency string, value float64) ExtendedAmount {
	return ExtendedAmount{Currency: currency, NetValue: value, GrossValue: value, TaxValues: []TaxValue{},
		Breakdown: Breakdown{Items: []BreakdownItem{{NetValue: value}}}}
}

// PaymentTerminalData is the Data of a PaymentTerminal command.
type PaymentTerminalData struct {
	PaymentTerminalId   string
	AccountId           string
	BillId              *string
	PaymentId           *string
	PreauthorizationId  *string
	Amount              ExtendedAmount
	Fee                 *ExtendedAmount
	PaymentTerminalData *string
	AccountData         AccountData
	// Deprecated fields, still sent until their documented end (2027-01-10).
	CustomerId string
	FullName   *string
	// Type is Payment or Preauthorization, as requested. Not in the Mews data
	// shape; a terminal needs it and unknown fields are ignored by clients.
	Type string
}

// AccountData is the named-slot union of the account a payment is for.
type AccountData struct {
	Discriminator string
	Customer      *struct{ FullName string }
	Company       *struct{ Name string }
}

// PaymentRequest is what addPaymentTerminal asks for, beyond the device and customer.
type PaymentRequest struct {
	Type             string // Payment or Preauthorization
	Currency         string
	Value            float64
	BillID           string
	PaymentRequestID string
	ReservationID    string
}

// NewPaymentTerminalData builds a payment command's Data from the device
// configuration, the account and the request (spec 7.4).
func NewPaymentTerminalData(d *Device, c *Customer, p PaymentRequest) PaymentTerminalData {
	data := PaymentTerminalData{
		PaymentTerminalId: orDefault(d.Config.PaymentTerminalID, orDefault(d.Identifier, d.ID)),
		AccountId:         c.ID, BillId: nullable(p.BillID),
		Amount:              UntaxedAmount(p.Currency, p.Value),
		PaymentTerminalData: nullable(d.Config.PaymentTerminalData),
		CustomerId:          c.ID, Type: p.Type,
	}
	if c.IsCompany() {
		data.AccountData = AccountData{Discriminator: "Company", Company: &struct{ Name string }{c.CompanyName}}
	} else {
		data.AccountData = AccountData{Discriminator: "Customer", Customer: &struct{ FullName string }{c.FullName()}}
		data.FullName = nullable(c.FullName())
	}
	return data
}

// MarshalData encodes a Data payload; the payload types cannot fail to encode.
func MarshalData(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("bellhop: encoding command data: " + err.Error())
	}
	return b
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
