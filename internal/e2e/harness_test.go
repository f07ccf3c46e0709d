package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/node"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tenant is one integration's subscription to one enterprise, with a device
// of every type connected.
type tenant struct {
	Enterprise   *bellhop.Enterprise
	Integration  *bellhop.Integration
	Subscription *bellhop.Subscription
	ClientToken  string
	AccessToken  string
	Devices      map[bellhop.DeviceType]*bellhop.Device
	Reservation  *bellhop.Reservation
	Customer     *bellhop.Customer
}

type env struct {
	t     testing.TB
	hub   *node.Node
	svc   *hub.Service
	clock *clock
	base  string
	admin string
}

type option func(*node.Config)

// start runs a whole hub on port 0 with a temporary SQLite database, or,
// when BELLHOP_E2E_STORE is "postgres", a fresh schema of the test
// PostgreSQL (see postgresURL).
func start(t testing.TB, opts ...option) *env {
	t.Helper()
	clk := &clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	admin := bellhop.NewToken()
	cfg := node.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Now: clk.Now, AdminToken: admin, RateLimit: -1}
	if os.Getenv("BELLHOP_E2E_STORE") == "postgres" {
		cfg.Database = postgresURL(t)
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := node.New(ctx, cfg)
	if err != nil {
		t.Fatalf("start hub: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		h.Close()
	})
	return &env{t: t, hub: h, svc: h.Service, clock: clk, base: h.PlatformAddress(), admin: admin}
}

// tenant creates an enterprise, an integration subscribed to it, a device of
// every type connected to the subscription, a reservation and a customer.
func (e *env) tenant(name string) *tenant {
	e.t.Helper()
	ctx := context.Background()
	tn := &tenant{Devices: map[bellhop.DeviceType]*bellhop.Device{}}
	var err error
	if tn.Enterprise, err = e.svc.CreateEnterprise(ctx, name+" Hotel"); err != nil {
		e.t.Fatal(err)
	}
	if tn.Integration, tn.ClientToken, err = e.svc.CreateIntegration(ctx, name+" integration"); err != nil {
		e.t.Fatal(err)
	}
	if tn.Subscription, tn.AccessToken, err = e.svc.CreateSubscription(ctx, tn.Integration.ID, []string{tn.Enterprise.ID}); err != nil {
		e.t.Fatal(err)
	}
	for _, typ := range bellhop.DeviceTypes {
		d := &bellhop.Device{EnterpriseID: tn.Enterprise.ID, Type: typ, Name: name + " " + string(typ), Identifier: "ID-" + string(typ),
			Config: bellhop.DeviceConfig{PrinterName: "P1", ApiUrl: "http://127.0.0.1:1/api", KeyCutterID: "KC-1", FiscalMachineID: "FM-1", TaxIdentifier: "123"}}
		if err := e.svc.CreateDevice(ctx, d); err != nil {
			e.t.Fatal(err)
		}
		if err := e.svc.Connect(ctx, tn.Subscription.ID, d.ID); err != nil {
			e.t.Fatal(err)
		}
		tn.Devices[typ] = d
	}
	now := e.clock.Now()
	tn.Reservation = &bellhop.Reservation{EnterpriseID: tn.Enterprise.ID, Number: "1001", StartUtc: now, EndUtc: now.Add(48 * time.Hour),
		FirstName: "Jiří", LastName: "Dvořák", Email: "g@example.com", Telephone: "+420 1", LockIDs: []string{"101", "102"}}
	if err := e.svc.CreateReservation(ctx, tn.Reservation); err != nil {
		e.t.Fatal(err)
	}
	tn.Customer = &bellhop.Customer{EnterpriseID: tn.Enterprise.ID, FirstName: "Ann", LastName: "Lee"}
	if err := e.svc.CreateCustomer(ctx, tn.Customer); err != nil {
		e.t.Fatal(err)
	}
	return tn
}

// sdk returns an SDK client for a tenant with retries off, so that errors
// surface as they are.
func (e *env) sdk(tn *tenant) *client.Client {
	e.t.Helper()
	c, err := client.New(client.Config{PlatformAddress: e.base, WebSocketAddress: e.hub.WebSocketAddress(),
		ClientToken: tn.ClientToken, AccessToken: tn.AccessToken, Client: "e2e 1.0", MaxRetries: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// reply is one raw HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

// post sends a raw request to a Connector operation.
func (e *env) post(path string, body any, headers ...string) reply {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.do(http.MethodPost, "/api/connector/v1/"+path, b, headers...)
}

func (e *env) do(method, path string, body []byte, headers ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: rb}
}

// body builds a Connector request body for a tenant.
func (tn *tenant) body(fields ...any) map[string]any {
	m := map[string]any{"ClientToken": tn.ClientToken, "AccessToken": tn.AccessToken, "Client": "e2e 1.0"}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	return m
}

// expectError checks a Mews error answer.
func expectError(t testing.TB, r reply, status int, message string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	m := r.json(t)
	if msg, _ := m["Message"].(string); !strings.HasPrefix(msg, message) {
		t.Fatalf("Message %q, want prefix %q", msg, message)
	}
	if id, _ := m["RequestId"].(string); id == "" || id != r.Header.Get("Request-Id") {
		t.Fatalf("RequestId %q, header %q", id, r.Header.Get("Request-Id"))
	}
}

// socket is a raw WebSocket client that collects events.
type socket struct {
	conn   *websocket.Conn
	events chan map[string]any
	closed chan websocket.StatusCode
}

func (e *env) dial(tn *tenant) *socket {
	e.t.Helper()
	s, resp, err := e.dialRaw(tn.ClientToken, tn.AccessToken, false)
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, resp)
	}
	return s
}

func (e *env) dialRaw(clientToken, accessToken string, query bool) (*socket, *http.Response, error) {
	return dialAt(e.t, e.hub.WebSocketAddress(), clientToken, accessToken, query)
}

// dialAt opens a raw WebSocket at the hub whose WebSocket address is wsBase.
func dialAt(t testing.TB, wsBase, clientToken, accessToken string, query bool) (*socket, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := strings.Replace(wsBase, "http", "ws", 1) + "/ws/connector"
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if query {
		url += "?ClientToken=" + clientToken + "&AccessToken=" + accessToken
	} else {
		opts.HTTPHeader.Set("Cookie", "ClientToken="+clientToken+"; AccessToken="+accessToken)
	}
	conn, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, resp, err
	}
	s := &socket{conn: conn, events: make(chan map[string]any, 1000), closed: make(chan websocket.StatusCode, 1)}
	go func() {
		for {
			_, msg, err := conn.Read(context.Background())
			if err != nil {
				s.closed <- websocket.CloseStatus(err)
				return
			}
			var batch struct{ Events []map[string]any }
			if json.Unmarshal(msg, &batch) != nil {
				continue
			}
			for _, ev := range batch.Events {
				s.events <- ev
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return s, resp, nil
}

// next waits for the next event.
func (s *socket) next(t testing.TB) map[string]any {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return nil
}

// expect waits for the event of a command in a state, failing on any other
// event of that command first (events of one command arrive in order).
func (s *socket) expect(t testing.TB, id string, state bellhop.State) {
	t.Helper()
	for {
		ev := s.next(t)
		if ev["Id"] != id {
			continue
		}
		if ev["Type"] != "DeviceCommand" || ev["State"] != string(state) {
			t.Fatalf("event %v, want %s for %s", ev, state, id)
		}
		return
	}
}

// quiet checks that no event arrives for a moment, by sending a marker
// command whose event must come first if anything else was queued.
func (s *socket) none(t testing.TB, within time.Duration) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected event %v", ev)
	case <-time.After(within):
	}
}
