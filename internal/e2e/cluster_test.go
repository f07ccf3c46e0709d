package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// Two hub nodes in this process on one PostgreSQL schema.

// cluster starts two nodes on a fresh schema; the first node's admin side
// creates the tenant.
func cluster(t *testing.T) (a, b *env, tn *tenant, schema string) {
	t.Helper()
	dbURL, schema := hubtest.PostgresSchema(t)
	a, b = start(t, onDatabase(dbURL)), start(t, onDatabase(dbURL))
	return a, b, a.tenant("Cluster"), schema
}

// TestClusterEvents: a command created through one node reaches the sockets
// held by the other, and its updates through the other node reach the first
// node's sockets, in order; connecting a device through one node applies to
// sockets on the other at once; revoking closes them everywhere.
func TestClusterEvents(t *testing.T) {
	a, b, tn, _ := cluster(t)
	other := a.tenant("Other")
	ctx := context.Background()
	wsA, wsB, wsOther := a.dial(tn), b.dial(tn), b.dial(other)

	id := a.addPrinter(tn)
	wsB.expect(t, id, bellhop.Pending)
	wsA.expect(t, id, bellhop.Pending)
	cb := b.SDK(tn)
	if _, err := cb.CommandsByIds(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []client.State{client.StateProcessing, client.StateProcessed} {
		if err := cb.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []bellhop.State{bellhop.Received, bellhop.Processing, bellhop.Processed} {
		wsA.expect(t, id, st)
		wsB.expect(t, id, st)
	}
	marker := b.addPrinter(other)
	wsOther.expect(t, marker, bellhop.Pending) // and nothing of tn's before it

	// A second subscription with a socket on node b; its device is
	// connected through node a.
	pos := tn.NewIntegration(t, "POS")
	sub := pos.Subscription
	wsPOS := b.dial(pos)
	if err := a.Admin.Connect(ctx, sub.Id, tn.Devices[bellhop.Printer].Id); err != nil {
		t.Fatal(err)
	}
	// The notification of the connection comes before the command's, so
	// node b has reloaded the socket's devices when the event arrives.
	id2 := a.addPrinter(tn)
	wsPOS.expect(t, id2, bellhop.Pending)

	if err := a.Admin.RevokeSubscription(ctx, sub.Id); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-wsPOS.events:
		t.Fatalf("revoked socket got %v", ev)
	case code := <-wsPOS.closed:
		if code != 1008 {
			t.Fatalf("close code %d, want 1008", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("revoked socket on the other node not closed")
	}
}

// TestClusterGap kills the listening connections of the nodes: they
// reconnect and re-read, so a change committed while they were not
// listening still reaches the sockets.
func TestClusterGap(t *testing.T) {
	a, b, tn, schema := cluster(t)
	admin := hubtest.Postgres(t)
	ctx := context.Background()
	wsB := b.dial(tn)
	id := a.addPrinter(tn)
	wsB.expect(t, id, bellhop.Pending)

	var killed int
	err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"bellhop-listen:"+schema).Scan(&killed)
	if err != nil || killed != 2 {
		t.Fatalf("terminated %d listeners (%v), want 2", killed, err)
	}
	// Committed before the listeners reconnect (after 100 ms): only the
	// re-read can find it.
	if err := a.SDK(tn).UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessing}); err != nil {
		t.Fatal(err)
	}
	wsB.expect(t, id, bellhop.Processing)
	if err := a.SDK(tn).UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed}); err != nil {
		t.Fatal(err)
	}
	// The re-read may publish Processing a second time, never an older
	// state after a newer one.
	for {
		ev := wsB.next(t)
		if ev["Id"] != id || ev["State"] == string(bellhop.Processing) {
			continue
		}
		if ev["State"] != string(bellhop.Processed) {
			t.Fatalf("event %v after Processing", ev)
		}
		break
	}
}

// TestClusterSweep runs expiry on both nodes at once: one node sweeps, and
// every stale command expires once.
func TestClusterSweep(t *testing.T) {
	a, b, tn, _ := cluster(t)
	ctx := context.Background()
	const n = 30
	ids := make([]string, n)
	for i := range ids {
		ids[i] = a.addPrinter(tn)
	}
	a.Clock.Advance(25 * time.Hour)
	b.Clock.Advance(25 * time.Hour)
	var wg sync.WaitGroup
	results := make([]hub.SweepResult, 4)
	for i := range results {
		svc := []*hub.Service{a.Service, b.Service}[i%2]
		wg.Go(func() {
			r, err := svc.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	total := 0
	for _, r := range results {
		total += r.Cancelled
	}
	// The nodes' own background sweeps may take part too: what counts is
	// that every command expired exactly once (below), never twice.
	if total > n {
		t.Fatalf("sweeps cancelled %d commands in all (%+v), more than the %d there are", total, results, n)
	}
	a.Sweep(t) // whatever a background sweep left
	for _, id := range ids {
		_, h, err := b.Service.Command(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		expired := 0
		for _, e := range h {
			if strings.HasPrefix(e.Actor, "hub:expiry") {
				expired++
			}
		}
		if expired != 1 || h[len(h)-1].State != bellhop.Cancelled {
			t.Fatalf("history of %s: %+v", id, h)
		}
	}
}
