package epson

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func open(t *testing.T, f *drivertest.FPMate) driver.Driver {
	t.Helper()
	d, err := New("epson-fiscal://"+f.Host, driver.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestReceiptFromBill(t *testing.T) {
	t.Parallel()
	f := drivertest.StartFPMate(t)
	d := open(t, f)
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	for n := 1; n <= 2; n++ {
		res, err := d.Run(context.Background(), drivertest.FiscalJob("cmd-1", ""))
		want := "fiscalReceiptNumber=" + string(rune('0'+n)) + " zRepNumber=3 amount=102,50 date=15/1/2025 13:10 printerStatus=20110"
		if err != nil || res.Notes != want {
			t.Fatalf("Run %d = %q, %v; want %q", n, res.Notes, err, want)
		}
	}
	if f.Receipts() != 2 {
		t.Errorf("endpoint printed %d receipts, want 2", f.Receipts())
	}
}

// TestReceiptGolden pins the SOAP request built from a bill.
func TestReceiptGolden(t *testing.T) {
	t.Parallel()
	body, err := requestBody(drivertest.FiscalJob("cmd-1", ""), settings{operator: "1", department: "2"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "receipt-from-bill.golden.xml")
	if *update {
		os.WriteFile(path, body, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(body, want) {
		t.Errorf("request differs from %s (%v; run go test -update if intended):\n%s", path, err, body)
	}
}

func TestPayloadIsSentAsGiven(t *testing.T) {
	t.Parallel()
	f := drivertest.StartFPMate(t)
	payload := `<?xml version="1.0" encoding="UTF-8"?>
<printerFiscalReceipt><beginFiscalReceipt operator="1"/>` +
		`<printRecItem operator="1" description="Minibar" quantity="1" unitPrice="4,00" department="1" justification="1"/>` +
		`<printRecTotal operator="1" description="Contanti" payment="4,00" paymentType="0" index="0" justification="1"/>` +
		`<endFiscalReceipt operator="1"/></printerFiscalReceipt>`
	res, err := open(t, f).Run(context.Background(), drivertest.FiscalJob("cmd-1", payload))
	if err != nil || !strings.Contains(res.Notes, "amount=4,00") {
		t.Fatalf("Run = %q, %v", res.Notes, err)
	}
	body := string(f.Bodies()[0])
	if !strings.Contains(body, `<s:Body><printerFiscalReceipt><beginFiscalReceipt`) || strings.Count(body, "<?xml") != 1 {
		t.Errorf("payload not wrapped cleanly:\n%s", body)
	}
}

func TestPrinterRefusals(t *testing.T) {
	t.Parallel()
	f := drivertest.StartFPMate(t)
	d := open(t, f)
	for name, tc := range map[string]struct {
		payload string
		err     string
		is      error
	}{
		"unpaid":    {payload: `<printerFiscalReceipt><beginFiscalReceipt operator="1"/><printRecItem operator="1" description="x" quantity="1" unitPrice="5.00" department="1" justification="1"/><endFiscalReceipt operator="1"/></printerFiscalReceipt>`, err: `epson: printer refused the request: code="RECEIPT_NOT_PAID" status="0"`},
		"no end":    {payload: `<printerFiscalReceipt><beginFiscalReceipt operator="1"/></printerFiscalReceipt>`, err: `code="RECEIPT_SEQUENCE_ERROR"`},
		"not xml":   {payload: `<printerFiscalReceipt>`, is: driver.ErrBadData},
		"two roots": {payload: `<a/><b/>`, is: driver.ErrBadData},
	} {
		_, err := d.Run(context.Background(), drivertest.FiscalJob("cmd-"+name, tc.payload))
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Run = %v, want %q / %v", name, err, tc.err, tc.is)
		}
	}
	if f.Receipts() != 0 {
		t.Errorf("endpoint printed %d receipts", f.Receipts())
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	f := drivertest.StartFPMate(t)
	f.Hold = true
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := open(t, f).Run(ctx, drivertest.FiscalJob("cmd-1", ""))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "may have printed") {
		t.Errorf("Run = %v", err)
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	d, err := New("epson-fiscal://10.0.0.5:8080?devid=local_printer&operator=3&department=4", driver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*Driver); got.url != "http://10.0.0.5:8080/cgi-bin/fpmate.cgi?devid=local_printer" || got.settings != (settings{"3", "4"}) {
		t.Errorf("url %q settings %+v", got.url, got.settings)
	}
	if _, err := New("epson-fiscal:///x", driver.Options{}); err == nil {
		t.Error("New accepted a target without a host")
	}
}

func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in      string
		success bool
		number  string
		err     bool
	}{
		"success":     {in: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><response success="true" code="" status="2"><addInfo><fiscalReceiptNumber>7</fiscalReceiptNumber></addInfo></response></soapenv:Body></soapenv:Envelope>`, success: true, number: "7"},
		"failure":     {in: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><response success="false" code="EPTR_REC_EMPTY" status="0"/></s:Body></s:Envelope>`},
		"no body":     {in: `<Envelope/>`, err: true},
		"bad success": {in: `<Envelope><Body><response success="maybe"/></Body></Envelope>`, err: true},
		"html":        {in: `<html><body>500</body></html>`, err: true},
	} {
		r, err := DecodeResponse([]byte(tc.in))
		if (err != nil) != tc.err || (err == nil && (r.Success != tc.success || r.Info.FiscalReceiptNumber != tc.number)) {
			t.Errorf("%s: DecodeResponse = %+v, %v", name, r, err)
		}
	}
}

// FuzzDecodeResponse checks that no printer answer panics the decoder.
func FuzzDecodeResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeResponse(in)
		if err == nil && r == nil {
			t.Fatal("nil response without an error")
		}
		if err == nil {
			_ = r.Info.notes()
		}
	})
}
