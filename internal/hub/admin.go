package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bellhop/bellhop"
)

// The operations of the admin API and the console: what the Mews
// Marketplace screens do. Callers are authenticated by an admin token.

// CreateEnterprise adds a property.
func (s *Service) CreateEnterprise(ctx context.Context, name string) (*bellhop.Enterprise, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 255 {
		return nil, bellhop.Invalid("Name")
	}
	e := &bellhop.Enterprise{ID: bellhop.NewID(), Name: name, CreatedUtc: s.Now()}
	if err := s.store.CreateEnterprise(ctx, e); err != nil {
		return nil, fmt.Errorf("create enterprise: %w", err)
	}
	return e, nil
}

// SetEnterpriseTimeZone sets the IANA zone (Europe/Prague) the console shows
// an enterprise's times in; "" shows them in each browser's zone.
func (s *Service) SetEnterpriseTimeZone(ctx context.Context, id, zone string) (*bellhop.Enterprise, error) {
	e, err := get(ctx, id, "enterprise", s.store.GetEnterprise)
	if err != nil {
		return nil, err
	}
	zone = strings.TrimSpace(zone)
	if err := bellhop.ValidateTimeZone(zone); err != nil {
		return nil, err
	}
	if err := s.store.SetEnterpriseTimeZone(ctx, e.ID, zone); err != nil {
		return nil, fmt.Errorf("set time zone: %w", err)
	}
	e.TimeZone = zone
	return e, nil
}

// CreateIntegration adds an integration and returns it with its ClientToken,
// which is shown this once and stored only as a hash.
func (s *Service) CreateIntegration(ctx context.Context, name string) (*bellhop.Integration, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 255 {
		return nil, "", bellhop.Invalid("Name")
	}
	i := &bellhop.Integration{ID: bellhop.NewID(), Name: name, CreatedUtc: s.Now()}
	token := bellhop.NewToken()
	if err := s.store.CreateIntegration(ctx, i, bellhop.HashToken(token)); err != nil {
		return nil, "", fmt.Errorf("create integration: %w", err)
	}
	return i, token, nil
}

// CreateSubscription gives an integration access to enterprises and returns
// the subscription with its AccessToken (shown once, stored as a hash).
func (s *Service) CreateSubscription(ctx context.Context, integrationID string, enterpriseIDs []string) (*bellhop.Subscription, string, error) {
	return s.CreateSubscriptionWith(ctx, NewSubscription{IntegrationID: integrationID, EnterpriseIDs: enterpriseIDs})
}

// NewSubscription is a subscription to create.
type NewSubscription struct {
	IntegrationID string
	EnterpriseIDs []string
	// GenericDevices lets it see generic devices (see
	// bellhop.Subscription.GenericDevices).
	GenericDevices bool
}

// CreateSubscriptionWith creates a subscription as CreateSubscription does,
// with the options of n.
func (s *Service) CreateSubscriptionWith(ctx context.Context, n NewSubscription) (*bellhop.Subscription, string, error) {
	integrationID, ok := bellhop.ParseID(n.IntegrationID)
	if !ok {
		return nil, "", bellhop.Invalid("IntegrationId")
	}
	ents, err := parseIDs(n.EnterpriseIDs, "EnterpriseIds")
	if err != nil {
		return nil, "", err
	}
	if len(ents) == 0 || len(ents) > MaxPage {
		return nil, "", bellhop.Invalid("EnterpriseIds")
	}
	sub := &bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: integrationID, EnterpriseIDs: dedupe(ents), CreatedUtc: s.Now(),
		GenericDevices: n.GenericDevices}
	token := bellhop.NewToken()
	if err := s.store.CreateSubscription(ctx, sub, bellhop.HashToken(token)); err != nil {
		if errors.Is(err, bellhop.ErrNotFound) {
			return nil, "", bellhop.Errorf(bellhop.EINVALID, "Invalid IntegrationId or EnterpriseIds: not found")
		}
		return nil, "", fmt.Errorf("create subscription: %w", err)
	}
	return sub, token, nil
}

// SetGenericDevices sets whether a subscription sees generic devices.
// Turning it off while generic devices are connected to it is refused: they
// would vanish from its view unannounced. It applies to open sockets at once.
func (s *Service) SetGenericDevices(ctx context.Context, subscriptionID string, on bool) (*bellhop.Subscription, error) {
	sub, err := get(ctx, subscriptionID, "subscription", s.store.GetSubscription)
	if err != nil {
		return nil, err
	}
	if !on {
		devs, err := s.store.ConnectedDevices(ctx, sub.ID)
		if err != nil {
			return nil, fmt.Errorf("set generic devices: %w", err)
		}
		for _, d := range devs {
			if d.Type.Generic() {
				return nil, bellhop.Errorf(bellhop.EINVALID, "Invalid GenericDevices: disconnect %s (%s) from the subscription first", d.Name, d.Type)
			}
		}
	}
	if err := s.store.SetSubscriptionGenericDevices(ctx, sub.ID, on); err != nil {
		return nil, fmt.Errorf("set generic devices: %w", err)
	}
	sub.GenericDevices = on
	s.pub.DevicesChanged(sub.ID)
	return sub, nil
}

// RevokeSubscription stops a subscription's AccessToken at once and closes its
// open sockets.
func (s *Service) RevokeSubscription(ctx context.Context, id string) error {
	sub, err := get(ctx, id, "subscription", s.store.GetSubscription)
	if err != nil {
		return err
	}
	if err := s.store.RevokeSubscription(ctx, sub.ID); err != nil {
		return fmt.Errorf("revoke subscription: %w", err)
	}
	s.pub.Revoked(sub.ID)
	return nil
}

// CreateDevice adds a device to an enterprise.
func (s *Service) CreateDevice(ctx context.Context, d *bellhop.Device) error {
	ent, ok := bellhop.ParseID(d.EnterpriseID)
	if !ok {
		return bellhop.Invalid("EnterpriseId")
	}
	d.EnterpriseID = ent
	if err := d.Validate(); err != nil {
		return err
	}
	d.ID, d.CreatedUtc = bellhop.NewID(), s.Now()
	if err := s.store.CreateDevice(ctx, d); err != nil {
		if errors.Is(err, bellhop.ErrNotFound) {
			return bellhop.Invalid("EnterpriseId")
		}
		return fmt.Errorf("create device: %w", err)
	}
	return nil
}

// DeleteDevice removes a device and disconnects it everywhere; its commands
// stay for their history.
func (s *Service) DeleteDevice(ctx context.Context, id string) error {
	d, err := get(ctx, id, "device", s.store.GetDevice)
	if err != nil {
		return err
	}
	subs, err := s.store.DeviceSubscriptions(ctx, d.ID)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	if err := s.store.DeleteDevice(ctx, d.ID); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	for _, sub := range subs {
		s.pub.DevicesChanged(sub)
	}
	return nil
}

// Connect connects a device to a subscription; open sockets of the
// subscription get its events at once.
func (s *Service) Connect(ctx context.Context, subscriptionID, deviceID string) error {
	return s.connection(ctx, subscriptionID, deviceID, true, s.store.Connect)
}

// Disconnect disconnects a device from a subscription, effective at once.
func (s *Service) Disconnect(ctx context.Context, subscriptionID, deviceID string) error {
	return s.connection(ctx, subscriptionID, deviceID, false, s.store.Disconnect)
}

// connection connects (connect) or disconnects a device. A generic device
// connects only to a subscription that sees them.
func (s *Service) connection(ctx context.Context, subscriptionID, deviceID string, connect bool, op func(context.Context, string, string) error) error {
	sub, err := get(ctx, subscriptionID, "subscription", s.store.GetSubscription)
	if err != nil {
		return err
	}
	d, err := get(ctx, deviceID, "device", s.store.GetDevice)
	if err != nil {
		return err
	}
	if d.Type.Generic() && !sub.GenericDevices && connect {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid DeviceId: %s is a %s, a generic device, and the subscription does not see generic devices (set its GenericDevices first)",
			d.Name, d.Type)
	}
	if err := op(ctx, sub.ID, d.ID); err != nil {
		return err
	}
	s.pub.DevicesChanged(sub.ID)
	return nil
}

// CreateReservation adds reference data for key cutter commands.
func (s *Service) CreateReservation(ctx context.Context, r *bellhop.Reservation) error {
	if err := s.checkEnterprise(ctx, &r.EnterpriseID); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	r.ID = bellhop.NewID()
	return s.store.CreateReservation(ctx, r)
}

// CreateCustomer adds reference data for payment terminal commands.
func (s *Service) CreateCustomer(ctx context.Context, c *bellhop.Customer) error {
	if err := s.checkEnterprise(ctx, &c.EnterpriseID); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.ID = bellhop.NewID()
	return s.store.CreateCustomer(ctx, c)
}

func (s *Service) checkEnterprise(ctx context.Context, id *string) error {
	e, err := get(ctx, *id, "enterprise", s.store.GetEnterprise)
	if bellhop.ErrorCode(err) == bellhop.ENOTFOUND {
		return bellhop.Invalid("EnterpriseId")
	}
	if err != nil {
		return err
	}
	*id = e.ID
	return nil
}

// CreateCommand queues a command of any type with explicit Data: how a PMS
// action ("bill closed, fiscalize") enters the queue. Data must meet its
// device type's rules (bellhop.ValidateData), the same that the Connector's
// add-operations apply, and fit the Data schema of its type
// (bellhop.CompleteData), which fills in what the device's settings provide;
// who is the creator's name in the history. A PaymentTerminal command gets
// its payment record: under the Data's PaymentId or PreauthorizationId when
// one is given, else under a new PaymentId.
func (s *Service) CreateCommand(ctx context.Context, deviceID string, data json.RawMessage, who string, idem *bellhop.Idempotency) (*bellhop.Command, error) {
	d, err := get(ctx, deviceID, "device", s.store.GetDevice)
	if bellhop.ErrorCode(err) == bellhop.ENOTFOUND {
		return nil, bellhop.Invalid("DeviceId")
	} else if err != nil {
		return nil, err
	}
	typed, err := bellhop.CompleteData(d, data)
	if err != nil {
		return nil, err
	}
	var p *bellhop.Payment
	if pt, ok := typed.(*bellhop.PaymentTerminalData); ok {
		p = paymentOf(d, pt)
	}
	if idem != nil {
		idem.Scope = "admin"
	}
	return s.newCommand(ctx, d, bellhop.Creator{LastName: who}, bellhop.MarshalData(typed), p, "admin:"+who, idem)
}

// paymentOf returns the record of the payment that d stands for, giving d a
// new PaymentId when it names none.
func paymentOf(dev *bellhop.Device, d *bellhop.PaymentTerminalData) *bellhop.Payment {
	p := &bellhop.Payment{Kind: d.Kind(), EnterpriseID: dev.EnterpriseID, AccountID: d.AccountId, Amount: d.Amount}
	switch p.Kind {
	case bellhop.Preauthorization:
		p.ID = strings.ToLower(*d.PreauthorizationId)
	case bellhop.PaymentKindPayment:
		p.ID = strings.ToLower(*d.PaymentId)
	default:
		p.ID, p.Kind = bellhop.NewID(), bellhop.PaymentKindPayment
		d.PaymentId = &p.ID
	}
	if d.BillId != nil {
		p.BillID = strings.ToLower(*d.BillId)
	}
	return p
}

// CancelCommand cancels a command that is not final; connected agents get
// the event. Cancelling a cancelled command is a no-op.
func (s *Service) CancelCommand(ctx context.Context, id, who, notes string) (*bellhop.Command, error) {
	cmd, err := get(ctx, id, "command", s.store.GetCommand)
	if err != nil {
		return nil, err
	}
	if notes == "" {
		notes = "Cancelled by " + who
	}
	if cmd.State == bellhop.Cancelled {
		return cmd, nil
	}
	changed, err := s.update(ctx, []string{cmd.ID}, s.applyFunc(bellhop.Update{State: bellhop.Cancelled, Notes: notes, Actor: "admin:" + who}))
	if err != nil {
		return nil, err
	}
	if len(changed) == 1 {
		changed[0].Data = cmd.Data // an update returns no payload
		return &changed[0], nil
	}
	return cmd, nil
}

// Resend queues a copy of a command (same device, same Data) as a new one.
// A payment's copy is a new attempt with a record of its own: same kind,
// new id.
func (s *Service) Resend(ctx context.Context, id, who string) (*bellhop.Command, error) {
	cmd, err := get(ctx, id, "command", s.store.GetCommand)
	if err != nil {
		return nil, err
	}
	data := cmd.Data
	if cmd.DeviceType == bellhop.PaymentTerminal {
		var pt bellhop.PaymentTerminalData
		if err := json.Unmarshal(data, &pt); err == nil {
			newID := bellhop.NewID()
			if pt.PreauthorizationId != nil {
				pt.PreauthorizationId = &newID
			} else {
				pt.PaymentId = &newID
			}
			data = bellhop.MarshalData(pt)
		}
	}
	return s.CreateCommand(ctx, cmd.DeviceID, data, who, nil)
}

// Command returns a command with its device and history.
func (s *Service) Command(ctx context.Context, id string) (*CommandView, []bellhop.HistoryEntry, error) {
	cmd, err := get(ctx, id, "command", s.store.GetCommand)
	if err != nil {
		return nil, nil, err
	}
	vs, err := s.withDevices(ctx, []bellhop.Command{*cmd}, map[string]bellhop.Device{})
	if err != nil {
		return nil, nil, err
	}
	h, err := s.store.History(ctx, cmd.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("history: %w", err)
	}
	if cmd.DeviceType == bellhop.PaymentTerminal {
		ps, err := s.store.ListPayments(ctx, bellhop.PaymentFilter{CommandID: cmd.ID, Limit: 1})
		if err != nil {
			return nil, nil, fmt.Errorf("payment of command: %w", err)
		}
		if len(ps) == 1 {
			vs[0].Payment = &ps[0]
		}
	}
	return &vs[0], h, nil
}

// Payment returns a payment record by id.
func (s *Service) Payment(ctx context.Context, id string) (*bellhop.Payment, error) {
	return get(ctx, id, "payment", s.store.GetPayment)
}

// Payments lists payment records newest first: of an enterprise and of a
// command when those are given, at most limit (1 to MaxPage; 0 means 100).
func (s *Service) Payments(ctx context.Context, enterpriseID, commandID string, limit int) ([]bellhop.Payment, error) {
	f := bellhop.PaymentFilter{Limit: limit}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > MaxPage {
		return nil, bellhop.InvalidBecause("limit", "from 1 to %d.", MaxPage)
	}
	for _, p := range []struct {
		v, name string
		dst     *string
	}{{enterpriseID, "enterpriseId", &f.EnterpriseID}, {commandID, "commandId", &f.CommandID}} {
		if p.v == "" {
			continue
		}
		id, ok := bellhop.ParseID(p.v)
		if !ok {
			return nil, bellhop.Invalid(p.name)
		}
		*p.dst = id
	}
	return s.store.ListPayments(ctx, f)
}

// ListCommands returns commands newest first, one page at a time. A search
// (f.Search) also matches the commands of devices whose name or identifier
// contains it, without regard to case.
func (s *Service) ListCommands(ctx context.Context, f bellhop.CommandFilter, p *Page) ([]CommandView, string, error) {
	n, err := p.count()
	if err != nil {
		return nil, "", err
	}
	if f.Search = strings.TrimSpace(f.Search); f.Search != "" && f.SearchDeviceIDs == nil {
		devs, err := s.store.ListDevices(ctx, "")
		if err != nil {
			return nil, "", fmt.Errorf("list commands: %w", err)
		}
		q := strings.ToLower(f.Search)
		f.SearchDeviceIDs = []string{}
		for _, d := range devs {
			if strings.Contains(strings.ToLower(d.Name), q) || strings.Contains(strings.ToLower(d.Identifier), q) {
				f.SearchDeviceIDs = append(f.SearchDeviceIDs, d.ID)
			}
		}
	}
	if f.BeforeSeq, err = s.cursorSeq(ctx, p); err != nil {
		return nil, "", err
	}
	f.Descending, f.Limit, f.AfterSeq = true, n, 0
	cmds, err := s.store.ListCommands(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list commands: %w", err)
	}
	vs, err := s.withDevices(ctx, cmds, map[string]bellhop.Device{})
	cursor := ""
	if len(cmds) == n {
		cursor = lastID(cmds)
	}
	return vs, cursor, err
}

// get reads one entity by id, answering ENOTFOUND "<what> not found" for
// malformed and unknown ids alike.
func get[T any](ctx context.Context, id, what string, read func(context.Context, string) (*T, error)) (*T, error) {
	notFound := bellhop.Errorf(bellhop.ENOTFOUND, "%s%s not found.", strings.ToUpper(what[:1]), what[1:])
	id, ok := bellhop.ParseID(id)
	if !ok {
		return nil, notFound
	}
	v, err := read(ctx, id)
	if errors.Is(err, bellhop.ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return v, nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Enterprise returns one enterprise, ENOTFOUND when there is none.
func (s *Service) Enterprise(ctx context.Context, id string) (*bellhop.Enterprise, error) {
	return get(ctx, id, "enterprise", s.store.GetEnterprise)
}

// Enterprises lists every enterprise.
func (s *Service) Enterprises(ctx context.Context) ([]bellhop.Enterprise, error) {
	return s.store.ListEnterprises(ctx)
}

// Integrations lists every integration.
func (s *Service) Integrations(ctx context.Context) ([]bellhop.Integration, error) {
	return s.store.ListIntegrations(ctx)
}

// Subscriptions lists the subscriptions of an integration (all when "").
func (s *Service) Subscriptions(ctx context.Context, integrationID string) ([]bellhop.Subscription, error) {
	id, err := optionalID(integrationID, "integrationId")
	if err != nil {
		return nil, err
	}
	return s.store.ListSubscriptions(ctx, id)
}

// ListDevices lists the devices of an enterprise (all when "").
func (s *Service) ListDevices(ctx context.Context, enterpriseID string) ([]bellhop.Device, error) {
	id, err := optionalID(enterpriseID, "EnterpriseId")
	if err != nil {
		return nil, err
	}
	return s.store.ListDevices(ctx, id)
}

// optionalID is id in canonical form, or "" for "": an EINVALID error names
// field when id is neither.
func optionalID(id, field string) (string, error) {
	if id == "" {
		return "", nil
	}
	id, ok := bellhop.ParseID(id)
	if !ok {
		return "", bellhop.Invalid(field)
	}
	return id, nil
}

// ConnectedDevices lists the devices connected to a subscription; an
// unknown or malformed id is ENOTFOUND "Subscription not found.".
func (s *Service) ConnectedDevices(ctx context.Context, subscriptionID string) ([]bellhop.Device, error) {
	sub, err := get(ctx, subscriptionID, "subscription", s.store.GetSubscription)
	if err != nil {
		return nil, err
	}
	return s.store.ConnectedDevices(ctx, sub.ID)
}

// Device returns a device; an unknown or malformed id is ENOTFOUND "Device
// not found.".
func (s *Service) Device(ctx context.Context, id string) (*bellhop.Device, error) {
	return get(ctx, id, "device", s.store.GetDevice)
}

// Reservation returns a reservation, or ENOTFOUND "Reservation not found.".
func (s *Service) Reservation(ctx context.Context, id string) (*bellhop.Reservation, error) {
	return get(ctx, id, "reservation", s.store.GetReservation)
}

// Customer returns a customer, or ENOTFOUND "Customer not found.".
func (s *Service) Customer(ctx context.Context, id string) (*bellhop.Customer, error) {
	return get(ctx, id, "customer", s.store.GetCustomer)
}

// OldestWaiting returns the Pending or Received command created first, and
// false when none waits.
func (s *Service) OldestWaiting(ctx context.Context) (*bellhop.Command, bool, error) {
	cmds, err := s.store.ListCommands(ctx, bellhop.CommandFilter{States: []bellhop.State{bellhop.Pending, bellhop.Received}, Limit: 1})
	if err != nil || len(cmds) == 0 {
		return nil, false, err
	}
	return &cmds[0], true, nil
}

// ConnectedDeviceIDs lists the ids of the devices connected to a
// subscription that it sees; realtime routes events by them.
func (s *Service) ConnectedDeviceIDs(ctx context.Context, subscriptionID string) ([]string, error) {
	sub, err := s.store.GetSubscription(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	devs, err := s.store.ConnectedDevices(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(devs))
	for _, d := range seen(sub, devs) {
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// seen keeps the devices a subscription sees: generic ones only when it
// opted in. Connect refuses to connect them otherwise; this holds the line
// whatever the store holds.
func seen(sub *bellhop.Subscription, devs []bellhop.Device) []bellhop.Device {
	if sub.GenericDevices {
		return devs
	}
	out := devs[:0:0]
	for _, d := range devs {
		if !d.Type.Generic() {
			out = append(out, d)
		}
	}
	return out
}

// DeviceSubscriptions lists the subscriptions a device is connected to.
func (s *Service) DeviceSubscriptions(ctx context.Context, deviceID string) ([]string, error) {
	id, ok := bellhop.ParseID(deviceID)
	if !ok {
		return nil, bellhop.Invalid("DeviceId")
	}
	return s.store.DeviceSubscriptions(ctx, id)
}

// Stats returns per device what waits and when it last processed something.
func (s *Service) Stats(ctx context.Context, enterpriseID string) (map[string]bellhop.DeviceStats, error) {
	return s.store.Stats(ctx, enterpriseID)
}
