// Package connectorapi serves the device part of the Mews Connector API:
// POST /api/connector/v1/<resource>/<action> with the tokens in the JSON body,
// the Mews error body, cursor paging and Prefer: return=minimal.
package connectorapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/ratelimit"
	"github.com/bellhop/bellhop/internal/reqlog"
	"github.com/bellhop/bellhop/internal/stage"
)

// Prefix is where the operations live.
const Prefix = "/api/connector/v1/"

// Config configures the Connector API handler.
type Config struct {
	Logger *slog.Logger
	// MaxBody is the largest request body; default httpapi.DefaultMaxBody.
	MaxBody int64
	// Limiter bounds requests per AccessToken; nil means no limit.
	Limiter ratelimit.Limiter
	// Observe, when set, is called after each request with the operation
	// ("" for a URL that is not one), the status and the duration.
	Observe func(op string, status int, d time.Duration)
	// Faults, when set, may act on requests (see package fault).
	Faults *fault.Injector
	// Log, when set, records every request.
	Log *reqlog.Log
	// Stage, when set, receives the time each request spends reading,
	// authenticating and answering, and in all (see package stage).
	Stage stage.Observer
}

// Server is the Connector API's http.Handler.
type Server struct {
	cfg Config
	hub *hub.Service
	ops map[string]operation
}

// operation is one Connector operation: the request shape it decodes and
// what it does with it.
type operation struct {
	newRequest func() tokened
	run        func(ctx context.Context, r *request) (any, error)
}

// tokened is a request body: the common fields and the operation's own.
type tokened interface{ common() *base }

func (b *base) common() *base { return b }

func op[T any, PT interface {
	*T
	tokened
}](run func(ctx context.Context, r *request) (any, error)) operation {
	return operation{newRequest: func() tokened { return PT(new(T)) }, run: run}
}

// request is one call after its body was read and its caller authenticated.
type request struct {
	body    []byte
	decoded tokened // the body, decoded once into the operation's shape
	caller  *bellhop.Caller
	minimal bool   // Prefer: return=minimal
	idemKey string // Idempotency-Key
	path    string
	// touched collects the ids of the commands the operation created,
	// changed or read, for the request log (nil when it keeps none).
	touched *[]string
}

// touchViews records the commands a read returned.
func (r *request) touchViews(views []hub.CommandView) {
	if r.touched != nil {
		*r.touched = slices.Grow(*r.touched, len(views))
		for i := range views {
			*r.touched = append(*r.touched, views[i].ID)
		}
	}
}

// touch records the commands a request touched, for the request log.
func (r *request) touch(ids ...string) {
	if r.touched != nil {
		*r.touched = append(*r.touched, ids...)
	}
}

// New returns the Connector API over the hub service.
func New(cfg Config, h *hub.Service) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = httpapi.DefaultMaxBody
	}
	s := &Server{cfg: cfg, hub: h}
	s.ops = map[string]operation{
		"devices/getAll":               op[base](s.devicesGetAll),
		"commands/getAllActive":        op[getAllActiveRequest](s.getAllActive),
		"commands/getAllByIds":         op[getAllByIdsRequest](s.getAllByIds),
		"commands/update":              op[updateRequest](s.update),
		"commands/addPrinter":          op[addPrinterRequest](s.addPrinter),
		"commands/addKeyCutter":        op[addKeyCutterRequest](s.addKeyCutter),
		"commands/addPaymentTerminal":  op[addPaymentTerminalRequest](s.addPaymentTerminal),
		"fiscalMachineCommands/getAll": op[fiscalRequest](s.fiscalGetAll),
	}
	return s
}

// statusWriter remembers the status for Observe and the request log: 0
// while nothing is answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP routes an exact URL (case matters, no trailing slash) to its
// operation; anything else, or a method other than POST, is 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	op, ok := s.ops[name]
	if !ok || r.Method != http.MethodPost || r.URL.RawQuery != "" || !strings.HasPrefix(r.URL.Path, Prefix) {
		name, op = "", operation{}
	}
	sw := &statusWriter{ResponseWriter: w}
	var e *reqlog.Entry
	if s.cfg.Log != nil {
		e = reqlog.NewEntry(reqlog.KindRequest)
		e.Utc, e.Operation, e.RequestID = s.cfg.Log.Now(), name, httpapi.RequestID(r.Context())
		if name == "" {
			e.Operation = r.Method + " " + r.URL.Path
		}
		// An answer that never comes (a Timeout fault panics the handler
		// away) is logged all the same, with status 0.
		defer func() {
			e.Status = sw.status
			e.Duration = time.Since(start)
			s.cfg.Log.Add(e)
		}()
	}
	err := s.serve(sw, r, name, op, e, start)
	if e != nil && err != nil {
		e.Error = bellhop.ErrorMessage(err)
	}
	if s.cfg.Observe != nil || s.cfg.Stage != nil {
		d := time.Since(start)
		if s.cfg.Observe != nil {
			s.cfg.Observe(name, sw.status, d)
		}
		s.cfg.Stage.Observe(stage.Request, d)
	}
}

// serve answers one request and returns the error it answered with, if any.
// e, when not nil, receives what the request log keeps.
func (s *Server) serve(w *statusWriter, r *http.Request, name string, op operation, e *reqlog.Entry, start time.Time) error {
	log := s.cfg.Logger
	fail := func(err error) error {
		httpapi.WriteError(w, r, log, err)
		return err
	}
	if op.run == nil {
		return fail(httpapi.NotOperation(r))
	}
	buf := bodies.Get().(*[]byte)
	defer bodies.Put(buf)
	body, err := httpapi.ReadBodyInto(r, s.cfg.MaxBody, *buf)
	if err != nil {
		return fail(err)
	}
	if cap(body) > cap(*buf) && cap(body) <= maxPooledBody {
		*buf = body[:0]
	}
	// One decode into the operation's shape. A field of the wrong type is
	// answered only after the tokens are checked, as if the tokens were read
	// first: a caller learns nothing about a body before it is known.
	decoded := op.newRequest()
	decodeErr := httpapi.Decode(body, decoded)
	b, baseErr := decoded.common(), error(nil)
	if decodeErr != nil && decodeErr != httpapi.ErrInvalidJSON {
		b = &base{}
		baseErr = httpapi.Decode(body, b)
	}
	if e != nil {
		// The body is kept only when its tokens could be read, and so masked.
		e.BodySize = len(body)
		if decodeErr != httpapi.ErrInvalidJSON && baseErr == nil {
			s.cfg.Log.KeepBody(e, body, str(b.ClientToken), str(b.AccessToken))
			e.Client = str(b.Client)
		}
	}
	t := s.cfg.Stage.Since(stage.Read, start)
	if decodeErr == httpapi.ErrInvalidJSON {
		return fail(decodeErr)
	}
	if baseErr != nil {
		return fail(baseErr)
	}
	if s.cfg.Limiter != nil && b.AccessToken != nil {
		if ok, retry := s.cfg.Limiter.Allow(r.Context(), bellhop.HashToken(*b.AccessToken)); !ok {
			return fail(&httpapi.RateLimitError{RetryAfter: retry})
		}
	}
	caller, err := s.hub.Authenticate(r.Context(), str(b.ClientToken), str(b.AccessToken))
	t = s.cfg.Stage.Since(stage.Auth, t)
	if err != nil {
		return fail(err)
	}
	s.hub.Seen(caller.Subscription.ID, str(b.Client), r.RemoteAddr) // in memory; written every few seconds
	if e != nil {
		e.IntegrationID, e.SubscriptionID = caller.Integration.ID, caller.Subscription.ID
	}
	if decodeErr != nil {
		return fail(decodeErr)
	}
	req := &request{body: body, decoded: decoded, caller: caller, path: r.URL.Path,
		minimal: preferMinimal(r.Header.Values("Prefer")), idemKey: r.Header.Get("Idempotency-Key")}
	if e != nil {
		req.touched = &e.CommandIDs
		// The command an update names is logged even when it is refused,
		// so that every attempt at it shows under its id.
		if u, ok := decoded.(*updateRequest); ok && u.CommandId != nil {
			if id, ok := bellhop.ParseID(*u.CommandId); ok {
				req.touch(id)
			}
		}
	}
	if len(req.idemKey) > 255 {
		return fail(bellhop.Invalid("Idempotency-Key"))
	}
	d, faulty := s.cfg.Faults.ForRequest(fault.Request{SubscriptionID: caller.Subscription.ID, IntegrationID: caller.Integration.ID,
		Operation: name, RequestID: httpapi.RequestID(r.Context())})
	if faulty {
		if e != nil {
			e.Fault = d.Header()
		}
		if done := httpapi.ActOnFault(w, r, d); done {
			return nil
		}
	}
	resp, err := op.run(r.Context(), req)
	t = s.cfg.Stage.Since(stage.Run, t) // from the end of Auth: what lies between is small
	if faulty && d.Kind == fault.AppliedError {
		httpapi.WriteFaultStatus(w, r, d)
		return nil
	}
	if err != nil {
		return fail(err)
	}
	defer s.cfg.Stage.Since(stage.Respond, t)
	if resp == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// bodies holds request body buffers for reuse. Nothing keeps a body past
// its request: decoding copies what it keeps, and the request log a masked
// copy.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest body buffer kept for reuse: a print job's
// body is a few kilobytes, and a rare large one is not held for the life of
// the process.
const maxPooledBody = 64 << 10

func preferMinimal(values []string) bool {
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "return=minimal") {
				return true
			}
		}
	}
	return false
}

// idempotency returns the key of an add-operation, or nil without the header.
func (r *request) idempotency() *bellhop.Idempotency {
	if r.idemKey == "" {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(r.path))
	h.Write([]byte{'\n'})
	h.Write(r.body) // hashed where it lies: a print job's body is kilobytes
	return &bellhop.Idempotency{Key: r.idemKey, RequestHash: hex.EncodeToString(h.Sum(nil))}
}

func (s *Server) devicesGetAll(ctx context.Context, r *request) (any, error) {
	devs, err := s.hub.Devices(ctx, r.caller)
	if err != nil {
		return nil, err
	}
	out := struct{ Devices []device }{Devices: make([]device, len(devs))}
	for i := range devs {
		out.Devices[i] = deviceOf(&devs[i])
	}
	return out, nil
}

// commandsPage renders a page of commands; with Prefer: return=minimal an
// empty page of a paged request is 204.
func commandsPage(views []hub.CommandView, cursor string, paged, minimal bool) any {
	if paged && minimal && len(views) == 0 {
		return nil
	}
	out := commandsResponse{Commands: make([]command, len(views))}
	for i := range views {
		out.Commands[i] = commandOf(&views[i])
	}
	if paged {
		out.Cursor = &cursor
		if cursor == "" {
			out.Cursor = nil
		}
	}
	return out
}

func (s *Server) getAllActive(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*getAllActiveRequest)
	p, err := req.Limitation.page()
	if err != nil {
		return nil, err
	}
	views, cursor, err := s.hub.ActiveCommands(ctx, r.caller, p)
	if err != nil {
		return nil, err
	}
	r.touchViews(views)
	out := commandsPage(views, cursor, p != nil, r.minimal)
	if c, ok := out.(commandsResponse); ok && p == nil && cursor != "" {
		c.Cursor = &cursor // the response lists Cursor; give it when there are items
		return c, nil
	}
	return out, nil
}

func (s *Server) getAllByIds(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*getAllByIdsRequest)
	if req.CommandIds == nil {
		return nil, bellhop.Invalid("CommandIds")
	}
	p, err := req.Limitation.page()
	if err != nil {
		return nil, err
	}
	views, cursor, err := s.hub.CommandsByIDs(ctx, r.caller, req.CommandIds, p)
	if err != nil {
		return nil, err
	}
	r.touchViews(views)
	return commandsPage(views, cursor, p != nil, r.minimal), nil
}

func (s *Server) update(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*updateRequest)
	if req.CommandId == nil {
		return nil, bellhop.Invalid("CommandId")
	}
	if req.State == nil {
		return nil, bellhop.Invalid("State")
	}
	u := bellhop.Update{State: *req.State, Progress: req.Progress, Notes: str(req.Notes)}
	if x := req.ExternalRequestIdentifier; x != nil {
		if x.Value == nil || *x.Value == "" {
			return nil, bellhop.InvalidBecause("ExternalRequestIdentifier", "Value is required: the reference of what the update reports, such as a terminal's transaction id.")
		}
		u.ExternalID = *x.Value
	}
	if err := s.hub.UpdateCommand(ctx, r.caller, *req.CommandId, u); err != nil {
		return nil, err
	}
	if r.minimal {
		return nil, nil
	}
	return struct{}{}, nil
}

func (s *Server) addPrinter(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*addPrinterRequest)
	for _, f := range []struct {
		ok   bool
		name string
	}{{req.PrinterId != nil, "PrinterId"}, {req.Data != nil, "Data"}, {req.CopyCount != nil, "CopyCount"}} {
		if err := httpapi.Required(f.ok, f.name); err != nil {
			return nil, err
		}
	}
	id, err := s.hub.AddPrinterCommand(ctx, r.caller, hub.AddPrinter{EnterpriseID: str(req.EnterpriseId),
		PrinterID: *req.PrinterId, Data: *req.Data, CopyCount: *req.CopyCount}, r.idempotency())
	if err != nil {
		return nil, err
	}
	r.touch(id)
	return commandIDResponse{CommandId: id}, nil
}

func (s *Server) addKeyCutter(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*addKeyCutterRequest)
	for _, f := range []struct {
		ok   bool
		name string
	}{{req.KeyCutterId != nil, "KeyCutterId"}, {req.ReservationId != nil, "ReservationId"}, {req.KeyCount != nil, "KeyCount"}} {
		if err := httpapi.Required(f.ok, f.name); err != nil {
			return nil, err
		}
	}
	id, err := s.hub.AddKeyCutterCommand(ctx, r.caller, hub.AddKeyCutter{EnterpriseID: str(req.EnterpriseId),
		KeyCutterID: *req.KeyCutterId, ReservationID: *req.ReservationId, KeyCount: *req.KeyCount}, r.idempotency())
	if err != nil {
		return nil, err
	}
	r.touch(id)
	return commandIDResponse{CommandId: id}, nil
}

func (s *Server) addPaymentTerminal(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*addPaymentTerminalRequest)
	for _, f := range []struct {
		ok   bool
		name string
	}{{req.TerminalId != nil, "TerminalId"}, {req.CustomerId != nil, "CustomerId"}, {req.Type != nil, "Type"}} {
		if err := httpapi.Required(f.ok, f.name); err != nil {
			return nil, err
		}
	}
	var amount *bellhop.AmountRequest
	if a := req.Amount; a != nil {
		amount = &bellhop.AmountRequest{Currency: str(a.Currency), Value: a.Value, Net: a.Net, Tax: a.Tax, TaxRate: a.TaxRate}
	}
	id, err := s.hub.AddPaymentTerminalCommand(ctx, r.caller, hub.AddPaymentTerminal{TerminalID: *req.TerminalId,
		CustomerID: *req.CustomerId, Kind: bellhop.PaymentKind(*req.Type), Amount: amount, BillID: str(req.BillId),
		PaymentRequestID: str(req.PaymentRequestId), ReservationID: str(req.ReservationId)}, r.idempotency())
	if err != nil {
		return nil, err
	}
	r.touch(id)
	return commandIDResponse{CommandId: id}, nil
}

func (s *Server) fiscalGetAll(ctx context.Context, r *request) (any, error) {
	req := r.decoded.(*fiscalRequest)
	p, err := req.Limitation.page()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, bellhop.Invalid("Limitation")
	}
	q := hub.FiscalQuery{CommandIDs: req.CommandIds, DeviceIDs: req.DeviceIds, States: req.States,
		EnterpriseIDs: req.EnterpriseIds, Page: p}
	if req.UpdatedUtc != nil {
		q.Updated = &hub.Interval{}
		if q.Updated.Start, err = parseTime(req.UpdatedUtc.StartUtc, "UpdatedUtc StartUtc"); err != nil {
			return nil, err
		}
		if q.Updated.End, err = parseTime(req.UpdatedUtc.EndUtc, "UpdatedUtc EndUtc"); err != nil {
			return nil, err
		}
	}
	views, cursor, err := s.hub.FiscalCommands(ctx, r.caller, q)
	if err != nil {
		return nil, err
	}
	r.touchViews(views)
	if len(views) == 0 && r.minimal {
		return nil, nil
	}
	out := fiscalResponse{Commands: make([]fiscalCommand, len(views))}
	for i := range views {
		out.Commands[i] = fiscalOf(&views[i])
	}
	if cursor != "" {
		out.Cursor = &cursor
	}
	return out, nil
}

// parseTime parses an optional time: nil when absent or null.
func parseTime(s *string, field string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := bellhop.ParseTime(*s)
	if err != nil {
		return nil, bellhop.InvalidBecause(field, "%q is not an ISO 8601 time such as 2025-01-10T00:00:00Z.", *s)
	}
	return &t, nil
}
