package bellhop

import (
	"encoding/json"
	"math"
	"time"
)

// State is the state of a command.
type State string

// Command states, spelled as on the wire (note the double L in Cancelled).
const (
	Pending    State = "Pending"
	Received   State = "Received"
	Processing State = "Processing"
	Processed  State = "Processed"
	Cancelled  State = "Cancelled"
	Failed     State = "Error"
)

// States lists every state in lifecycle order.
var States = []State{Pending, Received, Processing, Processed, Cancelled, Failed}

func (s State) rank() int {
	switch s {
	case Pending:
		return 0
	case Received:
		return 1
	case Processing:
		return 2
	case Processed, Cancelled, Failed:
		return 3
	}
	return -1
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s.rank() >= 0 }

// Final reports whether no further change is allowed from s.
func (s State) Final() bool { return s.rank() == 3 }

// Active reports whether s is Pending or Received, the states getAllActive returns.
func (s State) Active() bool { return s == Pending || s == Received }

// Update is a requested change of a command's state, as commands/update or
// an expiry sweep asks for it.
type Update struct {
	State    State
	Progress *float64 // only with Processing; a fraction 0..1
	// Notes are kept with Processing (what the device says meanwhile, e.g.
	// "paused by the operator"; Mews ignores them there), Processed,
	// Cancelled and Error. An empty note on Processing keeps the last one.
	Notes string
	Actor string // who asks; written to the history
	// ExternalID is the update's ExternalRequestIdentifier: the caller's
	// reference for what it did (a terminal's transaction reference). It is
	// kept with any state; "" when none.
	ExternalID string
}

// Normalize drops the fields the state does not take (the wire contract says
// they are ignored) and validates the rest.
func (u *Update) Normalize() error {
	if !u.State.Valid() {
		return Invalid("State")
	}
	if u.State != Processing {
		u.Progress = nil
	} else if u.Progress != nil && (math.IsNaN(*u.Progress) || *u.Progress < 0 || *u.Progress > 1) {
		return InvalidBecause("Progress", "a fraction from 0 to 1.")
	}
	if !u.State.Final() && u.State != Processing {
		u.Notes = ""
	}
	if len(u.Notes) > MaxNotes {
		return InvalidBecause("Notes", "longer than %d bytes.", MaxNotes)
	}
	if len(u.ExternalID) > MaxExternalID {
		return InvalidBecause("ExternalRequestIdentifier", "Value is longer than %d bytes.", MaxExternalID)
	}
	return nil
}

// MaxExternalID is the longest ExternalRequestIdentifier a command keeps, in bytes.
const MaxExternalID = 255

// MaxNotes is the longest Notes text a command keeps, in bytes.
const MaxNotes = 64 << 10

// Apply applies u to c following the state rules: forward moves and skips are
// allowed, final states are final, and repeating what is already applied
// changes nothing. It reports whether the state changed and whether anything
// (state, progress, notes) changed at all. A backward move, or leaving a final state,
// is an `Invalid State` error and leaves c unchanged.
func (c *Command) Apply(u Update, now time.Time) (stateChanged, changed bool, err error) {
	if err := u.Normalize(); err != nil {
		return false, false, err
	}
	from := c.State
	newExternal := u.ExternalID != "" && u.ExternalID != c.ExternalID
	switch {
	case from.Final():
		if u.State == from && u.Notes == c.Notes {
			if newExternal {
				c.ExternalID, c.UpdatedUtc = u.ExternalID, now
			}
			return false, newExternal, nil
		}
		if u.State == from {
			return false, false, InvalidBecause("State", "the command is already %s with other notes; a final state is final.", from)
		}
		return false, false, InvalidBecause("State", "the command is %s, a final state.", from)
	case u.State.rank() < from.rank():
		return false, false, InvalidBecause("State", "the command is %s and cannot go back to %s.", from, u.State)
	case u.State == from:
		progress := u.Progress != nil && (c.Progress == nil || *c.Progress != *u.Progress)
		notes := u.Notes != "" && u.Notes != c.Notes
		if !progress && !notes && !newExternal {
			return false, false, nil
		}
		if progress {
			c.Progress = u.Progress
		}
		if notes {
			c.Notes = u.Notes
		}
		if newExternal {
			c.ExternalID = u.ExternalID
		}
		c.UpdatedUtc = now
		return false, true, nil
	}
	if u.ExternalID != "" {
		c.ExternalID = u.ExternalID
	}
	c.State = u.State
	if u.Progress != nil {
		c.Progress = u.Progress
	}
	if u.State == Processed && c.Progress != nil {
		one := 1.0
		c.Progress = &one
	}
	c.Notes = u.Notes
	c.UpdatedUtc = now
	return true, true, nil
}

// Creator says who created a command: an integration (through the Connector
// API) or a person or system (through the admin API or console).
type Creator struct {
	IntegrationID string // "" when not created by an integration
	FirstName     string
	LastName      string
}

// Command is a unit of work for one device.
type Command struct {
	ID           string
	EnterpriseID string
	DeviceID     string
	DeviceType   DeviceType
	State        State
	CreatedUtc   time.Time
	UpdatedUtc   time.Time
	Creator      Creator
	Data         json.RawMessage // shape follows DeviceType
	Progress     *float64
	Notes        string
	// ExternalID is the last ExternalRequestIdentifier an update gave.
	ExternalID string
	// Seq orders commands by creation; the store assigns it.
	Seq int64
	// Payment is, when creating a PaymentTerminal command, the record of
	// the payment it stands for: the store inserts both in one transaction.
	// Reads leave it nil (see the stores' GetPayment).
	Payment *Payment
}

// HistoryEntry is one recorded change of a command.
type HistoryEntry struct {
	State      State
	Utc        time.Time
	Actor      string
	Progress   *float64
	Notes      string
	ExternalID string // the update's ExternalRequestIdentifier, "" when none
}

// Event says that a command changed. It carries what realtime needs to route
// it without reading the store. Only events with StateChange set are
// DeviceCommand events on the wire; the others (progress) feed the console.
type Event struct {
	StateChange          bool
	CommandID            string
	State                State
	DeviceID             string
	EnterpriseID         string
	CreatorIntegrationID string
	Progress             *float64
	Utc                  time.Time
}

// EventOf returns the event for c's current state.
func EventOf(c *Command) Event {
	return Event{StateChange: true, CommandID: c.ID, State: c.State, DeviceID: c.DeviceID, EnterpriseID: c.EnterpriseID,
		CreatorIntegrationID: c.Creator.IntegrationID, Utc: c.UpdatedUtc}
}
