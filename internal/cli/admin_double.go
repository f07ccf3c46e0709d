package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/fault"
)

// The hub as an integration's test double: faults on demand, the request
// log, and time that moves on a hub started with serve --dev.

type adminFaultSet struct {
	Spec string `arg:"" help:"The fault: KIND,rate=R[,seed=S][,integration=ID|subscription=ID][,ops=OP+OP][,status=N][,delay=D][,code=N][,times=N]. Kinds: refuse, applied-error, timeout, slow, drop-event, delay-event, duplicate-event, reorder-event, close-socket."`
}

func (c *adminFaultSet) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	spec, err := fault.Parse(c.Spec)
	if err != nil {
		return err
	}
	f := admin.Fault{IntegrationId: spec.IntegrationID, SubscriptionId: spec.SubscriptionID, Kind: string(spec.Kind),
		Operations: spec.Operations, Rate: spec.Rate, Seed: spec.Seed, Status: spec.Status, CloseCode: spec.CloseCode, Times: spec.Times}
	if spec.Delay != 0 {
		f.Delay = spec.Delay.String()
	}
	v, err := ac.SetFault(ctx, f)
	if err == nil && !p.json {
		fmt.Fprintf(p.w, "replay with: %s\n", compact(v))
	}
	return p.one(v, err)
}

type adminFaultList struct{}

func (c *adminFaultList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	v, err := ac.Faults(ctx)
	if err != nil || p.json {
		return p.one(struct{ Faults []admin.Fault }{v}, err)
	}
	for _, f := range v {
		spent := ""
		if f.Spent {
			spent = " (spent)"
		}
		fmt.Fprintf(p.w, "%s  %s  matched %d, fired %d%s\n", f.Id, compact(&f), f.Matched, f.Fired, spent)
	}
	return nil
}

type adminFaultClear struct {
	ID string `arg:"" optional:"" help:"The fault's id; without one every fault is cleared."`
}

func (c *adminFaultClear) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	if c.ID != "" {
		return ac.ClearFault(ctx, c.ID)
	}
	n, err := ac.ClearFaults(ctx)
	return p.one(struct{ Cleared int }{n}, err)
}

type adminFaultFirings struct {
	Fault string `help:"Only this fault's."`
	Limit int    `default:"50" help:"At most this many, newest first."`
}

func (c *adminFaultFirings) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Firings", "Utc", "FaultId", "Kind", "N", "Operation", "RequestId", "CommandId", "Detail")(ac.FaultFirings(ctx, c.Fault, c.Limit))
}

// compact is a fault in the form `faults set` and `serve --faults` take.
func compact(f *admin.Fault) string {
	s := fault.Spec{IntegrationID: f.IntegrationId, SubscriptionID: f.SubscriptionId, Kind: fault.Kind(f.Kind),
		Operations: f.Operations, Rate: f.Rate, Seed: f.Seed, Status: f.Status, CloseCode: f.CloseCode, Times: f.Times}
	s.Delay, _ = time.ParseDuration(f.Delay)
	return s.String()
}

// adminRequests reads the request log.
type adminRequests struct {
	Integration  string    `help:"Only this integration's."`
	Subscription string    `help:"Only this subscription's."`
	Operation    string    `help:"Only this operation (commands/update, websocket...)."`
	Kind         string    `help:"request or websocket." enum:",request,websocket" default:""`
	Status       int       `help:"Only this status (404), or class (4 for 4xx)."`
	Command      string    `help:"Only the requests that touched this command."`
	Since        time.Time `help:"Only from this time on (RFC 3339)." format:"2006-01-02T15:04:05Z07:00"`
	Newest       bool      `help:"Newest first (default: in the order they came)."`
	Cursor       string    `help:"Continue after this page."`
	Limit        int       `default:"100" help:"At most this many (1 to 1000)."`
	Body         bool      `help:"Print each request's body (tokens masked) under its line."`
}

func (c *adminRequests) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	page, err := ac.Requests(ctx, admin.RequestFilter{IntegrationId: c.Integration, SubscriptionId: c.Subscription,
		Operation: c.Operation, Kind: c.Kind, Status: c.Status, CommandId: c.Command, Since: c.Since, Newest: c.Newest,
		Cursor: c.Cursor, Limit: c.Limit})
	if err != nil || p.json {
		return p.one(page, err)
	}
	for _, r := range page.Requests {
		line := fmt.Sprintf("%s  %-29s %3d  %6.1f ms  %s", r.Utc, r.Operation, r.Status, r.DurationMs, r.RequestId)
		if len(r.CommandIds) > 0 {
			line += "  commands " + strings.Join(r.CommandIds, " ")
		}
		if r.Kind == "websocket" && r.Status == 101 {
			line += fmt.Sprintf("  %d events", r.Events)
			if !r.Open {
				line += fmt.Sprintf(", closed %d %s", r.CloseCode, r.CloseReason)
			}
		}
		if r.Fault != "" {
			line += "  fault " + r.Fault
		}
		if r.Error != "" {
			line += "  " + r.Error
		}
		fmt.Fprintln(p.w, line)
		if c.Body && r.Body != "" {
			fmt.Fprintf(p.w, "    %s\n", r.Body)
		}
	}
	if page.Cursor != nil {
		fmt.Fprintf(p.w, "(more: --cursor %s)\n", *page.Cursor)
	}
	return nil
}

// adminTimeAdvance moves the time of an enterprise on a hub started with
// --dev.
type adminTimeAdvance struct {
	Enterprise string        `arg:"" help:"Enterprise id."`
	By         time.Duration `arg:"" help:"How far forward, e.g. 24h1m."`
}

func (c *adminTimeAdvance) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.AdvanceTime(ctx, c.Enterprise, c.By))
}
