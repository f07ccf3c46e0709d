package client

import (
	"encoding/json"
	"time"
)

// FiscalMachineCommand is a fiscal command as returned by
// fiscalMachineCommands/getAll (Fiscal machine command data, ver.
// 2025-06-23): a flat record, not a [Command] with Data.
type FiscalMachineCommand struct {
	Id         string
	State      State
	CreatedUtc time.Time
	Creator    *ProfileData
	// FiscalMachineId, ApiUrl and FiscalMachineData (a custom JSON string)
	// come from the device configuration.
	FiscalMachineId   string
	ApiUrl            string
	FiscalMachineData string
	TaxIdentifier     *string
	Device            Device
	Bill              Bill
	CommandData       *FiscalMachineAdditionalData
}

// ProfileData is the creator of a [FiscalMachineCommand]. Discriminator is
// Personal, Enterprise, Platform, Static or Integration.
type ProfileData struct {
	Discriminator     string
	EnterpriseProfile *struct{ ProfileId string }
}

// FiscalMachineAdditionalData is the named-slot union of Italian extras:
// Discriminator "ItalianFiscalMachineData" or "ItalianFiscalMachinePayload"
// names the slot that is set.
type FiscalMachineAdditionalData struct {
	Discriminator               string
	ItalianFiscalMachineData    *ItalianFiscalMachineData
	ItalianFiscalMachinePayload *struct {
		// Payload is the base64 file to print.
		Payload string
	}
}

// ItalianFiscalMachineData is the data an Italian RT printer needs.
type ItalianFiscalMachineData struct {
	IsRefund                  bool
	RebatedReceiptNumber      *string
	RebatedReceiptSequence    *string
	RebatedReceiptDateTimeUtc *time.Time
	PrinterSerialNumber       *string
}

// Bill is the bill a fiscal command is about (Bill, ver. 2025-06-23).
type Bill struct {
	Id                   string
	Name                 *string
	EnterpriseId         string
	AccountId            string
	AccountType          string // Customer or Company
	AssociatedAccountIds []string
	CounterId            *string
	State                string // Open or Closed
	Type                 string // Receipt or Invoice
	Number               *string
	VariableSymbol       *string
	CreatedUtc           time.Time
	UpdatedUtc           time.Time
	IssuedUtc            *time.Time
	TaxedUtc             *time.Time
	PaidUtc              *time.Time
	DueUtc               *time.Time
	LastReminderDateUtc  *time.Time
	PurchaseOrderNumber  *string
	Notes                *string
	Options              *BillOptions
	// Owner and AssociatedAccountsData are "Associated account bill data"
	// unions: Discriminator BillCustomerData or BillCompanyData.
	Owner                  *AssociatedAccountBillData
	AssociatedAccountsData []AssociatedAccountBillData
	EnterpriseData         *BillEnterpriseData
	CorrectionState        string // Bill or CorrectiveBill
	CorrectionType         *string
	CorrectedBillId        *string
}

// BillOptions are the display options of a [Bill].
type BillOptions struct {
	DisplayCustomer bool
	DisplayTaxation bool
	TrackReceivable bool
	DisplayCid      bool
	Rebated         bool
}

// AssociatedAccountBillData is the owner or an associated account of a
// bill, frozen when the bill was closed. The slot named by Discriminator is
// set; the slot data is kept raw (it holds addresses and legal identifiers).
type AssociatedAccountBillData struct {
	Discriminator    string
	BillCustomerData json.RawMessage `json:",omitempty"`
	BillCompanyData  json.RawMessage `json:",omitempty"`
}

// BillEnterpriseData is the enterprise's data on a bill.
type BillEnterpriseData struct {
	AdditionalTaxIdentifier *string
	CompanyName             *string
	BankAccount             *string
	BankName                *string
	Iban                    *string
	Bic                     *string
}

// FiscalMachineCommandPage is one page of fiscalMachineCommands/getAll.
type FiscalMachineCommandPage struct {
	Commands []FiscalMachineCommand
	// Cursor is the id of the last command of the page; nil when empty.
	Cursor *string
}
