package bellhop

import "time"

// PaymentKind tells a payment from a preauthorization.
type PaymentKind string

// Payment kinds, spelled as addPaymentTerminal's Type.
const (
	PaymentKindPayment PaymentKind = "Payment"
	Preauthorization   PaymentKind = "Preauthorization"
)

// Valid reports whether k is a known kind.
func (k PaymentKind) Valid() bool { return k == PaymentKindPayment || k == Preauthorization }

// Payment is the hub's record of a payment or preauthorization that a
// PaymentTerminal command asks a terminal to take. Its id is the command
// Data's PaymentId or PreauthorizationId; it keeps what the request said that
// the Data has no place for (PaymentRequestID, ReservationID). It is created
// with its command, in the same transaction, and deleted with it.
type Payment struct {
	ID               string
	Kind             PaymentKind
	EnterpriseID     string
	CommandID        string
	AccountID        string
	Amount           ExtendedAmount
	BillID           string // "" when none
	PaymentRequestID string // "" when none
	ReservationID    string // "" when none
	CreatedUtc       time.Time
}

// ErrPaymentExists is the answer to recording a payment under an id that is
// already recorded.
var ErrPaymentExists = &Error{Code: ECONFLICT, Message: "Invalid PaymentId",
	Details: "a payment or preauthorization with this id is already recorded for another command."}
