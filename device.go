package bellhop

import (
	"encoding/json"
	"strings"
	"time"
)

// DeviceType is the kind of an on-premise device; it decides the shape of a
// command's Data. It is one of the five types of the Mews device API, or a
// label of a generic device (Pbx, Tv, DoorController): a device the Mews
// guide names without a command type, whose commands carry any JSON object.
type DeviceType string

// Device types, spelled as on the wire.
const (
	Printer         DeviceType = "Printer"
	PaymentTerminal DeviceType = "PaymentTerminal"
	KeyCutter       DeviceType = "KeyCutter"
	FiscalMachine   DeviceType = "FiscalMachine"
	PassportScanner DeviceType = "PassportScanner"
)

// DeviceTypes lists the device types of the Mews device API in a stable
// order.
var DeviceTypes = []DeviceType{Printer, PaymentTerminal, KeyCutter, FiscalMachine, PassportScanner}

// Mews reports whether t is one of the device types of the Mews device API.
func (t DeviceType) Mews() bool {
	for _, k := range DeviceTypes {
		if t == k {
			return true
		}
	}
	return false
}

// MaxTypeLabel is the longest label of a generic device type.
const MaxTypeLabel = 64

// Generic reports whether t is the label of a generic device type: an ASCII
// letter, then letters and digits, at most MaxTypeLabel, and none of the
// Mews types in any case (so that "printer" never passes for a Printer).
// Only subscriptions that opt in see such devices (Subscription.GenericDevices).
func (t DeviceType) Generic() bool {
	if len(t) == 0 || len(t) > MaxTypeLabel || !isLetter(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isLetter(t[i]) && !('0' <= t[i] && t[i] <= '9') {
			return false
		}
	}
	for _, k := range DeviceTypes {
		if strings.EqualFold(string(t), string(k)) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Valid reports whether t is a Mews device type or a generic one.
func (t DeviceType) Valid() bool { return t.Mews() || t.Generic() }

// ErrInvalidType is the answer to a device type that is neither.
var ErrInvalidType = Errorf(EINVALID, "Invalid Type: Printer, PaymentTerminal, KeyCutter, FiscalMachine, PassportScanner, "+
	"or a label of your own for another device: a letter, then letters and digits (Pbx, Tv, DoorController)")

// Device is an on-premise device of an enterprise.
type Device struct {
	ID           string
	EnterpriseID string
	Type         DeviceType
	Name         string
	Identifier   string // optional; "" is sent as null
	Config       DeviceConfig
	CreatedUtc   time.Time
}

// DeviceConfig is the type-specific configuration a property enters in the
// device's settings; the hub copies it into each command's Data.
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

// Validate checks a new device's fields.
func (d *Device) Validate() error {
	switch {
	case !d.Type.Valid():
		return ErrInvalidType
	case d.Name == "" || len(d.Name) > 255:
		return Invalid("Name")
	case len(d.Identifier) > 255:
		return Invalid("Identifier")
	case d.Config.ApiUrl != "" && !validURL(d.Config.ApiUrl):
		return Invalid("ApiUrl")
	}
	for _, s := range []string{d.Config.KeyCutterData, d.Config.FiscalMachineData, d.Config.PaymentTerminalData} {
		if s != "" && !json.Valid([]byte(s)) {
			return Errorf(EINVALID, "Invalid Configuration: custom data must be a JSON string")
		}
	}
	return nil
}

func validURL(s string) bool {
	return len(s) <= 2048 && (hasPrefix(s, "http://") || hasPrefix(s, "https://"))
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
