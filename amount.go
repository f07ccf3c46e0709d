package bellhop

import (
	"math"
	"strconv"
)

// ExtendedAmount is the money type of payment terminal commands (Mews'
// "Extended amount"). Value, Net, Tax and TaxRate are the legacy members the
// schema keeps beside the current ones; the hub fills them from what an
// addPaymentTerminal request gave, and leaves them out otherwise.
type ExtendedAmount struct {
	Currency   string     `bellhop:"required,nonempty"`
	NetValue   float64    `bellhop:"required"`
	GrossValue float64    `bellhop:"required"`
	TaxValues  []TaxValue `bellhop:"required"`
	Breakdown  Breakdown  `bellhop:"required"`
	Value      *float64   `json:",omitempty"`
	Net        *float64   `json:",omitempty"`
	Tax        *float64   `json:",omitempty"`
	TaxRate    *float64   `json:",omitempty"`
}

// Amount is Mews' "Amount": an ExtendedAmount without the legacy members
// (the unit amount of an order item).
type Amount struct {
	Currency   string     `bellhop:"required,nonempty"`
	NetValue   float64    `bellhop:"required"`
	GrossValue float64    `bellhop:"required"`
	TaxValues  []TaxValue `bellhop:"required"`
	Breakdown  Breakdown  `bellhop:"required"`
}

// TaxValue is one tax of an amount; Code is null when the hub knows no tax
// code (it knows rates, not a tax environment's codes).
type TaxValue struct {
	Code  *string
	Value float64 `bellhop:"required"`
}

// Breakdown splits an amount by tax rate.
type Breakdown struct {
	Items []BreakdownItem `bellhop:"required"`
}

// BreakdownItem is one tax rate's part of an amount. TaxRateCode is null for
// the hub's own amounts: Mews reads null as untaxed, so TaxValue is what says
// whether there is a tax.
type BreakdownItem struct {
	TaxRateCode *string
	NetValue    float64 `bellhop:"required"`
	TaxValue    float64 `bellhop:"required"`
}

// AmountRequest is the amount of an addPaymentTerminal request (Mews'
// "Currency value (ver 2018-06-07)"): a currency and any of the gross Value,
// Net, Tax and TaxRate (a fraction: 0.21 for 21 %).
type AmountRequest struct {
	Currency string
	Value    *float64
	Net      *float64
	Tax      *float64
	TaxRate  *float64
}

// maxAmount bounds every amount a request may carry.
const maxAmount = 1e12

// Resolve turns the request into the ExtendedAmount of a payment, in a
// currency with the given number of decimal places. Each combination that
// fixes the gross amount is served:
//
//	Value                 untaxed: net = gross = Value
//	Value, Net | Tax      the missing part is the difference
//	Value, TaxRate        net = Value / (1 + TaxRate), rounded; tax the rest
//	Net, Tax | TaxRate    gross = Net + Tax (Tax = Net × TaxRate, rounded)
//	Tax, TaxRate          net = Tax / TaxRate, rounded
//
// Given values must agree (Value = Net + Tax exactly, Tax = Net × TaxRate
// within rounding) and carry no more decimals than the currency has; the
// gross amount must be positive. Anything else is an `Invalid Amount` error
// whose Details say why. The request's members are kept in the result's
// legacy members, Value, Net and Tax as resolved.
func (r AmountRequest) Resolve(decimals int) (ExtendedAmount, error) {
	unit := math.Pow10(decimals)
	minor := func(name string, v *float64) (int64, bool, error) {
		if v == nil {
			return 0, false, nil
		}
		x := *v
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= maxAmount:
			return 0, false, InvalidBecause("Amount "+name, "%s is not a number below %g.", name, float64(maxAmount))
		case x < 0:
			return 0, false, InvalidBecause("Amount "+name, "%s is negative; a refund is not a payment terminal command.", name)
		}
		m := math.Round(x * unit)
		if math.Abs(x*unit-m) > 1e-6*math.Max(1, math.Abs(m)) {
			return 0, false, InvalidBecause("Amount "+name, "%s %s has more than the %d decimal places of %s.", name, fmtNum(x), decimals, r.Currency)
		}
		return int64(m), true, nil
	}
	value, hasValue, err := minor("Value", r.Value)
	if err != nil {
		return ExtendedAmount{}, err
	}
	net, hasNet, err := minor("Net", r.Net)
	if err != nil {
		return ExtendedAmount{}, err
	}
	tax, hasTax, err := minor("Tax", r.Tax)
	if err != nil {
		return ExtendedAmount{}, err
	}
	rate, hasRate := 0.0, r.TaxRate != nil
	if hasRate {
		rate = *r.TaxRate
		if math.IsNaN(rate) || rate < 0 || rate >= 1 {
			return ExtendedAmount{}, InvalidBecause("Amount TaxRate", "TaxRate is a fraction from 0 up to 1 (0.21 for 21 %%), not %s.", fmtNum(rate))
		}
	}
	byRate := func(n int64) int64 { return int64(math.Round(float64(n) * rate)) }
	switch {
	case hasValue && hasNet && hasTax:
		if net+tax != value {
			return ExtendedAmount{}, InvalidBecause("Amount", "Value %s is not Net %s + Tax %s.",
				fmtMinor(value, decimals), fmtMinor(net, decimals), fmtMinor(tax, decimals))
		}
	case hasValue && hasNet:
		tax = value - net
	case hasValue && hasTax:
		net = value - tax
	case hasValue && hasRate:
		net = int64(math.Round(float64(value) / (1 + rate)))
		tax = value - net
	case hasValue:
		net = value
	case hasNet && hasTax:
		value = net + tax
	case hasNet && hasRate:
		tax = byRate(net)
		value = net + tax
	case hasTax && hasRate && rate > 0:
		net = int64(math.Round(float64(tax) / rate))
		value = net + tax
	case hasNet:
		return ExtendedAmount{}, InvalidBecause("Amount", "Net without Tax or TaxRate does not say the gross amount to take.")
	default:
		return ExtendedAmount{}, InvalidBecause("Amount", "give Value (the gross amount), or Net with Tax or TaxRate; a terminal cannot take an amount that is not known.")
	}
	switch {
	case net < 0 || tax < 0:
		return ExtendedAmount{}, InvalidBecause("Amount", "Net %s and Tax %s do not add up to Value %s.",
			fmtMinor(net, decimals), fmtMinor(tax, decimals), fmtMinor(value, decimals))
	case value <= 0:
		return ExtendedAmount{}, InvalidBecause("Amount Value", "the gross amount must be positive.")
	case float64(value)/unit >= maxAmount:
		return ExtendedAmount{}, InvalidBecause("Amount Value", "the gross amount is not below %g.", float64(maxAmount))
	case hasRate && (hasTax || hasValue && hasNet) && absInt(byRate(net)-tax) > 1+net/1000:
		return ExtendedAmount{}, InvalidBecause("Amount TaxRate", "Tax %s is not Net %s × TaxRate %s.",
			fmtMinor(tax, decimals), fmtMinor(net, decimals), fmtNum(rate))
	}
	f := func(m int64) float64 { return float64(m) / unit }
	a := ExtendedAmount{Currency: r.Currency, NetValue: f(net), GrossValue: f(value), TaxValues: []TaxValue{},
		Breakdown: Breakdown{Items: []BreakdownItem{{NetValue: f(net), TaxValue: f(tax)}}},
		Value:     ptr(f(value)), Net: ptr(f(net)), Tax: ptr(f(tax)), TaxRate: r.TaxRate}
	if tax != 0 {
		a.TaxValues = []TaxValue{{Value: f(tax)}}
	}
	return a, nil
}

func ptr[T any](v T) *T { return &v }

func absInt(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func fmtMinor(m int64, decimals int) string {
	return strconv.FormatFloat(float64(m)/math.Pow10(decimals), 'f', decimals, 64)
}

// String shows the gross amount, such as "EUR 230.5".
func (a ExtendedAmount) String() string { return a.Currency + " " + fmtNum(a.GrossValue) }
