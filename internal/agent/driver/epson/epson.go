// Package epson fiscalizes bills on Epson RT printers (the Italian FP-81 II
// RT, FP-90 III and kin) through their fpMate web service: a SOAP envelope
// POSTed to http://host/cgi-bin/fpmate.cgi, answered by
// <response success="true|false" code="..." status="..."> with an addInfo
// block that carries the receipt number.
//
// A target is epson-fiscal://host[:port][/path][?query]. The path defaults
// to /cgi-bin/fpmate.cgi; the query is passed on to the printer (devid,
// timeout) except operator and department, which set the receipt's
// attributes (default 1 and 1).
//
// A FiscalMachine command whose PayloadData is an ItalianFiscalMachine
// payload is sent as it is (base64-decoded fpMate XML); otherwise a
// printerFiscalReceipt is built from the Bill: one printRecItem per revenue
// or order item, one printRecTotal per payment. Options.Timeout (default
// 30 s) bounds the request; there are no retries, and the action is not
// Repeatable, because a repeated request prints a second fiscal receipt.
package epson

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// DefaultPath is where fpMate listens on Epson RT printers.
const DefaultPath = "/cgi-bin/fpmate.cgi"

// maxResponse bounds the printer's answer; real ones are under 1 KiB.
const maxResponse = 64 << 10

// Driver talks to one fpMate printer.
type Driver struct {
	url      string
	settings settings
	client   *http.Client
	timeout  time.Duration
}

// New is the Factory for epson-fiscal:// targets.
func New(target string, opts driver.Options) (driver.Driver, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("epson: bad target: %w", err)
	}
	if u.Scheme != "epson-fiscal" || u.Hostname() == "" {
		return nil, fmt.Errorf("epson: target %q must be epson-fiscal://host[:port][/path]", target)
	}
	q := u.Query()
	s := settings{operator: q.Get("operator"), department: q.Get("department")}
	if s.operator == "" {
		s.operator = "1"
	}
	if s.department == "" {
		s.department = "1"
	}
	q.Del("operator")
	q.Del("department")
	u.RawQuery = q.Encode()
	if u.Path == "" || u.Path == "/" {
		u.Path = DefaultPath
	}
	u.Scheme = "http"
	opts = opts.WithDefaults()
	return &Driver{url: u.String(), settings: s, client: &http.Client{}, timeout: driver.Or(opts.Timeout, driver.DefaultTimeout)}, nil
}

// Repeatable is false: a repeated request prints another fiscal receipt.
func (d *Driver) Repeatable() bool { return false }

// Close drops idle connections.
func (d *Driver) Close() error {
	d.client.CloseIdleConnections()
	return nil
}

// Check asks the printer for its status (queryPrinterStatus) and fails
// unless it answers success.
func (d *Driver) Check(ctx context.Context) error {
	body := wrap([]byte(`<printerCommand><queryPrinterStatus operator="` + d.settings.operator + `" statusType="0"/></printerCommand>`))
	_, err := d.post(ctx, body)
	return err
}

// Run fiscalizes the job's bill; see the package documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	body, err := requestBody(job, d.settings)
	if err != nil {
		return driver.Result{}, fmt.Errorf("epson: %w", err)
	}
	job.Report(0)
	resp, err := d.post(ctx, body)
	if err != nil {
		return driver.Result{}, err
	}
	job.Report(1)
	return driver.Result{Notes: driver.Bound(resp.Info.notes())}, nil
}

// post sends one SOAP request and decodes the answer; success="false" is an
// error carrying the printer's code and status.
func (d *Driver) post(ctx context.Context, body []byte) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("epson: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml;charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("epson: POST %s gave up (the printer may have printed the receipt): %w", d.url, err)
		}
		return nil, fmt.Errorf("epson: POST %s: %w", d.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		text, _ := driver.ReadBounded(resp.Body)
		return nil, fmt.Errorf("epson: POST %s: HTTP %s: %s", d.url, resp.Status, text)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, resp.Body, maxResponse)); err != nil {
		return nil, fmt.Errorf("epson: reading the answer of %s: %w", d.url, err)
	}
	r, err := DecodeResponse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("epson: answer of %s: %w", d.url, err)
	}
	if !r.Success {
		return nil, fmt.Errorf("epson: printer refused the request: code=%q status=%q%s", r.Code, r.Status, r.Info.status())
	}
	return r, nil
}

// Response is the printer's answer to one fpMate request.
type Response struct {
	Success      bool
	Code, Status string
	Info         AddInfo
}

// AddInfo is the addInfo block; fields the printer did not send are empty.
type AddInfo struct {
	ElementList         string `xml:"elementList"`
	LastCommand         string `xml:"lastCommand"`
	PrinterStatus       string `xml:"printerStatus"`
	FiscalReceiptNumber string `xml:"fiscalReceiptNumber"`
	FiscalReceiptAmount string `xml:"fiscalReceiptAmount"`
	FiscalReceiptDate   string `xml:"fiscalReceiptDate"`
	FiscalReceiptTime   string `xml:"fiscalReceiptTime"`
	ZRepNumber          string `xml:"zRepNumber"`
}

// DecodeResponse parses a SOAP envelope holding a fpMate <response>. It
// fails on anything that is not well-formed XML with a response element
// whose success attribute is true or false.
func DecodeResponse(b []byte) (*Response, error) {
	var env struct {
		Body struct {
			Response *struct {
				Success string  `xml:"success,attr"`
				Code    string  `xml:"code,attr"`
				Status  string  `xml:"status,attr"`
				AddInfo AddInfo `xml:"addInfo"`
			} `xml:"response"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("not a SOAP envelope: %w", err)
	}
	r := env.Body.Response
	if r == nil {
		return nil, fmt.Errorf("no <response> in the SOAP body")
	}
	out := &Response{Code: r.Code, Status: r.Status, Info: r.AddInfo}
	switch strings.ToLower(strings.TrimSpace(r.Success)) {
	case "true":
		out.Success = true
	case "false":
	default:
		return nil, fmt.Errorf("response success=%q, want true or false", r.Success)
	}
	return out, nil
}

// notes renders what staff look for after a receipt: its number, the
// daily closure it belongs to, its amount and time.
func (a AddInfo) notes() string {
	var parts []string
	for _, kv := range [][2]string{
		{"fiscalReceiptNumber", a.FiscalReceiptNumber}, {"zRepNumber", a.ZRepNumber},
		{"amount", a.FiscalReceiptAmount}, {"date", strings.TrimSpace(a.FiscalReceiptDate + " " + a.FiscalReceiptTime)},
		{"printerStatus", a.PrinterStatus},
	} {
		if v := strings.TrimSpace(kv[1]); v != "" {
			parts = append(parts, kv[0]+"="+v)
		}
	}
	if len(parts) == 0 {
		return "printer answered success"
	}
	return strings.Join(parts, " ")
}

func (a AddInfo) status() string {
	s := ""
	if a.PrinterStatus != "" {
		s += " printerStatus=" + a.PrinterStatus
	}
	if a.LastCommand != "" {
		s += " lastCommand=" + a.LastCommand
	}
	return s
}
