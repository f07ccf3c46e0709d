package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// TestSilentPeerDropped: a client that never answers pings is dropped after
// the idle timeout, while one that answers stays.
func TestSilentPeerDropped(t *testing.T) {
	// The answering peer must not miss a whole IdleTimeout of pongs: a
	// second leaves room for a loaded machine's scheduling stalls, and
	// costs the test about that long.
	e := start(t, func(c *node.Config) {
		c.Realtime.PingInterval = 100 * time.Millisecond
		c.Realtime.IdleTimeout = time.Second
	})
	tn := e.tenant("Ping")
	alive := e.dial(tn) // reads, so it answers pings

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := e.WebSocketAddress() + "/ws/connector"
	silent, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{
		"Cookie": {"ClientToken=" + tn.ClientToken + "; AccessToken=" + tn.AccessToken}}})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.CloseNow()
	// Not reading means not answering pings; wait until the hub lets go.
	hubtest.Eventually(t, 30*time.Second, func() (bool, string) {
		n := e.Broker.Count()
		return n == 1, fmt.Sprintf("%d sockets open, want the silent one dropped", n)
	})
	id := e.addPrinter(tn)
	alive.expect(t, id, bellhop.Pending)
}

// TestShutdownClosesSockets: stopping the hub closes sockets with 1001.
func TestShutdownClosesSockets(t *testing.T) {
	e := start(t)
	tn := e.tenant("Shutdown")
	s := e.dial(tn)
	e.Stop()
	select {
	case code := <-s.closed:
		if code != websocket.StatusGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("socket not closed at shutdown")
	}
}

// TestOperability: health, readiness and metrics.
func TestOperability(t *testing.T) {
	e := start(t)
	tn := e.tenant("Ops")
	e.dial(tn)
	id := e.addPrinter(tn)
	e.post("commands/update", reqBody(tn, "CommandId", id, "State", "Processed"))
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
	// The stages a request passes before its answer leaves were timed (the
	// sockets' stages run after it, on their own goroutines; write_wake
	// only times a write that waited for a group another write led, and
	// these writes came one at a time).
	for _, st := range []string{"request", "read", "auth", "run", "write_queue", "write_run", "commit",
		"publish", "respond"} {
		series := `bellhop_stage_seconds_count{stage="` + st + `"} `
		i := strings.Index(string(r.Body), series)
		if i < 0 {
			t.Errorf("/metrics lacks %q", series)
			continue
		}
		if rest := string(r.Body[i+len(series):]); strings.HasPrefix(rest, "0\n") {
			t.Errorf("stage %s was never timed", st)
		}
	}
}

// TestStalledReaderCut: a peer that stops reading while events keep coming
// fills the connection's buffers; the write that blocks on it fails after
// WriteTimeout and the hub lets the socket go, while a peer that reads keeps
// its socket through writes and pings long past WriteTimeout (the write
// deadline does not outlive its write).
func TestStalledReaderCut(t *testing.T) {
	e := start(t, func(c *node.Config) {
		c.Realtime.WriteTimeout = 300 * time.Millisecond
		c.Realtime.MaxQueue = 1 << 22 // the write timeout, not the queue's bound, must act
		c.Realtime.PingInterval = 100 * time.Millisecond
	})
	reader, staller := e.tenant("Reader"), e.tenant("Staller")
	alive := e.dial(reader)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stalled, _, err := websocket.Dial(ctx, e.WebSocketAddress()+"/ws/connector", &websocket.DialOptions{HTTPHeader: http.Header{
		"Cookie": {"ClientToken=" + staller.ClientToken + "; AccessToken=" + staller.AccessToken}}})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.CloseNow()
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		n := e.Broker.Count()
		return n == 2, fmt.Sprintf("%d sockets open, want 2", n)
	})
	first := e.addPrinter(reader)
	alive.expect(t, first, bellhop.Pending)

	// Events for the staller's printer until its socket is gone: the
	// connection's buffers hold some megabytes.
	dev := staller.Devices[bellhop.Printer].Id
	deadline := time.Now().Add(20 * time.Second) // well within IdleTimeout (60 s), which would cut it too
	sent := 0
	for e.Broker.Count() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets open after %d events to the stalled one, want it cut", e.Broker.Count(), sent)
		}
		evs := make([]bellhop.Event, 1000)
		for i := range evs {
			evs[i] = bellhop.Event{StateChange: true, CommandID: bellhop.NewID(), State: bellhop.Processing,
				DeviceID: dev, EnterpriseID: staller.Enterprise.Id, Utc: time.Now()}
		}
		e.Broker.Publish(evs)
		sent += len(evs)
		time.Sleep(5 * time.Millisecond)
	}

	time.Sleep(time.Second) // several WriteTimeouts and pings after the reader's last write
	second := e.addPrinter(reader)
	alive.expect(t, second, bellhop.Pending)
	if n := e.Broker.Count(); n != 1 {
		t.Fatalf("%d sockets open, want the reading one alone", n)
	}
}
