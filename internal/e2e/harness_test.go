package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
)

func TestMain(m *testing.M) { hubtest.Main(m) }

// env is a hub in this process (see hubtest.Start) with the raw HTTP and
// WebSocket helpers of these tests.
type env struct {
	*hubtest.Hub
	t testing.TB
}

// tenant is one integration's subscription to one enterprise.
type tenant = hubtest.Tenant

// start runs a whole hub on port 0 (see hubtest.Start).
func start(t testing.TB, opts ...hubtest.Option) *env {
	t.Helper()
	return &env{Hub: hubtest.Start(t, opts...), t: t}
}

// tenant creates a tenant with a device of every type connected.
func (e *env) tenant(name string) *tenant {
	e.t.Helper()
	return e.Tenant(e.t, name, bellhop.DeviceTypes...)
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
	req, err := http.NewRequest(method, e.PlatformAddress()+path, bytes.NewReader(body))
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

// reqBody builds a Connector request body for a tenant.
func reqBody(tn *tenant, fields ...any) map[string]any {
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
	return dialAt(e.t, e.WebSocketAddress(), clientToken, accessToken, query)
}

// dialAt opens a raw WebSocket at the hub whose WebSocket address is wsBase.
func dialAt(t testing.TB, wsBase, clientToken, accessToken string, query bool) (*socket, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

// next waits for the next event. Events come within milliseconds; the
// bound is for a machine loaded by the whole suite.
func (s *socket) next(t testing.TB) map[string]any {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30 s")
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
