package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
)

// TestExpiry: a stuck Processing command becomes Error, a waiting one
// Cancelled, and sockets hear both; retention then purges them.
func TestExpiry(t *testing.T) {
	e := start(t)
	tn := e.tenant("Expiry")
	ctx := context.Background()
	c := e.SDK(tn)
	ws := e.dial(tn)
	waiting := e.addPrinter(tn)
	processing := e.addPrinter(tn)
	if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: processing, State: client.StateProcessing}); err != nil {
		t.Fatal(err)
	}
	ws.expect(t, waiting, bellhop.Pending)
	ws.expect(t, processing, bellhop.Pending)
	ws.expect(t, processing, bellhop.Processing)
	e.Clock.Advance(16 * time.Minute)
	if r := e.Sweep(t); r.Failed != 1 || r.Cancelled != 0 {
		t.Fatalf("after 16 min: %+v", r)
	}
	ws.expect(t, processing, bellhop.Failed)
	e.Clock.Advance(24 * time.Hour)
	if r := e.Sweep(t); r.Cancelled != 1 {
		t.Fatalf("after 24 h: %+v", r)
	}
	ws.expect(t, waiting, bellhop.Cancelled)
	v, _, err := e.Service.Command(ctx, waiting)
	if err != nil {
		t.Fatal(err)
	}
	if v.Notes == "" {
		t.Fatal("expiry wrote no note")
	}
	// Retention: final commands older than 30 days are purged.
	e.Clock.Advance(31 * 24 * time.Hour)
	if r := e.Sweep(t); r.Purged != 2 {
		t.Fatalf("after 31 days: %+v", r)
	}
	if _, _, err := e.Service.Command(ctx, waiting); bellhop.ErrorCode(err) != bellhop.ENOTFOUND {
		t.Fatalf("purged command: %v", err)
	}
}
