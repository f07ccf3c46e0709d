package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"
)

// AdminCmd wraps the admin API for the terminal and for scripts (--json).
type AdminCmd struct {
	URL   string `help:"Base URL of the hub." default:"http://127.0.0.1:8080" env:"BELLHOP_URL"`
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
}

// call sends one admin API request and returns the decoded answer; an error
// answer becomes an error with the hub's message and request id.
func (a *AdminCmd) call(ctx context.Context, method, path string, body any) (any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.URL, "/")+"/api/admin/v1/"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Message, RequestId string }
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s (status %d, request %s)", e.Message, resp.StatusCode, e.RequestId)
		}
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %w", err)
	}
	return v, nil
}

// show prints an answer: JSON with --json, else a table of the list it holds
// (under listKey) or of the object's fields.
func (a *AdminCmd) show(w io.Writer, v any, listKey string, cols ...string) error {
	if a.JSON || v == nil {
		if v == nil {
			return nil
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	m, _ := v.(map[string]any)
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
	List struct{} `cmd:"" help:"List enterprises."`
}

func (c *adminEnterprises) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context) error {
	if is(k, "create") {
		v, err := a.call(ctx, "POST", "enterprises", map[string]any{"Name": c.Create.Name})
		return a.result(g, v, err, "")
	}
	v, err := a.call(ctx, "GET", "enterprises", nil)
	return a.result(g, v, err, "Enterprises", "Id", "Name", "CreatedUtc")
}

type adminIntegrations struct {
	Create struct {
		Name string `arg:""`
	} `cmd:"" help:"Add an integration; prints its ClientToken once."`
	List struct{} `cmd:"" help:"List integrations."`
}

func (c *adminIntegrations) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context) error {
	if is(k, "create") {
		v, err := a.call(ctx, "POST", "integrations", map[string]any{"Name": c.Create.Name})
		return a.result(g, v, err, "")
	}
	v, err := a.call(ctx, "GET", "integrations", nil)
	return a.result(g, v, err, "Integrations", "Id", "Name", "CreatedUtc")
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

func (c *adminSubscriptions) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context) error {
	switch {
	case is(k, "create"):
		v, err := a.call(ctx, "POST", "subscriptions", map[string]any{"IntegrationId": c.Create.Integration, "EnterpriseIds": c.Create.Enterprise})
		return a.result(g, v, err, "")
	case is(k, "revoke"):
		v, err := a.call(ctx, "DELETE", "subscriptions/"+url.PathEscape(c.Revoke.ID), nil)
		return a.result(g, v, err, "")
	case is(k, "devices"):
		v, err := a.call(ctx, "GET", "subscriptions/"+url.PathEscape(c.Devices.ID)+"/devices", nil)
		return a.result(g, v, err, "Devices", "Id", "Type", "Name", "Identifier")
	}
	v, err := a.call(ctx, "GET", "subscriptions?integrationId="+url.QueryEscape(c.List.Integration), nil)
	return a.result(g, v, err, "Subscriptions", "Id", "IntegrationId", "EnterpriseIds", "Revoked")
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

func (c *adminDevices) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context) error {
	switch {
	case is(k, "create"):
		v, err := a.call(ctx, "POST", "devices", map[string]any{"EnterpriseId": c.Create.Enterprise, "Type": c.Create.Type,
			"Name": c.Create.Name, "Identifier": c.Create.Identifier, "Configuration": c.Create.Config})
		return a.result(g, v, err, "")
	case is(k, "delete"):
		v, err := a.call(ctx, "DELETE", "devices/"+url.PathEscape(c.Delete.ID), nil)
		return a.result(g, v, err, "")
	}
	v, err := a.call(ctx, "GET", "devices?enterpriseId="+url.QueryEscape(c.List.Enterprise), nil)
	return a.result(g, v, err, "Devices", "Id", "Type", "Name", "Identifier", "EnterpriseId")
}

type adminConnect struct {
	Subscription string `arg:"" help:"Subscription id."`
	Device       string `arg:"" help:"Device id."`
}

func (c *adminConnect) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context) error {
	method := "PUT"
	if is(k, "disconnect") {
		method = "DELETE"
	}
	v, err := a.call(ctx, method, "subscriptions/"+url.PathEscape(c.Subscription)+"/devices/"+url.PathEscape(c.Device), nil)
	return a.result(g, v, err, "")
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

func (c *adminReservations) Run(ctx context.Context, g *Globals, a *AdminCmd) error {
	r := c.Create
	v, err := a.call(ctx, "POST", "reservations", map[string]any{"EnterpriseId": r.Enterprise, "Number": r.Number,
		"StartUtc": r.Start, "EndUtc": r.End, "FirstName": r.FirstName, "LastName": r.LastName, "Email": r.Email,
		"Telephone": r.Telephone, "LockIds": r.Lock})
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

func (c *adminCustomers) Run(ctx context.Context, g *Globals, a *AdminCmd) error {
	r := c.Create
	v, err := a.call(ctx, "POST", "customers", map[string]any{"EnterpriseId": r.Enterprise, "FirstName": r.FirstName,
		"LastName": r.LastName, "CompanyName": r.Company, "Email": r.Email})
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

func (c *adminCommands) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context) error {
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
		v, err := a.call(ctx, "POST", "commands", map[string]any{"DeviceId": c.Create.Device, "Data": json.RawMessage(data)})
		return a.result(g, v, err, "")
	case is(k, "show"):
		v, err := a.call(ctx, "GET", "commands/"+url.PathEscape(c.Show.ID), nil)
		return a.result(g, v, err, "")
	case is(k, "cancel"):
		v, err := a.call(ctx, "POST", "commands/"+url.PathEscape(c.Cancel.ID)+"/cancel", map[string]any{"Notes": c.Cancel.Notes})
		return a.result(g, v, err, "")
	case is(k, "resend"):
		v, err := a.call(ctx, "POST", "commands/"+url.PathEscape(c.Resend.ID)+"/resend", nil)
		return a.result(g, v, err, "")
	}
	q := url.Values{}
	for k, v := range map[string]string{"state": c.List.State, "deviceId": c.List.Device, "type": c.List.Type, "cursor": c.List.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", fmt.Sprint(c.List.Limit))
	v, err := a.call(ctx, "GET", "commands?"+q.Encode(), nil)
	return a.result(g, v, err, "Commands", "Id", "State", "DeviceType", "DeviceName", "CreatedUtc", "Notes")
}

func (a *AdminCmd) result(g *Globals, v any, err error, listKey string, cols ...string) error {
	if err != nil {
		return err
	}
	return a.show(g.stdout, v, listKey, cols...)
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
