package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/reqlog"
)

// Faults on demand, the request log and (serve --dev) time that moves: the
// hub as an integration's test double.

// faultJSON is a fault as the admin API shows it.
func faultJSON(st fault.State) admin.Fault {
	f := admin.Fault{Id: st.ID, IntegrationId: st.IntegrationID, SubscriptionId: st.SubscriptionID, Kind: string(st.Kind),
		Operations: st.Operations, Rate: st.Rate, Seed: st.Seed, Status: st.Status, CloseCode: st.CloseCode, Times: st.Times,
		CreatedUtc: bellhop.FormatTime(st.CreatedUtc), CreatedBy: st.CreatedBy, Matched: st.Matched, Fired: st.Fired, Spent: st.Spent}
	if st.Delay != 0 {
		f.Delay = st.Delay.String()
	}
	return f
}

// faultSpec reads a fault as the admin API takes it.
func faultSpec(f admin.Fault) (fault.Spec, error) {
	spec := fault.Spec{IntegrationID: f.IntegrationId, SubscriptionID: f.SubscriptionId, Kind: fault.Kind(f.Kind),
		Operations: f.Operations, Rate: f.Rate, Seed: f.Seed, Status: f.Status, CloseCode: f.CloseCode, Times: f.Times}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil {
			return spec, bellhop.Errorf(bellhop.EINVALID, "Invalid Delay: a duration such as 1.5s or 2m")
		}
		spec.Delay = d
	}
	return spec, nil
}

func (s *Server) setFault(ctx context.Context, r *http.Request, who string) (int, any, error) {
	var req admin.Fault
	if err := s.decode(r, &req); err != nil {
		return 0, nil, err
	}
	spec, err := faultSpec(req)
	if err != nil {
		return 0, nil, err
	}
	set, err := s.hub.SetFault(ctx, tokenActor(r, who), spec)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, faultJSON(fault.State{Spec: set}), nil
}

func (s *Server) listFaults(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	out := struct{ Faults []admin.Fault }{Faults: []admin.Fault{}}
	for _, st := range s.hub.Faults() {
		out.Faults = append(out.Faults, faultJSON(st))
	}
	return http.StatusOK, out, nil
}

func (s *Server) clearFault(ctx context.Context, r *http.Request, who string) (int, any, error) {
	return http.StatusNoContent, nil, s.hub.ClearFault(ctx, tokenActor(r, who), r.PathValue("id"))
}

func (s *Server) clearFaults(ctx context.Context, r *http.Request, who string) (int, any, error) {
	return http.StatusOK, struct{ Cleared int }{s.hub.ClearFaults(ctx, tokenActor(r, who))}, nil
}

// firingJSON is a fault's act as the admin API shows it.
func firingJSON(f fault.Firing) admin.FaultFiring {
	return admin.FaultFiring{Seq: f.Seq, Utc: f.Utc.Format(time.RFC3339Nano), FaultId: f.FaultID, Kind: string(f.Kind), N: f.N,
		IntegrationId: f.IntegrationID, SubscriptionId: f.SubscriptionID, Operation: f.Operation, RequestId: f.RequestID,
		CommandId: f.CommandID, Detail: f.Detail}
}

func (s *Server) faultFirings(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		return 0, nil, err
	}
	firings, err := s.hub.FaultFirings(q.Get("faultId"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := struct{ Firings []admin.FaultFiring }{Firings: []admin.FaultFiring{}}
	for _, f := range firings {
		out.Firings = append(out.Firings, firingJSON(f))
	}
	return http.StatusOK, out, nil
}

func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, bellhop.Invalid(name)
	}
	return n, nil
}

// requestJSON is an entry of the request log as the admin API shows it.
func requestJSON(e *reqlog.Entry) admin.Request {
	out := admin.Request{Seq: e.Seq, Kind: e.Kind, Utc: e.Utc.Format(time.RFC3339Nano),
		DurationMs: float64(e.Duration.Microseconds()) / 1000, Operation: e.Operation, IntegrationId: e.IntegrationID,
		SubscriptionId: e.SubscriptionID, Client: e.Client, Status: e.Status, RequestId: e.RequestID, CommandIds: e.CommandIDs,
		Body: string(e.Body), BodySize: e.BodySize, BodyTruncated: e.BodyCut, Error: e.Error,
		Fault: e.Fault, Open: e.Open, CloseCode: e.CloseCode, CloseReason: e.CloseReason, Events: e.Events}
	if !e.ClosedUtc.IsZero() {
		out.ClosedUtc = e.ClosedUtc.Format(time.RFC3339Nano)
	}
	if !json.Valid(e.Body) && !out.BodyTruncated {
		out.Body = "" // never half a body that claims to be whole
	}
	return out
}

// parseRequestFilter reads the request log's query parameters.
func parseRequestFilter(q map[string][]string) (reqlog.Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := reqlog.Filter{IntegrationID: get("integrationId"), SubscriptionID: get("subscriptionId"), Operation: get("operation"),
		Kind: get("kind"), CommandID: get("commandId")}
	var err error
	if f.Status, err = intParam(get("status"), "status"); err != nil {
		return f, err
	}
	if f.Limit, err = intParam(get("limit"), "limit"); err != nil {
		return f, err
	}
	if v := get("since"); v != "" {
		if f.Since, err = bellhop.ParseTime(v); err != nil {
			return f, bellhop.Invalid("since")
		}
	}
	switch get("order") {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		return f, bellhop.Errorf(bellhop.EINVALID, "Invalid order: oldest or newest")
	}
	if v := get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, bellhop.Invalid("cursor")
		}
		if f.Newest {
			f.Before = n
		} else {
			f.After = n
		}
	}
	return f, nil
}

func (s *Server) listRequests(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	f, err := parseRequestFilter(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	entries, more, err := s.hub.Requests(f)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Requests []admin.Request
		Cursor   *string
	}{Requests: make([]admin.Request, len(entries))}
	for i := range entries {
		out.Requests[i] = requestJSON(&entries[i])
	}
	if more && len(entries) > 0 {
		c := strconv.FormatInt(entries[len(entries)-1].Seq, 10)
		out.Cursor = &c
	}
	return http.StatusOK, out, nil
}

func (s *Server) advanceTime(ctx context.Context, r *http.Request, who string) (int, any, error) {
	var req struct{ Advance string }
	if err := s.decode(r, &req); err != nil {
		return 0, nil, err
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil {
		return 0, nil, bellhop.Errorf(bellhop.EINVALID, "Invalid Advance: a duration such as 24h1m")
	}
	adv, err := s.hub.AdvanceTime(ctx, tokenActor(r, who), r.PathValue("id"), d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, admin.TimeAdvance{EnterpriseId: r.PathValue("id"), Advanced: d.String(), Commands: adv.Commands,
		Swept: admin.Sweep{Cancelled: adv.Swept.Cancelled, Failed: adv.Swept.Failed, Purged: adv.Swept.Purged}}, nil
}
