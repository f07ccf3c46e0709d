package cli

import (
	"bytes"
	"context"
	"encoding/json"
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
type AdminCmd struct {
	URL   string `help:"Base URL of the hub." default:"http://${addr}" env:"BELLHOP_URL"`
	Token string `help:"Admin token (see serve --dev or --admin-token)." env:"BELLHOP_ADMIN_TOKEN" required:""`
	JSON  bool   `help:"Print the API's JSON instead of a table."`

	Enterprises   adminEnterprises   `cmd:"" help:"Enterprises (properties)."`
	Integrations  adminIntegrations  `cmd:"" help:"Integrations (client applications)."`
	Subscriptions adminSubscriptions `cmd:"" help:"Subscriptions (AccessTokens)."`
	Devices       adminDevices       `cmd:"" help:"Devices."`
	Connect       adminConnect       `cmd:"" help:"Connect a device to a subscription."`
	Disconnect    adminConnect       `cmd:"" help:"Disconnect a device from a subscription."`
	Reservations  adminReservations  `cmd:"" help:"Reservations (for key cutter commands)."`
	Customers     adminCustomers     `cmd:"" help:"Customers (for payment terminal commands)."`
	Commands      adminCommands      `cmd:"" help:"The command queue."`
	Users         adminUsers         `cmd:"" help:"Console users and their roles."`
	Audit         adminAudit         `cmd:"" help:"The audit list: sign-ins and changes to users."`
}

// client returns the typed admin client for --url and --token.
func (a *AdminCmd) client() (*admin.Client, error) {
	return admin.New(admin.Config{Address: a.URL, Token: a.Token, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
}

// show prints an answer: JSON with --json, else a table of the list it holds
// (under listKey) or of the object's fields.
func (a *AdminCmd) show(w io.Writer, v any, listKey string, cols ...string) error {
	if v == nil {
		return nil
	}
	if a.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	// The table shows the answer's fields as the API names them.
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if listKey != "" {
		items, _ := m[listKey].([]any)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, it := range items {
			row := it.(map[string]any)
			vals := make([]string, len(cols))
			for i, c := range cols {
				vals[i] = cell(row[c])
			}
			fmt.Fprintln(tw, strings.Join(vals, "\t"))
		}
		if c, ok := m["Cursor"].(string); ok && c != "" {
			fmt.Fprintf(tw, "(more: --cursor %s)\n", c)
		}
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(m[k]))
	}
	return nil
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

type adminEnterprises struct {
	Create struct {
		Name string `arg:""`
	} `cmd:"" help:"Add an enterprise."`
	List     struct{} `cmd:"" help:"List enterprises."`
	TimeZone struct {
		ID   string `arg:""`
		Zone string `arg:"" optional:"" help:"An IANA zone such as Europe/Prague; none: each browser's zone."`
	} `cmd:"" name:"time-zone" help:"Set the time zone the console shows an enterprise's times in."`
}

func (c *adminEnterprises) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context, ac *admin.Client) error {
	switch {
	case is(k, "create"):
		v, err := ac.CreateEnterprise(ctx, c.Create.Name)
		return a.result(g, v, err, "")
	case is(k, "time-zone"):
		v, err := ac.SetEnterpriseTimeZone(ctx, c.TimeZone.ID, c.TimeZone.Zone)
		return a.result(g, v, err, "")
	}
	v, err := ac.Enterprises(ctx)
	return a.result(g, struct{ Enterprises []admin.Enterprise }{v}, err, "Enterprises", "Id", "Name", "TimeZone", "CreatedUtc")
}

type adminIntegrations struct {
	Create struct {
		Name string `arg:""`
	} `cmd:"" help:"Add an integration; prints its ClientToken once."`
	List struct{} `cmd:"" help:"List integrations."`
}

func (c *adminIntegrations) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context, ac *admin.Client) error {
	if is(k, "create") {
		v, err := ac.CreateIntegration(ctx, c.Create.Name)
		return a.result(g, v, err, "")
	}
	v, err := ac.Integrations(ctx)
	return a.result(g, struct{ Integrations []admin.Integration }{v}, err, "Integrations", "Id", "Name", "CreatedUtc")
}

type adminSubscriptions struct {
	Create struct {
		Integration string   `required:"" help:"Integration id."`
		Enterprise  []string `required:"" help:"Enterprise id (repeat for a portfolio token)."`
	} `cmd:"" help:"Subscribe an integration to enterprises; prints the AccessToken once."`
	List struct {
		Integration string `help:"Only this integration's."`
	} `cmd:"" help:"List subscriptions."`
	Revoke struct {
		ID string `arg:""`
	} `cmd:"" help:"Revoke a subscription; its sockets close at once."`
	Devices struct {
		ID string `arg:""`
	} `cmd:"" help:"List the devices connected to a subscription."`
}

func (c *adminSubscriptions) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context, ac *admin.Client) error {
	switch {
	case is(k, "create"):
		v, err := ac.CreateSubscription(ctx, c.Create.Integration, c.Create.Enterprise...)
		return a.result(g, v, err, "")
	case is(k, "revoke"):
		return ac.RevokeSubscription(ctx, c.Revoke.ID)
	case is(k, "devices"):
		v, err := ac.ConnectedDevices(ctx, c.Devices.ID)
		return a.result(g, struct{ Devices []admin.Device }{v}, err, "Devices", "Id", "Type", "Name", "Identifier")
	}
	v, err := ac.Subscriptions(ctx, c.List.Integration)
	return a.result(g, struct{ Subscriptions []admin.Subscription }{v}, err, "Subscriptions", "Id", "IntegrationId", "EnterpriseIds", "Revoked")
}

type adminDevices struct {
	Create struct {
		Enterprise string            `required:"" help:"Enterprise id."`
		Type       string            `required:"" enum:"Printer,PaymentTerminal,KeyCutter,FiscalMachine,PassportScanner" help:"Printer, PaymentTerminal, KeyCutter, FiscalMachine or PassportScanner."`
		Name       string            `required:""`
		Identifier string            `help:"The device's identifier."`
		Config     map[string]string `help:"Configuration, e.g. --config PrinterName=Front --config ApiUrl=http://..."`
	} `cmd:"" help:"Add a device."`
	List struct {
		Enterprise string `help:"Only this enterprise's."`
	} `cmd:"" help:"List devices."`
	Delete struct {
		ID string `arg:""`
	} `cmd:"" help:"Delete a device (its commands stay)."`
}

func (c *adminDevices) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context, ac *admin.Client) error {
	switch {
	case is(k, "create"):
		cfg, err := deviceConfig(c.Create.Config)
		if err != nil {
			return err
		}
		v, err := ac.CreateDevice(ctx, admin.Device{EnterpriseId: c.Create.Enterprise, Type: client.DeviceType(c.Create.Type),
			Name: c.Create.Name, Identifier: c.Create.Identifier, Configuration: cfg})
		return a.result(g, v, err, "")
	case is(k, "delete"):
		return ac.DeleteDevice(ctx, c.Delete.ID)
	}
	v, err := ac.Devices(ctx, c.List.Enterprise)
	return a.result(g, struct{ Devices []admin.Device }{v}, err, "Devices", "Id", "Type", "Name", "Identifier", "EnterpriseId")
}

// deviceConfig turns --config KEY=VALUE pairs into a device's Configuration,
// by the names the API gives its fields.
func deviceConfig(kv map[string]string) (admin.DeviceConfig, error) {
	var cfg admin.DeviceConfig
	b, _ := json.Marshal(kv)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("--config: %w", err)
	}
	return cfg, nil
}

type adminConnect struct {
	Subscription string `arg:"" help:"Subscription id."`
	Device       string `arg:"" help:"Device id."`
}

func (c *adminConnect) Run(ctx context.Context, k *kong.Context, ac *admin.Client) error {
	if is(k, "disconnect") {
		return ac.Disconnect(ctx, c.Subscription, c.Device)
	}
	return ac.Connect(ctx, c.Subscription, c.Device)
}

type adminReservations struct {
	Create struct {
		Enterprise string   `required:""`
		Number     string   `help:"Confirmation number."`
		Start      string   `required:"" help:"Start, ISO 8601 UTC."`
		End        string   `required:"" help:"End, ISO 8601 UTC."`
		FirstName  string   `name:"first-name"`
		LastName   string   `name:"last-name" required:""`
		Email      string   ``
		Telephone  string   ``
		Lock       []string `required:"" help:"Lock or room id (repeat)."`
	} `cmd:"" help:"Add a reservation."`
}

func (c *adminReservations) Run(ctx context.Context, g *Globals, a *AdminCmd, ac *admin.Client) error {
	r := c.Create
	v, err := ac.CreateReservation(ctx, admin.Reservation{EnterpriseId: r.Enterprise, Number: r.Number,
		StartUtc: r.Start, EndUtc: r.End, FirstName: r.FirstName, LastName: r.LastName, Email: r.Email,
		Telephone: r.Telephone, LockIds: r.Lock})
	return a.result(g, v, err, "")
}

type adminCustomers struct {
	Create struct {
		Enterprise string `required:""`
		FirstName  string `name:"first-name"`
		LastName   string `name:"last-name"`
		Company    string `help:"Company name, for a company account."`
		Email      string ``
	} `cmd:"" help:"Add a customer or company account."`
}

func (c *adminCustomers) Run(ctx context.Context, g *Globals, a *AdminCmd, ac *admin.Client) error {
	r := c.Create
	v, err := ac.CreateCustomer(ctx, admin.Customer{EnterpriseId: r.Enterprise, FirstName: r.FirstName,
		LastName: r.LastName, CompanyName: r.Company, Email: r.Email})
	return a.result(g, v, err, "")
}

type adminCommands struct {
	Create struct {
		Device string `required:"" help:"Device id."`
		Data   string `required:"" help:"The command's Data: JSON, or @file."`
	} `cmd:"" help:"Queue a command with explicit Data."`
	List struct {
		State  string `help:"Only these states (comma-separated)."`
		Device string `help:"Only this device's."`
		Type   string `help:"Only this device type's."`
		Cursor string `help:"Continue after this command."`
		Limit  int    `default:"50"`
	} `cmd:"" help:"List commands, newest first."`
	Show struct {
		ID string `arg:""`
	} `cmd:"" help:"Show a command with its history."`
	Cancel struct {
		ID    string `arg:""`
		Notes string `help:"Why."`
	} `cmd:"" help:"Cancel a command."`
	Resend struct {
		ID string `arg:""`
	} `cmd:"" help:"Queue a copy of a command."`
}

func (c *adminCommands) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context, ac *admin.Client) error {
	switch {
	case is(k, "create"):
		data := c.Create.Data
		if strings.HasPrefix(data, "@") {
			b, err := os.ReadFile(data[1:])
			if err != nil {
				return err
			}
			data = string(b)
		}
		if !json.Valid([]byte(data)) {
			return fmt.Errorf("--data is not valid JSON")
		}
		v, err := ac.CreateCommand(ctx, admin.NewCommand{DeviceId: c.Create.Device, Data: json.RawMessage(data)})
		return a.result(g, v, err, "")
	case is(k, "show"):
		v, err := ac.Command(ctx, c.Show.ID)
		return a.result(g, v, err, "")
	case is(k, "cancel"):
		v, err := ac.CancelCommand(ctx, c.Cancel.ID, c.Cancel.Notes)
		return a.result(g, v, err, "")
	case is(k, "resend"):
		v, err := ac.ResendCommand(ctx, c.Resend.ID)
		return a.result(g, v, err, "")
	}
	f := admin.CommandFilter{DeviceId: c.List.Device, Type: client.DeviceType(c.List.Type), Cursor: c.List.Cursor, Limit: c.List.Limit}
	for _, st := range strings.Split(c.List.State, ",") {
		if st != "" {
			f.States = append(f.States, client.State(st))
		}
	}
	v, err := ac.Commands(ctx, f)
	return a.result(g, v, err, "Commands", "Id", "State", "DeviceType", "DeviceName", "CreatedUtc", "Notes")
}

func (a *AdminCmd) result(g *Globals, v any, err error, listKey string, cols ...string) error {
	if err != nil {
		return err
	}
	return a.show(g.stdout, v, listKey, cols...)
}

// AfterApply gives the admin subcommands their client.
func (a *AdminCmd) AfterApply(k *kong.Context) error {
	ac, err := a.client()
	if err != nil {
		return err
	}
	k.Bind(ac)
	return nil
}

// is reports whether the selected command's path ends in leaf (before its
// arguments).
func is(k *kong.Context, leaf string) bool {
	for _, w := range strings.Fields(k.Command()) {
		if w == leaf {
			return true
		}
	}
	return false
}
