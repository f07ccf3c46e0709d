package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
)

func TestWebSocketEvents(t *testing.T) {
	e := start(t)
	tn := e.tenant("WS")
	c := e.SDK(tn)
	ctx := context.Background()
	ws := e.dial(tn)

	// Every state change reaches the socket, in order, the caller's own
	// updates included.
	id := e.addPrinter(tn)
	ws.expect(t, id, bellhop.Pending)
	if _, err := c.CommandsByIds(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	ws.expect(t, id, bellhop.Received)
	for _, st := range []client.State{client.StateProcessing, client.StateProcessed} {
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	ws.expect(t, id, bellhop.Processing)
	ws.expect(t, id, bellhop.Processed)

	// A repeated update changes nothing and sends nothing: the next event
	// is the marker's.
	if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed}); err != nil {
		t.Fatal(err)
	}
	marker := e.addPrinter(tn)
	ws.expect(t, marker, bellhop.Pending)

	// Cancelling through the admin side reaches the agent.
	if _, err := e.Service.CancelCommand(ctx, marker, "test", ""); err != nil {
		t.Fatal(err)
	}
	ws.expect(t, marker, bellhop.Cancelled)
}

func TestWebSocketAuth(t *testing.T) {
	e := start(t)
	tn := e.tenant("Auth")
	other := e.tenant("Other")
	for name, tokens := range map[string][2]string{
		"no tokens":    {"", ""},
		"wrong access": {tn.ClientToken, other.AccessToken},
		"garbage":      {"x", "y"},
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := e.dialRaw(tokens[0], tokens[1], false)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("want 401 before the upgrade, got %v %v", resp, err)
			}
		})
	}
	t.Run("deprecated query string", func(t *testing.T) {
		s, _, err := e.dialRaw(tn.ClientToken, tn.AccessToken, true)
		if err != nil {
			t.Fatal(err)
		}
		id := e.addPrinter(tn)
		s.expect(t, id, bellhop.Pending)
	})
}
