package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// What makes a hub the test double of an integration: faults on demand, the
// request log, and (on a hub started with serve --dev) time that moves.

// Fault kinds. Request faults act on Connector requests (and the opening of
// a WebSocket where they make sense); event faults on the WebSocket events
// of the sockets in their scope.
const (
	// FaultRefuse answers Status (429 with Retry-After, 500, 503...)
	// without carrying the request out: nothing changes.
	FaultRefuse = "refuse"
	// FaultAppliedError carries the request out, then answers Status
	// (default 500) instead of its answer: the change is made.
	FaultAppliedError = "applied-error"
	// FaultTimeout holds the request, not carried out, until Delay (30 s)
	// or the client gives up, then drops the connection unanswered.
	FaultTimeout = "timeout"
	// FaultSlow waits Delay (2 s), then carries the request out.
	FaultSlow = "slow"
	// FaultDropEvent does not send the event.
	FaultDropEvent = "drop-event"
	// FaultDelayEvent sends the event Delay (1 s) late.
	FaultDelayEvent = "delay-event"
	// FaultDuplicateEvent sends the event twice.
	FaultDuplicateEvent = "duplicate-event"
	// FaultReorderEvent sends the event after the next one (or Delay late).
	FaultReorderEvent = "reorder-event"
	// FaultCloseSocket closes the socket with CloseCode (1011) instead of
	// sending the event.
	FaultCloseSocket = "close-socket"
)

// Fault is a fault set on a hub node. In a create, leave the answer's
// fields (Id, Seed when a random one will do, CreatedUtc, CreatedBy,
// Matched, Fired, Spent) empty.
type Fault struct {
	Id string `json:",omitempty"`
	// IntegrationId or SubscriptionId scope the fault; with neither it
	// applies to every integration.
	IntegrationId  string `json:",omitempty"`
	SubscriptionId string `json:",omitempty"`
	Kind           string
	// Operations limits a request fault to these Connector operations
	// ("commands/update") and "websocket"; none: every one.
	Operations []string `json:",omitempty"`
	// Rate is the share of opportunities that fire, in (0, 1].
	Rate float64
	// Seed decides which opportunities fire: the n-th one fires or not by
	// Seed and n alone. 0 asks the hub for a random seed, which the answer
	// carries: set it again to replay a run.
	Seed      uint64 `json:",omitempty"`
	Status    int    `json:",omitempty"`
	Delay     string `json:",omitempty"` // a duration: "1.5s", "2m"
	CloseCode int    `json:",omitempty"`
	// Times, when not 0, is how often the fault may fire.
	Times      int64  `json:",omitempty"`
	CreatedUtc string `json:",omitempty"`
	CreatedBy  string `json:",omitempty"`
	// Matched counts the opportunities the fault matched, Fired those it
	// acted on; Spent says it fired its Times.
	Matched int64 `json:",omitempty"`
	Fired   int64 `json:",omitempty"`
	Spent   bool  `json:",omitempty"`
}

// FaultFiring is one act of a fault.
type FaultFiring struct {
	Seq            int64
	Utc            string
	FaultId        string
	Kind           string
	N              int64 // the opportunity it fired on, from 0
	IntegrationId  string
	SubscriptionId string
	Operation      string // a Connector operation, "websocket" or "event"
	RequestId      string `json:",omitempty"`
	CommandId      string `json:",omitempty"`
	Detail         string
}

// SetFault sets a fault on the hub node that answers and returns it as set.
// Faults live in that node's memory: they end with the process.
func (c *Client) SetFault(ctx context.Context, f Fault) (*Fault, error) {
	return call[Fault](ctx, c, http.MethodPost, "faults", f)
}

// Faults lists the faults set, with what each did so far.
func (c *Client) Faults(ctx context.Context) ([]Fault, error) {
	out, err := call[struct{ Faults []Fault }](ctx, c, http.MethodGet, "faults", nil)
	if err != nil {
		return nil, err
	}
	return out.Faults, nil
}

// ClearFault removes one fault.
func (c *Client) ClearFault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "faults/"+url.PathEscape(id), nil, nil)
}

// ClearFaults removes every fault and returns how many there were.
func (c *Client) ClearFaults(ctx context.Context) (int, error) {
	out, err := call[struct{ Cleared int }](ctx, c, http.MethodDelete, "faults", nil)
	if err != nil {
		return 0, err
	}
	return out.Cleared, nil
}

// FaultFirings returns the last acts of faults, newest first: of one fault
// when faultID is not "", at most limit (0: every one kept, up to 1,000).
func (c *Client) FaultFirings(ctx context.Context, faultID string, limit int) ([]FaultFiring, error) {
	q := url.Values{}
	if faultID != "" {
		q.Set("faultId", faultID)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	out, err := call[struct{ Firings []FaultFiring }](ctx, c, http.MethodGet, "faults/firings?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return out.Firings, nil
}

// Request is one entry of the request log: a Connector request, or a
// WebSocket session (Kind "websocket").
type Request struct {
	Seq            int64
	Kind           string // "request" or "websocket"
	Utc            string // when it arrived, with fractions of a second
	DurationMs     float64
	Operation      string // "commands/update", "websocket", or the method and path of a URL that is no operation
	IntegrationId  string `json:",omitempty"` // empty when the tokens were refused
	SubscriptionId string `json:",omitempty"`
	Client         string `json:",omitempty"`
	Status         int    // 0 when no answer was sent
	RequestId      string
	// CommandIds are the commands it touched (created, read, updated), and
	// the one an update names even when it was refused.
	CommandIds []string `json:",omitempty"`
	// Body is the request body with its tokens masked (***), cut after
	// the log's limit (BodyTruncated); BodySize is its whole size.
	Body          string `json:",omitempty"`
	BodySize      int    `json:",omitempty"`
	BodyTruncated bool   `json:",omitempty"`
	Error         string `json:",omitempty"`
	// Fault is the id and kind of the fault that acted on it.
	Fault string `json:",omitempty"`
	// A WebSocket session: whether it is still open, when and how it
	// closed, how many events it was sent.
	Open        bool   `json:",omitempty"`
	ClosedUtc   string `json:",omitempty"`
	CloseCode   int    `json:",omitempty"`
	CloseReason string `json:",omitempty"`
	Events      int    `json:",omitempty"`
}

// DecodeBody decodes the logged body into v; a body cut short cannot be.
func (r Request) DecodeBody(v any) error {
	if r.BodyTruncated {
		return errors.New("admin: the logged body was cut short")
	}
	if r.Body == "" {
		return errors.New("admin: no body was logged")
	}
	return json.Unmarshal([]byte(r.Body), v)
}

// RequestFilter selects entries of the request log. Zero fields do not
// filter.
type RequestFilter struct {
	IntegrationId  string
	SubscriptionId string
	Operation      string
	Kind           string
	// Status is an exact status (404) or a class (4 for every 4xx).
	Status    int
	CommandId string
	Since     time.Time
	// Newest lists newest first; default oldest first, the order in which
	// they came.
	Newest bool
	// Cursor continues a page (RequestPage.Cursor).
	Cursor string
	// Limit is the page size, 1 to 1,000; default 1,000.
	Limit int
}

// RequestPage is one page of the request log; Cursor, when not nil,
// continues it.
type RequestPage struct {
	Requests []Request
	Cursor   *string
}

// Requests returns one page of the request log of the node that answers.
func (c *Client) Requests(ctx context.Context, f RequestFilter) (RequestPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"integrationId": f.IntegrationId, "subscriptionId": f.SubscriptionId,
		"operation": f.Operation, "kind": f.Kind, "commandId": f.CommandId, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if f.Newest {
		q.Set("order", "newest")
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page RequestPage
	err := c.do(ctx, http.MethodGet, "requests?"+q.Encode(), nil, &page)
	return page, err
}

// AllRequests pages through every entry that f selects.
func (c *Client) AllRequests(ctx context.Context, f RequestFilter) ([]Request, error) {
	var all []Request
	for {
		page, err := c.Requests(ctx, f)
		if err != nil {
			return all, err
		}
		all = append(all, page.Requests...)
		if page.Cursor == nil {
			return all, nil
		}
		f.Cursor = *page.Cursor
	}
}

// TimeAdvance is what [Client.AdvanceTime] did.
type TimeAdvance struct {
	EnterpriseId string
	Advanced     string // the duration, "24h1m0s"
	// Commands counts the enterprise's commands whose times moved.
	Commands int
	// Swept is what expiry and retention did right after.
	Swept Sweep
}

// Sweep counts what one run of expiry and retention did.
type Sweep struct {
	Cancelled, Failed, Purged int
}

// AdvanceTime lets d pass for an enterprise's commands and runs expiry and
// retention at once: every time of its commands (created, updated, history)
// moves back by d, so a command left Pending for more than 24 h is Cancelled
// and one left Processing for more than 15 min is Error before the call
// returns. Only a hub started with serve --dev moves time.
func (c *Client) AdvanceTime(ctx context.Context, enterpriseID string, d time.Duration) (*TimeAdvance, error) {
	return call[TimeAdvance](ctx, c, http.MethodPost, "enterprises/"+url.PathEscape(enterpriseID)+"/time",
		struct{ Advance string }{d.String()})
}
