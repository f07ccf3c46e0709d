package epson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// fiscalData is the part of FiscalMachine Data (spec 5.4) the driver reads.
type fiscalData struct {
	Bill        *bill
	PayloadData *struct{ Discriminator, Value string }
}

// bill carries both generations of item lists: Revenue/Payments (accounting
// items) and OrderItems/PaymentItems.
type bill struct {
	Id, Number   string
	Revenue      []item
	Payments     []item
	OrderItems   []item
	PaymentItems []item
}

// item is the union of the fields of accounting, order and payment items
// that a receipt line needs.
type item struct {
	Name, Notes   string
	Type, SubType string
	UnitCount     *float64
	UnitAmount    *amount
	Amount        *amount
}

type amount struct{ GrossValue, Value *float64 }

func (a *amount) gross() (float64, bool) {
	switch {
	case a == nil:
		return 0, false
	case a.GrossValue != nil:
		return *a.GrossValue, true
	case a.Value != nil:
		return *a.Value, true
	}
	return 0, false
}

// settings are the receipt defaults taken from the target's query.
type settings struct{ operator, department string }

// maxDescription is what an RT printer prints of an item description.
const maxDescription = 38

// soapEnvelope wraps a printer command as fpMate expects it.
const (
	envelopeStart = `<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`
	envelopeEnd = `</s:Body></s:Envelope>`
)

// requestBody builds the SOAP request for a FiscalMachine job: the
// ItalianFiscalMachine payload as given, else a receipt built from the bill.
func requestBody(j driver.Job, s settings) ([]byte, error) {
	var d fiscalData
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return nil, fmt.Errorf("%w: fiscal machine data: %v", driver.ErrBadData, err)
	}
	if d.PayloadData != nil && d.PayloadData.Discriminator == "ItalianFiscalMachine" {
		return payloadBody(d.PayloadData.Value)
	}
	if d.Bill == nil {
		return nil, fmt.Errorf("%w: fiscal machine data has neither an ItalianFiscalMachine payload nor a Bill", driver.ErrBadData)
	}
	inner, err := receiptXML(d.Bill, s)
	if err != nil {
		return nil, err
	}
	return wrap(inner), nil
}

func wrap(inner []byte) []byte {
	return append(append([]byte(envelopeStart), inner...), envelopeEnd...)
}

// payloadBody decodes a base64 fpMate XML payload. A whole SOAP envelope is
// sent as it is; a bare command loses its XML declaration, which cannot
// stand inside the envelope, and gets wrapped.
func payloadBody(b64 string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: PayloadData.Value is not base64: %v", driver.ErrBadData, err)
	}
	root, err := rootElement(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: PayloadData.Value is not well-formed XML: %v", driver.ErrBadData, err)
	}
	if root.Local == "Envelope" {
		return raw, nil
	}
	raw = bytes.TrimSpace(raw)
	if bytes.HasPrefix(raw, []byte("<?xml")) {
		if end := bytes.Index(raw, []byte("?>")); end >= 0 {
			raw = raw[end+2:]
		}
	}
	return wrap(bytes.TrimSpace(raw)), nil
}

// rootElement checks that doc is well-formed XML with one root and names it.
func rootElement(doc []byte) (xml.Name, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var root xml.Name
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if root.Local == "" {
				return root, errors.New("no element")
			}
			return root, nil
		}
		if err != nil {
			return root, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && root.Local != "" {
				return root, errors.New("more than one root element")
			}
			if depth == 0 {
				root = t.Name
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return root, errors.New("text outside the root element")
			}
		}
	}
}

// fpMate receipt commands.
type (
	receipt struct {
		XMLName  xml.Name `xml:"printerFiscalReceipt"`
		Commands []any
	}
	beginFiscalReceipt struct {
		XMLName  xml.Name `xml:"beginFiscalReceipt"`
		Operator string   `xml:"operator,attr"`
	}
	printRecItem struct {
		XMLName       xml.Name `xml:"printRecItem"`
		Operator      string   `xml:"operator,attr"`
		Description   string   `xml:"description,attr"`
		Quantity      string   `xml:"quantity,attr"`
		UnitPrice     string   `xml:"unitPrice,attr"`
		Department    string   `xml:"department,attr"`
		Justification string   `xml:"justification,attr"`
	}
	printRecTotal struct {
		XMLName       xml.Name `xml:"printRecTotal"`
		Operator      string   `xml:"operator,attr"`
		Description   string   `xml:"description,attr"`
		Payment       string   `xml:"payment,attr"`
		PaymentType   string   `xml:"paymentType,attr"`
		Index         string   `xml:"index,attr"`
		Justification string   `xml:"justification,attr"`
	}
	endFiscalReceipt struct {
		XMLName  xml.Name `xml:"endFiscalReceipt"`
		Operator string   `xml:"operator,attr"`
	}
)

// receiptXML turns a bill into beginFiscalReceipt, one printRecItem per
// revenue or order item, one printRecTotal per payment, endFiscalReceipt.
func receiptXML(b *bill, s settings) ([]byte, error) {
	sales := append(append([]item(nil), b.Revenue...), b.OrderItems...)
	payments := append(append([]item(nil), b.Payments...), b.PaymentItems...)
	if len(sales) == 0 || len(payments) == 0 {
		return nil, fmt.Errorf("%w: bill %s has %d items and %d payments; a receipt needs both", driver.ErrBadData, b.Id, len(sales), len(payments))
	}
	r := receipt{Commands: []any{beginFiscalReceipt{Operator: s.operator}}}
	for i, it := range sales {
		line, err := saleLine(it, s)
		if err != nil {
			return nil, fmt.Errorf("%w: bill %s item %d: %v", driver.ErrBadData, b.Id, i+1, err)
		}
		r.Commands = append(r.Commands, line)
	}
	for i, p := range payments {
		v, ok := p.Amount.gross()
		if !ok {
			return nil, fmt.Errorf("%w: bill %s payment %d has no amount", driver.ErrBadData, b.Id, i+1)
		}
		r.Commands = append(r.Commands, printRecTotal{Operator: s.operator, Description: description(p, "PAGAMENTO"),
			Payment: money(v), PaymentType: paymentType(p), Index: "0", Justification: "1"})
	}
	r.Commands = append(r.Commands, endFiscalReceipt{Operator: s.operator})
	out, err := xml.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("epson: encoding the receipt: %w", err)
	}
	return out, nil
}

func saleLine(it item, s settings) (printRecItem, error) {
	qty := 1.0
	if it.UnitCount != nil && *it.UnitCount > 0 {
		qty = *it.UnitCount
	}
	unit, ok := it.UnitAmount.gross()
	if !ok {
		total, ok := it.Amount.gross()
		if !ok {
			return printRecItem{}, errors.New("no amount")
		}
		unit = total / qty
	}
	return printRecItem{Operator: s.operator, Description: description(it, "ARTICOLO"),
		Quantity: strconv.FormatFloat(qty, 'f', -1, 64), UnitPrice: money(unit),
		Department: s.department, Justification: "1"}, nil
}

func description(it item, fallback string) string {
	d := strings.TrimSpace(it.Name)
	if d == "" {
		d = strings.TrimSpace(it.Notes)
	}
	if d == "" {
		d = fallback
	}
	if r := []rune(d); len(r) > maxDescription {
		d = string(r[:maxDescription])
	}
	return d
}

// paymentType maps a payment to fpMate's: 0 cash, 1 cheque, 2 card and
// other electronic payments.
func paymentType(p item) string {
	for _, t := range []string{p.SubType, p.Type, p.Name} {
		switch strings.ToLower(t) {
		case "cash", "cashpayment":
			return "0"
		case "cheque", "chequepayment":
			return "1"
		}
	}
	return "2"
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
