package bellhop

import "encoding/json"

// Limits on what the add-operations accept.
const (
	MaxCopyCount = 100
	MaxKeyCount  = 20
)

// PrinterData is the Data of a Printer command.
type PrinterData struct {
	CopyCount         int    `bellhop:"required"`
	FileType          string `bellhop:"required,nonempty"`
	FileData          string `bellhop:"required,nonempty,base64"`
	PrinterName       string `bellhop:"required,filled,nonempty"`
	PrinterDriverName string `bellhop:"required,filled,nonempty"`
	PrinterPortName   string `bellhop:"required,filled,nonempty"`
}

// DefaultPrinterSetting is the PrinterDriverName and PrinterPortName of a
// printer whose settings name none: the schema wants a name, and "default"
// tells the integration to use what it has configured itself.
const DefaultPrinterSetting = "default"

// NewPrinterData builds a print command's Data from the device configuration
// and the request (spec 7.4).
func NewPrinterData(d *Device, pdfBase64 string, copies int) PrinterData {
	p := PrinterData{CopyCount: copies, FileType: "application/pdf", FileData: pdfBase64}
	p.complete(d)
	return p
}

// complete fills what the device configuration gives and the Data lacks.
func (p *PrinterData) complete(d *Device) {
	p.PrinterName = orDefault(p.PrinterName, orDefault(d.Config.PrinterName, d.Name))
	p.PrinterDriverName = orDefault(p.PrinterDriverName, orDefault(d.Config.PrinterDriverName, DefaultPrinterSetting))
	p.PrinterPortName = orDefault(p.PrinterPortName, orDefault(d.Config.PrinterPortName, DefaultPrinterSetting))
}

// KeyCutterData is the Data of a KeyCutter command.
type KeyCutterData struct {
	KeyCutterId         *string
	ApiUrl              *string
	KeyCutterData       *string
	KeyCount            int      `bellhop:"required"`
	LockIds             []string `bellhop:"required"`
	StartUtc            string   `bellhop:"required,time"`
	EndUtc              string   `bellhop:"required,time"`
	FirstName           *string
	LastName            string `bellhop:"required,nonempty"`
	NormalizedFirstName *string
	NormalizedLastName  *string
	Telephone           *string
	Email               *string
	ReservationId       *string `bellhop:"uuid"`
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

// PaymentTerminalData is the Data of a PaymentTerminal command. It says a
// payment from a preauthorization the way Mews does: PaymentId or
// PreauthorizationId is set, naming the hub's record of it (see Payment).
type PaymentTerminalData struct {
	PaymentTerminalId   string         `bellhop:"required,filled,nonempty"`
	AccountId           string         `bellhop:"required,uuid"`
	BillId              *string        `bellhop:"uuid"`
	PaymentId           *string        `bellhop:"uuid"`
	PreauthorizationId  *string        `bellhop:"uuid"`
	Amount              ExtendedAmount `bellhop:"required"`
	Fee                 *ExtendedAmount
	PaymentTerminalData *string
	AccountData         AccountData `bellhop:"required"`
	// Deprecated fields, still sent until their documented end (2027-01-10).
	CustomerId string `bellhop:"required,filled,uuid"`
	FullName   *string
}

// Kind says whether d stands for a payment or a preauthorization, by which
// of the ids is set ("" when neither is).
func (d *PaymentTerminalData) Kind() PaymentKind {
	switch {
	case d.PreauthorizationId != nil:
		return Preauthorization
	case d.PaymentId != nil:
		return PaymentKindPayment
	}
	return ""
}

// AccountData is the named-slot union of the account a payment is for.
type AccountData struct {
	Discriminator string `bellhop:"required,enum=Customer|Company"`
	Customer      *AccountCustomer
	Company       *AccountCompany
}

// AccountCustomer is the Customer slot of AccountData.
type AccountCustomer struct {
	FullName string `bellhop:"required,nonempty"`
}

// AccountCompany is the Company slot of AccountData.
type AccountCompany struct {
	Name string `bellhop:"required,nonempty"`
}

// NewPaymentTerminalData builds a payment command's Data from the device
// configuration, the account and the payment record (spec 7.4).
func NewPaymentTerminalData(d *Device, c *Customer, p *Payment) PaymentTerminalData {
	data := PaymentTerminalData{
		PaymentTerminalId: orDefault(d.Config.PaymentTerminalID, orDefault(d.Identifier, d.ID)),
		AccountId:         c.ID, BillId: nullable(p.BillID), Amount: p.Amount,
		PaymentTerminalData: nullable(d.Config.PaymentTerminalData), CustomerId: c.ID,
	}
	if p.Kind == Preauthorization {
		data.PreauthorizationId = &p.ID
	} else {
		data.PaymentId = &p.ID
	}
	if c.IsCompany() {
		data.AccountData = AccountData{Discriminator: "Company", Company: &AccountCompany{c.CompanyName}}
	} else {
		data.AccountData = AccountData{Discriminator: "Customer", Customer: &AccountCustomer{c.FullName()}}
		data.FullName = nullable(c.FullName())
	}
	return data
}

// PassportScannerData is the Data of a PassportScanner command.
type PassportScannerData struct {
	PassportScannerId *string
	CustomerId        *string `bellhop:"uuid"`
	ReservationId     *string `bellhop:"uuid"`
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
