package bellhop

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCheckFile: CheckFile accepts exactly what base64.StdEncoding decodes
// (of a length in whole quanta), whichever of its pieces a flaw falls in.
func FuzzCheckFile(f *testing.F) {
	long := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("%PDF-1.4 ", 300)))
	for _, s := range []string{"JVBERi0xLjQK", "QQ==", "QUI=", "QQ==QUFB", "QQ=\n=", "QUJD\r\nQUJD", "%%%%", "",
		long, long[:1024] + "QQ==" + long[1028:], long[:2044] + "====", long[:1020] + "QQ==" + long[1024:], long + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := base64.StdEncoding.DecodeString(s)
		want := s != "" && len(s)%4 == 0 && err == nil
		if got := CheckFile("Data", s) == nil; got != want {
			t.Errorf("CheckFile(%.40q… of %d bytes) accepts: %v, want %v", s, len(s), got, want)
		}
	})
}

func TestValidateData(t *testing.T) {
	pdf := "JVBERi0xLjQK" // %PDF-1.4
	for _, tt := range []struct {
		typ  DeviceType
		data string
		want string // "" = valid
	}{
		{Printer, `{"CopyCount":1,"FileType":"application/pdf","FileData":"` + pdf + `"}`, ""},
		{Printer, `{"CopyCount":1,"FileType":"application/pdf"}`, "Invalid FileData"},
		{Printer, `{"CopyCount":1,"FileData":""}`, "Invalid FileData"},
		{Printer, `{"CopyCount":1,"FileData":"%%%%"}`, "Invalid FileData"},
		{Printer, `{"CopyCount":1,"FileData":"JVBERi0"}`, "Invalid FileData"}, // no padding
		{Printer, `{"FileData":"` + pdf + `"}`, "Invalid CopyCount: from 1 to 100."},
		{Printer, `{"CopyCount":101,"FileData":"` + pdf + `"}`, "Invalid CopyCount: from 1 to 100."},
		{Printer, `{"CopyCount":"2","FileData":"` + pdf + `"}`, "Invalid CopyCount"},
		{Printer, `[]`, "Invalid Data: a JSON object"},
		{Printer, `null`, "Invalid Data: a JSON object"},
		{Printer, ``, "Invalid Data: a JSON object"},
		{KeyCutter, `{"KeyCount":2,"LockIds":["101"],"LastName":"Novak"}`, ""},
		{KeyCutter, `{"KeyCount":0,"LockIds":["101"],"LastName":"Novak"}`, "Invalid KeyCount: from 1 to 20."},
		{KeyCutter, `{"KeyCount":21,"LockIds":["101"],"LastName":"Novak"}`, "Invalid KeyCount: from 1 to 20."},
		{KeyCutter, `{"KeyCount":1,"LockIds":[],"LastName":"Novak"}`, "Invalid LockIds"},
		{KeyCutter, `{"KeyCount":1,"LockIds":["101"]}`, "Invalid LastName"},
		{KeyCutter, `{"KeyCount":1,"LockIds":"101","LastName":"Novak"}`, "Invalid LockIds"},
		{PaymentTerminal, `{"Amount":{"Currency":"EUR","GrossValue":12.5}}`, ""},
		{PaymentTerminal, `{"Amount":{"Currency":"eur","GrossValue":12.5}}`, `Invalid Amount Currency: "eur" is not an ISO 4217 currency code such as EUR.`},
		{PaymentTerminal, `{"Amount":{"Currency":"EUR","GrossValue":0}}`, "Invalid Amount Value"},
		{PaymentTerminal, `{}`, `Invalid Amount Currency: "" is not an ISO 4217 currency code such as EUR.`},
		{PaymentTerminal, `{"Amount":{"Currency":"EUR","GrossValue":"12"}}`, "Invalid Amount GrossValue"},
		{FiscalMachine, `{"Bill":{}}`, ""},
		{PassportScanner, `{}`, ""},
		{PassportScanner, `"x"`, "Invalid Data: a JSON object"},
	} {
		err := ValidateData(tt.typ, json.RawMessage(tt.data))
		if got := ErrorText(err); got != tt.want || (err != nil && ErrorCode(err) != EINVALID) {
			t.Errorf("%s %s: %v, want %q", tt.typ, tt.data, err, tt.want)
		}
	}
}
