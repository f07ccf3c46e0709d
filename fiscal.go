package bellhop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// FiscalMachineData is the Data of a FiscalMachine command, in the shape that
// commands/getAllActive and commands/getAllByIds return (Mews' "Fiscal
// machine command data", spec 5.4): the device configuration, the legacy Bill
// and the Italian extras. fiscalMachineCommands/getAll returns the same
// command converted to the 2025 shape (see Bill2025).
type FiscalMachineData struct {
	FiscalMachineId       *string
	ApiUrl                *string
	FiscalMachineData     *string // custom JSON text configured for the device
	Bill                  Bill    `bellhop:"required"`
	TaxIdentifier         *string
	BillFiscalMachineData *BillFiscalMachineData
	PayloadData           *FiscalMachinePayloadData
}

// BillFiscalMachineData is the legacy generic union of fiscal extras; its
// one Discriminator is ItalianFiscalMachineData.
type BillFiscalMachineData struct {
	Discriminator string                   `bellhop:"required,enum=ItalianFiscalMachineData"`
	Value         ItalianFiscalMachineData `bellhop:"required"`
}

// FiscalMachinePayloadData is the legacy generic union of a file to print;
// its one Discriminator is ItalianFiscalMachine, its Value base64.
type FiscalMachinePayloadData struct {
	Discriminator string `bellhop:"required,enum=ItalianFiscalMachine"`
	Value         string `bellhop:"required,nonempty,base64"`
}

// ItalianFiscalMachineData is what an Italian RT printer needs beyond the bill.
type ItalianFiscalMachineData struct {
	IsRefund                  bool
	RebatedReceiptNumber      *string
	RebatedReceiptSequence    *string
	RebatedReceiptDateTimeUtc *string `bellhop:"time"`
	PrinterSerialNumber       *string
}

// Bill is the legacy bill of FiscalMachineData (Mews' "Bill"), with its
// deprecated members. Members that the schema requires but allows to be null
// (AssociatedAccountIds, Revenue, Payments, OrderItems, PaymentItems) are
// always sent, as null when nil.
type Bill struct {
	Id                    string `bellhop:"required,uuid"`
	Name                  *string
	EnterpriseId          string   `bellhop:"required,uuid"`
	AccountId             string   `bellhop:"required,uuid"`
	AccountType           string   `bellhop:"required,enum=Company|Customer"`
	CustomerId            *string  `bellhop:"uuid"`
	CompanyId             *string  `bellhop:"uuid"`
	AssociatedAccountIds  []string `bellhop:"uuid"`
	CounterId             *string  `bellhop:"uuid"`
	State                 string   `bellhop:"required,enum=Open|Closed"`
	Type                  string   `bellhop:"required,enum=Receipt|Invoice"`
	Number                *string
	VariableSymbol        *string
	CreatedUtc            string  `bellhop:"required,time"`
	IssuedUtc             *string `bellhop:"time"`
	TaxedUtc              *string `bellhop:"time"`
	PaidUtc               *string `bellhop:"time"`
	DueUtc                *string `bellhop:"time"`
	LastReminderDateUtc   *string `bellhop:"time"`
	UpdatedUtc            string  `bellhop:"required,time"`
	PurchaseOrderNumber   *string
	Notes                 *string
	Options               *BillOptions
	Revenue               []AccountingItem
	Payments              []AccountingItem
	OrderItems            []OrderItem
	PaymentItems          []PaymentItem
	AssigneeData          *BillOwnerData
	OwnerData             *BillOwnerData
	CompanyDetails        *BillCompanyData
	AssociatedAccountData []BillAccountData
	EnterpriseData        *BillEnterpriseData
	CorrectionState       string  `bellhop:"required,enum=Bill|CorrectiveBill"`
	CorrectionType        *string `bellhop:"enum=Cancellation|Edit|CreditNote|Reinstatement|ReceivablePaymentsBalance"`
	CorrectedBillId       *string `bellhop:"uuid"`
}

// Bill2025 is the bill of fiscalMachineCommands/getAll (Mews' "Bill (ver
// 2025-06-23)"): the legacy Bill without its deprecated members, with Owner
// and AssociatedAccountsData in the named-slot union.
type Bill2025 struct {
	Id                     string
	Name                   *string
	EnterpriseId           string
	AccountId              string
	AccountType            string
	AssociatedAccountIds   []string
	CounterId              *string
	State                  string
	Type                   string
	Number                 *string
	VariableSymbol         *string
	CreatedUtc             string
	UpdatedUtc             string
	IssuedUtc              *string
	TaxedUtc               *string
	PaidUtc                *string
	DueUtc                 *string
	LastReminderDateUtc    *string
	PurchaseOrderNumber    *string
	Notes                  *string
	Options                *BillOptions
	Owner                  *BillAccountData
	AssociatedAccountsData []BillAccountData
	EnterpriseData         *BillEnterpriseData
	CorrectionState        string
	CorrectionType         *string
	CorrectedBillId        *string
}

// Bill2025 converts the legacy bill to the 2025 shape: the owner comes from
// OwnerData (else the deprecated AssigneeData), the associated accounts from
// AssociatedAccountData; revenue, payments, items and the other deprecated
// members are left out, as that shape has no place for them.
func (b *Bill) Bill2025() Bill2025 {
	owner := b.OwnerData
	if owner == nil {
		owner = b.AssigneeData
	}
	var o *BillAccountData
	if owner != nil {
		a := owner.Slots()
		o = &a
	}
	return Bill2025{
		Id: b.Id, Name: b.Name, EnterpriseId: b.EnterpriseId, AccountId: b.AccountId, AccountType: b.AccountType,
		AssociatedAccountIds: b.AssociatedAccountIds, CounterId: b.CounterId, State: b.State, Type: b.Type,
		Number: b.Number, VariableSymbol: b.VariableSymbol, CreatedUtc: b.CreatedUtc, UpdatedUtc: b.UpdatedUtc,
		IssuedUtc: b.IssuedUtc, TaxedUtc: b.TaxedUtc, PaidUtc: b.PaidUtc, DueUtc: b.DueUtc,
		LastReminderDateUtc: b.LastReminderDateUtc, PurchaseOrderNumber: b.PurchaseOrderNumber, Notes: b.Notes,
		Options: b.Options, Owner: o, AssociatedAccountsData: b.AssociatedAccountData, EnterpriseData: b.EnterpriseData,
		CorrectionState: b.CorrectionState, CorrectionType: b.CorrectionType, CorrectedBillId: b.CorrectedBillId,
	}
}

// BillOptions are a bill's display options.
type BillOptions struct {
	DisplayCustomer bool
	DisplayTaxation bool
	TrackReceivable bool
	DisplayCid      bool
	Rebated         bool
}

// BillEnterpriseData is the enterprise's data frozen on a closed bill.
type BillEnterpriseData struct {
	AdditionalTaxIdentifier *string
	CompanyName             *string
	BankAccount             *string
	BankName                *string
	Iban                    *string
	Bic                     *string
}

// BillAccountData is a bill's owner or associated account in the named-slot
// union (Mews' "Associated account bill data"): Discriminator names the slot
// that is set.
type BillAccountData struct {
	Discriminator    string `bellhop:"required,enum=BillCustomerData|BillCompanyData"`
	BillCustomerData *BillCustomerData
	BillCompanyData  *BillCompanyData
}

// BillOwnerData is a bill's owner (or deprecated assignee) in the generic
// union {Discriminator, Value} of the legacy Bill. Exactly one of Customer
// and Company is set, as Discriminator says.
type BillOwnerData struct {
	Discriminator string // BillCustomerData or BillCompanyData
	Customer      *BillCustomerData
	Company       *BillCompanyData
}

// Slots returns o in the named-slot form of the 2025 bill.
func (o *BillOwnerData) Slots() BillAccountData {
	return BillAccountData{Discriminator: o.Discriminator, BillCustomerData: o.Customer, BillCompanyData: o.Company}
}

// MarshalJSON writes {Discriminator, Value}.
func (o BillOwnerData) MarshalJSON() ([]byte, error) {
	var v any
	switch {
	case o.Customer != nil:
		v = o.Customer
	case o.Company != nil:
		v = o.Company
	}
	return json.Marshal(struct {
		Discriminator string
		Value         any
	}{o.Discriminator, v})
}

// UnmarshalJSON reads {Discriminator, Value}, Value in the shape the
// Discriminator names; members it does not know are an error.
func (o *BillOwnerData) UnmarshalJSON(b []byte) error {
	var raw struct {
		Discriminator string
		Value         json.RawMessage
	}
	if err := strictUnmarshal(b, &raw); err != nil {
		return err
	}
	*o = BillOwnerData{Discriminator: raw.Discriminator}
	null := len(raw.Value) == 0 || string(raw.Value) == "null"
	switch raw.Discriminator {
	case "BillCustomerData":
		if !null {
			o.Customer = new(BillCustomerData)
			return strictUnmarshal(raw.Value, o.Customer)
		}
	case "BillCompanyData":
		if !null {
			o.Company = new(BillCompanyData)
			return strictUnmarshal(raw.Value, o.Company)
		}
	default:
		return fmt.Errorf("the Discriminator %q is not BillCustomerData or BillCompanyData", raw.Discriminator)
	}
	return fmt.Errorf("%s without a Value", raw.Discriminator)
}

// BillCustomerData is a customer's data frozen on a bill.
type BillCustomerData struct {
	Id               string `bellhop:"required,nonempty"`
	Address          *Address
	LegalIdentifiers map[string]string
	BillingCode      *string
	LastName         string `bellhop:"required,nonempty"`
	FirstName        *string
	SecondLastName   *string
	TitlePrefix      *string `bellhop:"enum=Mister|Miss|Misses"`
	TaxIdentifier    *string
}

// BillCompanyData is a company's data frozen on a bill.
type BillCompanyData struct {
	Id                      *string
	Address                 *Address
	LegalIdentifiers        map[string]string
	BillingCode             *string
	Name                    string `bellhop:"required,nonempty"`
	FiscalIdentifier        *string
	AdditionalTaxIdentifier *string
	DUNS                    *string
	Telephone               *string
	TaxIdentifier           *string
	InvoicingEmail          *string
	Department              *string
}

// Address is an account's address on a bill.
type Address struct {
	Line1           *string
	Line2           *string
	City            *string
	PostalCode      *string
	SubdivisionCode *string
	CountryCode     *string
}

// AccountingItem is a revenue or payment line of the legacy Bill (its
// deprecated Revenue and Payments): every member is optional.
type AccountingItem struct {
	Id                     string  `json:",omitempty" bellhop:"uuid"`
	AccountId              string  `json:",omitempty" bellhop:"uuid"`
	CustomerId             *string `bellhop:"uuid"`
	OrderId                *string `bellhop:"uuid"`
	ServiceId              *string `bellhop:"uuid"`
	ProductId              *string `bellhop:"uuid"`
	BillId                 *string `bellhop:"uuid"`
	InvoiceId              *string `bellhop:"uuid"`
	AccountingCategoryId   *string `bellhop:"uuid"`
	CreditCardId           *string `bellhop:"uuid"`
	Type                   *string
	SubType                *string
	Name                   *string
	Notes                  *string
	ConsumptionUtc         *string
	ClosedUtc              *string
	State                  *string
	SubState               *string
	Amount                 *ExtendedAmount
	TaxExemptionReasonCode *string
}

// OrderItem is a consumed item of the legacy Bill (Mews' "Order item").
type OrderItem struct {
	Id                   string         `bellhop:"required,uuid"`
	AccountId            string         `bellhop:"required,uuid"`
	OrderId              string         `bellhop:"required,uuid"`
	BillId               *string        `bellhop:"uuid"`
	AccountingCategoryId *string        `bellhop:"uuid"`
	UnitCount            *int           `json:",omitempty"`
	UnitAmount           Amount         `bellhop:"required"`
	Amount               ExtendedAmount `bellhop:"required"`
	OriginalAmount       ExtendedAmount `bellhop:"required"`
	RevenueType          string         `bellhop:"required,nonempty"`
	CreatorProfileId     string         `bellhop:"required,uuid"`
	UpdaterProfileId     string         `bellhop:"required,uuid"`
	CreatedUtc           string         `bellhop:"required,nonempty"`
	UpdatedUtc           string         `bellhop:"required,nonempty"`
	ConsumedUtc          *string
	CanceledUtc          *string
	ClosedUtc            *string
	StartUtc             *string
	AccountingState      string        `bellhop:"required,nonempty"`
	Data                 OrderItemData `bellhop:"required"`
}

// PaymentItem is a payment of the legacy Bill (Mews' "Payment item").
type PaymentItem struct {
	Id                   string          `bellhop:"required,uuid"`
	AccountId            string          `bellhop:"required,uuid"`
	BillId               *string         `bellhop:"uuid"`
	AccountingCategoryId *string         `bellhop:"uuid"`
	Amount               ExtendedAmount  `bellhop:"required"`
	OriginalAmount       ExtendedAmount  `bellhop:"required"`
	AmountDefault        *ExtendedAmount `json:",omitempty"`
	Notes                *string
	SettlementId         *string
	ConsumedUtc          string `bellhop:"required,nonempty"`
	ClosedUtc            *string
	AccountingState      string `bellhop:"required,nonempty"`
	State                string `bellhop:"required,nonempty"`
	Identifier           *string
	Data                 PaymentItemData `bellhop:"required"`
}

// OrderItemData is the data union of an order item: Discriminator is its
// type, Value its extra data (an object, or null for most types).
type OrderItemData struct {
	Discriminator string `bellhop:"enum=CancellationFee|Rebate|Deposit|ExchangeRateDifference|CustomItem|Surcharge|SurchargeDiscount|SpaceOrder|ProductOrder|Other|TaxCorrection|ResourceUpgradeFee|InvoiceFee"`
	Value         ObjectOrNull
}

// PaymentItemData is the data union of a payment item: Discriminator is its
// payment type, Value its extra data (an object, or null for most types).
type PaymentItemData struct {
	Discriminator string `bellhop:"enum=CreditCard|Invoice|Cash|Unspecified|BadDebts|WireTransfer|ExchangeRateDifference|ExchangeRoundingDifference|BankCharges|Cheque|Other"`
	Value         ObjectOrNull
}

// ObjectOrNull is a JSON object kept as it is, or null.
type ObjectOrNull json.RawMessage

// MarshalJSON writes the object, or null when empty.
func (o ObjectOrNull) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// UnmarshalJSON accepts an object or null.
func (o *ObjectOrNull) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*o = nil
	case len(b) > 0 && b[0] == '{':
		*o = append((*o)[:0], b...)
	default:
		return errors.New("a Value that is not an object or null")
	}
	return nil
}
