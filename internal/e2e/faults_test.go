package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// Faults on demand, end to end: set through the admin API (the typed client),
// felt by raw HTTP and WebSocket clients and by the SDK, replayed by seed.

// setFault sets a fault through the admin API and fails the test on error.
func (e *env) setFault(f admin.Fault) *admin.Fault {
	e.t.Helper()
	set, err := e.Admin.SetFault(context.Background(), f)
	if err != nil {
		e.t.Fatalf("set fault %+v: %v", f, err)
	}
	return set
}

// commandState reads a command's state through the admin API.
func (e *env) commandState(id string) client.State {
	e.t.Helper()
	cmd, err := e.Admin.Command(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return cmd.State
}

func TestFaultsOffAndAdminOnly(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	if fs, err := e.Admin.Faults(ctx); err != nil || len(fs) != 0 {
		t.Fatalf("a new hub has faults %v (%v)", fs, err)
	}
	// Without the admin token nothing can set one: no token, a Connector
	// token pair, a wrong token.
	tn := e.tenant("Off")
	for _, auth := range []string{"", "Bearer " + tn.AccessToken, "Bearer " + bellhop.NewToken()} {
		r := e.do(http.MethodPost, "/api/admin/v1/faults", []byte(`{"Kind":"refuse","Rate":1}`), "Authorization", auth)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("set a fault with %q: %d %s", auth, r.Status, r.Body)
		}
	}
	if fs, _ := e.Admin.Faults(ctx); len(fs) != 0 {
		t.Fatalf("faults after refused calls: %v", fs)
	}
	// Bad faults are refused with a reason, and set nothing.
	for _, f := range []admin.Fault{
		{Kind: "explode", Rate: 1},
		{Kind: admin.FaultRefuse, Rate: 0},
		{Kind: admin.FaultRefuse, Rate: 1.5},
		{Kind: admin.FaultRefuse, Rate: 1, Status: 404},
		{Kind: admin.FaultRefuse, Rate: 1, Operations: []string{"commands/delete"}},
		{Kind: admin.FaultAppliedError, Rate: 1, Operations: []string{"websocket"}},
		{Kind: admin.FaultDropEvent, Rate: 1, Operations: []string{"commands/update"}},
		{Kind: admin.FaultCloseSocket, Rate: 1, CloseCode: 1006},
		{Kind: admin.FaultSlow, Rate: 1, Delay: "soon"},
		{Kind: admin.FaultRefuse, Rate: 1, IntegrationId: tn.Integration.Id, SubscriptionId: tn.Subscription.Id},
		{Kind: admin.FaultRefuse, Rate: 1, SubscriptionId: bellhop.NewID()},
	} {
		if _, err := e.Admin.SetFault(ctx, f); client.StatusCode(err) != http.StatusBadRequest {
			t.Errorf("fault %+v: %v, want 400", f, err)
		}
	}
	if fs, _ := e.Admin.Faults(ctx); len(fs) != 0 {
		t.Fatalf("faults after bad ones: %v", fs)
	}
	// A good one is listed, audited and cleared.
	f := e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultRefuse, Rate: 0.5})
	if f.Seed == 0 || f.Status != 503 || f.Id == "" {
		t.Fatalf("set %+v: want a seed chosen, status 503 and an id", f)
	}
	audit, err := e.Admin.Audit(ctx, "", 10)
	if err != nil || len(audit.Entries) == 0 || audit.Entries[0].Action != bellhop.AuditFaultSet || audit.Entries[0].Subject != f.Id {
		t.Fatalf("audit %+v (%v): want the fault set first", audit.Entries, err)
	}
	if err := e.Admin.ClearFault(ctx, f.Id); err != nil {
		t.Fatal(err)
	}
	if err := e.Admin.ClearFault(ctx, f.Id); client.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("clear twice: %v", err)
	}
}

func TestFaultRefuseChangesNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn, other := e.tenant("Refused"), e.tenant("Other")
	id := e.addPrinter(tn)
	if _, err := e.SDK(tn).CommandsByIds(context.Background(), []string{id}); err != nil {
		t.Fatal(err)
	}
	f := e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultRefuse, Rate: 1, Times: 1,
		Operations: []string{"commands/update"}})

	// The first update is refused with 503 and the Mews body; the command
	// stays Received. The fault is then spent.
	r := e.post("commands/update", reqBody(tn, "CommandId", id, "State", "Processed"))
	expectError(t, r, http.StatusServiceUnavailable, "Service unavailable")
	if got := r.Header.Get("Bellhop-Fault"); got != f.Id+" refuse" {
		t.Fatalf("Bellhop-Fault %q", got)
	}
	if st := e.commandState(id); st != client.StateReceived {
		t.Fatalf("state after a refused update: %s", st)
	}
	if r := e.post("commands/update", reqBody(tn, "CommandId", id, "State", "Processed")); r.Status != http.StatusOK {
		t.Fatalf("second update: %d %s", r.Status, r.Body)
	}
	// The request log lists both attempts under the command.
	if reqs, _ := e.Admin.AllRequests(context.Background(), admin.RequestFilter{CommandId: id, Operation: "commands/update"}); len(reqs) != 2 ||
		reqs[0].Status != 503 || reqs[1].Status != 200 {
		t.Fatalf("request log of the command: %+v", reqs)
	}
	// Another subscription never saw the fault.
	if r := e.post("devices/getAll", reqBody(other)); r.Status != http.StatusOK || r.Header.Get("Bellhop-Fault") != "" {
		t.Fatalf("other tenant: %d %s", r.Status, r.Header)
	}
	fs, _ := e.Admin.Faults(context.Background())
	if len(fs) != 1 || fs[0].Fired != 1 || fs[0].Matched != 2 || !fs[0].Spent {
		t.Fatalf("fault after use: %+v", fs)
	}
	firings, err := e.Admin.FaultFirings(context.Background(), f.Id, 0)
	if err != nil || len(firings) != 1 || firings[0].RequestId != r.Header.Get("Request-Id") || firings[0].Operation != "commands/update" {
		t.Fatalf("firings %+v (%v), want the refused request %s", firings, err, r.Header.Get("Request-Id"))
	}
}

func TestFaultTooManyRequests(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Limited")
	e.setFault(admin.Fault{IntegrationId: tn.Integration.Id, Kind: admin.FaultRefuse, Rate: 1, Status: 429, Delay: "2500ms"})
	r := e.post("devices/getAll", reqBody(tn))
	expectError(t, r, http.StatusTooManyRequests, "Too many requests")
	if r.Header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q, want 3", r.Header.Get("Retry-After"))
	}
	// The SDK sees it as the rate limit it is.
	_, err := e.SDK(tn).Devices(context.Background())
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusTooManyRequests || ce.RetryAfter != 3*time.Second {
		t.Fatalf("SDK: %#v", err)
	}
}

// TestFaultAppliedError: the change is made and the answer says 500; the
// SDK repeats the add-operation with its Idempotency-Key and gets the one
// command the first attempt created.
func TestFaultAppliedError(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Applied")
	e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultAppliedError, Rate: 1, Times: 1,
		Operations: []string{"commands/addPrinter"}})
	c, err := client.New(client.Config{PlatformAddress: e.PlatformAddress(), ClientToken: tn.ClientToken, AccessToken: tn.AccessToken,
		Client: "e2e retrying 1.0", MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.AddPrinterCommand(context.Background(), client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.Admin.AllCommands(context.Background(), admin.CommandFilter{EnterpriseId: tn.Enterprise.Id})
	if err != nil || len(all) != 1 || all[0].Id != id {
		t.Fatalf("commands %v (%v): want exactly %s", all, err, id)
	}
	// The request log tells the story: 500 by the fault, then 200, the same
	// command both times.
	reqs, err := e.Admin.AllRequests(context.Background(), admin.RequestFilter{SubscriptionId: tn.Subscription.Id, Operation: "commands/addPrinter"})
	if err != nil || len(reqs) != 2 {
		t.Fatalf("request log %+v (%v)", reqs, err)
	}
	if reqs[0].Status != 500 || !strings.HasSuffix(reqs[0].Fault, " applied-error") || reqs[1].Status != 200 || reqs[1].Fault != "" {
		t.Fatalf("request log %+v", reqs)
	}
	for _, r := range reqs {
		if len(r.CommandIds) != 1 || r.CommandIds[0] != id {
			t.Fatalf("request %+v touched %v, want %s", r, r.CommandIds, id)
		}
	}
}

// TestFaultTimeout: the request is held, not carried out, and the
// connection dropped without an answer.
func TestFaultTimeout(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Timeout")
	id := e.addPrinter(tn)
	e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultTimeout, Rate: 1, Delay: "300ms",
		Operations: []string{"commands/update"}})
	began := time.Now()
	err := e.SDK(tn).UpdateCommand(context.Background(), client.UpdateRequest{CommandId: id, State: client.StateProcessed})
	if err == nil || client.StatusCode(err) != 0 {
		t.Fatalf("update through a timeout: %v, want a transport error", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Fatalf("dropped after %v, before the 300 ms hold", took)
	}
	if st := e.commandState(id); st != client.StatePending {
		t.Fatalf("state after a timed-out update: %s", st)
	}
	reqs, _ := e.Admin.AllRequests(context.Background(), admin.RequestFilter{Operation: "commands/update"})
	if len(reqs) != 1 || reqs[0].Status != 0 || reqs[0].DurationMs < 300 {
		t.Fatalf("request log %+v: want one unanswered update held 300 ms", reqs)
	}
	// A client that gives up first ends the hold at once.
	e.Admin.ClearFaults(context.Background())
	e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultTimeout, Rate: 1, Delay: "1m"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := e.SDK(tn).Devices(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("devices with a 200 ms deadline: %v", err)
	}
}

func TestFaultSlow(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Slow")
	id := e.addPrinter(tn)
	e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultSlow, Rate: 1, Delay: "300ms"})
	began := time.Now()
	if err := e.SDK(tn).UpdateCommand(context.Background(), client.UpdateRequest{CommandId: id, State: client.StateProcessed}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Fatalf("answered after %v, want at least 300 ms", took)
	}
	if st := e.commandState(id); st != client.StateProcessed {
		t.Fatalf("state after a slow update: %s", st)
	}
}

// TestFaultReplay: the same seed refuses the same requests of a run that
// sends the same requests in order, and the hub's choice is fault.Fire's.
func TestFaultReplay(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Replay")
	run := func(seed uint64) (pattern string) {
		f := e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultRefuse, Rate: 0.3, Seed: seed})
		defer e.Admin.ClearFault(context.Background(), f.Id)
		for range 40 {
			switch r := e.post("commands/getAllActive", reqBody(tn)); r.Status {
			case 200:
				pattern += "."
			case 503:
				pattern += "x"
			default:
				t.Fatalf("status %d", r.Status)
			}
		}
		return pattern
	}
	first := run(42)
	if again := run(42); again != first {
		t.Fatalf("seed 42 twice:\n%s\n%s", first, again)
	}
	want := ""
	for n := range 40 {
		want += map[bool]string{true: "x", false: "."}[fault.Fire(42, int64(n), 0.3)]
	}
	if first != want {
		t.Fatalf("seed 42 refused\n%s\nwant\n%s", first, want)
	}
	if fired := strings.Count(first, "x"); fired < 4 || fired > 20 {
		t.Fatalf("rate 0.3 fired %d of 40", fired)
	}
	if other := run(43); other == first {
		t.Fatalf("seeds 42 and 43 chose alike: %s", first)
	}
}

// TestFaultEvents: each event fault, on a raw socket.
func TestFaultEvents(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Events")
	ctx := context.Background()
	ws := e.dial(tn)
	only := func(kind string, extra ...func(*admin.Fault)) *admin.Fault {
		e.Admin.ClearFaults(ctx)
		f := admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: kind, Rate: 1, Times: 1}
		for _, x := range extra {
			x(&f)
		}
		return e.setFault(f)
	}

	// Events of one socket arrive in order, so the next one says it all.
	next := func(id string) {
		t.Helper()
		if ev := ws.next(t); ev["Id"] != id || ev["State"] != "Pending" {
			t.Fatalf("event %v, want %s Pending", ev, id)
		}
	}
	only(admin.FaultDropEvent)
	a, b := e.addPrinter(tn), e.addPrinter(tn)
	next(b) // a's was dropped

	only(admin.FaultDuplicateEvent)
	c := e.addPrinter(tn)
	next(c)
	next(c)

	only(admin.FaultReorderEvent, func(f *admin.Fault) { f.Delay = "5s" })
	d, g := e.addPrinter(tn), e.addPrinter(tn)
	next(g)
	next(d)

	only(admin.FaultDelayEvent, func(f *admin.Fault) { f.Delay = "400ms" })
	began := time.Now()
	h := e.addPrinter(tn)
	next(h)
	if took := time.Since(began); took < 400*time.Millisecond {
		t.Fatalf("delayed event came after %v", took)
	}
	if st := e.commandState(a); st != client.StatePending {
		t.Fatalf("a dropped event changed its command: %s", st)
	}

	only(admin.FaultCloseSocket, func(f *admin.Fault) { f.CloseCode = 4000 })
	e.addPrinter(tn)
	select {
	case code := <-ws.closed:
		if code != 4000 {
			t.Fatalf("closed with %d, want 4000", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the socket was not closed")
	}
	firings, _ := e.Admin.FaultFirings(ctx, "", 0)
	kinds := map[string]bool{}
	for _, f := range firings {
		kinds[f.Kind] = f.Operation == "event" && f.CommandId != ""
	}
	for _, k := range []string{admin.FaultDropEvent, admin.FaultDuplicateEvent, admin.FaultReorderEvent, admin.FaultDelayEvent, admin.FaultCloseSocket} {
		if !kinds[k] {
			t.Errorf("no firing of %s with its command: %+v", k, firings)
		}
	}
	// The request log has the session, closed with the fault's code.
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		reqs, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{Kind: "websocket", SubscriptionId: tn.Subscription.Id})
		return len(reqs) == 1 && !reqs[0].Open && reqs[0].CloseCode == 4000 && reqs[0].Status == 101 && reqs[0].Events >= 6,
			fmt.Sprintf("sessions: %+v", reqs)
	})
}

func TestFaultWebSocketOpening(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Opening")
	f := e.setFault(admin.Fault{SubscriptionId: tn.Subscription.Id, Kind: admin.FaultRefuse, Rate: 1, Times: 2, Operations: []string{"websocket"}})
	_, resp, err := e.dialRaw(tn.ClientToken, tn.AccessToken, false)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial through a refusal: %v %v", err, resp)
	}
	// The SDK's subscriber is refused once more, and connects again.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connected := make(chan struct{}, 4)
	go e.SDK(tn).Subscribe(ctx, func(context.Context, client.Event) {}, client.SubscribeOptions{
		OnConnect: func(context.Context) error { connected <- struct{}{}; return nil }})
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the SDK did not connect")
	}
	if fs, _ := e.Admin.Faults(context.Background()); len(fs) != 1 || fs[0].Id != f.Id || fs[0].Fired != 2 {
		t.Fatalf("faults %+v: want %s fired twice", fs, f.Id)
	}
}
