package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// The field tables of Mews' published OpenAPI description of the Connector
// API (Commands and Devices tags, OpenAPI 3.0.4), written out by hand: for
// each schema its members, whether each is required, may be null, its type,
// format, minimum length and enum. Objects forbid members they do not list
// (additionalProperties: false) unless marked open, as the description
// does. Where the description is defective, the tables say what its authors
// meant:
//
//   - a child schema with `allOf: [DeviceCommandData]` (an empty object
//     with additionalProperties: false) inherits, it is not intersected;
//   - `nullable: true` beside allOf/$ref (no effect in OpenAPI 3.0.3+) means
//     null is allowed, as the fiscalMachineCommands/getAll example sends;
//   - DeviceCommand.Data is a oneOf without a discriminator: its shape
//     follows Device.Type;
//   - the examples' own breaches (PrinterDriverName "", ImageUrl "...") are
//     not the contract: minLength and format are.

type schemaKind int

const (
	kString schemaKind = iota
	kNumber
	kInteger
	kBool
	kObject
	kArray
	kAny
)

// schema is one schema of the tables.
type schema struct {
	name     string
	kind     schemaKind
	nullable bool
	format   string // uuid, date-time, uri
	minLen   int
	enum     []string
	props    []prop
	open     bool    // an object that allows members it does not list
	values   *schema // an object whose every member has this schema
	items    *schema
	oneOf    []*schema
}

type prop struct {
	name     string
	required bool
	s        *schema
}

func req(name string, s *schema) prop { return prop{name, true, s} }
func opt(name string, s *schema) prop { return prop{name, false, s} }

func str() *schema               { return &schema{kind: kString} }
func str1() *schema              { return &schema{kind: kString, minLen: 1} }
func uuid() *schema              { return &schema{kind: kString, format: "uuid"} }
func dateTime() *schema          { return &schema{kind: kString, format: "date-time"} }
func dateTime1() *schema         { return &schema{kind: kString, format: "date-time", minLen: 1} }
func number() *schema            { return &schema{kind: kNumber} }
func integer() *schema           { return &schema{kind: kInteger} }
func boolean() *schema           { return &schema{kind: kBool} }
func anything() *schema          { return &schema{kind: kAny} }
func enum(v ...string) *schema   { return &schema{kind: kString, enum: v} }
func array(s *schema) *schema    { return &schema{kind: kArray, items: s} }
func oneOf(s ...*schema) *schema { return &schema{kind: kAny, oneOf: s} }
func object(name string, p ...prop) *schema {
	return &schema{name: name, kind: kObject, props: p}
}

// null returns a copy of s that also allows null.
func (s *schema) null() *schema {
	c := *s
	c.nullable = true
	return &c
}

// openObject returns a copy of s that allows members it does not list.
func (s *schema) openObject() *schema {
	c := *s
	c.open = true
	return &c
}

var (
	commandState = enum("Pending", "Received", "Processing", "Processed", "Cancelled", "Error")
	deviceType   = enum("Printer", "PaymentTerminal", "KeyCutter", "FiscalMachine", "PassportScanner")
	accountType  = enum("Company", "Customer")

	// Devices tag.
	deviceSchema = object("Device",
		req("Id", uuid()), req("Type", deviceType), req("Name", str1()), opt("Identifier", str().null()))
	deviceResult = object("DeviceResult", req("Devices", array(deviceSchema)))

	errorResult = object("ConnectorApiExceptionResult",
		opt("Message", str().null()), opt("RequestId", str().null()), opt("Details", anything().null()))

	// Commands tag: the command and its results.
	user = object("DeviceCommandCreator",
		opt("FirstName", str().null()), req("LastName", str1()),
		opt("ImageUrl", (&schema{kind: kString, format: "uri"}).null()))
	unit        = object("Unit")
	addResult   = object("DeviceCommandAddResult", req("CommandId", uuid()))
	limitCursor = uuid().null()

	// Money.
	taxValue      = object("TaxValue", opt("Code", str().null()), req("Value", number()))
	breakdownItem = object("TaxBreakdownItem", opt("TaxRateCode", str().null()), req("NetValue", number()), req("TaxValue", number()))
	breakdown     = object("TaxBreakdown", req("Items", array(breakdownItem)))
	amountProps   = []prop{req("Currency", str1()), req("NetValue", number()), req("GrossValue", number()),
		req("TaxValues", array(taxValue)), req("Breakdown", breakdown)}
	amount         = object("Amount", amountProps...)
	extendedAmount = object("ExtendedAmount", append(slices.Clone(amountProps),
		opt("Value", number().null()), opt("Net", number().null()), opt("Tax", number().null()), opt("TaxRate", number().null()))...)

	// The Data of each device type.
	printerData = object("PrinterCommandData",
		req("CopyCount", integer()), req("FileType", str1()), req("FileData", str1()), req("PrinterName", str1()),
		req("PrinterDriverName", str1()), req("PrinterPortName", str1()))
	keyCutterData = object("KeyCutterCommandData",
		opt("KeyCutterId", str().null()), opt("ApiUrl", str().null()), opt("KeyCutterData", str().null()),
		req("KeyCount", integer()), req("LockIds", array(str())), req("StartUtc", dateTime1()), req("EndUtc", dateTime1()),
		opt("FirstName", str().null()), req("LastName", str1()), opt("NormalizedFirstName", str().null()),
		opt("NormalizedLastName", str().null()), opt("Telephone", str().null()), opt("Email", str().null()),
		opt("ReservationId", uuid().null()), opt("ReservationNumber", str().null()))
	paymentTerminalData = object("PaymentTerminalCommandData",
		req("PaymentTerminalId", str1()), req("CustomerId", uuid()), req("AccountId", uuid()), opt("FullName", str().null()),
		opt("BillId", uuid().null()), opt("PaymentId", uuid().null()), opt("PreauthorizationId", uuid().null()),
		req("Amount", extendedAmount), opt("Fee", extendedAmount.null()), opt("PaymentTerminalData", str().null()),
		req("AccountData", object("PaymentTerminalCommandAccountData",
			req("Discriminator", accountType),
			opt("Customer", object("PaymentTerminalCommandCustomerData", req("FullName", str1())).null()),
			opt("Company", object("PaymentTerminalCommandCompanyData", req("Name", str1())).null()))))
	passportScannerData = object("PassportScannerCommandData",
		opt("PassportScannerId", str().null()), opt("CustomerId", uuid().null()), opt("ReservationId", uuid().null()))

	// Bills.
	address = object("Address", opt("Line1", str().null()), opt("Line2", str().null()), opt("City", str().null()),
		opt("PostalCode", str().null()), opt("SubdivisionCode", str().null()), opt("CountryCode", str().null()))
	legalIdentifiers = (&schema{kind: kObject, values: str()}).null()
	billCustomerData = object("BillCustomerData",
		req("Id", str1()), opt("Address", address.null()), opt("LegalIdentifiers", legalIdentifiers),
		opt("BillingCode", str().null()), req("LastName", str1()), opt("FirstName", str().null()),
		opt("SecondLastName", str().null()), opt("TitlePrefix", enum("Mister", "Miss", "Misses").null()),
		opt("TaxIdentifier", str().null()))
	billCompanyData = object("BillCompanyData",
		req("Id", str().null()), opt("Address", address.null()), opt("LegalIdentifiers", legalIdentifiers),
		opt("BillingCode", str().null()), req("Name", str1()), opt("FiscalIdentifier", str().null()),
		opt("AdditionalTaxIdentifier", str().null()), opt("DUNS", str().null()), opt("Telephone", str().null()),
		opt("TaxIdentifier", str().null()), opt("InvoicingEmail", str().null()), opt("Department", str().null()))
	billAccountData = object("BillAccountData",
		req("Discriminator", enum("BillCustomerData", "BillCompanyData")),
		opt("BillCustomerData", billCustomerData.null()), opt("BillCompanyData", billCompanyData.null()))
	billOwnerData = object("BillOwnerData (coproduct)",
		opt("Discriminator", enum("BillCustomerData", "BillCompanyData")),
		opt("Value", oneOf(billCompanyData, billCustomerData))).openObject()
	billOptions = object("BillOptions", opt("DisplayCustomer", boolean()), opt("DisplayTaxation", boolean()),
		opt("TrackReceivable", boolean()), opt("DisplayCid", boolean()), opt("Rebated", boolean()))
	billEnterpriseData = object("BillEnterpriseData",
		opt("AdditionalTaxIdentifier", str().null()), opt("CompanyName", str().null()), opt("BankAccount", str().null()),
		opt("BankName", str().null()), opt("Iban", str().null()), opt("Bic", str().null()))
	accountingItem = object("AccountingItem",
		opt("Id", uuid()), opt("AccountId", uuid()), opt("CustomerId", uuid().null()), opt("OrderId", uuid().null()),
		opt("ServiceId", uuid().null()), opt("ProductId", uuid().null()), opt("BillId", uuid().null()),
		opt("InvoiceId", uuid().null()), opt("AccountingCategoryId", uuid().null()), opt("CreditCardId", uuid().null()),
		opt("Type", str().null()), opt("SubType", str().null()), opt("Name", str().null()), opt("Notes", str().null()),
		opt("ConsumptionUtc", str().null()), opt("ClosedUtc", str().null()), opt("State", str().null()),
		opt("SubState", str().null()), opt("Amount", extendedAmount.null()), opt("TaxExemptionReasonCode", str().null()))
	orderItem = object("OrderItemOld",
		req("Id", uuid()), req("AccountId", uuid()), req("OrderId", uuid()), opt("BillId", uuid().null()),
		opt("AccountingCategoryId", uuid().null()), opt("UnitCount", integer()), req("UnitAmount", amount),
		req("Amount", extendedAmount), req("OriginalAmount", extendedAmount), req("RevenueType", str1()),
		req("CreatorProfileId", uuid()), req("UpdaterProfileId", uuid()),
		// format: date, with date-times in practice: read as strings
		req("CreatedUtc", str1()), req("UpdatedUtc", str1()), opt("ConsumedUtc", str().null()),
		opt("CanceledUtc", str().null()), opt("ClosedUtc", str().null()), opt("StartUtc", str().null()),
		req("AccountingState", str1()),
		req("Data", object("OrderItemOldData (coproduct)",
			opt("Discriminator", enum("CancellationFee", "Rebate", "Deposit", "ExchangeRateDifference", "CustomItem",
				"Surcharge", "SurchargeDiscount", "SpaceOrder", "ProductOrder", "Other", "TaxCorrection",
				"ResourceUpgradeFee", "InvoiceFee")),
			opt("Value", oneOf(
				object("RebateOrderItemData", req("RebatedItemId", uuid())),
				object("ProductOrderItemData", req("ProductId", uuid()), opt("AgeCategoryId", uuid().null()))).null()),
		).openObject()))
	paymentItem = object("PaymentItemOld",
		req("Id", uuid()), req("AccountId", uuid()), opt("BillId", uuid().null()), opt("AccountingCategoryId", uuid().null()),
		req("Amount", extendedAmount), req("OriginalAmount", extendedAmount), opt("AmountDefault", extendedAmount.null()),
		opt("Notes", str().null()), opt("SettlementId", str().null()), req("ConsumedUtc", str1()),
		opt("ClosedUtc", str().null()), req("AccountingState", str1()), req("State", str1()), opt("Identifier", str().null()),
		req("Data", object("PaymentItemOldData (coproduct)",
			opt("Discriminator", enum("CreditCard", "Invoice", "Cash", "Unspecified", "BadDebts", "WireTransfer",
				"ExchangeRateDifference", "ExchangeRoundingDifference", "BankCharges", "Cheque", "Other")),
			opt("Value", oneOf(
				object("PaymentCardPaymentData", opt("PaymentCardId", uuid().null())),
				object("InvoicePaymentData", req("InvoiceId", uuid()))).null()),
		).openObject()))
	correctionType = enum("Cancellation", "Edit", "CreditNote", "Reinstatement", "ReceivablePaymentsBalance")

	// billCommon are the members both bills share, as both declare them.
	billCommon = []prop{
		req("Id", uuid()), opt("Name", str().null()), req("EnterpriseId", uuid()), req("AccountId", uuid()),
		req("AccountType", accountType), req("AssociatedAccountIds", array(uuid()).null()), opt("CounterId", uuid().null()),
		req("State", enum("Open", "Closed")), req("Type", enum("Receipt", "Invoice")), opt("Number", str().null()),
		opt("VariableSymbol", str().null()), req("CreatedUtc", dateTime1()), req("UpdatedUtc", dateTime1()),
		opt("IssuedUtc", dateTime().null()), opt("TaxedUtc", dateTime().null()), opt("PaidUtc", dateTime().null()),
		opt("DueUtc", dateTime().null()), opt("LastReminderDateUtc", dateTime().null()),
		opt("PurchaseOrderNumber", str().null()), opt("Notes", str().null()), opt("Options", billOptions.null()),
		opt("EnterpriseData", billEnterpriseData.null()), req("CorrectionState", enum("Bill", "CorrectiveBill")),
		opt("CorrectionType", correctionType.null()), opt("CorrectedBillId", uuid().null()),
	}
	legacyBillSchema = object("Bill", append(slices.Clone(billCommon),
		opt("CustomerId", uuid().null()), opt("CompanyId", uuid().null()),
		req("Revenue", array(accountingItem).null()), req("Payments", array(accountingItem).null()),
		req("OrderItems", array(orderItem).null()), req("PaymentItems", array(paymentItem).null()),
		opt("AssigneeData", billOwnerData.null()), opt("OwnerData", billOwnerData.null()),
		opt("CompanyDetails", billCompanyData.null()), opt("AssociatedAccountData", array(billAccountData).null()))...)
	bill2025 = object("BillV20250623", append(slices.Clone(billCommon),
		opt("Owner", billAccountData.null()), opt("AssociatedAccountsData", array(billAccountData).null()))...)

	italianData = object("ItalianFiscalMachineData",
		opt("IsRefund", boolean()), opt("RebatedReceiptNumber", str().null()), opt("RebatedReceiptSequence", str().null()),
		opt("RebatedReceiptDateTimeUtc", dateTime().null()), opt("PrinterSerialNumber", str().null()))
	fiscalData = object("FiscalMachineCommandData",
		opt("FiscalMachineId", str().null()), opt("ApiUrl", str().null()), opt("FiscalMachineData", str().null()),
		req("Bill", legacyBillSchema), opt("TaxIdentifier", str().null()),
		opt("BillFiscalMachineData", object("BillFiscalMachineData",
			req("Discriminator", enum("ItalianFiscalMachineData")), req("Value", italianData)).null()),
		opt("PayloadData", object("BillFiscalMachinePayloadData",
			req("Discriminator", enum("ItalianFiscalMachine")), req("Value", str1())).null()))

	dataOf = map[string]*schema{"Printer": printerData, "PaymentTerminal": paymentTerminalData, "KeyCutter": keyCutterData,
		"FiscalMachine": fiscalData, "PassportScanner": passportScannerData}

	// deviceCommand's Data is checked against dataOf[Device.Type].
	deviceCommand = object("DeviceCommand",
		req("Id", uuid()), req("State", commandState), req("CreatedUtc", dateTime1()), opt("Creator", user.null()),
		req("Device", deviceSchema), req("Data", anything()))
	deviceCommandResult = object("DeviceCommandResult", req("Commands", array(deviceCommand)), opt("Cursor", limitCursor))

	fiscalCommand2025 = object("FiscalMachineCommandDataV20250623",
		req("Id", uuid()), req("State", commandState), req("CreatedUtc", dateTime1()),
		opt("Creator", object("ProfileData",
			req("Discriminator", enum("Personal", "Enterprise", "Platform", "Static", "Integration")),
			opt("EnterpriseProfile", object("EnterpriseProfileData", req("ProfileId", uuid())).null())).null()),
		req("FiscalMachineId", str1()), req("ApiUrl", str1()), req("FiscalMachineData", str1()),
		opt("TaxIdentifier", str().null()), req("Device", deviceSchema), req("Bill", bill2025),
		opt("CommandData", object("FiscalMachineAdditionalData",
			opt("Discriminator", enum("ItalianFiscalMachineData", "ItalianFiscalMachinePayload").null()),
			opt("ItalianFiscalMachineData", italianData.null()),
			opt("ItalianFiscalMachinePayload", object("ItalianFiscalMachinePayloadV20250623", req("Payload", str1())).null()),
		).null()))
	fiscalResult = object("FiscalMachineCommandDataV20250623Result",
		req("Commands", array(fiscalCommand2025)), opt("Cursor", limitCursor))
)

// responseSchemas is the 200 answer of each operation.
var responseSchemas = map[string]*schema{
	"devices/getAll":               deviceResult,
	"commands/getAllActive":        deviceCommandResult,
	"commands/getAllByIds":         deviceCommandResult,
	"commands/update":              unit,
	"commands/addPrinter":          addResult,
	"commands/addKeyCutter":        addResult,
	"commands/addPaymentTerminal":  addResult,
	"fiscalMachineCommands/getAll": fiscalResult,
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// check validates the JSON value v against s and returns every breach, each
// with its path.
func check(path string, v any, s *schema) []string {
	if v == nil {
		if s.nullable || s.kind == kAny && s.oneOf == nil {
			return nil
		}
		return []string{path + ": null"}
	}
	if s.oneOf != nil {
		matched := 0
		var why []string
		for _, alt := range s.oneOf {
			errs := check(path, v, alt)
			if len(errs) == 0 {
				matched++
			}
			why = append(why, errs...)
		}
		if matched != 1 {
			return []string{fmt.Sprintf("%s: matches %d of %d schemas of oneOf: %s", path, matched, len(s.oneOf), strings.Join(why, "; "))}
		}
		return nil
	}
	switch s.kind {
	case kAny:
		return nil
	case kString:
		x, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: %v is not a string", path, v)}
		}
		var errs []string
		if len(x) < s.minLen {
			errs = append(errs, fmt.Sprintf("%s: %q is shorter than %d", path, x, s.minLen))
		}
		if s.enum != nil && !slices.Contains(s.enum, x) {
			errs = append(errs, fmt.Sprintf("%s: %q is not one of %v", path, x, s.enum))
		}
		switch s.format {
		case "uuid":
			if !uuidPattern.MatchString(x) {
				errs = append(errs, fmt.Sprintf("%s: %q is not a uuid", path, x))
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339, x); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", path, x))
			}
		case "uri":
			if u, err := url.Parse(x); err != nil || !u.IsAbs() {
				errs = append(errs, fmt.Sprintf("%s: %q is not a uri", path, x))
			}
		}
		return errs
	case kNumber, kInteger:
		n, ok := v.(json.Number)
		if !ok {
			return []string{fmt.Sprintf("%s: %v is not a number", path, v)}
		}
		if s.kind == kInteger {
			if _, err := n.Int64(); err != nil {
				return []string{fmt.Sprintf("%s: %s is not an integer", path, n)}
			}
		}
		return nil
	case kBool:
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: %v is not a boolean", path, v)}
		}
		return nil
	case kArray:
		list, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %v is not an array", path, v)}
		}
		var errs []string
		for i, item := range list {
			errs = append(errs, check(fmt.Sprintf("%s[%d]", path, i), item, s.items)...)
		}
		return errs
	case kObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %v is not an object", path, v)}
		}
		var errs []string
		if s.values != nil {
			for k, val := range obj {
				errs = append(errs, check(path+"."+k, val, s.values)...)
			}
			return errs
		}
		known := map[string]bool{}
		for _, p := range s.props {
			known[p.name] = true
			val, ok := obj[p.name]
			if !ok {
				if p.required {
					errs = append(errs, fmt.Sprintf("%s.%s: required, missing (%s)", path, p.name, s.name))
				}
				continue
			}
			errs = append(errs, check(path+"."+p.name, val, p.s)...)
		}
		if !s.open {
			var extra []string
			for k := range obj {
				if !known[k] {
					extra = append(extra, k)
				}
			}
			sort.Strings(extra)
			for _, k := range extra {
				errs = append(errs, fmt.Sprintf("%s.%s: not a member of %s", path, k, s.name))
			}
		}
		return errs
	}
	return []string{path + ": unknown schema kind"}
}

// checkResponse validates the 200 body of an operation, each command's Data
// by its device's type.
func checkResponse(op string, body []byte) []string {
	v, err := decodeNumbers(body)
	if err != nil {
		return []string{op + ": " + err.Error()}
	}
	s, ok := responseSchemas[op]
	if !ok {
		return []string{op + ": no table"}
	}
	errs := check(op, v, s)
	if s == deviceCommandResult {
		cmds, _ := v.(map[string]any)["Commands"].([]any)
		for i, c := range cmds {
			cmd, _ := c.(map[string]any)
			dev, _ := cmd["Device"].(map[string]any)
			typ, _ := dev["Type"].(string)
			data, ok := dataOf[typ]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s.Commands[%d].Device.Type: %q", op, i, typ))
				continue
			}
			errs = append(errs, check(fmt.Sprintf("%s.Commands[%d].Data(%s)", op, i, typ), cmd["Data"], data)...)
		}
	}
	return errs
}

func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
