package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// State is the state of a command, spelled as on the wire.
type State string

// Command states. "Active" means Pending or Received; Processed, Cancelled
// and Error are final.
const (
	StatePending    State = "Pending"    // created; the integration has not received it yet
	StateReceived   State = "Received"   // the integration has received it
	StateProcessing State = "Processing" // the integration is working on it
	StateProcessed  State = "Processed"  // finished successfully
	StateCancelled  State = "Cancelled"  // cancelled before or during processing (double L)
	StateError      State = "Error"      // execution or processing failed
)

// Active reports whether s is Pending or Received, the states that
// commands/getAllActive returns.
func (s State) Active() bool { return s == StatePending || s == StateReceived }

// Final reports whether s is Processed, Cancelled or Error.
func (s State) Final() bool { return s == StateProcessed || s == StateCancelled || s == StateError }

// DeviceType is the type of a device; it decides the shape of a command's Data.
// Besides the five Mews types, a bellhop hub sends the label of a generic
// device (Pbx, Tv, DoorController) to a subscription that opted in to them:
// the Data of its commands is any JSON object, decoded with
// [Command.DecodeData] into a type of the caller's.
type DeviceType string

// Mews reports whether t is one of the five device types of the Mews API.
func (t DeviceType) Mews() bool {
	switch t {
	case DeviceTypePrinter, DeviceTypePaymentTerminal, DeviceTypeKeyCutter, DeviceTypeFiscalMachine, DeviceTypePassportScanner:
		return true
	}
	return false
}

// Device types and the Data type each implies.
const (
	DeviceTypePrinter         DeviceType = "Printer"         // PrinterData
	DeviceTypePaymentTerminal DeviceType = "PaymentTerminal" // PaymentTerminalData
	DeviceTypeKeyCutter       DeviceType = "KeyCutter"       // KeyCutterData
	DeviceTypeFiscalMachine   DeviceType = "FiscalMachine"   // FiscalMachineData
	DeviceTypePassportScanner DeviceType = "PassportScanner" // PassportScannerData
)

// Device is a device of the enterprise (devices/getAll) or the target of a
// command.
type Device struct {
	Id   string
	Type DeviceType
	Name string
	// Identifier is set up when the property configures the device (e.g.
	// a key cutter's id); nil when absent or null.
	Identifier *string
}

// User is the Creator of a [Command].
type User struct {
	FirstName *string
	LastName  string
	ImageUrl  *string
}

// Command is a device command as returned by commands/getAllActive and
// commands/getAllByIds.
type Command struct {
	Id         string
	State      State
	CreatedUtc time.Time
	// Creator is nil when the command has none.
	Creator *User
	Device  Device
	// Data is the payload, whose shape follows Device.Type; decode it with
	// [Command.DecodeData].
	Data json.RawMessage
}

// ErrNoData is returned by [Command.DecodeData] for a command without Data.
var ErrNoData = errors.New("client: command has no Data")

// DecodeData decodes the command's Data into v, a pointer. For the Data
// types of this package (*PrinterData, *KeyCutterData, ...) it first checks
// that Device.Type matches and returns an error naming both types if not.
// It returns [ErrNoData] when Data is absent or null, and the JSON error
// when Data does not decode.
func (c Command) DecodeData(v any) error {
	if want, ok := dataDeviceType(v); ok && c.Device.Type != want {
		return fmt.Errorf("client: command %s is for a %s device, not %s", c.Id, c.Device.Type, want)
	}
	if len(c.Data) == 0 || string(c.Data) == "null" {
		return ErrNoData
	}
	if err := json.Unmarshal(c.Data, v); err != nil {
		return fmt.Errorf("client: command %s: decoding %s data: %w", c.Id, c.Device.Type, err)
	}
	return nil
}

// Limitation asks for one page of a paged operation.
type Limitation struct {
	// Count is the page size, 1 to 1000.
	Count int
	// Cursor is the Cursor of the previous page's response (the id of its
	// last item); nil for the first page.
	Cursor *string `json:",omitempty"`
}

// TimeInterval is a filter on a time. bellhop reads it as half-open,
// StartUtc <= t < EndUtc (Mews' schema says the same; StartUtc equal to
// EndUtc matches that instant). A zero bound is open and sent as null:
// bellhop reads an open EndUtc as now (included) and an open StartUtc as
// 3 months before the end. It is encoded in UTC, whatever the location of
// the times.
type TimeInterval struct {
	StartUtc time.Time
	EndUtc   time.Time
}

// MarshalJSON encodes each bound as UTC RFC 3339 ("2025-01-10T00:00:00Z"),
// or null when it is zero.
func (t TimeInterval) MarshalJSON() ([]byte, error) {
	bound := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		u := v.UTC()
		return &u
	}
	return json.Marshal(struct{ StartUtc, EndUtc *time.Time }{bound(t.StartUtc), bound(t.EndUtc)})
}

// CommandPage is one page of commands.
type CommandPage struct {
	Commands []Command
	// Cursor is the id of the last command of the page, to send in the next
	// [Limitation]; nil when the page is empty or the server sent none.
	Cursor *string
}

// Event is a DeviceCommand event from the WebSocket: the command with
// this Id was created or changed and is now in State. Events carry no
// more than that; fetch the command with [Client.CommandsByIds].
type Event struct {
	// Type is always "DeviceCommand": other event types are not delivered.
	Type  string
	Id    string
	State State
}

// EventTypeDeviceCommand is the Type of the events [Client.Subscribe] delivers.
const EventTypeDeviceCommand = "DeviceCommand"

// parseMessage decodes a WebSocket message ({"Events": [...]}) and returns
// its DeviceCommand events in order. Events of other types are dropped
// without looking at their other fields, so their shape cannot break it.
func parseMessage(b []byte) ([]Event, error) {
	// One pass: each event's fields are decoded as any value, so that an
	// event of another type cannot fail the message whatever its shape; a
	// DeviceCommand's are then checked to be strings.
	var m struct {
		Events []struct{ Type, Id, State any }
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("client: websocket message: %w", err)
	}
	if m.Events == nil {
		return nil, errors.New("client: websocket message without Events")
	}
	var out []Event
	for _, raw := range m.Events {
		if raw.Type != EventTypeDeviceCommand {
			continue
		}
		id, okID := raw.Id.(string)
		state, okState := raw.State.(string)
		if !okID && raw.Id != nil || !okState && raw.State != nil {
			return nil, errors.New("client: DeviceCommand event: Id and State must be strings")
		}
		if id == "" {
			return nil, errors.New("client: DeviceCommand event without Id")
		}
		if out == nil {
			out = make([]Event, 0, len(m.Events))
		}
		out = append(out, Event{Type: EventTypeDeviceCommand, Id: id, State: State(state)})
	}
	return out, nil
}
