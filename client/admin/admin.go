// Package admin is a Go client of bellhop's admin API (/api/admin/v1/): what
// the Mews Marketplace screens do (enterprises, integrations,
// subscriptions, devices and their connections, reference data) and the
// command queue itself. The bellhop CLI, the benchmark and the tests drive
// hubs through it.
//
// Every call is authenticated by an admin token. A non-2xx answer is
// returned as a [*client.Error] (status, the hub's message, its request id);
// calls are not retried, since most of them create something.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop/client"
)

// Config configures a [Client]. Address and Token are required.
type Config struct {
	// Address is the hub's base URL (its platform address), e.g.
	// "http://127.0.0.1:8080".
	Address string
	// Token is an admin token (bellhop serve --admin-token, or --dev).
	Token string
	// HTTPClient sends the requests; default [http.DefaultClient]. Bound
	// calls with the context's deadline.
	HTTPClient *http.Client
}

// Client calls the admin API of one hub. It is safe for concurrent use.
type Client struct {
	cfg Config
}

// New returns a client for cfg, or an error naming what cfg lacks.
func New(cfg Config) (*Client, error) {
	cfg.Address = strings.TrimRight(cfg.Address, "/")
	u, err := url.Parse(cfg.Address)
	switch {
	case cfg.Address == "":
		return nil, errors.New("admin: Address is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("admin: Address %q: want an http or https URL", cfg.Address)
	case cfg.Token == "":
		return nil, errors.New("admin: Token is required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Client{cfg: cfg}, nil
}

// Address returns the hub's base URL.
func (c *Client) Address() string { return c.cfg.Address }

// maxAnswer bounds the answer read; a page of 1,000 commands with their
// Data fits many times.
const maxAnswer = 64 << 20

// do sends one request with in as its JSON body (none when nil) and
// decodes a 2xx answer into out (when not nil). headers are name, value
// pairs.
func (c *Client) do(ctx context.Context, method, path string, in, out any, headers ...string) error {
	op := method + " " + strings.SplitN(path, "?", 2)[0]
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin: %s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.Address+"/api/admin/v1/"+path, body)
	if err != nil {
		return fmt.Errorf("admin: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return client.ParseError(op, resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("admin: %s: reading the answer: %w", op, err)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("admin: %s: decoding the answer (Request-Id %q): %w", op, resp.Header.Get("Request-Id"), err)
	}
	return nil
}

// call sends one request and returns its decoded answer.
func call[T any](ctx context.Context, c *Client, method, path string, in any, headers ...string) (*T, error) {
	var out T
	if err := c.do(ctx, method, path, in, &out, headers...); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateEnterprise adds a property.
func (c *Client) CreateEnterprise(ctx context.Context, name string) (*Enterprise, error) {
	return call[Enterprise](ctx, c, http.MethodPost, "enterprises", Enterprise{Name: name})
}

// Enterprises lists every enterprise.
func (c *Client) Enterprises(ctx context.Context) ([]Enterprise, error) {
	out, err := call[struct{ Enterprises []Enterprise }](ctx, c, http.MethodGet, "enterprises", nil)
	if err != nil {
		return nil, err
	}
	return out.Enterprises, nil
}

// SetEnterpriseTimeZone sets the IANA zone (Europe/Prague) the console shows
// an enterprise's times in; "" shows them in each browser's zone.
func (c *Client) SetEnterpriseTimeZone(ctx context.Context, id, zone string) (*Enterprise, error) {
	return call[Enterprise](ctx, c, http.MethodPatch, "enterprises/"+url.PathEscape(id), struct{ TimeZone string }{zone})
}

// CreateIntegration adds an integration; the answer carries its ClientToken,
// shown this once.
func (c *Client) CreateIntegration(ctx context.Context, name string) (*Integration, error) {
	return call[Integration](ctx, c, http.MethodPost, "integrations", Integration{Name: name})
}

// Integrations lists every integration.
func (c *Client) Integrations(ctx context.Context) ([]Integration, error) {
	out, err := call[struct{ Integrations []Integration }](ctx, c, http.MethodGet, "integrations", nil)
	if err != nil {
		return nil, err
	}
	return out.Integrations, nil
}

// CreateSubscription gives an integration access to enterprises; the answer
// carries the AccessToken, shown this once.
func (c *Client) CreateSubscription(ctx context.Context, integrationID string, enterpriseIDs ...string) (*Subscription, error) {
	return call[Subscription](ctx, c, http.MethodPost, "subscriptions", Subscription{IntegrationId: integrationID, EnterpriseIds: enterpriseIDs})
}

// CreateSubscriptionWith creates a subscription with the fields of s that a
// create takes (IntegrationId, EnterpriseIds, GenericDevices).
func (c *Client) CreateSubscriptionWith(ctx context.Context, s Subscription) (*Subscription, error) {
	return call[Subscription](ctx, c, http.MethodPost, "subscriptions", s)
}

// SetGenericDevices lets a subscription see generic devices, or stops it;
// stopping is refused while generic devices are connected to it.
func (c *Client) SetGenericDevices(ctx context.Context, subscriptionID string, on bool) (*Subscription, error) {
	return call[Subscription](ctx, c, http.MethodPatch, "subscriptions/"+url.PathEscape(subscriptionID), struct{ GenericDevices bool }{on})
}

// Subscriptions lists the subscriptions of an integration, or all when
// integrationID is "", revoked ones included.
func (c *Client) Subscriptions(ctx context.Context, integrationID string) ([]Subscription, error) {
	out, err := call[struct{ Subscriptions []Subscription }](ctx, c, http.MethodGet, "subscriptions?integrationId="+url.QueryEscape(integrationID), nil)
	if err != nil {
		return nil, err
	}
	return out.Subscriptions, nil
}

// RevokeSubscription stops a subscription's AccessToken at once; its open
// sockets are closed (1008).
func (c *Client) RevokeSubscription(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "subscriptions/"+url.PathEscape(id), nil, nil)
}

// ConnectedDevices lists the devices connected to a subscription.
func (c *Client) ConnectedDevices(ctx context.Context, subscriptionID string) ([]Device, error) {
	out, err := call[struct{ Devices []Device }](ctx, c, http.MethodGet, "subscriptions/"+url.PathEscape(subscriptionID)+"/devices", nil)
	if err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// Connect connects a device to a subscription; its open sockets get the
// device's events at once. Connecting twice is not an error.
func (c *Client) Connect(ctx context.Context, subscriptionID, deviceID string) error {
	return c.do(ctx, http.MethodPut, "subscriptions/"+url.PathEscape(subscriptionID)+"/devices/"+url.PathEscape(deviceID), nil, nil)
}

// Disconnect disconnects a device from a subscription, at once.
func (c *Client) Disconnect(ctx context.Context, subscriptionID, deviceID string) error {
	return c.do(ctx, http.MethodDelete, "subscriptions/"+url.PathEscape(subscriptionID)+"/devices/"+url.PathEscape(deviceID), nil, nil)
}

// CreateDevice adds d (EnterpriseId, Type, Name, and the Configuration its
// type needs) and returns it as stored.
func (c *Client) CreateDevice(ctx context.Context, d Device) (*Device, error) {
	return call[Device](ctx, c, http.MethodPost, "devices", d)
}

// Devices lists the devices of an enterprise, or all when enterpriseID is "".
func (c *Client) Devices(ctx context.Context, enterpriseID string) ([]Device, error) {
	out, err := call[struct{ Devices []Device }](ctx, c, http.MethodGet, "devices?enterpriseId="+url.QueryEscape(enterpriseID), nil)
	if err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// DeleteDevice removes a device and its connections; its commands stay.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "devices/"+url.PathEscape(id), nil, nil)
}

// CreateReservation adds a reservation (for key cutter commands).
func (c *Client) CreateReservation(ctx context.Context, r Reservation) (*Reservation, error) {
	return call[Reservation](ctx, c, http.MethodPost, "reservations", r)
}

// CreateCustomer adds a customer or company account (for payment terminal
// commands).
func (c *Client) CreateCustomer(ctx context.Context, cu Customer) (*Customer, error) {
	return call[Customer](ctx, c, http.MethodPost, "customers", cu)
}

// NewCommand is a command to queue with explicit Data.
type NewCommand struct {
	DeviceId string
	// Data is the command's Data, a JSON object.
	Data json.RawMessage
	// IdempotencyKey, when set, is sent as the Idempotency-Key header: the
	// hub answers a repeated key and body with the command the first call
	// created, so a caller may repeat a create whose answer it lost.
	IdempotencyKey string `json:"-"`
}

// CreateCommand queues a command of any type with explicit Data: how a PMS
// action ("bill closed, fiscalize") enters the queue.
func (c *Client) CreateCommand(ctx context.Context, nc NewCommand) (*Command, error) {
	var headers []string
	if nc.IdempotencyKey != "" {
		headers = []string{"Idempotency-Key", nc.IdempotencyKey}
	}
	return call[Command](ctx, c, http.MethodPost, "commands", nc, headers...)
}

// CommandFilter selects commands for [Client.Commands]. Zero fields do not
// filter.
type CommandFilter struct {
	States       []client.State
	DeviceId     string
	EnterpriseId string
	Type         client.DeviceType
	// CreatedFrom and CreatedTo bound the creation time, [From, To).
	CreatedFrom, CreatedTo time.Time
	// Cursor continues after this command (CommandPage.Cursor).
	Cursor string
	// Limit is the page size, 1 to 1,000; default 100.
	Limit int
}

// Commands returns one page of the commands that match f, newest first.
func (c *Client) Commands(ctx context.Context, f CommandFilter) (CommandPage, error) {
	q := url.Values{}
	var states []string
	for _, s := range f.States {
		states = append(states, string(s))
	}
	for k, v := range map[string]string{"state": strings.Join(states, ","), "deviceId": f.DeviceId,
		"enterpriseId": f.EnterpriseId, "type": string(f.Type), "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, t := range map[string]time.Time{"createdFrom": f.CreatedFrom, "createdTo": f.CreatedTo} {
		if !t.IsZero() {
			q.Set(k, t.UTC().Format(time.RFC3339Nano))
		}
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page CommandPage
	err := c.do(ctx, http.MethodGet, "commands?"+q.Encode(), nil, &page)
	return page, err
}

// AllCommands pages through every command that f selects (f.Limit is the
// page size), newest first.
func (c *Client) AllCommands(ctx context.Context, f CommandFilter) ([]Command, error) {
	if f.Limit == 0 {
		f.Limit = 1000
	}
	var all []Command
	for {
		page, err := c.Commands(ctx, f)
		if err != nil {
			return all, err
		}
		all = append(all, page.Commands...)
		if page.Cursor == nil || len(page.Commands) < f.Limit {
			return all, nil
		}
		f.Cursor = *page.Cursor
	}
}

// Command returns a command with its history.
func (c *Client) Command(ctx context.Context, id string) (*Command, error) {
	return call[Command](ctx, c, http.MethodGet, "commands/"+url.PathEscape(id), nil)
}

// CancelCommand cancels a command that is not final (connected agents get
// the event) and returns it with its history; notes say why (default
// "Cancelled by <token name>"). Cancelling a cancelled command is not an
// error.
func (c *Client) CancelCommand(ctx context.Context, id, notes string) (*Command, error) {
	return call[Command](ctx, c, http.MethodPost, "commands/"+url.PathEscape(id)+"/cancel", struct{ Notes string }{notes})
}

// ResendCommand queues a copy of a command (same device, same Data) and
// returns the copy.
func (c *Client) ResendCommand(ctx context.Context, id string) (*Command, error) {
	return call[Command](ctx, c, http.MethodPost, "commands/"+url.PathEscape(id)+"/resend", nil)
}

// AddUser adds a console user with a role (viewer, operator or admin). An
// empty password asks the hub to make one, which the answer carries this
// once.
func (c *Client) AddUser(ctx context.Context, name, role, password string) (*User, error) {
	return call[User](ctx, c, http.MethodPost, "users", User{Name: name, Role: role, Password: password})
}

// Agents lists every unrevoked subscription with what the hub saw of its
// client, the most recently seen first.
func (c *Client) Agents(ctx context.Context) ([]Agent, error) {
	out, err := call[struct{ Agents []Agent }](ctx, c, http.MethodGet, "agents", nil)
	if err != nil {
		return nil, err
	}
	return out.Agents, nil
}

// Users lists the console users by name.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	out, err := call[struct{ Users []User }](ctx, c, http.MethodGet, "users", nil)
	if err != nil {
		return nil, err
	}
	return out.Users, nil
}

// SetRole changes a user's role; the user's open sessions have it at their
// next request.
func (c *Client) SetRole(ctx context.Context, id, role string) (*User, error) {
	return call[User](ctx, c, http.MethodPut, "users/"+url.PathEscape(id)+"/role", struct{ Role string }{role})
}

// SetPassword gives a user a new password and ends their sessions. An empty
// password asks the hub to make one, which it returns this once.
func (c *Client) SetPassword(ctx context.Context, id, password string) (string, error) {
	var out struct{ Password string }
	var in any
	if password != "" {
		in = struct{ Password string }{password}
	}
	err := c.do(ctx, http.MethodPost, "users/"+url.PathEscape(id)+"/password", in, &out)
	return out.Password, err
}

// RemoveUser removes a user and ends their sessions.
func (c *Client) RemoveUser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "users/"+url.PathEscape(id), nil, nil)
}

// Audit returns one page of the audit list, newest first: limit entries
// (1 to 1,000; 0 means 100) after cursor ("" from the newest).
func (c *Client) Audit(ctx context.Context, cursor string, limit int) (AuditPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page AuditPage
	err := c.do(ctx, http.MethodGet, "audit?"+q.Encode(), nil, &page)
	return page, err
}

// PaymentFilter selects payment records; zero fields do not filter.
type PaymentFilter struct {
	EnterpriseId string
	CommandId    string
	// Limit is the most records returned, 1 to 1,000; default 100.
	Limit int
}

// Payments returns the payment and preauthorization records that f
// selects, newest first.
func (c *Client) Payments(ctx context.Context, f PaymentFilter) ([]Payment, error) {
	q := url.Values{}
	for k, v := range map[string]string{"enterpriseId": f.EnterpriseId, "commandId": f.CommandId} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct{ Payments []Payment }
	err := c.do(ctx, http.MethodGet, "payments?"+q.Encode(), nil, &out)
	return out.Payments, err
}

// Payment returns a payment or preauthorization record by its id.
func (c *Client) Payment(ctx context.Context, id string) (*Payment, error) {
	return call[Payment](ctx, c, http.MethodGet, "payments/"+url.PathEscape(id), nil)
}
