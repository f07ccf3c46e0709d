package driver

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestBound(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ in, want string }{
		"trimmed":      {"  ok \n", "ok"},
		"invalid utf8": {"a\xffb", "a\uFFFDb"},
		"cut on rune":  {strings.Repeat("€", 400), strings.Repeat("€", 340) + "…"},
	} {
		if got := Bound(tc.in); got != tc.want || len(got) > MaxNotes {
			t.Errorf("%s: Bound = %q (%d bytes)", name, got, len(got))
		}
	}
}

func TestRequestBody(t *testing.T) {
	t.Parallel()
	b, err := RequestBody(Job{CommandID: "c", DeviceID: "d", DeviceName: "n", DeviceType: "KeyCutter", Data: json.RawMessage(`{"KeyCount":1}`)})
	if err != nil || string(b) != `{"Id":"c","Device":{"Id":"d","Name":"n","Type":"KeyCutter"},"Data":{"KeyCount":1}}` {
		t.Errorf("RequestBody = %s, %v", b, err)
	}
	if b, _ := RequestBody(Job{CommandID: "c"}); !strings.HasSuffix(string(b), `"Data":null}`) {
		t.Errorf("empty Data = %s, want null", b)
	}
	if _, err := RequestBody(Job{Data: json.RawMessage(`{`)}); err == nil {
		t.Error("RequestBody accepted invalid JSON Data")
	}
}

func TestPrinterDocument(t *testing.T) {
	t.Parallel()
	doc, err := PrinterDocument(Job{Data: json.RawMessage(`{"CopyCount":2,"FileData":"aGk="}`)})
	if err != nil || string(doc.Bytes) != "hi" || doc.Copies != 2 || doc.Format != "application/pdf" {
		t.Errorf("PrinterDocument = %+v, %v", doc, err)
	}
	for _, data := range []string{`{"CopyCount":0,"FileData":"aGk="}`, `{"CopyCount":101,"FileData":"aGk="}`,
		`{"CopyCount":1,"FileData":""}`, `{"CopyCount":1,"FileData":"%%"}`, `[]`} {
		if _, err := PrinterDocument(Job{Data: json.RawMessage(data)}); !errors.Is(err, ErrBadData) {
			t.Errorf("PrinterDocument(%s) = %v, want ErrBadData", data, err)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	o := Options{}.WithDefaults()
	if o.Retries != DefaultRetries || o.RetryDelay != DefaultRetryDelay || o.UserName != DefaultUserName || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
	if o := (Options{Retries: -1}).WithDefaults(); o.Retries != 0 {
		t.Errorf("Retries -1 gave %d, want 0", o.Retries)
	}
}

func TestJobReportClamps(t *testing.T) {
	t.Parallel()
	var got []float64
	j := Job{Progress: func(f float64) { got = append(got, f) }}
	j.Report(-1)
	j.Report(2)
	Job{}.Report(0.5) // nil Progress is fine
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("reported %v", got)
	}
}
