package console

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/bellhop/bellhop"
)

// prettyData indents a command's Data for display, with long base64 file
// contents cut short so the page stays small.
func prettyData(raw json.RawMessage) string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return string(raw)
	}
	for k, v := range m {
		if s, ok := v.(string); ok && len(s) > 160 {
			m[k] = fmt.Sprintf("%s… (%d characters)", s[:48], len(s))
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// summary is the one-line description of what a command asks for.
func summary(c *bellhop.Command) string {
	switch c.DeviceType {
	case bellhop.Printer:
		var d bellhop.PrinterData
		if json.Unmarshal(c.Data, &d) == nil {
			n := fileSize(d.FileData)
			kind := "PDF"
			if d.FileType != "" && d.FileType != "application/pdf" {
				kind = d.FileType
			}
			return fmt.Sprintf("%s × %d · %s", kind, max(d.CopyCount, 1), sizeText(n))
		}
	case bellhop.KeyCutter:
		var d bellhop.KeyCutterData
		if json.Unmarshal(c.Data, &d) == nil {
			who := d.LastName
			if d.FirstName != nil && *d.FirstName != "" {
				who = *d.FirstName + " " + who
			}
			return fmt.Sprintf("%d key(s) · %s · %s", d.KeyCount, strings.Join(d.LockIds, ", "), who)
		}
	case bellhop.PaymentTerminal:
		var d bellhop.PaymentTerminalData
		if json.Unmarshal(c.Data, &d) == nil {
			who := ""
			if d.AccountData.Customer != nil {
				who = d.AccountData.Customer.FullName
			} else if d.AccountData.Company != nil {
				who = d.AccountData.Company.Name
			}
			typ := d.Kind()
			if typ == "" {
				typ = bellhop.PaymentKindPayment
			}
			return fmt.Sprintf("%s %s · %s", typ, d.Amount, who)
		}
	case bellhop.FiscalMachine:
		if b := billOf(c.Data); b != nil {
			return fmt.Sprintf("Bill %s · %s", orText(b.Number, shortID(b.Id)), b.TotalText)
		}
	}
	return ""
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fileSize is the size of a base64 file, counted without decoding it (the
// queue shows a hundred at a time): three bytes per four characters, less
// one per padding character. The command page shows the same number.
func fileSize(b64 string) int {
	b64 = strings.TrimSpace(b64)
	n := len(b64) / 4 * 3
	for i := len(b64) - 1; i >= 0 && i >= len(b64)-2 && b64[i] == '='; i-- {
		n--
	}
	return max(n, 0)
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// billView is the summary of a FiscalMachine command's bill.
type billView struct {
	Id, Name, Number, State, Type, AccountId, AccountType string
	FiscalMachineId, TaxIdentifier, ApiUrl                string
	Items                                                 []billItem
	Payments                                              []billItem
	TotalText, PaidText                                   string
}

type billItem struct {
	Name, Type string
	Amount     string
}

// billOf reads the legacy FiscalMachine Data shape leniently: staff should
// see what is there even when a command stored before Data was checked left
// fields out.
func billOf(raw json.RawMessage) *billView {
	var d bellhop.FiscalMachineData
	if json.Unmarshal(raw, &d) != nil || d.Bill.Id == "" && d.Bill.AccountId == "" {
		return nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	b := &d.Bill
	v := &billView{Id: b.Id, Name: str(b.Name), Number: str(b.Number), State: b.State, Type: b.Type,
		AccountId: b.AccountId, AccountType: b.AccountType, FiscalMachineId: str(d.FiscalMachineId),
		TaxIdentifier: str(d.TaxIdentifier), ApiUrl: str(d.ApiUrl)}
	type line struct {
		name, typ string
		amount    *bellhop.ExtendedAmount
	}
	list := func(items []line) ([]billItem, string) {
		sums := map[string]float64{}
		var out []billItem
		for _, it := range items {
			bi := billItem{Name: it.name, Type: it.typ}
			if a := it.amount; a != nil {
				bi.Amount = fmt.Sprintf("%.2f %s", a.GrossValue, a.Currency)
				sums[a.Currency] += a.GrossValue
			}
			out = append(out, bi)
		}
		cur := make([]string, 0, len(sums))
		for c := range sums {
			cur = append(cur, c)
		}
		sort.Strings(cur)
		var parts []string
		for _, c := range cur {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%.2f %s", sums[c], c)))
		}
		return out, strings.Join(parts, " + ")
	}
	var sales, paid []line
	for _, it := range b.Revenue {
		sales = append(sales, line{str(it.Name), strings.Trim(str(it.Type)+" / "+str(it.SubType), " /"), it.Amount})
	}
	for _, it := range b.OrderItems {
		sales = append(sales, line{it.Data.Discriminator, it.RevenueType, &it.Amount})
	}
	for _, it := range b.Payments {
		paid = append(paid, line{str(it.Name), strings.Trim(str(it.Type)+" / "+str(it.SubType), " /"), it.Amount})
	}
	for _, it := range b.PaymentItems {
		paid = append(paid, line{str(it.Notes), it.Data.Discriminator, &it.Amount})
	}
	v.Items, v.TotalText = list(sales)
	v.Payments, v.PaidText = list(paid)
	if v.TotalText == "" {
		v.TotalText = "no items"
	}
	return v
}
