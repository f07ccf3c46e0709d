package bellhop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The Data types carry their schema in `bellhop` tags, which checkData
// enforces on Data that comes from outside (the admin API, the console):
//
//	required   the member must be present and not null
//	filled     ... unless the hub fills it in (from the device's settings)
//	nonempty   a string must not be empty
//	uuid       a string (or each string of a list) must be an id
//	time       a string must be an ISO 8601 date-time
//	base64     a string must be standard base64
//	enum=A|B   a string must be one of these
//
// Members that are neither required nor pointers may be left out.

// newData returns a pointer to the Data type of device type t.
func newData(t DeviceType) any {
	switch t {
	case Printer:
		return new(PrinterData)
	case KeyCutter:
		return new(KeyCutterData)
	case PaymentTerminal:
		return new(PaymentTerminalData)
	case FiscalMachine:
		return new(FiscalMachineData)
	case PassportScanner:
		return new(PassportScannerData)
	}
	return nil
}

// CompleteData checks Data given for a command on device d: first the
// rules the Connector's add-operations apply too (ValidateData, with their
// messages), then the Data schema of d's type. It fills in what d's
// configuration provides and the Data leaves out (printer names, machine
// ids, ApiUrl, custom data), and returns it as a pointer to its type
// (*PrinterData, *FiscalMachineData, ...). Data that does not fit the schema
// is an `Invalid Data` error whose Details name the member and the reason.
//
// A generic device's Data is any JSON object, returned as it is (a
// json.RawMessage).
func CompleteData(d *Device, raw json.RawMessage) (any, error) {
	if d.Type.Generic() {
		if err := ValidateData(d.Type, raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	v := newData(d.Type)
	if v == nil {
		return nil, Invalid("Type")
	}
	if err := ValidateData(d.Type, raw); err != nil {
		return nil, err
	}
	if err := decodeStrict(raw, v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case *PrinterData:
		x.complete(d)
	case *KeyCutterData:
		x.KeyCutterId = orNullable(x.KeyCutterId, orDefault(d.Config.KeyCutterID, d.Identifier))
		x.ApiUrl = orNullable(x.ApiUrl, d.Config.ApiUrl)
		x.KeyCutterData = orNullable(x.KeyCutterData, d.Config.KeyCutterData)
		if x.FirstName != nil {
			x.NormalizedFirstName = orNullable(x.NormalizedFirstName, Normalize(*x.FirstName))
		}
		x.NormalizedLastName = orNullable(x.NormalizedLastName, Normalize(x.LastName))
	case *PaymentTerminalData:
		x.PaymentTerminalId = orDefault(x.PaymentTerminalId, orDefault(d.Config.PaymentTerminalID, orDefault(d.Identifier, d.ID)))
		x.PaymentTerminalData = orNullable(x.PaymentTerminalData, d.Config.PaymentTerminalData)
		if x.PaymentId != nil && x.PreauthorizationId != nil {
			return nil, InvalidBecause("Data", "PaymentId and PreauthorizationId: a command is a payment or a preauthorization, not both.")
		}
		switch a := x.AccountData; {
		case a.Discriminator == "Customer" && a.Customer == nil, a.Discriminator == "Company" && a.Company == nil:
			return nil, InvalidBecause("Data", "AccountData: Discriminator %s without its slot.", a.Discriminator)
		case a.Customer != nil && x.FullName == nil:
			x.FullName = &a.Customer.FullName
		}
		x.CustomerId = orDefault(x.CustomerId, x.AccountId)
		if x.CustomerId != x.AccountId {
			return nil, InvalidBecause("Data", "CustomerId: the deprecated CustomerId is the AccountId.")
		}
	case *FiscalMachineData:
		x.FiscalMachineId = orNullable(x.FiscalMachineId, orDefault(d.Config.FiscalMachineID, orDefault(d.Identifier, d.ID)))
		x.ApiUrl = orNullable(x.ApiUrl, d.Config.ApiUrl)
		x.FiscalMachineData = orNullable(x.FiscalMachineData, orDefault(d.Config.FiscalMachineData, "{}"))
		x.TaxIdentifier = orNullable(x.TaxIdentifier, d.Config.TaxIdentifier)
		if x.ApiUrl == nil {
			return nil, InvalidBecause("Data", "ApiUrl: neither the Data nor the fiscal machine's settings give one, and fiscalMachineCommands/getAll must send it.")
		}
		for _, o := range []*BillOwnerData{x.Bill.OwnerData, x.Bill.AssigneeData} {
			if o != nil && o.Customer == nil && o.Company == nil {
				return nil, InvalidBecause("Data", "Bill.OwnerData: a %s without a Value.", o.Discriminator)
			}
		}
	case *PassportScannerData:
		x.PassportScannerId = orNullable(x.PassportScannerId, orDefault(d.Config.PassportScannerID, d.Identifier))
	}
	if err := valid(reflect.ValueOf(v).Elem(), ""); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeStrict decodes raw into v strictly (no member the type lacks) and
// checks that the required members are there.
func decodeStrict(raw json.RawMessage, v any) error {
	if err := strictUnmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return InvalidBecause("Data", "%s: a %s is not a %s.", te.Field, te.Value, te.Type)
		}
		return InvalidBecause("Data", "%s.", strings.TrimPrefix(err.Error(), "json: "))
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return InvalidBecause("Data", "not JSON.")
	}
	return present(reflect.TypeOf(v).Elem(), doc, "")
}

// strictUnmarshal is json.Unmarshal that refuses unknown members and
// anything after the value.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the value")
	}
	return nil
}

type tags struct {
	required, filled, nonempty, uuid, time, base64 bool
	enum                                           []string
}

func tagsOf(f reflect.StructField) tags {
	var t tags
	for _, opt := range strings.Split(f.Tag.Get("bellhop"), ",") {
		switch {
		case opt == "required":
			t.required = true
		case opt == "filled":
			t.filled = true
		case opt == "nonempty":
			t.nonempty = true
		case opt == "uuid":
			t.uuid = true
		case opt == "time":
			t.time = true
		case opt == "base64":
			t.base64 = true
		case strings.HasPrefix(opt, "enum="):
			t.enum = strings.Split(opt[len("enum="):], "|")
		}
	}
	return t
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// present checks that the JSON value doc has every member that typ's
// required fields name, not null, down through nested objects and lists.
// Types with their own decoding check themselves.
func present(typ reflect.Type, doc any, path string) error {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if doc == nil || reflect.PointerTo(typ).Implements(unmarshaler) {
		return nil
	}
	switch typ.Kind() {
	case reflect.Slice:
		list, _ := doc.([]any)
		for i, item := range list {
			if err := present(typ.Elem(), item, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Struct:
		obj, _ := doc.(map[string]any)
		for i := range typ.NumField() {
			f := typ.Field(i)
			val, ok := obj[f.Name]
			if t := tagsOf(f); t.required && !t.filled && (!ok || val == nil) {
				return InvalidBecause("Data", "%s is required.", join(path, f.Name))
			}
			if err := present(f.Type, val, join(path, f.Name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// valid checks the tags of v's fields, down through nested values.
func valid(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return valid(v.Elem(), path)
	case reflect.Slice:
		for i := range v.Len() {
			if err := valid(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			fp := join(path, f.Name)
			if err := checkField(v.Field(i), tagsOf(f), fp); err != nil {
				return err
			}
			if err := valid(v.Field(i), fp); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkField checks one field's string values against its tags.
func checkField(v reflect.Value, t tags, path string) error {
	var strs []string
	switch {
	case v.Kind() == reflect.String:
		strs = []string{v.String()}
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.String && !v.IsNil():
		strs = []string{v.Elem().String()}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		for i := range v.Len() {
			strs = append(strs, v.Index(i).String())
		}
	default:
		return nil
	}
	optional := v.Kind() == reflect.String && !t.required && !t.nonempty
	for _, s := range strs {
		if s == "" && optional {
			continue
		}
		var why string
		switch {
		case t.nonempty && s == "":
			why = "must not be empty"
		case t.uuid && !ValidID(s):
			why = fmt.Sprintf("%q is not an id", s)
		case t.time && !validTime(s):
			why = fmt.Sprintf("%q is not an ISO 8601 UTC time such as 2025-01-15T14:30:00Z", s)
		case t.base64 && !validBase64(s):
			why = "is not base64"
		case t.enum != nil && !contains(t.enum, s):
			why = fmt.Sprintf("%q is not one of %s", s, strings.Join(t.enum, ", "))
		}
		if why != "" {
			return InvalidBecause("Data", "%s %s.", path, why)
		}
	}
	return nil
}

func validTime(s string) bool {
	_, err := ParseTime(s)
	return err == nil
}

func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(s)%4 == 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func orNullable(p *string, def string) *string {
	if p != nil && *p != "" {
		return p
	}
	return nullable(def)
}
