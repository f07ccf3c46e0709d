package bellhop

import (
	"encoding/json"
	"time"
)

// DeviceType is the kind of an on-premise device; it decides the shape of a
// command's Data.
type DeviceType string

// Device types, spelled as on the wire.
const (
	Printer         DeviceType = "Printer"
	PaymentTerminal DeviceType = "PaymentTerminal"
	KeyCutter       DeviceType = "KeyCutter"
	FiscalMachine   DeviceType = "FiscalMachine"
	PassportScanner DeviceType = "PassportScanner"
)

// DeviceTypes lists every device type in a stable order.
var DeviceTypes = []DeviceType{Printer, PaymentTerminal, KeyCutter, FiscalMachine, PassportScanner}

// Valid reports whether t is a known device type.
func (t DeviceType) Valid() bool {
	for _, k := range DeviceTypes {
		if t == k {
			return true
		}
	}
	return false
}

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
		return Invalid("Type")
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
