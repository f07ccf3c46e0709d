package httpapi

import (
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
)

func TestDecode(t *testing.T) {
	type req struct {
		Count  *int
		Amount *struct{ Value *float64 }
	}
	for _, tt := range []struct {
		body, want string // want: "" ok, else the error message
	}{
		{`{"Count": 1}`, ""},
		{"  {\"Count\": 1}\n", ""},
		{`{"Count": 1, "Unknown": [1, {"a": null}]}`, ""},
		{`{"Count": 1}{}`, "Invalid JSON"},
		{`{"Count": 1} x`, "Invalid JSON"},
		{`{"Count": 1,}`, "Invalid JSON"},
		{`{"Count": 1`, "Invalid JSON"},
		{`[1]`, "Invalid JSON"},
		{`"x"`, "Invalid JSON"},
		{``, "Invalid JSON"},
		{`{"Count": "1"}`, "Invalid Count"},
		{`{"Count": 1.5}`, "Invalid Count"},
		{`{"Amount": {"Value": "x"}}`, "Invalid Amount Value"},
		{`{"Count": "1",}`, "Invalid JSON"},
		{`{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, "Invalid JSON"},
		{`{"a":"` + strings.Repeat("[", 100) + `"}`, ""}, // brackets in strings do not nest
	} {
		var r req
		err := Decode([]byte(tt.body), &r)
		if got := bellhop.ErrorMessage(err); got != tt.want {
			t.Errorf("Decode(%.40q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	for code, want := range map[string]int{bellhop.EINVALID: 400, bellhop.EUNAUTHORIZED: 401, bellhop.EFORBIDDEN: 403,
		bellhop.ENOTFOUND: 404, bellhop.ECONFLICT: 409, bellhop.ETOOLARGE: 413, bellhop.ERATELIMIT: 429, "other": 500} {
		if got := Status(code); got != want {
			t.Errorf("Status(%s) = %d, want %d", code, got, want)
		}
	}
}
