package admin

import (
	"encoding/json"

	"github.com/bellhop/bellhop/client"
)

// The JSON of the admin API: the hub encodes its answers with these types
// and decodes the bodies of its create operations into them. Fields follow
// the wire's PascalCase; times are ISO 8601 UTC strings as the hub writes
// them. Fields the hub assigns (Id, CreatedUtc) are left empty in a create.

// Enterprise is a property (a hotel).
type Enterprise struct {
	Id         string `json:",omitempty"`
	Name       string
	CreatedUtc string `json:",omitempty"`
	// TimeZone is the IANA zone the console shows the enterprise's times
	// in; "" shows them in each browser's zone.
	TimeZone string `json:",omitempty"`
}

// Integration is a client application. ClientToken is set only in the
// answer that created it: the hub keeps a hash, never the token.
type Integration struct {
	Id          string `json:",omitempty"`
	Name        string
	CreatedUtc  string `json:",omitempty"`
	ClientToken string `json:",omitempty"`
}

// Subscription is an integration's access to enterprises (several make a
// portfolio token). AccessToken is set only in the answer that created it.
type Subscription struct {
	Id            string `json:",omitempty"`
	IntegrationId string
	EnterpriseIds []string
	CreatedUtc    string `json:",omitempty"`
	Revoked       bool
	// GenericDevices says it sees generic devices (a Type label of their
	// own, such as Pbx); only then may one be connected to it.
	GenericDevices bool
	AccessToken    string `json:",omitempty"`
}

// DeviceConfig is the type-specific configuration of a device, copied by
// the hub into each of its commands' Data.
type DeviceConfig struct {
	// Printer
	PrinterName       string `json:",omitempty"`
	PrinterDriverName string `json:",omitempty"`
	PrinterPortName   string `json:",omitempty"`
	// KeyCutter
	KeyCutterID   string `json:"KeyCutterId,omitempty"`
	KeyCutterData string `json:",omitempty"`
	// FiscalMachine
	FiscalMachineID   string `json:"FiscalMachineId,omitempty"`
	FiscalMachineData string `json:",omitempty"`
	TaxIdentifier     string `json:",omitempty"`
	// PaymentTerminal
	PaymentTerminalID   string `json:"PaymentTerminalId,omitempty"`
	PaymentTerminalData string `json:",omitempty"`
	// PassportScanner
	PassportScannerID string `json:"PassportScannerId,omitempty"`
	// KeyCutter and FiscalMachine
	ApiUrl string `json:",omitempty"`
}

// Device is an on-premise device of an enterprise. Type is one of the Mews
// device types, or a label of your own for a generic device (Pbx, Tv,
// DoorController: a letter, then letters and digits), whose commands carry
// any JSON object and which only subscriptions with GenericDevices see.
type Device struct {
	Id            string `json:",omitempty"`
	EnterpriseId  string
	Type          client.DeviceType
	Name          string
	Identifier    string
	Configuration DeviceConfig
	CreatedUtc    string `json:",omitempty"`
}

// Reservation is the reference data that addKeyCutter reads.
type Reservation struct {
	Id           string `json:",omitempty"`
	EnterpriseId string
	Number       string
	StartUtc     string
	EndUtc       string
	FirstName    string
	LastName     string
	Email        string
	Telephone    string
	LockIds      []string
}

// Customer is the account (a customer, or a company when CompanyName is
// set) that addPaymentTerminal charges.
type Customer struct {
	Id           string `json:",omitempty"`
	EnterpriseId string
	FirstName    string
	LastName     string
	CompanyName  string
	Email        string
}

// Command is a command in the queue. History is filled only by
// [Client.Command] (and the answers of cancel), oldest entry first.
type Command struct {
	Id           string
	EnterpriseId string
	DeviceId     string
	DeviceName   string
	DeviceType   client.DeviceType
	State        client.State
	CreatedUtc   string
	UpdatedUtc   string
	// Creator is the integration or admin token that created it.
	Creator  string
	Progress *float64
	Notes    string
	// ExternalRequestIdentifier is the last one an update gave (a
	// terminal's transaction reference); nil when none.
	ExternalRequestIdentifier *string `json:",omitempty"`
	Data                      json.RawMessage
	// Payment is the record a PaymentTerminal command stands for, filled
	// only by [Client.Command] (and cancel).
	Payment *Payment       `json:",omitempty"`
	History []HistoryEntry `json:",omitempty"`
}

// HistoryEntry is one change of a command's state, progress or notes.
type HistoryEntry struct {
	State    client.State
	Utc      string
	Actor    string
	Progress *float64
	Notes    string
	// ExternalRequestIdentifier is the one the update gave; nil when none.
	ExternalRequestIdentifier *string `json:",omitempty"`
}

// Payment is the hub's record of a payment or preauthorization that a
// PaymentTerminal command asks a terminal to take: its Id is the command
// Data's PaymentId or PreauthorizationId. It keeps what the request said
// that the Data has no place for (PaymentRequestId, ReservationId).
type Payment struct {
	Id               string
	Kind             client.PaymentType // Payment or Preauthorization
	EnterpriseId     string
	CommandId        string
	AccountId        string
	Amount           client.ExtendedAmount
	BillId           *string
	PaymentRequestId *string
	ReservationId    *string
	CreatedUtc       string
}

// CommandPage is one page of [Client.Commands], newest first. Cursor, when
// not nil, continues the list (CommandFilter.Cursor).
type CommandPage struct {
	Commands []Command
	Cursor   *string
}

// User is a person who signs in to the hub's web console. Role is viewer,
// operator or admin. Password is set only in the answer that made it (none
// was given): the hub keeps an argon2id hash, never the password.
type User struct {
	Id         string `json:",omitempty"`
	Name       string
	Role       string
	CreatedUtc string `json:",omitempty"`
	Password   string `json:",omitempty"`
}

// AuditEntry is one line of the audit list: a sign-in, a refused sign-in, a
// sign-out, or a change to users and roles.
type AuditEntry struct {
	Utc     string
	Actor   string // a user's name, or "admin token <name>"
	Action  string
	Subject string // the user it concerns, if any
	Detail  string
	Remote  string // the client's address
}

// AuditPage is one page of the audit list, newest first; Cursor continues
// it (nil on the last page).
type AuditPage struct {
	Entries []AuditEntry
	Cursor  *string
}

// Agent is what the hub knows of one subscription's client (the bellhop
// agent, or any integration): its last Client string, where its last request
// came from, when it was first and last seen, its open WebSockets on every
// hub node, and the devices connected to the subscription.
type Agent struct {
	SubscriptionId  string
	IntegrationId   string
	IntegrationName string
	EnterpriseIds   []string
	// Client is the last Client string its Connector requests carried;
	// Version and Host are read from it when it is the bellhop agent's
	// ("bellhop-agent/<version> (<host>)"), else "".
	Client  string
	Version string `json:",omitempty"`
	Host    string `json:",omitempty"`
	// Address is the remote address of its last request (as the hub saw it:
	// a proxy's when there is one).
	Address string
	// FirstSeenUtc and LastSeenUtc are its first and last request (Connector
	// request or WebSocket upgrade); "" when it was never seen.
	FirstSeenUtc string
	LastSeenUtc  string
	// Sockets counts its open WebSockets; ConnectedUtc is when the oldest
	// opened ("" when none is open).
	Sockets      int
	ConnectedUtc string
	Devices      []Device
}
