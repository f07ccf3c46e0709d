package bellhop

import (
	"strings"
	"testing"
)

func TestAmountResolve(t *testing.T) {
	n := func(v float64) *float64 { return &v }
	tests := []struct {
		name            string
		req             AmountRequest
		decimals        int
		net, gross, tax float64
		err, field, why string
	}{
		{name: "value alone is untaxed", req: AmountRequest{Currency: "EUR", Value: n(230)}, decimals: 2, net: 230, gross: 230},
		{name: "value and net", req: AmountRequest{Currency: "EUR", Value: n(121), Net: n(100)}, decimals: 2, net: 100, gross: 121, tax: 21},
		{name: "value and tax", req: AmountRequest{Currency: "EUR", Value: n(121), Tax: n(21)}, decimals: 2, net: 100, gross: 121, tax: 21},
		{name: "value and rate", req: AmountRequest{Currency: "EUR", Value: n(100), TaxRate: n(0.21)}, decimals: 2, net: 82.64, gross: 100, tax: 17.36},
		{name: "net and rate", req: AmountRequest{Currency: "EUR", Net: n(100), TaxRate: n(0.21)}, decimals: 2, net: 100, gross: 121, tax: 21},
		{name: "net and tax", req: AmountRequest{Currency: "EUR", Net: n(100), Tax: n(10)}, decimals: 2, net: 100, gross: 110, tax: 10},
		{name: "tax and rate", req: AmountRequest{Currency: "EUR", Tax: n(21), TaxRate: n(0.21)}, decimals: 2, net: 100, gross: 121, tax: 21},
		{name: "all four agree", req: AmountRequest{Currency: "EUR", Value: n(121), Net: n(100), Tax: n(21), TaxRate: n(0.21)}, decimals: 2, net: 100, gross: 121, tax: 21},
		{name: "rate within rounding", req: AmountRequest{Currency: "EUR", Net: n(0.05), Tax: n(0.01), TaxRate: n(0.21)}, decimals: 2, net: 0.05, gross: 0.06, tax: 0.01},
		{name: "no decimals", req: AmountRequest{Currency: "JPY", Value: n(1500)}, decimals: 0, net: 1500, gross: 1500},
		{name: "three decimals", req: AmountRequest{Currency: "KWD", Value: n(1.125)}, decimals: 3, net: 1.125, gross: 1.125},

		{name: "nothing", req: AmountRequest{Currency: "EUR"}, decimals: 2, field: "Amount", why: "give Value"},
		{name: "net alone", req: AmountRequest{Currency: "EUR", Net: n(100)}, decimals: 2, field: "Amount", why: "Net without Tax or TaxRate"},
		{name: "tax alone", req: AmountRequest{Currency: "EUR", Tax: n(21)}, decimals: 2, field: "Amount", why: "give Value"},
		{name: "rate alone", req: AmountRequest{Currency: "EUR", TaxRate: n(0.21)}, decimals: 2, field: "Amount", why: "give Value"},
		{name: "sum disagrees", req: AmountRequest{Currency: "EUR", Value: n(120), Net: n(100), Tax: n(21)}, decimals: 2, field: "Amount", why: "Value 120.00 is not Net 100.00 + Tax 21.00"},
		{name: "rate disagrees", req: AmountRequest{Currency: "EUR", Net: n(100), Tax: n(10), TaxRate: n(0.21)}, decimals: 2, field: "Amount TaxRate", why: "Tax 10.00 is not Net 100.00"},
		{name: "rate as percent", req: AmountRequest{Currency: "EUR", Value: n(121), TaxRate: n(21)}, decimals: 2, field: "Amount TaxRate", why: "a fraction"},
		{name: "net over value", req: AmountRequest{Currency: "EUR", Value: n(100), Net: n(121)}, decimals: 2, field: "Amount", why: "do not add up"},
		{name: "zero", req: AmountRequest{Currency: "EUR", Value: n(0)}, decimals: 2, field: "Amount Value", why: "positive"},
		{name: "negative", req: AmountRequest{Currency: "EUR", Value: n(-5)}, decimals: 2, field: "Amount Value", why: "negative"},
		{name: "too many decimals", req: AmountRequest{Currency: "EUR", Value: n(1.005)}, decimals: 2, field: "Amount Value", why: "more than the 2 decimal places of EUR"},
		{name: "fraction of a yen", req: AmountRequest{Currency: "JPY", Value: n(1.5)}, decimals: 0, field: "Amount Value", why: "0 decimal places"},
		{name: "huge", req: AmountRequest{Currency: "EUR", Value: n(1e13)}, decimals: 2, field: "Amount Value", why: "not a number below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.req.Resolve(tt.decimals)
			if tt.field != "" {
				if ErrorCode(err) != EINVALID || ErrorMessage(err) != "Invalid "+tt.field || !strings.Contains(ErrorDetails(err), tt.why) {
					t.Fatalf("err %v, want Invalid %s: ...%s...", err, tt.field, tt.why)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.NetValue != tt.net || a.GrossValue != tt.gross || a.Breakdown.Items[0].TaxValue != tt.tax ||
				*a.Value != tt.gross || *a.Net != tt.net || *a.Tax != tt.tax || a.Currency != tt.req.Currency {
				t.Errorf("got %+v, want net %v gross %v tax %v", a, tt.net, tt.gross, tt.tax)
			}
			if (tt.tax != 0) != (len(a.TaxValues) == 1) || a.TaxValues == nil {
				t.Errorf("TaxValues %v with tax %v", a.TaxValues, tt.tax)
			}
			if a.TaxRate != tt.req.TaxRate {
				t.Errorf("TaxRate %v not kept as given", a.TaxRate)
			}
		})
	}
}
