// Package adminapi serves the admin API under /api/admin/v1/: what the Mews
// Marketplace screens do (enterprises, integrations, subscriptions, devices
// and their connections, reference data) plus the queue itself (create, list,
// inspect, cancel commands) and the console's users and audit list. JSON
// with PascalCase fields (the types of the public client/admin package, which
// the CLI and the tests call it with), authenticated by `Authorization:
// Bearer <AdminToken>`, errors in the Mews error body.
package adminapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/ratelimit"
)

// Prefix is where the admin API lives.
const Prefix = "/api/admin/v1/"

// Config configures the admin API.
type Config struct {
	Logger *slog.Logger
	// MaxBody is the largest request body; default httpapi.DefaultMaxBody.
	MaxBody int64
	// FailureLimiter throttles failed sign-ins per client address (brute
	// force); default 20 failures per minute.
	FailureLimiter ratelimit.Limiter
}

// Server is the admin API's http.Handler.
type Server struct {
	cfg Config
	hub *hub.Service
	mux *http.ServeMux
}

// New returns the admin API over the hub service.
func New(cfg Config, h *hub.Service) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = httpapi.DefaultMaxBody
	}
	if cfg.FailureLimiter == nil {
		cfg.FailureLimiter = ratelimit.NewMemory(20, time.Minute, nil)
	}
	s := &Server{cfg: cfg, hub: h, mux: http.NewServeMux()}
	routes := []struct {
		pattern string
		h       handler
	}{
		{"POST enterprises", s.createEnterprise},
		{"GET enterprises", s.listEnterprises},
		{"PATCH enterprises/{id}", s.updateEnterprise},
		{"POST integrations", s.createIntegration},
		{"GET integrations", s.listIntegrations},
		{"POST subscriptions", s.createSubscription},
		{"GET subscriptions", s.listSubscriptions},
		{"DELETE subscriptions/{id}", s.revokeSubscription},
		{"PATCH subscriptions/{id}", s.updateSubscription},
		{"GET subscriptions/{id}/devices", s.connectedDevices},
		{"GET agents", s.listAgents},
		{"PUT subscriptions/{id}/devices/{deviceId}", s.connect},
		{"DELETE subscriptions/{id}/devices/{deviceId}", s.disconnect},
		{"POST devices", s.createDevice},
		{"GET devices", s.listDevices},
		{"DELETE devices/{id}", s.deleteDevice},
		{"POST reservations", s.createReservation},
		{"POST customers", s.createCustomer},
		{"POST commands", s.createCommand},
		{"GET commands", s.listCommands},
		{"GET commands/{id}", s.getCommand},
		{"POST commands/{id}/cancel", s.cancelCommand},
		{"POST commands/{id}/resend", s.resendCommand},
		{"POST users", s.addUser},
		{"GET users", s.listUsers},
		{"PUT users/{id}/role", s.setRole},
		{"POST users/{id}/password", s.setPassword},
		{"DELETE users/{id}", s.removeUser},
		{"GET audit", s.listAudit},
		{"GET payments", s.listPayments},
		{"GET payments/{id}", s.getPayment},
		{"POST faults", s.setFault},
		{"GET faults", s.listFaults},
		{"DELETE faults", s.clearFaults},
		{"DELETE faults/{id}", s.clearFault},
		{"GET faults/firings", s.faultFirings},
		{"GET requests", s.listRequests},
		{"POST enterprises/{id}/time", s.advanceTime},
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		s.mux.Handle(method+" "+Prefix+path, s.wrap(rt.h))
	}
	s.mux.Handle(Prefix, httpapi.NotFound(cfg.Logger))
	return s
}

// handler serves one admin operation for an authenticated admin.
type handler func(ctx context.Context, r *http.Request, who string) (status int, body any, err error)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) wrap(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := s.cfg.Logger
		addr := clientAddr(r)
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		who, err := "", error(nil)
		if !ok {
			err = &bellhop.Error{Code: bellhop.EUNAUTHORIZED, Message: "Missing Authorization: Bearer <AdminToken>."}
		} else {
			who, err = s.hub.AuthenticateAdmin(r.Context(), strings.TrimSpace(token))
		}
		if err != nil {
			if bellhop.ErrorCode(err) == bellhop.EUNAUTHORIZED {
				if allowed, retry := s.cfg.FailureLimiter.Allow(r.Context(), addr); !allowed {
					err = &httpapi.RateLimitError{RetryAfter: retry}
				}
			}
			httpapi.WriteError(w, r, log, err)
			return
		}
		status, body, err := h(r.Context(), r, who)
		if err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		httpapi.WriteJSON(w, status, body)
	})
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decode reads a JSON object body into v.
func (s *Server) decode(r *http.Request, v any) error {
	body, err := httpapi.ReadBody(r, s.cfg.MaxBody)
	if err != nil {
		return err
	}
	return httpapi.Decode(body, v)
}

// created answers 201 with v as the API shows it, unless err.
func created[T, J any](v *T, err error, show func(*T) J) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, show(v), nil
}

// listed answers 200 with {key: [items as the API shows them]} ([] when
// none), unless err.
func listed[T, J any](items []T, err error, key string, show func(*T) J) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	out := make([]J, len(items))
	for i := range items {
		out[i] = show(&items[i])
	}
	return http.StatusOK, map[string][]J{key: out}, nil
}

// body decodes the request's JSON object into a T.
func body[T any](s *Server, r *http.Request) (*T, error) {
	v := new(T)
	if err := s.decode(r, v); err != nil {
		return nil, err
	}
	return v, nil
}

func enterpriseJSON(e *bellhop.Enterprise) admin.Enterprise {
	return admin.Enterprise{Id: e.ID, Name: e.Name, CreatedUtc: bellhop.FormatTime(e.CreatedUtc), TimeZone: e.TimeZone}
}

func (s *Server) createEnterprise(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	req, err := body[admin.Enterprise](s, r)
	if err != nil {
		return 0, nil, err
	}
	if err := bellhop.ValidateTimeZone(req.TimeZone); err != nil {
		return 0, nil, err // before anything is created
	}
	e, err := s.hub.CreateEnterprise(ctx, req.Name)
	if err == nil && req.TimeZone != "" {
		e, err = s.hub.SetEnterpriseTimeZone(ctx, e.ID, req.TimeZone)
	}
	return created(e, err, enterpriseJSON)
}

func (s *Server) listEnterprises(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	es, err := s.hub.Enterprises(ctx)
	return listed(es, err, "Enterprises", enterpriseJSON)
}

// updateEnterprise sets what may change of an enterprise: its TimeZone.
func (s *Server) updateEnterprise(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	var req struct{ TimeZone string }
	if err := s.decode(r, &req); err != nil {
		return 0, nil, err
	}
	e, err := s.hub.SetEnterpriseTimeZone(ctx, r.PathValue("id"), req.TimeZone)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, enterpriseJSON(e), nil
}

func integrationJSON(i *bellhop.Integration) admin.Integration {
	return admin.Integration{Id: i.ID, Name: i.Name, CreatedUtc: bellhop.FormatTime(i.CreatedUtc)}
}

func (s *Server) createIntegration(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	req, err := body[admin.Integration](s, r)
	if err != nil {
		return 0, nil, err
	}
	i, token, err := s.hub.CreateIntegration(ctx, req.Name)
	return created(i, err, func(i *bellhop.Integration) admin.Integration {
		out := integrationJSON(i)
		out.ClientToken = token // shown this once
		return out
	})
}

func (s *Server) listIntegrations(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	is, err := s.hub.Integrations(ctx)
	return listed(is, err, "Integrations", integrationJSON)
}

func subscriptionJSON(s *bellhop.Subscription) admin.Subscription {
	return admin.Subscription{Id: s.ID, IntegrationId: s.IntegrationID, EnterpriseIds: s.EnterpriseIDs,
		CreatedUtc: bellhop.FormatTime(s.CreatedUtc), Revoked: s.Revoked, GenericDevices: s.GenericDevices}
}

func (s *Server) createSubscription(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	req, err := body[admin.Subscription](s, r)
	if err != nil {
		return 0, nil, err
	}
	sub, token, err := s.hub.CreateSubscriptionWith(ctx, hub.NewSubscription{IntegrationID: req.IntegrationId,
		EnterpriseIDs: req.EnterpriseIds, GenericDevices: req.GenericDevices})
	return created(sub, err, func(sub *bellhop.Subscription) admin.Subscription {
		out := subscriptionJSON(sub)
		out.AccessToken = token // shown this once
		return out
	})
}

func (s *Server) listSubscriptions(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	subs, err := s.hub.Subscriptions(ctx, r.URL.Query().Get("integrationId"))
	return listed(subs, err, "Subscriptions", subscriptionJSON)
}

// updateSubscription sets what may change of a subscription: whether it
// sees generic devices.
func (s *Server) updateSubscription(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	var req struct{ GenericDevices *bool }
	if err := s.decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.GenericDevices == nil {
		return 0, nil, bellhop.Invalid("GenericDevices")
	}
	sub, err := s.hub.SetGenericDevices(ctx, r.PathValue("id"), *req.GenericDevices)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, subscriptionJSON(sub), nil
}

func (s *Server) revokeSubscription(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	return http.StatusNoContent, nil, s.hub.RevokeSubscription(ctx, r.PathValue("id"))
}

func (s *Server) connectedDevices(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	devs, err := s.hub.ConnectedDevices(ctx, r.PathValue("id"))
	return listed(devs, err, "Devices", deviceJSON)
}

func (s *Server) connect(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	return http.StatusNoContent, nil, s.hub.Connect(ctx, r.PathValue("id"), r.PathValue("deviceId"))
}

func (s *Server) disconnect(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	return http.StatusNoContent, nil, s.hub.Disconnect(ctx, r.PathValue("id"), r.PathValue("deviceId"))
}

func (s *Server) listAgents(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	agents, err := s.hub.Agents(ctx)
	return listed(agents, err, "Agents", agentJSON)
}

func agentJSON(a *hub.Agent) admin.Agent {
	out := admin.Agent{SubscriptionId: a.Subscription.ID, IntegrationId: a.Integration.ID, IntegrationName: a.Integration.Name,
		EnterpriseIds: a.Subscription.EnterpriseIDs, Client: a.Client, Version: a.Version, Host: a.Host, Address: a.Address,
		FirstSeenUtc: optTime(a.FirstUtc), LastSeenUtc: optTime(a.LastUtc), Sockets: a.Sockets, ConnectedUtc: optTime(a.ConnectedUtc),
		Devices: make([]admin.Device, len(a.Devices))}
	for i := range a.Devices {
		out.Devices[i] = deviceJSON(&a.Devices[i])
	}
	return out
}

// optTime formats a time, or "" for the zero time.
func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return bellhop.FormatTime(t)
}

// deviceJSON shows a device. admin.DeviceConfig mirrors bellhop.DeviceConfig
// (the public SDK imports nothing of the module): the conversions here stop
// compiling if the two ever differ.
func deviceJSON(d *bellhop.Device) admin.Device {
	return admin.Device{Id: d.ID, EnterpriseId: d.EnterpriseID, Type: client.DeviceType(d.Type), Name: d.Name,
		Identifier: d.Identifier, Configuration: admin.DeviceConfig(d.Config), CreatedUtc: bellhop.FormatTime(d.CreatedUtc)}
}

func (s *Server) createDevice(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	req, err := body[admin.Device](s, r)
	if err != nil {
		return 0, nil, err
	}
	d := &bellhop.Device{EnterpriseID: req.EnterpriseId, Type: bellhop.DeviceType(req.Type), Name: strings.TrimSpace(req.Name),
		Identifier: req.Identifier, Config: bellhop.DeviceConfig(req.Configuration)}
	return created(d, s.hub.CreateDevice(ctx, d), deviceJSON)
}

func (s *Server) listDevices(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	devs, err := s.hub.ListDevices(ctx, r.URL.Query().Get("enterpriseId"))
	return listed(devs, err, "Devices", deviceJSON)
}

func (s *Server) deleteDevice(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	return http.StatusNoContent, nil, s.hub.DeleteDevice(ctx, r.PathValue("id"))
}

func (s *Server) createReservation(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	req, err := body[admin.Reservation](s, r)
	if err != nil {
		return 0, nil, err
	}
	start, err := bellhop.ParseTime(req.StartUtc)
	if err != nil {
		return 0, nil, bellhop.Invalid("StartUtc")
	}
	end, err := bellhop.ParseTime(req.EndUtc)
	if err != nil {
		return 0, nil, bellhop.Invalid("EndUtc")
	}
	res := &bellhop.Reservation{EnterpriseID: req.EnterpriseId, Number: req.Number, StartUtc: start, EndUtc: end,
		FirstName: req.FirstName, LastName: req.LastName, Email: req.Email, Telephone: req.Telephone, LockIDs: req.LockIds}
	return created(res, s.hub.CreateReservation(ctx, res), func(res *bellhop.Reservation) admin.Reservation {
		return admin.Reservation{Id: res.ID, EnterpriseId: res.EnterpriseID, Number: res.Number,
			StartUtc: bellhop.FormatTime(res.StartUtc), EndUtc: bellhop.FormatTime(res.EndUtc), FirstName: res.FirstName,
			LastName: res.LastName, Email: res.Email, Telephone: res.Telephone, LockIds: res.LockIDs}
	})
}

func (s *Server) createCustomer(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	req, err := body[admin.Customer](s, r)
	if err != nil {
		return 0, nil, err
	}
	c := &bellhop.Customer{EnterpriseID: req.EnterpriseId, FirstName: req.FirstName, LastName: req.LastName,
		CompanyName: req.CompanyName, Email: req.Email}
	return created(c, s.hub.CreateCustomer(ctx, c), func(c *bellhop.Customer) admin.Customer {
		return admin.Customer{Id: c.ID, EnterpriseId: c.EnterpriseID, FirstName: c.FirstName,
			LastName: c.LastName, CompanyName: c.CompanyName, Email: c.Email}
	})
}

func paymentJSON(p *bellhop.Payment) *admin.Payment {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &admin.Payment{Id: p.ID, Kind: client.PaymentType(p.Kind), EnterpriseId: p.EnterpriseID, CommandId: p.CommandID,
		AccountId: p.AccountID, Amount: amountJSON(p.Amount), BillId: opt(p.BillID), PaymentRequestId: opt(p.PaymentRequestID),
		ReservationId: opt(p.ReservationID), CreatedUtc: bellhop.FormatTime(p.CreatedUtc)}
}

// amountJSON is the SDK's form of an amount: the same members.
func amountJSON(a bellhop.ExtendedAmount) client.ExtendedAmount {
	out := client.ExtendedAmount{Currency: a.Currency, NetValue: &a.NetValue, GrossValue: &a.GrossValue,
		TaxValues: make([]client.TaxValue, len(a.TaxValues)), Breakdown: &client.AmountBreakdown{Items: []client.AmountBreakdownItem{}},
		Value: a.Value, Net: a.Net, Tax: a.Tax, TaxRate: a.TaxRate}
	for i, t := range a.TaxValues {
		out.TaxValues[i] = client.TaxValue{Code: t.Code, Value: t.Value}
	}
	for _, it := range a.Breakdown.Items {
		out.Breakdown.Items = append(out.Breakdown.Items, client.AmountBreakdownItem{TaxRateCode: it.TaxRateCode, NetValue: it.NetValue, TaxValue: it.TaxValue})
	}
	return out
}

func (s *Server) listPayments(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	q := r.URL.Query()
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return 0, nil, bellhop.InvalidBecause("limit", "from 1 to %d.", hub.MaxPage)
		}
		limit = n
	}
	ps, err := s.hub.Payments(ctx, q.Get("enterpriseId"), q.Get("commandId"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := struct{ Payments []*admin.Payment }{Payments: make([]*admin.Payment, len(ps))}
	for i := range ps {
		out.Payments[i] = paymentJSON(&ps[i])
	}
	return http.StatusOK, out, nil
}

func (s *Server) getPayment(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	p, err := s.hub.Payment(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, paymentJSON(p), nil
}

func commandJSON(v *hub.CommandView) admin.Command {
	creator := strings.TrimSpace(v.Creator.FirstName + " " + v.Creator.LastName)
	out := admin.Command{Id: v.ID, EnterpriseId: v.EnterpriseID, DeviceId: v.DeviceID, DeviceName: v.Device.Name,
		DeviceType: client.DeviceType(v.DeviceType), State: client.State(v.State), CreatedUtc: bellhop.FormatTime(v.CreatedUtc),
		UpdatedUtc: bellhop.FormatTime(v.UpdatedUtc), Creator: creator, Progress: v.Progress, Notes: v.Notes, Data: v.Data}
	if v.ExternalID != "" {
		out.ExternalRequestIdentifier = &v.ExternalID
	}
	if v.Payment != nil {
		out.Payment = paymentJSON(v.Payment)
	}
	return out
}

func (s *Server) createCommand(ctx context.Context, r *http.Request, who string) (int, any, error) {
	var req admin.NewCommand
	body, err := httpapi.ReadBody(r, s.cfg.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	if err := httpapi.Decode(body, &req); err != nil {
		return 0, nil, err
	}
	var idem *bellhop.Idempotency
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		idem = &bellhop.Idempotency{Key: key, RequestHash: bellhop.HashToken(string(body))}
	}
	cmd, err := s.hub.CreateCommand(ctx, req.DeviceId, req.Data, who, idem)
	if err != nil {
		return 0, nil, err
	}
	v, _, err := s.hub.Command(ctx, cmd.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, commandJSON(v), nil
}

func (s *Server) listCommands(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	q := r.URL.Query()
	var f bellhop.CommandFilter
	if st := q.Get("state"); st != "" {
		for _, v := range strings.Split(st, ",") {
			if !bellhop.State(v).Valid() {
				return 0, nil, bellhop.Invalid("state")
			}
			f.States = append(f.States, bellhop.State(v))
		}
	}
	for _, p := range []struct {
		name string
		dst  *[]string
	}{{"deviceId", &f.DeviceIDs}, {"enterpriseId", &f.EnterpriseIDs}} {
		if v := q.Get(p.name); v != "" {
			id, ok := bellhop.ParseID(v)
			if !ok {
				return 0, nil, bellhop.Invalid(p.name)
			}
			*p.dst = []string{id}
		}
	}
	if t := q.Get("type"); t != "" {
		if !bellhop.DeviceType(t).Valid() {
			return 0, nil, bellhop.Invalid("type")
		}
		f.DeviceType = bellhop.DeviceType(t)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"createdFrom", &f.CreatedFrom}, {"createdTo", &f.CreatedTo}} {
		if v := q.Get(p.name); v != "" {
			t, err := bellhop.ParseTime(v)
			if err != nil {
				return 0, nil, bellhop.Invalid(p.name)
			}
			*p.dst = t
		}
	}
	page := &hub.Page{Count: 100, Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > hub.MaxPage {
			return 0, nil, bellhop.Invalid("limit")
		}
		page.Count = n
	}
	views, cursor, err := s.hub.ListCommands(ctx, f, page)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Commands []admin.Command
		Cursor   *string
	}{Commands: []admin.Command{}}
	for i := range views {
		out.Commands = append(out.Commands, commandJSON(&views[i]))
	}
	if cursor != "" {
		out.Cursor = &cursor
	}
	return http.StatusOK, out, nil
}

func (s *Server) getCommand(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	v, hist, err := s.hub.Command(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	out := commandJSON(v)
	out.History = make([]admin.HistoryEntry, len(hist))
	for i, h := range hist {
		out.History[i] = admin.HistoryEntry{State: client.State(h.State), Utc: h.Utc.UTC().Format(time.RFC3339Nano), Actor: h.Actor, Progress: h.Progress, Notes: h.Notes}
		if h.ExternalID != "" {
			out.History[i].ExternalRequestIdentifier = &h.ExternalID
		}
	}
	return http.StatusOK, out, nil
}

func (s *Server) cancelCommand(ctx context.Context, r *http.Request, who string) (int, any, error) {
	var req struct{ Notes string }
	if r.ContentLength != 0 {
		if err := s.decode(r, &req); err != nil {
			return 0, nil, err
		}
	}
	if _, err := s.hub.CancelCommand(ctx, r.PathValue("id"), who, req.Notes); err != nil {
		return 0, nil, err
	}
	return s.getCommand(ctx, r, who)
}

func (s *Server) resendCommand(ctx context.Context, r *http.Request, who string) (int, any, error) {
	cmd, err := s.hub.Resend(ctx, r.PathValue("id"), who)
	if err != nil {
		return 0, nil, err
	}
	v, _, err := s.hub.Command(ctx, cmd.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, commandJSON(v), nil
}
