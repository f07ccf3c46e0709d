package bellhop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// The rules a command's Data must meet, per device type. The Connector's
// add-operations check the request fields that Data is built from, and the
// admin API and the console check Data given whole, with the same functions
// and so the same messages: a command that breaks them never enters the
// queue, where an agent could only fail it.

// CheckCopyCount: from 1 to MaxCopyCount copies.
func CheckCopyCount(n int) error {
	if n < 1 || n > MaxCopyCount {
		return InvalidBecause("CopyCount", "from 1 to %d.", MaxCopyCount)
	}
	return nil
}

// CheckKeyCount: from 1 to MaxKeyCount keys.
func CheckKeyCount(n int) error {
	if n < 1 || n > MaxKeyCount {
		return InvalidBecause("KeyCount", "from 1 to %d.", MaxKeyCount)
	}
	return nil
}

// CheckFile: a file to print in standard base64 with padding, not empty.
// field names it as the caller knows it (Data on addPrinter, FileData in a
// Printer command's Data).
func CheckFile(field, b64 string) error {
	if b64 == "" || len(b64)%4 != 0 || !decodes(b64) {
		return Invalid(field)
	}
	return nil
}

// decodes reports whether base64.StdEncoding decodes s, without keeping
// what it decodes to: it decodes s in pieces into a buffer on the stack,
// where DecodeString would allocate a file's size for each print job. A
// piece is whole quanta; padding may end only the last. A line break,
// which the decoder skips, would shift the quanta: such an s is decoded
// whole.
func decodes(s string) bool {
	if strings.ContainsAny(s, "\r\n") {
		_, err := base64.StdEncoding.DecodeString(s)
		return err == nil
	}
	var in [1024]byte
	var out [768]byte
	for len(s) > 0 {
		n := copy(in[:], s)
		piece := in[:n]
		if s = s[n:]; len(s) > 0 && bytes.IndexByte(piece, '=') >= 0 {
			return false
		}
		if _, err := base64.StdEncoding.Decode(out[:], piece); err != nil {
			return false
		}
	}
	return true
}

// CheckCurrency: an ISO 4217 code, three capital letters.
func CheckCurrency(field, c string) error {
	if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return InvalidBecause(field, "%q is not an ISO 4217 currency code such as EUR.", c)
	}
	return nil
}

// CheckAmount: a positive amount below 10^12.
func CheckAmount(field string, v float64) error {
	if !(v > 0 && v < 1e12) {
		return Invalid(field)
	}
	return nil
}

// ValidateData checks the Data of a new command for a device of type t.
// Every type needs a JSON object; Printer Data needs a file and a CopyCount
// in range, KeyCutter Data a KeyCount in range, lock ids and a last name,
// PaymentTerminal Data an amount with its currency. A field of the wrong
// JSON type is `Invalid <Field>`.
func ValidateData(t DeviceType, raw json.RawMessage) error {
	var obj map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return Errorf(EINVALID, "Invalid Data: a JSON object")
	}
	switch t {
	case Printer:
		var d PrinterData
		if err := decodeData(raw, &d); err != nil {
			return err
		}
		if err := CheckCopyCount(d.CopyCount); err != nil {
			return err
		}
		return CheckFile("FileData", d.FileData)
	case KeyCutter:
		var d KeyCutterData
		if err := decodeData(raw, &d); err != nil {
			return err
		}
		if err := CheckKeyCount(d.KeyCount); err != nil {
			return err
		}
		switch {
		case len(d.LockIds) == 0 || len(d.LockIds) > 100:
			return Invalid("LockIds")
		case strings.TrimSpace(d.LastName) == "":
			return Invalid("LastName")
		}
	case PaymentTerminal:
		var d PaymentTerminalData
		if err := decodeData(raw, &d); err != nil {
			return err
		}
		if err := CheckCurrency("Amount Currency", d.Amount.Currency); err != nil {
			return err
		}
		return CheckAmount("Amount Value", d.Amount.GrossValue)
	}
	return nil
}

// decodeData reads Data into a typed value; a field of the wrong type is
// `Invalid <Field>`.
func decodeData(raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return Invalid(strings.ReplaceAll(te.Field, ".", " "))
	}
	return Errorf(EINVALID, "Invalid Data: a JSON object")
}
