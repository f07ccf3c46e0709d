package drivertest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FPMate imitates an Epson RT printer's fpMate web service
// (POST /cgi-bin/fpmate.cgi) after Epson's published request and response
// format: a SOAP envelope whose body is a printerFiscalReceipt, answered by
// <response success code status> with an addInfo block. It checks that a
// receipt begins, sells something, is paid in full and ends, numbers every
// accepted receipt, and answers success="false" otherwise. Its failure
// codes are its own, in Epson's style.
type FPMate struct {
	URL  string // http://127.0.0.1:PORT, what an epson-fiscal:// target names
	Host string // 127.0.0.1:PORT
	// Hold makes the endpoint keep every request open until the client
	// gives up: the peer for cancellation tests.
	Hold bool

	mu       sync.Mutex
	receipts int
	bodies   [][]byte
}

// ZRepNumber is the daily closure number the endpoint reports.
const ZRepNumber = 3

// StartFPMate starts an endpoint that lives until the test ends.
func StartFPMate(tb testing.TB) *FPMate {
	tb.Helper()
	f := &FPMate{}
	srv := httptest.NewServer(f)
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	f.Host = strings.TrimPrefix(srv.URL, "http://")
	return f
}

// Receipts is how many receipts the endpoint has printed.
func (f *FPMate) Receipts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.receipts
}

// Bodies returns the request bodies received so far.
func (f *FPMate) Bodies() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies...)
}

// ServeHTTP answers like the printer's CGI.
func (f *FPMate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/cgi-bin/fpmate.cgi" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	if f.Hold {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if isStatusQuery(body) {
		fmt.Fprintf(w, responseFmt, "true", "", "2", "<addInfo><elementList>lastCommand,printerStatus</elementList>"+
			"<lastCommand>74</lastCommand><printerStatus>20110</printerStatus></addInfo>")
		return
	}
	amount, err := checkReceipt(body)
	if err != nil {
		fmt.Fprintf(w, responseFmt, "false", err.Error(), "0", "")
		return
	}
	f.mu.Lock()
	f.receipts++
	n := f.receipts
	f.mu.Unlock()
	info := fmt.Sprintf("<addInfo><elementList>lastCommand,printerStatus,fiscalReceiptNumber,fiscalReceiptAmount,fiscalReceiptDate,fiscalReceiptTime,zRepNumber</elementList>"+
		"<lastCommand>74</lastCommand><printerStatus>20110</printerStatus><fiscalReceiptNumber>%d</fiscalReceiptNumber>"+
		"<fiscalReceiptAmount>%s</fiscalReceiptAmount><fiscalReceiptDate>15/1/2025</fiscalReceiptDate>"+
		"<fiscalReceiptTime>13:10</fiscalReceiptTime><zRepNumber>%d</zRepNumber></addInfo>",
		n, strings.Replace(strconv.FormatFloat(amount, 'f', 2, 64), ".", ",", 1), ZRepNumber)
	fmt.Fprintf(w, responseFmt, "true", "", "2", info)
}

const responseFmt = `<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
	`<response success="%s" code="%s" status="%s">%s</response></soapenv:Body></soapenv:Envelope>`

// Failure codes of the endpoint.
const (
	CodeSyntax     = "SYNTAX_ERROR"
	CodeRecEmpty   = "EPTR_REC_EMPTY"
	CodeSequence   = "RECEIPT_SEQUENCE_ERROR"
	CodeNotPaid    = "RECEIPT_NOT_PAID"
	CodeBadCommand = "UNKNOWN_COMMAND"
)

// checkReceipt validates a printerFiscalReceipt and returns its total.
func checkReceipt(body []byte) (float64, error) {
	var env struct {
		Body struct {
			Receipt *struct {
				Commands []struct {
					XMLName xml.Name
					Attrs   []xml.Attr `xml:",any,attr"`
				} `xml:",any"`
			} `xml:"printerFiscalReceipt"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.Receipt == nil {
		return 0, errors.New(CodeSyntax)
	}
	cmds := env.Body.Receipt.Commands
	if len(cmds) == 0 {
		return 0, errors.New(CodeRecEmpty)
	}
	if cmds[0].XMLName.Local != "beginFiscalReceipt" || cmds[len(cmds)-1].XMLName.Local != "endFiscalReceipt" {
		return 0, errors.New(CodeSequence)
	}
	var total, paid float64
	items := 0
	for _, c := range cmds[1 : len(cmds)-1] {
		a := map[string]string{}
		for _, at := range c.Attrs {
			a[at.Name.Local] = at.Value
		}
		switch c.XMLName.Local {
		case "printRecItem":
			q, err1 := number(a["quantity"])
			p, err2 := number(a["unitPrice"])
			if err1 != nil || err2 != nil || a["description"] == "" {
				return 0, errors.New(CodeSyntax)
			}
			total += q * p
			items++
		case "printRecTotal":
			p, err := number(a["payment"])
			if err != nil {
				return 0, errors.New(CodeSyntax)
			}
			paid += p
		case "printRecMessage", "printRecSubtotal", "printRecItemAdjustment":
		default:
			return 0, errors.New(CodeBadCommand)
		}
	}
	switch {
	case items == 0:
		return 0, errors.New(CodeRecEmpty)
	case paid+0.005 < total:
		return 0, errors.New(CodeNotPaid)
	}
	return total, nil
}

// number parses an fpMate amount, which may use a decimal comma.
func number(s string) (float64, error) {
	return strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
}

// isStatusQuery reports whether body is a printerCommand/queryPrinterStatus.
func isStatusQuery(body []byte) bool {
	var env struct {
		Body struct {
			Command *struct {
				Query *struct{} `xml:"queryPrinterStatus"`
			} `xml:"printerCommand"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	return xml.Unmarshal(body, &env) == nil && env.Body.Command != nil && env.Body.Command.Query != nil
}
