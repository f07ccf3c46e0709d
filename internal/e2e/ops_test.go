package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/node"
)

// TestSilentPeerDropped: a client that never answers pings is dropped after
// the idle timeout, while one that answers stays.
func TestSilentPeerDropped(t *testing.T) {
	e := start(t, func(c *node.Config) {
		c.Realtime.PingInterval = 50 * time.Millisecond
		c.Realtime.IdleTimeout = 300 * time.Millisecond
	})
	tn := e.tenant("Ping")
	alive := e.dial(tn) // reads, so it answers pings

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := e.hub.WebSocketAddress() + "/ws/connector"
	silent, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{
		"Cookie": {"ClientToken=" + tn.ClientToken + "; AccessToken=" + tn.AccessToken}}})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.CloseNow()
	// Not reading means not answering pings; wait until the hub lets go.
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Broker.Count() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets open, want the silent one dropped", e.hub.Broker.Count())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	id := e.addPrinter(tn)
	alive.expect(t, id, bellhop.Pending)
}

// TestShutdownClosesSockets: stopping the hub closes sockets with 1001.
func TestShutdownClosesSockets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h, err := node.New(ctx, node.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	e := &env{t: t, hub: h, svc: h.Service, clock: &clock{now: time.Now()}, base: h.PlatformAddress()}
	tn := e.tenant("Shutdown")
	s := e.dial(tn)
	cancel()
	select {
	case code := <-s.closed:
		if code != websocket.StatusGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("socket not closed at shutdown")
	}
	<-done
	h.Close()
}

// TestOperability: health, readiness and metrics.
func TestOperability(t *testing.T) {
	e := start(t)
	tn := e.tenant("Ops")
	e.dial(tn)
	id := e.addPrinter(tn)
	e.post("commands/update", tn.body("CommandId", id, "State", "Processed"))
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.do(http.MethodGet, path, nil); r.Status != 200 {
			t.Fatalf("%s: %d", path, r.Status)
		}
	}
	r := e.do(http.MethodGet, "/metrics", nil)
	for _, want := range []string{
		`bellhop_requests_total{operation="commands/addPrinter",status="200"} 1`,
		`bellhop_command_state_changes_total{state="Processed"} 1`,
		`bellhop_open_sockets 1`,
		`bellhop_commands_waiting 0`,
		`bellhop_event_delivery_seconds_count`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
