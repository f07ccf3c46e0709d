package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
)

// AdminCmd wraps the admin API for the terminal and for scripts (--json).
// Each leaf command is one call of the typed client (client/admin).
type AdminCmd struct {
	URL   string `help:"Base URL of the hub." default:"http://${addr}" env:"BELLHOP_URL"`
	Token string `help:"Admin token (see serve --dev or --admin-token)." env:"BELLHOP_ADMIN_TOKEN" required:""`
	JSON  bool   `help:"Print the API's JSON instead of a table."`

	Enterprises struct {
		Create   adminEnterpriseCreate   `cmd:"" help:"Add an enterprise."`
		List     adminEnterpriseList     `cmd:"" help:"List enterprises."`
		TimeZone adminEnterpriseTimeZone `cmd:"" name:"time-zone" help:"Set the time zone the console shows an enterprise's times in."`
	} `cmd:"" help:"Enterprises (properties)."`
	Integrations struct {
		Create adminIntegrationCreate `cmd:"" help:"Add an integration; prints its ClientToken once."`
		List   adminIntegrationList   `cmd:"" help:"List integrations."`
	} `cmd:"" help:"Integrations (client applications)."`
	Subscriptions struct {
		Create  adminSubscriptionCreate  `cmd:"" help:"Subscribe an integration to enterprises; prints the AccessToken once."`
		List    adminSubscriptionList    `cmd:"" help:"List subscriptions."`
		Revoke  adminSubscriptionRevoke  `cmd:"" help:"Revoke a subscription; its sockets close at once."`
		Devices adminSubscriptionDevices `cmd:"" help:"List the devices connected to a subscription."`
		Generic adminSubscriptionGeneric `cmd:"" help:"Let a subscription see generic devices (on), or stop it (off)."`
	} `cmd:"" help:"Subscriptions (AccessTokens)."`
	Devices struct {
		Create adminDeviceCreate `cmd:"" help:"Add a device."`
		List   adminDeviceList   `cmd:"" help:"List devices."`
		Delete adminDeviceDelete `cmd:"" help:"Delete a device (its commands stay)."`
	} `cmd:"" help:"Devices."`
	Connect      adminConnect `cmd:"" help:"Connect a device to a subscription."`
	Disconnect   adminConnect `cmd:"" help:"Disconnect a device from a subscription."`
	Reservations struct {
		Create adminReservationCreate `cmd:"" help:"Add a reservation."`
	} `cmd:"" help:"Reservations (for key cutter commands)."`
	Customers struct {
		Create adminCustomerCreate `cmd:"" help:"Add a customer or company account."`
	} `cmd:"" help:"Customers (for payment terminal commands)."`
	Commands struct {
		Create adminCommandCreate `cmd:"" help:"Queue a command with explicit Data."`
		List   adminCommandList   `cmd:"" help:"List commands, newest first."`
		Show   adminCommandShow   `cmd:"" help:"Show a command with its history."`
		Cancel adminCommandCancel `cmd:"" help:"Cancel a command."`
		Resend adminCommandResend `cmd:"" help:"Queue a copy of a command."`
	} `cmd:"" help:"The command queue."`
	Users struct {
		Add      adminUserAdd      `cmd:"" help:"Add a console user."`
		List     adminUserList     `cmd:"" help:"List console users."`
		Role     adminUserRole     `cmd:"" help:"Change a user's role (open sessions follow at once)."`
		Password adminUserPassword `cmd:"" help:"Give a user a new password; their sessions end."`
		Remove   adminUserRemove   `cmd:"" help:"Remove a user; their sessions end."`
	} `cmd:"" help:"Console users and their roles."`
	Audit  adminAudit  `cmd:"" help:"The audit list: sign-ins and changes to users."`
	Agents adminAgents `cmd:"" help:"The agents (each subscription's client): version, address, last seen, open sockets, devices."`
	Faults struct {
		Set     adminFaultSet     `cmd:"" help:"Set a fault on the node that answers; prints it with its seed, to set again to replay a run."`
		List    adminFaultList    `cmd:"" help:"List the faults set, with how often each matched and fired."`
		Clear   adminFaultClear   `cmd:"" help:"Clear one fault, or all."`
		Firings adminFaultFirings `cmd:"" help:"What the faults did, newest first."`
	} `cmd:"" help:"Faults on demand: refused, slow or unanswered requests, lost or doubled events."`
	Requests adminRequests `cmd:"" help:"The request log: the Connector requests and WebSocket sessions the node served."`
	Time     struct {
		Advance adminTimeAdvance `cmd:"" help:"Let time pass for an enterprise's commands and run expiry and retention at once."`
	} `cmd:"" help:"Move an enterprise's time (hubs started with serve --dev)."`
}

// AfterApply gives the leaf commands their client and their printer.
func (a *AdminCmd) AfterApply(k *kong.Context, g *Globals) error {
	ac, err := admin.New(admin.Config{Address: a.URL, Token: a.Token, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		return err
	}
	k.Bind(ac, &printer{w: g.stdout, json: a.JSON})
	return nil
}

// printer prints answers: the API's JSON with --json, else a table.
type printer struct {
	w    io.Writer
	json bool
}

// one prints an object: with --json as is, else its fields, one a line.
func (p *printer) one(v any, err error) error {
	if err != nil {
		return err
	}
	if p.json {
		return p.encode(v)
	}
	m, err := generic(v)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(m[k]))
	}
	return tw.Flush()
}

// list returns the printer of a list the API answers under key (or of a
// page that holds it with its Cursor): a table of the columns cols.
func (p *printer) list(key string, cols ...string) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		m, err := generic(v)
		if err != nil { // a list, not a page: the API wraps it in {key: [...]}
			b, _ := json.Marshal(v)
			m = map[string]any{key: json.RawMessage(b)}
			if m, err = generic(m); err != nil {
				return err
			}
		}
		if p.json {
			return p.encode(m)
		}
		tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		items, _ := m[key].([]any)
		for _, it := range items {
			row, _ := it.(map[string]any)
			vals := make([]string, len(cols))
			for i, c := range cols {
				vals[i] = cell(row[c])
			}
			fmt.Fprintln(tw, strings.Join(vals, "\t"))
		}
		if c, ok := m["Cursor"].(string); ok && c != "" {
			fmt.Fprintf(tw, "(more: --cursor %s)\n", c)
		}
		return tw.Flush()
	}
}

func (p *printer) encode(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// generic turns an answer into the API's field names and values, for the
// tables; it fails for anything but a JSON object.
func generic(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errors.New("not an object")
	}
	return m, nil
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

type adminEnterpriseCreate struct {
	Name string `arg:""`
}

func (c *adminEnterpriseCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.CreateEnterprise(ctx, c.Name))
}

type adminEnterpriseList struct{}

func (c *adminEnterpriseList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Enterprises", "Id", "Name", "TimeZone", "CreatedUtc")(ac.Enterprises(ctx))
}

type adminEnterpriseTimeZone struct {
	ID   string `arg:""`
	Zone string `arg:"" optional:"" help:"An IANA zone such as Europe/Prague; none: each browser's zone."`
}

func (c *adminEnterpriseTimeZone) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.SetEnterpriseTimeZone(ctx, c.ID, c.Zone))
}

type adminIntegrationCreate struct {
	Name string `arg:""`
}

func (c *adminIntegrationCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.CreateIntegration(ctx, c.Name))
}

type adminIntegrationList struct{}

func (c *adminIntegrationList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Integrations", "Id", "Name", "CreatedUtc")(ac.Integrations(ctx))
}

type adminSubscriptionCreate struct {
	Integration    string   `required:"" help:"Integration id."`
	Enterprise     []string `required:"" help:"Enterprise id (repeat for a portfolio token)."`
	GenericDevices bool     `name:"generic-devices" help:"Let it see generic devices (a Type label of their own, such as Pbx)."`
}

func (c *adminSubscriptionCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.CreateSubscriptionWith(ctx, admin.Subscription{IntegrationId: c.Integration, EnterpriseIds: c.Enterprise,
		GenericDevices: c.GenericDevices}))
}

type adminSubscriptionGeneric struct {
	ID string `arg:""`
	On string `arg:"" enum:"on,off" help:"on or off."`
}

func (c *adminSubscriptionGeneric) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.SetGenericDevices(ctx, c.ID, c.On == "on"))
}

type adminSubscriptionList struct {
	Integration string `help:"Only this integration's."`
}

func (c *adminSubscriptionList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Subscriptions", "Id", "IntegrationId", "EnterpriseIds", "Revoked", "GenericDevices")(ac.Subscriptions(ctx, c.Integration))
}

type adminSubscriptionRevoke struct {
	ID string `arg:""`
}

func (c *adminSubscriptionRevoke) Run(ctx context.Context, ac *admin.Client) error {
	return ac.RevokeSubscription(ctx, c.ID)
}

type adminSubscriptionDevices struct {
	ID string `arg:""`
}

func (c *adminSubscriptionDevices) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Devices", "Id", "Type", "Name", "Identifier")(ac.ConnectedDevices(ctx, c.ID))
}

type adminDeviceCreate struct {
	Enterprise string            `required:"" help:"Enterprise id."`
	Type       string            `required:"" help:"Printer, PaymentTerminal, KeyCutter, FiscalMachine, PassportScanner, or a label of your own for a generic device (Pbx, Tv)."`
	Name       string            `required:""`
	Identifier string            `help:"The device's identifier."`
	Config     map[string]string `help:"Configuration, e.g. --config PrinterName=Front --config ApiUrl=http://..."`
}

func (c *adminDeviceCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	cfg, err := deviceConfig(c.Config)
	if err != nil {
		return err
	}
	return p.one(ac.CreateDevice(ctx, admin.Device{EnterpriseId: c.Enterprise, Type: client.DeviceType(c.Type),
		Name: c.Name, Identifier: c.Identifier, Configuration: cfg}))
}

// deviceConfig turns --config KEY=VALUE pairs into a device's Configuration,
// by the names the API gives its fields; an unknown name is an error.
func deviceConfig(kv map[string]string) (admin.DeviceConfig, error) {
	var cfg admin.DeviceConfig
	b, _ := json.Marshal(kv)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("--config: %w", err)
	}
	return cfg, nil
}

type adminDeviceList struct {
	Enterprise string `help:"Only this enterprise's."`
}

func (c *adminDeviceList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Devices", "Id", "Type", "Name", "Identifier", "EnterpriseId")(ac.Devices(ctx, c.Enterprise))
}

type adminDeviceDelete struct {
	ID string `arg:""`
}

func (c *adminDeviceDelete) Run(ctx context.Context, ac *admin.Client) error {
	return ac.DeleteDevice(ctx, c.ID)
}

type adminConnect struct {
	Subscription string `arg:"" help:"Subscription id."`
	Device       string `arg:"" help:"Device id."`
}

func (c *adminConnect) Run(ctx context.Context, k *kong.Context, ac *admin.Client) error {
	if strings.HasPrefix(k.Command(), "admin disconnect") {
		return ac.Disconnect(ctx, c.Subscription, c.Device)
	}
	return ac.Connect(ctx, c.Subscription, c.Device)
}

type adminReservationCreate struct {
	Enterprise string   `required:""`
	Number     string   `help:"Confirmation number."`
	Start      string   `required:"" help:"Start, ISO 8601 UTC."`
	End        string   `required:"" help:"End, ISO 8601 UTC."`
	FirstName  string   `name:"first-name"`
	LastName   string   `name:"last-name" required:""`
	Email      string   ``
	Telephone  string   ``
	Lock       []string `required:"" help:"Lock or room id (repeat)."`
}

func (c *adminReservationCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.CreateReservation(ctx, admin.Reservation{EnterpriseId: c.Enterprise, Number: c.Number,
		StartUtc: c.Start, EndUtc: c.End, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		Telephone: c.Telephone, LockIds: c.Lock}))
}

type adminCustomerCreate struct {
	Enterprise string `required:""`
	FirstName  string `name:"first-name"`
	LastName   string `name:"last-name"`
	Company    string `help:"Company name, for a company account."`
	Email      string ``
}

func (c *adminCustomerCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.CreateCustomer(ctx, admin.Customer{EnterpriseId: c.Enterprise, FirstName: c.FirstName,
		LastName: c.LastName, CompanyName: c.Company, Email: c.Email}))
}

type adminCommandCreate struct {
	Device string `required:"" help:"Device id."`
	Data   string `required:"" help:"The command's Data: JSON, or @file."`
}

func (c *adminCommandCreate) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	data := c.Data
	if name, ok := strings.CutPrefix(data, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		data = string(b)
	}
	if !json.Valid([]byte(data)) {
		return fmt.Errorf("--data is not valid JSON")
	}
	return p.one(ac.CreateCommand(ctx, admin.NewCommand{DeviceId: c.Device, Data: json.RawMessage(data)}))
}

type adminCommandList struct {
	State  string `help:"Only these states (comma-separated)."`
	Device string `help:"Only this device's."`
	Type   string `help:"Only this device type's."`
	Cursor string `help:"Continue after this command."`
	Limit  int    `default:"50"`
}

func (c *adminCommandList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	f := admin.CommandFilter{DeviceId: c.Device, Type: client.DeviceType(c.Type), Cursor: c.Cursor, Limit: c.Limit}
	for _, st := range strings.Split(c.State, ",") {
		if st != "" {
			f.States = append(f.States, client.State(st))
		}
	}
	return p.list("Commands", "Id", "State", "DeviceType", "DeviceName", "CreatedUtc", "Notes")(ac.Commands(ctx, f))
}

type adminCommandShow struct {
	ID string `arg:""`
}

func (c *adminCommandShow) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.Command(ctx, c.ID))
}

type adminCommandCancel struct {
	ID    string `arg:""`
	Notes string `help:"Why."`
}

func (c *adminCommandCancel) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.CancelCommand(ctx, c.ID, c.Notes))
}

type adminCommandResend struct {
	ID string `arg:""`
}

func (c *adminCommandResend) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.ResendCommand(ctx, c.ID))
}
