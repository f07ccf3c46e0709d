package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/pdf"
)

// The test page sends the sample command that the Mews docs' "Testing your
// integration" step asks a partner to process: a PDF to print, keys for a
// reservation, a bill to fiscalize, a payment to take.

// refOption is a reservation or customer offered in a select.
type refOption struct {
	ID, EnterpriseID, Label string
}

// samples remembers the reservations and customers the console created in
// this process, so the next test can reuse them. The store has no listing of
// reference data (a PMS owns it), so older ones are found through the
// commands that used them.
type samples struct {
	mu           sync.Mutex
	reservations []refOption
	customers    []refOption
}

func (s *samples) add(list *[]refOption, o refOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append([]refOption{o}, *list...)
	if len(*list) > 50 {
		*list = (*list)[:50]
	}
}

func (s *samples) get(list *[]refOption) []refOption {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]refOption(nil), *list...)
}

// testView is the content of the test page.
type testView struct {
	Devices      []bellhop.Device
	Enterprises  map[string]string
	Selected     string
	Reservations []refOption
	Customers    []refOption
	CSRF         string
}

func (s *server) testPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	devs, err := s.svc.ListDevices(ctx, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	ents, err := s.svc.Enterprises(ctx)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v := testView{Devices: devs, Enterprises: map[string]string{}, CSRF: sess.CSRF, Selected: strings.ToLower(r.URL.Query().Get("device"))}
	for _, e := range ents {
		v.Enterprises[e.ID] = e.Name
	}
	v.Reservations, v.Customers = s.knownReferences(ctx)
	s.render(w, r, sess, http.StatusOK, "test", page{Title: "Send a test command", Nav: "test", Content: v})
}

// knownReferences lists reservations and customers to offer: the console's
// own samples, then those that recent commands used.
func (s *server) knownReferences(ctx context.Context) (res, cust []refOption) {
	seenR, seenC := map[string]bool{}, map[string]bool{}
	for _, o := range s.samples.get(&s.samples.reservations) {
		seenR[o.ID] = true
		res = append(res, o)
	}
	for _, o := range s.samples.get(&s.samples.customers) {
		seenC[o.ID] = true
		cust = append(cust, o)
	}
	recent := &hub.Page{Count: 100}
	cmds, _, err := s.svc.ListCommands(ctx, bellhop.CommandFilter{DeviceType: bellhop.KeyCutter}, recent)
	if err == nil {
		for _, c := range cmds {
			var d bellhop.KeyCutterData
			if json.Unmarshal(c.Data, &d) == nil && d.ReservationId != nil && !seenR[*d.ReservationId] && len(res) < 50 {
				seenR[*d.ReservationId] = true
				num := ""
				if d.ReservationNumber != nil {
					num = "#" + *d.ReservationNumber + " "
				}
				res = append(res, refOption{ID: *d.ReservationId, EnterpriseID: c.EnterpriseID,
					Label: num + d.LastName + " · " + strings.Join(d.LockIds, ", ")})
			}
		}
	}
	cmds, _, err = s.svc.ListCommands(ctx, bellhop.CommandFilter{DeviceType: bellhop.PaymentTerminal}, recent)
	if err == nil {
		for _, c := range cmds {
			var d bellhop.PaymentTerminalData
			if json.Unmarshal(c.Data, &d) == nil && bellhop.ValidID(d.AccountId) && !seenC[d.AccountId] && len(cust) < 50 {
				seenC[d.AccountId] = true
				name := shortID(d.AccountId)
				if d.AccountData.Customer != nil {
					name = d.AccountData.Customer.FullName
				} else if d.AccountData.Company != nil {
					name = d.AccountData.Company.Name
				}
				cust = append(cust, refOption{ID: d.AccountId, EnterpriseID: c.EnterpriseID, Label: name})
			}
		}
	}
	return res, cust
}

func (s *server) sendTest(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	devID := strings.TrimSpace(r.PostFormValue("device"))
	if !bellhop.ValidID(devID) {
		s.back(w, r, sess, "/test", bellhop.Errorf(bellhop.EINVALID, "Choose a device."), "")
		return
	}
	d, err := s.svc.Device(ctx, devID)
	if bellhop.ErrorCode(err) == bellhop.ENOTFOUND {
		s.back(w, r, sess, "/test", bellhop.Errorf(bellhop.EINVALID, "That device does not exist."), "")
		return
	} else if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	data, err := s.testData(ctx, r, d)
	if err != nil {
		s.back(w, r, sess, "/test?device="+d.ID, err, "")
		return
	}
	cmd, err := s.svc.CreateCommand(ctx, d.ID, data, sess.Name, nil)
	if err != nil {
		s.back(w, r, sess, "/test?device="+d.ID, err, "")
		return
	}
	s.back(w, r, sess, "/commands/"+cmd.ID, nil, "Test command sent to "+d.Name+". It is Pending until a connected integration reads it.")
}

// testData builds the sample Data for the device's type.
func (s *server) testData(ctx context.Context, r *http.Request, d *bellhop.Device) (json.RawMessage, error) {
	now := s.cfg.Now().UTC()
	switch d.Type {
	case bellhop.Printer:
		copies, err := formInt(r, "copies", 1, 1, bellhop.MaxCopyCount, "CopyCount")
		if err != nil {
			return nil, err
		}
		doc := pdf.Text("bellhop test page", d.Name, bellhop.FormatTime(now))
		return bellhop.MarshalData(bellhop.NewPrinterData(d, base64.StdEncoding.EncodeToString(doc), copies)), nil
	case bellhop.KeyCutter:
		keys, err := formInt(r, "keys", 1, 1, bellhop.MaxKeyCount, "KeyCount")
		if err != nil {
			return nil, err
		}
		res, err := s.reservation(ctx, r, d, now)
		if err != nil {
			return nil, err
		}
		return bellhop.MarshalData(bellhop.NewKeyCutterData(d, res, keys)), nil
	case bellhop.PaymentTerminal:
		amount, currency, err := money(r)
		if err != nil {
			return nil, err
		}
		c, err := s.customer(ctx, r, d)
		if err != nil {
			return nil, err
		}
		decimals, err := hub.CurrencyDecimals(currency)
		if err != nil {
			return nil, err
		}
		a, err := bellhop.AmountRequest{Currency: currency, Value: &amount}.Resolve(decimals)
		if err != nil {
			return nil, err
		}
		data := bellhop.NewPaymentTerminalData(d, c, &bellhop.Payment{Kind: bellhop.PaymentKindPayment, Amount: a})
		data.PaymentId = nil // the hub records the payment and names it
		return bellhop.MarshalData(data), nil
	case bellhop.FiscalMachine:
		amount, currency, err := money(r)
		if err != nil {
			return nil, err
		}
		return sampleBill(d, amount, currency, now), nil
	case bellhop.PassportScanner:
		id := orText(d.Config.PassportScannerID, orText(d.Identifier, d.ID))
		return bellhop.MarshalData(bellhop.PassportScannerData{PassportScannerId: &id}), nil
	}
	if d.Type.Generic() { // any JSON object, checked as the admin API checks it
		data := strings.TrimSpace(r.PostFormValue("data"))
		if data == "" {
			return bellhop.MarshalData(map[string]any{"Test": true, "SentUtc": bellhop.FormatTime(now)}), nil
		}
		return json.RawMessage(data), nil
	}
	return nil, bellhop.Invalid("Type")
}

func formInt(r *http.Request, name string, def, lo, hi int, field string) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, bellhop.Errorf(bellhop.EINVALID, "Invalid %s: a whole number from %d to %d", field, lo, hi)
	}
	return n, nil
}

func money(r *http.Request) (float64, string, error) {
	amount := 1.0
	if v := strings.TrimSpace(r.PostFormValue("amount")); v != "" {
		a, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64)
		if err != nil || math.IsNaN(a) || a <= 0 || a > 1e9 {
			return 0, "", bellhop.Errorf(bellhop.EINVALID, "Invalid Amount: a positive number such as 12.50")
		}
		amount = math.Round(a*100) / 100
	}
	cur := strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency")))
	if cur == "" {
		cur = "EUR"
	}
	if len(cur) != 3 || strings.Trim(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return 0, "", bellhop.Errorf(bellhop.EINVALID, "Invalid Currency: a three-letter ISO 4217 code such as EUR")
	}
	return amount, cur, nil
}

// reservation returns the chosen reservation, or creates a sample one for
// tonight when none was chosen.
func (s *server) reservation(ctx context.Context, r *http.Request, d *bellhop.Device, now time.Time) (*bellhop.Reservation, error) {
	id := strings.TrimSpace(r.PostFormValue("reservation_id"))
	if id == "" {
		id = r.PostFormValue("reservation")
	}
	if id != "" {
		res, err := s.svc.Reservation(ctx, id)
		if bellhop.ErrorCode(err) == bellhop.ENOTFOUND || err == nil && res.EnterpriseID != d.EnterpriseID {
			return nil, bellhop.Errorf(bellhop.EINVALID, "Invalid ReservationId: no such reservation in the device's enterprise")
		}
		return res, err
	}
	day := now.Truncate(24 * time.Hour)
	room := strings.TrimSpace(r.PostFormValue("room"))
	if room == "" {
		room = "101"
	}
	res := &bellhop.Reservation{EnterpriseID: d.EnterpriseID, Number: "T" + strconv.FormatInt(now.Unix()%1000000, 10),
		StartUtc: day.Add(14 * time.Hour), EndUtc: day.Add(24*time.Hour + 10*time.Hour),
		FirstName: "Test", LastName: "Guest", Email: "test.guest@example.com", LockIDs: []string{room}}
	if len(room) > 64 {
		return nil, bellhop.Invalid("Room")
	}
	if err := s.svc.CreateReservation(ctx, res); err != nil {
		return nil, err
	}
	s.samples.add(&s.samples.reservations, refOption{ID: res.ID, EnterpriseID: res.EnterpriseID,
		Label: "#" + res.Number + " " + res.LastName + " · " + room})
	return res, nil
}

// customer returns the chosen customer, or creates a sample one.
func (s *server) customer(ctx context.Context, r *http.Request, d *bellhop.Device) (*bellhop.Customer, error) {
	id := strings.TrimSpace(r.PostFormValue("customer_id"))
	if id == "" {
		id = r.PostFormValue("customer")
	}
	if id != "" {
		c, err := s.svc.Customer(ctx, id)
		if bellhop.ErrorCode(err) == bellhop.ENOTFOUND || err == nil && c.EnterpriseID != d.EnterpriseID {
			return nil, bellhop.Errorf(bellhop.EINVALID, "Invalid CustomerId: no such customer in the device's enterprise")
		}
		return c, err
	}
	c := &bellhop.Customer{EnterpriseID: d.EnterpriseID, FirstName: "Test", LastName: "Guest", Email: "test.guest@example.com"}
	if err := s.svc.CreateCustomer(ctx, c); err != nil {
		return nil, err
	}
	s.samples.add(&s.samples.customers, refOption{ID: c.ID, EnterpriseID: c.EnterpriseID, Label: c.FullName()})
	return c, nil
}

// sampleBill returns the Data of a FiscalMachine command in the legacy shape
// (spec 5.4): a closed receipt for a guest, with accommodation and breakfast
// as revenue and one card payment, which is what a fiscal printer needs to
// print a receipt. The hub fills in the device's settings.
func sampleBill(d *bellhop.Device, amount float64, currency string, now time.Time) json.RawMessage {
	ts := bellhop.FormatTime(now)
	billID, accountID := bellhop.NewID(), bellhop.NewID()
	money := func(v float64) *bellhop.ExtendedAmount {
		v = math.Round(v*100) / 100
		net := math.Round(v/1.1*100) / 100
		return &bellhop.ExtendedAmount{Currency: currency, NetValue: net, GrossValue: v,
			TaxValues: []bellhop.TaxValue{{Value: math.Round((v-net)*100) / 100}},
			Breakdown: bellhop.Breakdown{Items: []bellhop.BreakdownItem{{NetValue: net, TaxValue: math.Round((v-net)*100) / 100}}}}
	}
	text := func(s string) *string { return &s }
	stay := math.Round(amount*0.8*100) / 100
	item := func(typ, sub, name string, v float64) bellhop.AccountingItem {
		return bellhop.AccountingItem{Id: bellhop.NewID(), AccountId: accountID, CustomerId: &accountID, BillId: &billID,
			Type: text(typ), SubType: text(sub), Name: text(name), ConsumptionUtc: &ts, ClosedUtc: &ts, State: text("Closed"),
			Amount: money(v)}
	}
	payment := item("Payment", "CreditCard", "Card payment", amount)
	payment.SubState = text("Charged")
	bill := bellhop.Bill{
		Id: billID, Name: text("Test receipt"), EnterpriseId: d.EnterpriseID, AccountId: accountID, AccountType: "Customer",
		CustomerId: &accountID, State: "Closed", Type: "Receipt",
		Number: text("T-" + strconv.FormatInt(now.Unix()%1000000, 10)), CreatedUtc: ts, UpdatedUtc: ts,
		IssuedUtc: &ts, TaxedUtc: &ts, PaidUtc: &ts, Notes: text("bellhop console test"),
		Options:         &bellhop.BillOptions{DisplayCustomer: true, DisplayTaxation: true},
		CorrectionState: "Bill",
		Revenue: []bellhop.AccountingItem{
			item("ServiceRevenue", "SpaceOrder", "Accommodation", stay),
			item("ProductRevenue", "ProductOrder", "Breakfast", amount-stay),
		},
		Payments: []bellhop.AccountingItem{payment},
	}
	return bellhop.MarshalData(bellhop.FiscalMachineData{Bill: bill})
}
