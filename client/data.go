package client

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// dataDeviceType returns the device type that the Data type behind v
// belongs to, for the Data types of this package.
func dataDeviceType(v any) (DeviceType, bool) {
	switch v.(type) {
	case *PrinterData:
		return DeviceTypePrinter, true
	case *KeyCutterData:
		return DeviceTypeKeyCutter, true
	case *PaymentTerminalData:
		return DeviceTypePaymentTerminal, true
	case *FiscalMachineData:
		return DeviceTypeFiscalMachine, true
	case *PassportScannerData:
		return DeviceTypePassportScanner, true
	}
	return "", false
}

// PrinterData is the Data of a Printer command.
type PrinterData struct {
	CopyCount int
	// FileType is the MIME type, e.g. "application/pdf".
	FileType string
	// FileData is the file, base64-encoded; [PrinterData.File] decodes it.
	FileData          string
	PrinterName       string
	PrinterDriverName string // may be ""
	PrinterPortName   string // may be ""
}

// File returns FileData decoded from standard base64, or the decoding error.
func (d PrinterData) File() ([]byte, error) {
	return base64.StdEncoding.DecodeString(d.FileData)
}

// KeyCutterData is the Data of a KeyCutter command.
type KeyCutterData struct {
	KeyCutterId *string
	ApiUrl      *string
	// KeyCutterData is a custom JSON string configured for the device.
	KeyCutterData *string
	KeyCount      int
	// LockIds are the locks or rooms the keys must open.
	LockIds             []string
	StartUtc            time.Time
	EndUtc              time.Time
	FirstName           *string
	LastName            string
	NormalizedFirstName *string
	NormalizedLastName  *string
	Telephone           *string
	Email               *string
	ReservationId       *string
	ReservationNumber   *string
}

// PaymentTerminalData is the Data of a PaymentTerminal command (the shape
// since 2025-01-23; older commands have CustomerId and an Amount with
// only Currency and Value). Whether it is a payment or a preauthorization
// is told by which of PaymentId and PreauthorizationId is set; see
// [PaymentTerminalData.Kind].
type PaymentTerminalData struct {
	PaymentTerminalId string
	// AccountId is empty in the legacy shape, which has only CustomerId.
	AccountId          string `json:",omitempty"`
	BillId             *string
	PaymentId          *string
	PreauthorizationId *string
	Amount             ExtendedAmount
	Fee                *ExtendedAmount
	// PaymentTerminalData is a custom JSON string configured for the device.
	PaymentTerminalData *string
	AccountData         *PaymentAccountData
	// Deprecated: use AccountId. Mews sends it until 2027-01-10.
	CustomerId *string
	// Deprecated: use AccountData.Customer.FullName.
	FullName *string
}

// Kind returns PaymentTypePreauthorization when PreauthorizationId is set,
// PaymentTypePayment when PaymentId is, and "" when neither is (a legacy
// command).
func (d PaymentTerminalData) Kind() PaymentType {
	switch {
	case d.PreauthorizationId != nil:
		return PaymentTypePreauthorization
	case d.PaymentId != nil:
		return PaymentTypePayment
	}
	return ""
}

// PaymentAccountData is the account a payment is for, a named-slot union:
// Customer is set when Discriminator is "Customer", Company when "Company".
type PaymentAccountData struct {
	Discriminator string
	Customer      *struct{ FullName string }
	Company       *struct{ Name string }
}

// ExtendedAmount is the money type of payment terminal Data. Value, Net,
// Tax and TaxRate are the legacy members: Value alone is the amount of
// commands created before 2025; bellhop also fills them from the request.
type ExtendedAmount struct {
	Currency   string
	NetValue   *float64
	GrossValue *float64
	TaxValues  []TaxValue
	Breakdown  *AmountBreakdown
	// Value is the legacy gross amount (Currency value).
	Value *float64 `json:",omitempty"`
	// Net, Tax and TaxRate (a fraction) are the legacy tax split.
	Net     *float64 `json:",omitempty"`
	Tax     *float64 `json:",omitempty"`
	TaxRate *float64 `json:",omitempty"`
}

// TaxValue is one tax of an [ExtendedAmount].
type TaxValue struct {
	Code  *string
	Value float64
}

// AmountBreakdown splits an [ExtendedAmount] by tax rate.
type AmountBreakdown struct {
	Items []AmountBreakdownItem
}

// AmountBreakdownItem is one tax rate's part; a nil TaxRateCode means untaxed.
type AmountBreakdownItem struct {
	TaxRateCode *string
	NetValue    float64
	TaxValue    float64
}

// FiscalMachineData is the Data of a FiscalMachine command (the legacy
// shape inside a [Command]; fiscalMachineCommands/getAll returns
// [FiscalMachineCommand] instead).
type FiscalMachineData struct {
	FiscalMachineId *string
	ApiUrl          *string
	// FiscalMachineData is a custom JSON string configured for the device.
	FiscalMachineData *string
	// Bill is the bill to fiscalize, kept raw because the legacy Bill
	// carries many deprecated fields; [FiscalMachineData.DecodeBill] decodes
	// its current fields.
	Bill                  json.RawMessage
	TaxIdentifier         *string
	BillFiscalMachineData *FiscalMachineBillData
	PayloadData           *FiscalMachinePayloadData
}

// DecodeBill decodes Bill into the fields it shares with the 2025 [Bill].
// The legacy-only fields (OwnerData, AssociatedAccountData, Revenue, ...)
// stay in d.Bill.
func (d FiscalMachineData) DecodeBill() (Bill, error) {
	var b Bill
	err := json.Unmarshal(d.Bill, &b)
	return b, err
}

// FiscalMachineBillData is the legacy BillFiscalMachineData union:
// Discriminator "ItalianFiscalMachineData" with Value.
type FiscalMachineBillData struct {
	Discriminator string
	Value         *ItalianFiscalMachineData
}

// FiscalMachinePayloadData is the legacy PayloadData union: Discriminator
// "ItalianFiscalMachine" with Value, a base64 file.
type FiscalMachinePayloadData struct {
	Discriminator string
	Value         string
}

// PassportScannerData is the Data of a PassportScanner command.
type PassportScannerData struct {
	PassportScannerId *string
	CustomerId        *string
	ReservationId     *string
}
