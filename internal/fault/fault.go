// Package fault injects faults on demand into what a hub node answers and
// sends: Connector requests refused, answered late, applied but answered
// with an error, or left without an answer; WebSocket events dropped,
// delayed, sent twice or out of order, and sockets closed. It lets an
// integration's tests see the failures that production will show them, on
// purpose and reproducibly.
//
// A fault applies to one integration, one subscription or every integration,
// and fires on a share (Rate) of the opportunities it matches: the n-th
// opportunity fires or not by the fault's Seed and n alone, so a client that
// sends the same requests in the same order sees the same faults again.
//
// Faults live in the node's memory and never touch the store: a fault changes
// what a client is told or when, never what is stored. With no fault set, a
// request or event pays one atomic load.
//
// This package decides; the HTTP and WebSocket adapters act on the decision.
// It knows nothing of HTTP.
package fault

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop"
)

// Kind is what a fault does.
type Kind string

// Faults of Connector requests (and of the WebSocket's opening, where they
// make sense). Each fires before the request is carried out, except
// AppliedError, which carries it out first.
const (
	// Refuse answers Status (429 with Retry-After, 500, 503, ...) and does
	// nothing: the request is not carried out.
	Refuse Kind = "refuse"
	// AppliedError carries the request out as usual, whatever its outcome,
	// and then answers Status (default 500) instead of its answer: what a
	// client sees when a server fails after its commit. The change is stored
	// and its events are sent; a client that repeats the request must find
	// it already done.
	AppliedError Kind = "applied-error"
	// Timeout holds the request without carrying it out until Delay
	// (default 30 s) has passed or the client gave up, then drops the
	// connection without an answer.
	Timeout Kind = "timeout"
	// Slow waits Delay (default 2 s), then carries the request out and
	// answers as usual.
	Slow Kind = "slow"
)

// Faults of WebSocket events, decided per event and socket.
const (
	// DropEvent does not send the event on this socket.
	DropEvent Kind = "drop-event"
	// DelayEvent sends the event Delay (default 1 s) late, after events
	// that came later.
	DelayEvent Kind = "delay-event"
	// DuplicateEvent sends the event twice.
	DuplicateEvent Kind = "duplicate-event"
	// ReorderEvent holds the event back and sends it after the next one, or
	// after Delay (default 1 s) when no other comes.
	ReorderEvent Kind = "reorder-event"
	// CloseSocket closes the socket with CloseCode (default 1011) instead
	// of sending the event; the client must reconnect and catch up.
	CloseSocket Kind = "close-socket"
)

// Kinds lists every kind: request faults first, then event faults.
var Kinds = []Kind{Refuse, AppliedError, Timeout, Slow, DropEvent, DelayEvent, DuplicateEvent, ReorderEvent, CloseSocket}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Event reports whether k is a fault of WebSocket events.
func (k Kind) Event() bool {
	switch k {
	case DropEvent, DelayEvent, DuplicateEvent, ReorderEvent, CloseSocket:
		return true
	}
	return false
}

// Statuses a Refuse or AppliedError fault may answer.
var Statuses = []int{408, 429, 500, 502, 503, 504}

// Close codes a CloseSocket fault may send: the codes a server may send
// (RFC 6455: 1000-1003, 1007-1014) and the ones applications own
// (3000-4999).
func validCloseCode(c int) bool {
	return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 || c >= 3000 && c <= 4999
}

// Limits on a fault.
const (
	MaxDelay = 10 * time.Minute
	MaxFault = 100 // faults set at once on a node
)

// Spec is one fault as it is set.
type Spec struct {
	ID string
	// IntegrationID or SubscriptionID scope the fault; with neither it
	// applies to every integration.
	IntegrationID  string
	SubscriptionID string
	Kind           Kind
	// Operations limits a request fault to these operations (bellhop.Operations
	// and bellhop.OperationWebSocket); none means every operation, and the
	// WebSocket's opening for Refuse, Timeout and Slow.
	Operations []string
	// Rate is the share of matching opportunities that fire, more than 0
	// and at most 1.
	Rate float64
	// Seed decides which opportunities fire; 0 asks for a random one,
	// which the fault then shows.
	Seed uint64
	// Status is the answer of Refuse and AppliedError; default 503 for
	// Refuse and 500 for AppliedError. A 429 carries Retry-After: Delay
	// rounded up to seconds (default 1).
	Status int
	// Delay: see each Kind.
	Delay time.Duration
	// CloseCode is what CloseSocket closes with; default 1011.
	CloseCode int
	// Times, when not 0, is how often the fault may fire; then it is spent.
	Times int64
	// CreatedUtc and CreatedBy say when and by whom it was set.
	CreatedUtc time.Time
	CreatedBy  string
}

// normalize checks s and fills in its defaults. Errors are EINVALID with a
// message naming the field.
func (s *Spec) normalize() error {
	var ok bool
	if s.IntegrationID != "" && s.SubscriptionID != "" {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid scope: give an IntegrationId or a SubscriptionId, not both")
	}
	if s.IntegrationID != "" {
		if s.IntegrationID, ok = bellhop.ParseID(s.IntegrationID); !ok {
			return bellhop.Invalid("IntegrationId")
		}
	}
	if s.SubscriptionID != "" {
		if s.SubscriptionID, ok = bellhop.ParseID(s.SubscriptionID); !ok {
			return bellhop.Invalid("SubscriptionId")
		}
	}
	if !s.Kind.Valid() {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Kind: one of %s", joinKinds())
	}
	if !(s.Rate > 0 && s.Rate <= 1) {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Rate: more than 0 and at most 1")
	}
	if s.Kind.Event() && len(s.Operations) > 0 {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Operations: an event fault applies to every event of its sockets")
	}
	ops := make([]string, 0, len(s.Operations))
	for _, op := range s.Operations {
		if !bellhop.ValidOperation(op) {
			return bellhop.Errorf(bellhop.EINVALID, "Invalid Operations: %q is not one of %s, %s", op,
				strings.Join(bellhop.Operations, ", "), bellhop.OperationWebSocket)
		}
		if op == bellhop.OperationWebSocket && s.Kind == AppliedError {
			return bellhop.Errorf(bellhop.EINVALID, "Invalid Operations: opening a WebSocket applies nothing, so %s does not apply to it", AppliedError)
		}
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	s.Operations = ops
	switch s.Kind {
	case Refuse, AppliedError:
		if s.Status == 0 {
			s.Status = map[Kind]int{Refuse: 503, AppliedError: 500}[s.Kind]
		}
		if !slices.Contains(Statuses, s.Status) {
			return bellhop.Errorf(bellhop.EINVALID, "Invalid Status: one of %s", fmt.Sprint(Statuses))
		}
		if s.Status == 429 && s.Delay == 0 {
			s.Delay = time.Second
		}
	case Timeout:
		s.Delay = or(s.Delay, 30*time.Second)
	case Slow:
		s.Delay = or(s.Delay, 2*time.Second)
	case DelayEvent, ReorderEvent:
		s.Delay = or(s.Delay, time.Second)
	case CloseSocket:
		if s.CloseCode == 0 {
			s.CloseCode = 1011
		}
		if !validCloseCode(s.CloseCode) {
			return bellhop.Errorf(bellhop.EINVALID, "Invalid CloseCode: 1000-1003, 1007-1014 or 3000-4999")
		}
	}
	if s.Status != 0 && s.Kind != Refuse && s.Kind != AppliedError {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Status: only %s and %s answer a status", Refuse, AppliedError)
	}
	if s.CloseCode != 0 && s.Kind != CloseSocket {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid CloseCode: only %s closes a socket", CloseSocket)
	}
	if s.Delay < 0 || s.Delay > MaxDelay {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Delay: from 0 to %s", MaxDelay)
	}
	if s.Times < 0 {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Times: 0 (no limit) or more")
	}
	for s.Seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		s.Seed = binary.LittleEndian.Uint64(b[:]) >> 11 // small enough to survive a JSON number
	}
	return nil
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func joinKinds() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Fire reports whether the n-th opportunity (from 0) of a fault with this
// seed and rate fires: a splitmix64 draw from seed and n, below rate. It
// depends on nothing else, which is what makes a run replayable.
func Fire(seed uint64, n int64, rate float64) bool {
	z := seed + uint64(n+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)/(1<<53) < rate
}

// State is a fault with what it did so far.
type State struct {
	Spec
	// Matched counts the opportunities it matched, Fired those it acted on.
	Matched, Fired int64
	// Spent says it fired its Times and does no more.
	Spent bool
}

// Firing is one act of a fault.
type Firing struct {
	Seq            int64
	Utc            time.Time
	FaultID        string
	Kind           Kind
	N              int64 // the opportunity it fired on, from 0
	IntegrationID  string
	SubscriptionID string
	// Operation is the Connector operation or "websocket" of a request
	// fault, "event" for an event fault.
	Operation string
	RequestID string // of a request fault
	CommandID string // of an event fault
	Detail    string // what it did, in words
}

// Decision is what an adapter must do: the fault that fired and its
// parameters.
type Decision struct {
	FaultID   string
	Kind      Kind
	Status    int
	Delay     time.Duration
	CloseCode int
}

// fault is a Spec with its counters, shared by every set that holds it.
type fault struct {
	Spec
	matched, fired atomic.Int64
}

// set is the faults in effect: immutable, replaced whole on every change.
type set struct {
	requests, events []*fault
}

// Injector holds a node's faults. The zero value is not usable; a nil
// *Injector injects nothing.
type Injector struct {
	now    func() time.Time
	active atomic.Pointer[set] // nil when no fault is set

	mu     sync.Mutex
	faults []*fault // in the order they were set
	fired  []Firing // a ring of the last MaxFirings
	seq    int64
}

// MaxFirings is how many firings an Injector remembers.
const MaxFirings = 1000

// New returns an injector with no faults; now is its clock (time.Now when
// nil).
func New(now func() time.Time) *Injector {
	if now == nil {
		now = time.Now
	}
	return &Injector{now: now}
}

// Add sets a fault, checked and with its defaults, and returns it as set.
// Its ID is made when empty.
func (in *Injector) Add(s Spec) (Spec, error) {
	if err := s.normalize(); err != nil {
		return s, err
	}
	if s.ID == "" {
		s.ID = bellhop.NewID()
	}
	if s.CreatedUtc.IsZero() {
		s.CreatedUtc = in.now().UTC()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.faults) >= MaxFault {
		return s, bellhop.Errorf(bellhop.EINVALID, "Too many faults: at most %d at once", MaxFault)
	}
	in.faults = append(in.faults, &fault{Spec: s})
	in.publish()
	return s, nil
}

// Remove clears the fault with this id and reports whether there was one.
func (in *Injector) Remove(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	i := slices.IndexFunc(in.faults, func(f *fault) bool { return f.ID == id })
	if i < 0 {
		return false
	}
	in.faults = slices.Delete(in.faults, i, i+1)
	in.publish()
	return true
}

// Clear removes every fault and returns how many there were.
func (in *Injector) Clear() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := len(in.faults)
	in.faults = nil
	in.publish()
	return n
}

// publish replaces the set in effect; in.mu is held.
func (in *Injector) publish() {
	if len(in.faults) == 0 {
		in.active.Store(nil)
		return
	}
	s := &set{}
	for _, f := range in.faults {
		if f.Kind.Event() {
			s.events = append(s.events, f)
		} else {
			s.requests = append(s.requests, f)
		}
	}
	in.active.Store(s)
}

// List returns every fault set, in the order it was set.
func (in *Injector) List() []State {
	if in == nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]State, len(in.faults))
	for i, f := range in.faults {
		fired := f.fired.Load()
		out[i] = State{Spec: f.Spec, Matched: f.matched.Load(), Fired: fired, Spent: f.Times > 0 && fired >= f.Times}
		out[i].Operations = slices.Clone(f.Operations)
	}
	return out
}

// Firings returns the last firings, newest first: at most limit (all that
// are kept when 0), of one fault when faultID is not "".
func (in *Injector) Firings(faultID string, limit int) []Firing {
	if in == nil {
		return []Firing{}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	out := []Firing{}
	for i := len(in.fired) - 1; i >= 0; i-- {
		// The ring is in order once rotated: see record.
		f := in.fired[(int(in.seq)-len(in.fired)+i)%len(in.fired)]
		if faultID != "" && f.FaultID != faultID {
			continue
		}
		out = append(out, f)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// record remembers a firing.
func (in *Injector) record(f Firing) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f.Seq = in.seq + 1
	f.Utc = in.now().UTC()
	if len(in.fired) < MaxFirings {
		in.fired = append(in.fired, f)
	} else {
		in.fired[int(in.seq)%MaxFirings] = f
	}
	in.seq++
}

// Request is one Connector request (or WebSocket opening) that a request
// fault may act on.
type Request struct {
	SubscriptionID, IntegrationID string
	Operation                     string
	RequestID                     string
}

// ForRequest decides whether a request fault fires for r. With no fault
// set it costs one atomic load.
func (in *Injector) ForRequest(r Request) (Decision, bool) {
	if in == nil {
		return Decision{}, false
	}
	s := in.active.Load()
	if s == nil || len(s.requests) == 0 {
		return Decision{}, false
	}
	ws := r.Operation == bellhop.OperationWebSocket
	var hit *fault
	var n int64
	for _, f := range s.requests {
		if !f.scoped(r.SubscriptionID, r.IntegrationID) {
			continue
		}
		if len(f.Operations) == 0 && ws && f.Kind == AppliedError ||
			len(f.Operations) > 0 && !slices.Contains(f.Operations, r.Operation) {
			continue
		}
		// Every matching fault counts the opportunity, so each one's
		// sequence of decisions depends only on its own seed.
		if m := f.matched.Add(1) - 1; Fire(f.Seed, m, f.Rate) && hit == nil && f.take() {
			hit, n = f, m
		}
	}
	if hit == nil {
		return Decision{}, false
	}
	d := hit.decision()
	in.record(Firing{FaultID: hit.ID, Kind: hit.Kind, N: n, IntegrationID: r.IntegrationID, SubscriptionID: r.SubscriptionID,
		Operation: r.Operation, RequestID: r.RequestID, Detail: d.describe()})
	return d, true
}

// EventsOn reports whether any event fault is set: one atomic load, so that
// a batch of events asks once.
func (in *Injector) EventsOn() bool {
	if in == nil {
		return false
	}
	s := in.active.Load()
	return s != nil && len(s.events) > 0
}

// ForEvent decides whether an event fault fires for the event of commandID
// (now in state) on a socket of this subscription and integration.
func (in *Injector) ForEvent(subscriptionID, integrationID, commandID, state string) (Decision, bool) {
	if in == nil {
		return Decision{}, false
	}
	s := in.active.Load()
	if s == nil || len(s.events) == 0 {
		return Decision{}, false
	}
	var hit *fault
	var n int64
	for _, f := range s.events {
		if !f.scoped(subscriptionID, integrationID) {
			continue
		}
		if m := f.matched.Add(1) - 1; Fire(f.Seed, m, f.Rate) && hit == nil && f.take() {
			hit, n = f, m
		}
	}
	if hit == nil {
		return Decision{}, false
	}
	d := hit.decision()
	in.record(Firing{FaultID: hit.ID, Kind: hit.Kind, N: n, IntegrationID: integrationID, SubscriptionID: subscriptionID,
		Operation: "event", CommandID: commandID, Detail: d.describe() + " (DeviceCommand " + state + ")"})
	return d, true
}

func (f *fault) scoped(subscriptionID, integrationID string) bool {
	switch {
	case f.SubscriptionID != "":
		return f.SubscriptionID == subscriptionID
	case f.IntegrationID != "":
		return f.IntegrationID == integrationID
	}
	return true
}

// take counts a firing unless the fault is spent.
func (f *fault) take() bool {
	for {
		n := f.fired.Load()
		if f.Times > 0 && n >= f.Times {
			return false
		}
		if f.fired.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (f *fault) decision() Decision {
	return Decision{FaultID: f.ID, Kind: f.Kind, Status: f.Status, Delay: f.Delay, CloseCode: f.CloseCode}
}

// describe says in words what the decision does.
func (d Decision) describe() string {
	switch d.Kind {
	case Refuse:
		return fmt.Sprintf("answered %d without carrying it out", d.Status)
	case AppliedError:
		return fmt.Sprintf("carried it out, then answered %d", d.Status)
	case Timeout:
		return fmt.Sprintf("held it up to %s without carrying it out, then dropped the connection", d.Delay)
	case Slow:
		return fmt.Sprintf("waited %s before carrying it out", d.Delay)
	case DropEvent:
		return "dropped the event"
	case DelayEvent:
		return fmt.Sprintf("sent the event %s late", d.Delay)
	case DuplicateEvent:
		return "sent the event twice"
	case ReorderEvent:
		return "sent the event after the next one"
	case CloseSocket:
		return fmt.Sprintf("closed the socket with %d instead of sending the event", d.CloseCode)
	}
	return string(d.Kind)
}

// RetryAfter is the Retry-After of a 429: Delay rounded up to seconds, at
// least 1.
func (d Decision) RetryAfter() time.Duration {
	return max(d.Delay, time.Second)
}

// Header is the value of the Bellhop-Fault header that a faulty answer
// carries: the fault's id and kind. Clients may ignore it; a person
// reading a trace sees at once that the failure was injected.
func (d Decision) Header() string { return d.FaultID + " " + string(d.Kind) }

// Parse reads a fault from its compact form, as `serve --faults` and
// `bellhop admin faults set` take it: the kind, then key=value pairs, all
// separated by commas:
//
//	refuse,rate=0.1,seed=42,status=503,ops=commands/update+commands/addPrinter
//	drop-event,rate=0.2,subscription=<id>
//	close-socket,rate=0.05,code=4000,times=3,integration=<id>
//
// Keys: kind (or the first bare word), rate, seed, integration,
// subscription, ops (operations joined by +), status, delay (a duration),
// code, times. The result is not checked: Injector.Add does that.
func Parse(s string) (Spec, error) {
	var spec Spec
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			if i == 0 {
				spec.Kind = Kind(part)
				continue
			}
			return spec, fmt.Errorf("fault %q: %q is not key=value", s, part)
		}
		var err error
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "kind":
			spec.Kind = Kind(v)
		case "rate":
			spec.Rate, err = strconv.ParseFloat(v, 64)
		case "seed":
			spec.Seed, err = strconv.ParseUint(v, 10, 64)
		case "integration":
			spec.IntegrationID = v
		case "subscription":
			spec.SubscriptionID = v
		case "ops", "operations":
			spec.Operations = strings.Split(v, "+")
		case "status":
			spec.Status, err = strconv.Atoi(v)
		case "delay":
			spec.Delay, err = time.ParseDuration(v)
		case "code":
			spec.CloseCode, err = strconv.Atoi(v)
		case "times":
			spec.Times, err = strconv.ParseInt(v, 10, 64)
		default:
			return spec, fmt.Errorf("fault %q: unknown key %q (kind, rate, seed, integration, subscription, ops, status, delay, code, times)", s, k)
		}
		if err != nil {
			return spec, fmt.Errorf("fault %q: %s: %w", s, k, err)
		}
	}
	if spec.Kind == "" {
		return spec, fmt.Errorf("fault %q: no kind (one of %s)", s, joinKinds())
	}
	return spec, nil
}

// String is the compact form of s that Parse reads back: what to set again
// to replay a run.
func (s Spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s,rate=%s,seed=%d", s.Kind, strconv.FormatFloat(s.Rate, 'g', -1, 64), s.Seed)
	if s.IntegrationID != "" {
		fmt.Fprintf(&b, ",integration=%s", s.IntegrationID)
	}
	if s.SubscriptionID != "" {
		fmt.Fprintf(&b, ",subscription=%s", s.SubscriptionID)
	}
	if len(s.Operations) > 0 {
		fmt.Fprintf(&b, ",ops=%s", strings.Join(s.Operations, "+"))
	}
	if s.Status != 0 {
		fmt.Fprintf(&b, ",status=%d", s.Status)
	}
	if s.Delay != 0 {
		fmt.Fprintf(&b, ",delay=%s", s.Delay)
	}
	if s.CloseCode != 0 {
		fmt.Fprintf(&b, ",code=%d", s.CloseCode)
	}
	if s.Times != 0 {
		fmt.Fprintf(&b, ",times=%d", s.Times)
	}
	return b.String()
}
