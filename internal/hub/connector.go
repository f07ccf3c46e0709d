package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/text/currency"

	"github.com/bellhop/bellhop"
)

// MaxPage is the default and largest page of the paged operations.
const MaxPage = 1000

// CommandView is a command with the device it is for, as reads return it.
type CommandView struct {
	bellhop.Command
	Device bellhop.Device
	// Payment is the record a PaymentTerminal command stands for; only
	// Service.Command fills it.
	Payment *bellhop.Payment
}

// Page asks for one page: at most Count items after the item with id Cursor.
// A nil *Page means the default page (MaxPage items from the start).
type Page struct {
	Count  int
	Cursor string
}

func (p *Page) count() (int, error) {
	if p == nil || p.Count == 0 && p.Cursor == "" {
		return MaxPage, nil
	}
	if p.Count < 1 || p.Count > MaxPage {
		return 0, bellhop.InvalidBecause("Limitation Count", "from 1 to %d.", MaxPage)
	}
	return p.Count, nil
}

// connected returns the caller's connected devices by id. The map is shared
// with the cache: never modify it.
func (s *Service) connected(ctx context.Context, c *bellhop.Caller) (map[string]bellhop.Device, error) {
	if m, reload := s.cache.connected(c.Subscription.ID); m != nil {
		if reload {
			go func() {
				ctx, cancel := reloadContext(ctx)
				defer cancel()
				if _, err := s.loadConnected(ctx, c); err != nil {
					s.cache.reloadedConnected(c.Subscription.ID)
				}
			}()
		}
		return m, nil
	}
	return s.loadConnected(ctx, c)
}

// loadConnected reads the caller's connected devices and caches them.
func (s *Service) loadConnected(ctx context.Context, c *bellhop.Caller) (map[string]bellhop.Device, error) {
	gen := s.cache.generation()
	devs, err := s.store.ConnectedDevices(ctx, c.Subscription.ID)
	if err != nil {
		return nil, fmt.Errorf("connected devices: %w", err)
	}
	m := make(map[string]bellhop.Device, len(devs))
	for _, d := range seen(&c.Subscription, devs) {
		m[d.ID] = d
	}
	s.cache.putConnected(c.Subscription.ID, m, gen)
	return m, nil
}

// reloadContext is the context of a cache reload in the background: the
// request's values without its end, bounded in time.
func reloadContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// Devices returns the devices connected to the caller's subscription that it
// sees.
func (s *Service) Devices(ctx context.Context, c *bellhop.Caller) ([]bellhop.Device, error) {
	devs, err := s.store.ConnectedDevices(ctx, c.Subscription.ID)
	if err != nil {
		return nil, err
	}
	return seen(&c.Subscription, devs), nil
}

// cursorSeq turns a Cursor (a command id) into its position.
func (s *Service) cursorSeq(ctx context.Context, p *Page) (int64, error) {
	if p == nil || p.Cursor == "" {
		return 0, nil
	}
	id, ok := bellhop.ParseID(p.Cursor)
	if !ok {
		return 0, bellhop.Invalid("Cursor")
	}
	cmd, err := s.store.GetCommand(ctx, id)
	if errors.Is(err, bellhop.ErrNotFound) {
		return 0, bellhop.Invalid("Cursor")
	} else if err != nil {
		return 0, err
	}
	return cmd.Seq, nil
}

// ActiveCommands returns the Pending and Received commands of the caller's
// connected devices, oldest first, marking the Pending ones Received. The
// cursor is the id of the last command returned ("" when none).
func (s *Service) ActiveCommands(ctx context.Context, c *bellhop.Caller, p *Page) ([]CommandView, string, error) {
	n, err := p.count()
	if err != nil {
		return nil, "", err
	}
	after, err := s.cursorSeq(ctx, p)
	if err != nil {
		return nil, "", err
	}
	devs, err := s.connected(ctx, c)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(devs))
	for id := range devs {
		ids = append(ids, id)
	}
	cmds, err := s.store.ListCommands(ctx, bellhop.CommandFilter{DeviceIDs: ids, States: []bellhop.State{bellhop.Pending, bellhop.Received},
		AfterSeq: after, Limit: n})
	if err != nil {
		return nil, "", fmt.Errorf("active commands: %w", err)
	}
	if cmds, err = s.markReceived(ctx, c, cmds, devs); err != nil {
		return nil, "", err
	}
	return views(cmds, devs), lastID(cmds), nil
}

// markReceived moves the Pending commands among cmds whose device is
// connected to the reader to Received, and returns cmds as they are now.
func (s *Service) markReceived(ctx context.Context, c *bellhop.Caller, cmds []bellhop.Command, devs map[string]bellhop.Device) ([]bellhop.Command, error) {
	var pending []string
	for _, cmd := range cmds {
		if _, ok := devs[cmd.DeviceID]; ok && cmd.State == bellhop.Pending {
			pending = append(pending, cmd.ID)
		}
	}
	if len(pending) == 0 {
		return cmds, nil
	}
	mark := s.markFunc(c)
	changed, err := s.update(ctx, pending, func(cmd *bellhop.Command) (*bellhop.HistoryEntry, bool, error) {
		h, err := mark(cmd) // one that moved on since the read is answered as read
		return h, h != nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("mark received: %w", err)
	}
	now := make(map[string]bellhop.Command, len(changed))
	for _, cmd := range changed {
		now[cmd.ID] = cmd
	}
	for i := range cmds {
		if cmd, ok := now[cmds[i].ID]; ok {
			cmd.Data = cmds[i].Data // an update leaves the payload alone and returns none
			cmds[i] = cmd
		}
	}
	return cmds, nil
}

// CommandsByIDs returns the commands among ids that the caller may see (its
// connected devices' and those its integration created), in any state,
// marking the Pending ones of its connected devices Received. Unknown and
// foreign ids are left out. Without a page the result is in creation order;
// with one it is newest first and paged.
//
// When this node last saw one of the ids Pending (see pendingSet), it reads
// and marks in one write (FetchCommands); otherwise it reads on the read
// pool, as a re-fetch of commands already Received needs no write, and
// writes only when it finds something to mark after all.
func (s *Service) CommandsByIDs(ctx context.Context, c *bellhop.Caller, ids []string, p *Page) ([]CommandView, string, error) {
	if len(ids) == 0 {
		return nil, "", bellhop.Invalid("CommandIds")
	}
	if len(ids) > MaxPage {
		return nil, "", bellhop.InvalidBecause("CommandIds", "at most %d items.", MaxPage)
	}
	ids, err := parseIDs(ids, "CommandIds")
	if err != nil {
		return nil, "", err
	}
	devs, err := s.connected(ctx, c)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.idsPage(ctx, p)
	if err != nil {
		return nil, "", err
	}
	var cmds []bellhop.Command
	if s.pending.any(ids) {
		cmds, err = s.fetch(ctx, c, ids, devs, pg)
	} else {
		cmds, err = s.readByIDs(ctx, c, ids, devs, pg)
	}
	if err != nil {
		return nil, "", err
	}
	vs, err := s.withDevices(ctx, cmds, devs)
	return vs, lastID(cmds), err
}

// idsPage is the page of a getAllByIds: nil without one.
type idsPage struct {
	n      int
	before int64 // Seq of the cursor; 0: from the newest
}

func (s *Service) idsPage(ctx context.Context, p *Page) (*idsPage, error) {
	if p == nil {
		return nil, nil
	}
	n, err := p.count()
	if err != nil {
		return nil, err
	}
	before, err := s.cursorSeq(ctx, p)
	if err != nil {
		return nil, err
	}
	return &idsPage{n: n, before: before}, nil
}

// eachAnswered calls f with the index of each command of all (read by id,
// in Seq order) that a getAllByIds answers, in the answer's order: the
// visible ones, then the page. All of them are read first, so that
// invisible ids never shorten a page.
func eachAnswered(c *bellhop.Caller, all []bellhop.Command, devs map[string]bellhop.Device, pg *idsPage, f func(i int)) {
	if pg == nil {
		for i := range all {
			if visible(c, &all[i], devs) {
				f(i)
			}
		}
		return
	}
	n := 0
	for i := len(all) - 1; i >= 0 && n < pg.n; i-- { // newest first
		if visible(c, &all[i], devs) && (pg.before == 0 || all[i].Seq < pg.before) {
			f(i)
			n++
		}
	}
}

// answered returns the commands of all that a getAllByIds answers (see
// eachAnswered); without a page, in all's array.
func answered(c *bellhop.Caller, all []bellhop.Command, devs map[string]bellhop.Device, pg *idsPage) []bellhop.Command {
	var out []bellhop.Command
	if pg == nil {
		out = all[:0] // indices only grow: each is read before it is overwritten
	}
	eachAnswered(c, all, devs, pg, func(i int) { out = append(out, all[i]) })
	return out
}

// readByIDs answers a getAllByIds with a read, and a write only for what it
// finds to mark.
func (s *Service) readByIDs(ctx context.Context, c *bellhop.Caller, ids []string, devs map[string]bellhop.Device, pg *idsPage) ([]bellhop.Command, error) {
	all, err := s.store.GetCommands(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("commands by ids: %w", err)
	}
	return s.markReceived(ctx, c, answered(c, all, devs, pg), devs)
}

// fetch answers a getAllByIds with one store call that reads the commands
// and marks the Pending ones of the caller's connected devices on the page
// Received (one write on SQLite), then publishes the marks. It holds the
// locks of every id meanwhile, as any of them may turn out Pending.
func (s *Service) fetch(ctx context.Context, c *bellhop.Caller, ids []string, devs map[string]bellhop.Device, pg *idsPage) ([]bellhop.Command, error) {
	unlock := s.lock(ids)
	defer unlock()
	pick := func(cs []bellhop.Command) []string {
		var marks []string
		eachAnswered(c, cs, devs, pg, func(i int) {
			if _, ok := devs[cs[i].DeviceID]; ok && cs[i].State == bellhop.Pending {
				marks = append(marks, cs[i].ID)
			}
		})
		return marks
	}
	all, changed, err := s.store.FetchCommands(ctx, ids, pick, s.markFunc(c))
	if err != nil {
		return nil, fmt.Errorf("commands by ids: %w", err)
	}
	s.publish(changed, nil) // each moved from Pending to Received
	// What the set held and is not Pending, or no command at all, goes.
	pending := make(map[string]bool, len(all))
	for i := range all {
		pending[all[i].ID] = all[i].State == bellhop.Pending
	}
	stale := make([]string, 0, len(ids))
	for _, id := range ids {
		if !pending[id] {
			stale = append(stale, id)
		}
	}
	s.pending.forget(stale)
	return answered(c, all, devs, pg), nil
}

// markFunc returns the store function that marks a command Received for a
// reader if it is still Pending: one that moved on since it was read is
// left as it is.
func (s *Service) markFunc(c *bellhop.Caller) func(cmd *bellhop.Command) (*bellhop.HistoryEntry, error) {
	mark := s.applyFunc(bellhop.Update{State: bellhop.Received, Actor: actor(c)})
	return func(cmd *bellhop.Command) (*bellhop.HistoryEntry, error) {
		if cmd.State != bellhop.Pending {
			return nil, nil
		}
		h, _, err := mark(cmd)
		return h, err
	}
}

// visible reports whether the caller may read cmd.
func visible(c *bellhop.Caller, cmd *bellhop.Command, devs map[string]bellhop.Device) bool {
	if _, ok := devs[cmd.DeviceID]; ok {
		return true
	}
	return cmd.Creator.IntegrationID == c.Integration.ID && c.Subscription.Covers(cmd.EnterpriseID)
}

// UpdateCommand changes a command's state for a caller whose subscription is
// connected to the command's device; the integration that created the command
// may also cancel it. Unknown or invisible commands are `Invalid CommandId`.
func (s *Service) UpdateCommand(ctx context.Context, c *bellhop.Caller, id string, u bellhop.Update) error {
	id, ok := bellhop.ParseID(id)
	if !ok {
		return bellhop.Invalid("CommandId")
	}
	if err := u.Normalize(); err != nil {
		return err
	}
	devs, err := s.connected(ctx, c)
	if err != nil {
		return err
	}
	u.Actor = actor(c)
	apply := s.applyFunc(u)
	found := false
	// Who may change it is decided on the row inside the transaction: one
	// read instead of a read before and another inside.
	_, err = s.update(ctx, []string{id}, func(cmd *bellhop.Command) (*bellhop.HistoryEntry, bool, error) {
		found = true
		if _, ok := devs[cmd.DeviceID]; !ok {
			if !visible(c, cmd, devs) {
				return nil, false, bellhop.Invalid("CommandId")
			}
			if u.State != bellhop.Cancelled {
				return nil, false, bellhop.Errorf(bellhop.EFORBIDDEN, "Only an integration connected to the device may report progress; the creator may only cancel.")
			}
		}
		return apply(cmd)
	})
	if err == nil && !found {
		return bellhop.Invalid("CommandId")
	}
	return err
}

func actor(c *bellhop.Caller) string { return "integration:" + c.Integration.Name }

// AddPrinter asks for Data (a base64 PDF) to be printed CopyCount times.
type AddPrinter struct {
	EnterpriseID string
	PrinterID    string
	Data         string
	CopyCount    int
}

// AddKeyCutter asks for KeyCount keys for a reservation.
type AddKeyCutter struct {
	EnterpriseID  string
	KeyCutterID   string
	ReservationID string
	KeyCount      int
}

// AddPaymentTerminal asks a terminal to take a payment (or a
// preauthorization) from a customer.
type AddPaymentTerminal struct {
	TerminalID       string
	CustomerID       string
	Kind             bellhop.PaymentKind
	Amount           *bellhop.AmountRequest // nil when the request had none
	BillID           string
	PaymentRequestID string
	ReservationID    string
}

// AddPrinterCommand queues a print job. The printer must be a Printer
// connected to the caller; with a portfolio token EnterpriseID is required.
func (s *Service) AddPrinterCommand(ctx context.Context, c *bellhop.Caller, r AddPrinter, idem *bellhop.Idempotency) (string, error) {
	d, err := s.addTarget(ctx, c, r.EnterpriseID, r.PrinterID, bellhop.Printer, "PrinterId")
	if err != nil {
		return "", err
	}
	if err := bellhop.CheckFile("Data", r.Data); err != nil {
		return "", err
	}
	if err := bellhop.CheckCopyCount(r.CopyCount); err != nil {
		return "", err
	}
	return s.create(ctx, c, d, bellhop.MarshalData(bellhop.NewPrinterData(d, r.Data, r.CopyCount)), nil, idem)
}

// AddKeyCutterCommand queues key encoding for a reservation of the device's
// enterprise.
func (s *Service) AddKeyCutterCommand(ctx context.Context, c *bellhop.Caller, r AddKeyCutter, idem *bellhop.Idempotency) (string, error) {
	d, err := s.addTarget(ctx, c, r.EnterpriseID, r.KeyCutterID, bellhop.KeyCutter, "KeyCutterId")
	if err != nil {
		return "", err
	}
	resID, ok := bellhop.ParseID(r.ReservationID)
	if !ok {
		return "", bellhop.Invalid("ReservationId")
	}
	res, err := s.store.GetReservation(ctx, resID)
	if errors.Is(err, bellhop.ErrNotFound) || err == nil && res.EnterpriseID != d.EnterpriseID {
		return "", bellhop.Invalid("ReservationId")
	} else if err != nil {
		return "", fmt.Errorf("reservation: %w", err)
	}
	if err := bellhop.CheckKeyCount(r.KeyCount); err != nil {
		return "", err
	}
	return s.create(ctx, c, d, bellhop.MarshalData(bellhop.NewKeyCutterData(d, res, r.KeyCount)), nil, idem)
}

// AddPaymentTerminalCommand queues a payment on a terminal for a customer of
// the device's enterprise.
func (s *Service) AddPaymentTerminalCommand(ctx context.Context, c *bellhop.Caller, r AddPaymentTerminal, idem *bellhop.Idempotency) (string, error) {
	d, err := s.addTarget(ctx, c, "", r.TerminalID, bellhop.PaymentTerminal, "TerminalId")
	if err != nil {
		return "", err
	}
	custID, ok := bellhop.ParseID(r.CustomerID)
	if !ok {
		return "", bellhop.Invalid("CustomerId")
	}
	cust, err := s.store.GetCustomer(ctx, custID)
	if errors.Is(err, bellhop.ErrNotFound) || err == nil && cust.EnterpriseID != d.EnterpriseID {
		return "", bellhop.Invalid("CustomerId")
	} else if err != nil {
		return "", fmt.Errorf("customer: %w", err)
	}
	if !r.Kind.Valid() {
		return "", bellhop.Invalid("Type")
	}
	ref := map[string]string{}
	for _, f := range []struct{ v, name string }{{r.BillID, "BillId"}, {r.PaymentRequestID, "PaymentRequestId"}, {r.ReservationID, "ReservationId"}} {
		if f.v == "" {
			continue
		}
		id, ok := bellhop.ParseID(f.v)
		if !ok {
			return "", bellhop.Invalid(f.name)
		}
		ref[f.name] = id
	}
	if resID := ref["ReservationId"]; resID != "" {
		res, err := s.store.GetReservation(ctx, resID)
		if errors.Is(err, bellhop.ErrNotFound) || err == nil && res.EnterpriseID != d.EnterpriseID {
			return "", bellhop.Invalid("ReservationId")
		} else if err != nil {
			return "", fmt.Errorf("reservation: %w", err)
		}
	}
	amount, err := resolveAmount(r.Amount, r.BillID)
	if err != nil {
		return "", err
	}
	p := &bellhop.Payment{ID: bellhop.NewID(), Kind: r.Kind, EnterpriseID: d.EnterpriseID, AccountID: cust.ID, Amount: amount,
		BillID: ref["BillId"], PaymentRequestID: ref["PaymentRequestId"], ReservationID: ref["ReservationId"]}
	return s.create(ctx, c, d, bellhop.MarshalData(bellhop.NewPaymentTerminalData(d, cust, p)), p, idem)
}

// resolveAmount checks the request's amount in its currency's decimals.
// Without an amount there is nothing a terminal could take: the Data's
// Amount is required, and the hub holds no bills whose balance it could
// charge instead.
func resolveAmount(a *bellhop.AmountRequest, billID string) (bellhop.ExtendedAmount, error) {
	switch {
	case a == nil && billID != "":
		return bellhop.ExtendedAmount{}, bellhop.InvalidBecause("Amount", "bellhop holds no bills, so it cannot charge the balance of BillId; give the Amount to take.")
	case a == nil:
		return bellhop.ExtendedAmount{}, bellhop.InvalidBecause("Amount", "required: the amount to take, with its Currency and Value.")
	}
	decimals, err := CurrencyDecimals(a.Currency)
	if err != nil {
		return bellhop.ExtendedAmount{}, err
	}
	return a.Resolve(decimals)
}

// CurrencyDecimals returns the decimal places of an ISO 4217 currency, or
// `Invalid Amount Currency` for anything else.
func CurrencyDecimals(code string) (int, error) {
	if code == "" {
		return 0, bellhop.InvalidBecause("Amount Currency", "required: an ISO 4217 code such as EUR.")
	}
	if err := bellhop.CheckCurrency("Amount Currency", code); err != nil {
		return 0, err
	}
	u, err := currency.ParseISO(code)
	if err != nil || u.String() != code {
		return 0, bellhop.InvalidBecause("Amount Currency", "%q is not an ISO 4217 currency code such as EUR.", code)
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

// addTarget resolves the device an add-operation names: it must be connected
// to the caller and of the right type; a portfolio caller must name its
// enterprise. Anything else is `Invalid <field>`, revealing nothing.
func (s *Service) addTarget(ctx context.Context, c *bellhop.Caller, enterpriseID, deviceID string, t bellhop.DeviceType, field string) (*bellhop.Device, error) {
	portfolio := c.Subscription.Portfolio() && t != bellhop.PaymentTerminal
	if portfolio {
		var ok bool
		if enterpriseID, ok = bellhop.ParseID(enterpriseID); !ok || !c.Subscription.Covers(enterpriseID) {
			return nil, bellhop.Invalid("EnterpriseId")
		}
	}
	deviceID, ok := bellhop.ParseID(deviceID)
	if !ok {
		return nil, bellhop.Invalid(field)
	}
	devs, err := s.connected(ctx, c)
	if err != nil {
		return nil, err
	}
	d, ok := devs[deviceID]
	if !ok || d.Type != t {
		return nil, bellhop.Invalid(field)
	}
	if portfolio && d.EnterpriseID != enterpriseID {
		return nil, bellhop.Invalid(field)
	}
	return &d, nil
}

// create stores a new Pending command, with the payment it stands for if
// any, and publishes its event.
func (s *Service) create(ctx context.Context, c *bellhop.Caller, d *bellhop.Device, data []byte, p *bellhop.Payment, idem *bellhop.Idempotency) (string, error) {
	cr := bellhop.Creator{IntegrationID: c.Integration.ID, LastName: c.Integration.Name}
	if idem != nil {
		idem.Scope = c.Subscription.ID
	}
	cmd, err := s.newCommand(ctx, d, cr, data, p, actor(c), idem)
	if err != nil {
		return "", err
	}
	return cmd.ID, nil
}

func (s *Service) newCommand(ctx context.Context, d *bellhop.Device, cr bellhop.Creator, data []byte, p *bellhop.Payment, actor string, idem *bellhop.Idempotency) (*bellhop.Command, error) {
	now := s.Now()
	cmd := &bellhop.Command{ID: bellhop.NewID(), EnterpriseID: d.EnterpriseID, DeviceID: d.ID, DeviceType: d.Type,
		State: bellhop.Pending, CreatedUtc: now, UpdatedUtc: now, Creator: cr, Data: data, Payment: p}
	if p != nil {
		p.CommandID, p.CreatedUtc = cmd.ID, now
	}
	unlock := s.lock([]string{cmd.ID})
	defer unlock()
	created, err := s.store.CreateCommand(ctx, cmd, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now, Actor: actor}, idem)
	if err != nil {
		if errors.Is(err, bellhop.ErrPaymentExists) {
			return nil, bellhop.ErrPaymentExists
		}
		if bellhop.ErrorCode(err) == bellhop.ECONFLICT {
			return nil, bellhop.Errorf(bellhop.ECONFLICT, "Idempotency-Key was used with another request.")
		}
		return nil, fmt.Errorf("create command: %w", err)
	}
	if created {
		s.publish([]bellhop.Command{*cmd}, nil)
	}
	return cmd, nil
}

// FiscalQuery is fiscalMachineCommands/getAll: exactly one of CommandIDs or
// DeviceIDs (with States, and optionally an UpdatedUtc interval).
type FiscalQuery struct {
	CommandIDs    []string
	DeviceIDs     []string
	States        []bellhop.State
	Updated       *Interval // nil: no filter on the update time
	EnterpriseIDs []string
	Page          *Page
}

// Interval is a time filter as a request gives it; either end may be open
// (nil). See Resolve.
type Interval struct {
	Start, End *time.Time
}

// Resolve returns the half-open interval [from, to) that i means at time now.
// An open end means up to now, now included (nothing is updated later); an
// open start is the earliest the three-month limit allows before the end.
// Start equal to End asks for that instant (to the millisecond, as times are
// stored). The interval may not end before it starts nor last more than three
// calendar months: `Invalid <field>` with Details saying which.
func (i *Interval) Resolve(now time.Time, field string) (from, to time.Time, err error) {
	end := now
	if i.End != nil {
		end = *i.End
	}
	from = end.AddDate(0, -3, 0)
	if i.Start != nil {
		from = *i.Start
	}
	switch {
	case end.Before(from):
		return from, end, bellhop.InvalidBecause(field, "EndUtc %s is before StartUtc %s.", bellhop.FormatTime(end), bellhop.FormatTime(from))
	case end.After(MaxInterval(from)) && i.End == nil:
		return from, end, bellhop.InvalidBecause(field, "StartUtc %s is more than 3 months before now, where the open EndUtc ends the interval.", bellhop.FormatTime(from))
	case end.After(MaxInterval(from)):
		return from, end, bellhop.InvalidBecause(field, "the interval is longer than 3 months.")
	case i.End == nil || end.Equal(from):
		return from, end.Add(time.Millisecond), nil
	}
	return from, end, nil
}

// MaxInterval is the longest time filter: three calendar months.
func MaxInterval(start time.Time) time.Time { return start.AddDate(0, 3, 0) }

// FiscalCommands returns the caller's visible FiscalMachine commands that
// match q, newest first, with the cursor of the page.
func (s *Service) FiscalCommands(ctx context.Context, c *bellhop.Caller, q FiscalQuery) ([]CommandView, string, error) {
	if q.Page == nil {
		return nil, "", bellhop.Invalid("Limitation")
	}
	n, err := q.Page.count()
	if err != nil {
		return nil, "", err
	}
	f := bellhop.CommandFilter{DeviceType: bellhop.FiscalMachine, Descending: true, Limit: n}
	switch {
	case len(q.CommandIDs) > 0 && len(q.DeviceIDs) > 0, len(q.CommandIDs) == 0 && len(q.DeviceIDs) == 0:
		return nil, "", bellhop.InvalidBecause("parameters", "give either CommandIds, or DeviceIds with States.")
	case len(q.CommandIDs) > MaxPage:
		return nil, "", bellhop.InvalidBecause("CommandIds", "at most %d items.", MaxPage)
	case len(q.DeviceIDs) > 100:
		return nil, "", bellhop.InvalidBecause("DeviceIds", "at most 100 items.")
	case len(q.DeviceIDs) > 0 && len(q.States) == 0:
		return nil, "", bellhop.Invalid("States")
	case len(q.EnterpriseIDs) > MaxPage:
		return nil, "", bellhop.InvalidBecause("EnterpriseIds", "at most %d items.", MaxPage)
	}
	if f.IDs, err = parseIDs(q.CommandIDs, "CommandIds"); err != nil {
		return nil, "", err
	}
	if f.DeviceIDs, err = parseIDs(q.DeviceIDs, "DeviceIds"); err != nil {
		return nil, "", err
	}
	for _, st := range q.States {
		if !st.Valid() {
			return nil, "", bellhop.Invalid("States")
		}
	}
	f.States = q.States
	if q.Updated != nil {
		if f.UpdatedFrom, f.UpdatedTo, err = q.Updated.Resolve(s.Now(), "UpdatedUtc"); err != nil {
			return nil, "", err
		}
	}
	f.EnterpriseIDs = c.Subscription.EnterpriseIDs
	if len(q.EnterpriseIDs) > 0 {
		ents, err := parseIDs(q.EnterpriseIDs, "EnterpriseIds")
		if err != nil {
			return nil, "", err
		}
		for _, e := range ents {
			if !c.Subscription.Covers(e) {
				return nil, "", bellhop.Invalid("EnterpriseIds")
			}
		}
		f.EnterpriseIDs = ents
	}
	if f.BeforeSeq, err = s.cursorSeq(ctx, q.Page); err != nil {
		return nil, "", err
	}
	devs, err := s.connected(ctx, c)
	if err != nil {
		return nil, "", err
	}
	// Only what the caller may see: its connected devices, or what it created.
	if f.DeviceIDs == nil {
		f.DeviceIDs = make([]string, 0, len(devs))
		for id, d := range devs {
			if d.Type == bellhop.FiscalMachine {
				f.DeviceIDs = append(f.DeviceIDs, id)
			}
		}
		own := f
		own.DeviceIDs, own.CreatorIntegrationID = nil, c.Integration.ID
		return s.mergeFiscal(ctx, c, devs, f, own)
	}
	visibleDevs := f.DeviceIDs[:0]
	for _, id := range f.DeviceIDs {
		if _, ok := devs[id]; ok {
			visibleDevs = append(visibleDevs, id)
		}
	}
	f.DeviceIDs = visibleDevs
	cmds, err := s.store.ListCommands(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("fiscal commands: %w", err)
	}
	vs, err := s.withDevices(ctx, cmds, devs)
	return vs, lastID(cmds), err
}

// mergeFiscal runs the by-id query twice (connected devices, own commands)
// and merges the pages newest first.
func (s *Service) mergeFiscal(ctx context.Context, c *bellhop.Caller, devs map[string]bellhop.Device, a, b bellhop.CommandFilter) ([]CommandView, string, error) {
	ca, err := s.store.ListCommands(ctx, a)
	if err != nil {
		return nil, "", fmt.Errorf("fiscal commands: %w", err)
	}
	cb, err := s.store.ListCommands(ctx, b)
	if err != nil {
		return nil, "", fmt.Errorf("fiscal commands: %w", err)
	}
	seen := map[string]bool{}
	var all []bellhop.Command
	for _, cmd := range append(ca, cb...) {
		if !seen[cmd.ID] && visible(c, &cmd, devs) {
			seen[cmd.ID] = true
			all = append(all, cmd)
		}
	}
	sortBySeqDesc(all)
	if len(all) > a.Limit {
		all = all[:a.Limit]
	}
	vs, err := s.withDevices(ctx, all, devs)
	return vs, lastID(all), err
}

// parseIDs returns ids in canonical form (nil for none), or an EINVALID
// error naming field when one is not an id.
func parseIDs(ids []string, field string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		var ok bool
		if out[i], ok = bellhop.ParseID(id); !ok {
			return nil, bellhop.Invalid(field)
		}
	}
	return out, nil
}

// withDevices pairs commands with their devices, reading the ones that are
// not among the caller's connected devices (commands the caller created).
func (s *Service) withDevices(ctx context.Context, cmds []bellhop.Command, devs map[string]bellhop.Device) ([]CommandView, error) {
	out := make([]CommandView, len(cmds))
	read := map[string]bellhop.Device{} // devs may be shared: never written
	for i, cmd := range cmds {
		d, ok := devs[cmd.DeviceID]
		if !ok {
			d, ok = read[cmd.DeviceID]
		}
		if !ok {
			got, err := s.store.GetDevice(ctx, cmd.DeviceID)
			switch {
			case errors.Is(err, bellhop.ErrNotFound):
				got = &bellhop.Device{ID: cmd.DeviceID, Type: cmd.DeviceType, EnterpriseID: cmd.EnterpriseID, Name: "(deleted device)"}
			case err != nil:
				return nil, fmt.Errorf("device of command: %w", err)
			}
			d = *got
			read[d.ID] = d
		}
		out[i] = CommandView{Command: cmd, Device: d}
	}
	return out, nil
}

func views(cmds []bellhop.Command, devs map[string]bellhop.Device) []CommandView {
	out := make([]CommandView, len(cmds))
	for i, cmd := range cmds {
		out[i] = CommandView{Command: cmd, Device: devs[cmd.DeviceID]}
	}
	return out
}

func lastID(cmds []bellhop.Command) string {
	if len(cmds) == 0 {
		return ""
	}
	return cmds[len(cmds)-1].ID
}

func sortBySeqDesc(cmds []bellhop.Command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Seq > cmds[j].Seq })
}
