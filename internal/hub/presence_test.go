package hub_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestPresenceFlush: requests are kept in memory and written by a flush, only
// what changed, with the latest Client and address; a WebSocket upgrade
// (Client "") keeps the last Client; closing writes no sockets.
func TestPresenceFlush(t *testing.T) {
	h := hubtest.Start(t)
	tn := h.Tenant(t, "Desk", bellhop.Printer)
	sub := tn.Subscription.Id
	ctx := context.Background()
	svc := h.Service
	rows := func() []bellhop.Presence {
		t.Helper()
		list, err := h.Store.ListPresence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	svc.Seen(sub, "agent/1.0", "10.0.0.7:50001")
	svc.Seen(sub, "agent/1.1", "10.0.0.8:50002")
	svc.Seen(sub, "", "10.0.0.9:50003") // a WebSocket upgrade
	if err := svc.FlushPresence(ctx, false); err != nil {
		t.Fatal(err)
	}
	got := rows()
	if len(got) != 1 || got[0].Client != "agent/1.1" || got[0].Address != "10.0.0.9" || got[0].SubscriptionID != sub ||
		got[0].LastUtc.Before(got[0].FirstUtc) {
		t.Fatalf("presence rows %+v, want one with the last Client and address", got)
	}
	agents, err := svc.Agents(ctx)
	if err != nil || len(agents) != 1 || agents[0].Client != "agent/1.1" || len(agents[0].Devices) != 1 {
		t.Fatalf("agents %+v, %v", agents, err)
	}
}

// BenchmarkSeen is what the request path pays to keep presence: the same
// subscription from every goroutine (the worst case for contention), then
// one subscription per goroutine. go test -run XXX -bench Seen ./internal/hub/
func BenchmarkSeen(b *testing.B) {
	h := hubtest.Start(b)
	b.Run("one subscription", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Service.Seen("sub", "bellhop-agent/1.4.0 (desk)", "10.0.0.7:50001")
			}
		})
	})
	b.Run("many subscriptions", func(b *testing.B) {
		b.ReportAllocs()
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			sub := "sub" + strconv.FormatInt(n.Add(1), 10)
			for pb.Next() {
				h.Service.Seen(sub, "bellhop-agent/1.4.0 (desk)", "10.0.0.7:50001")
			}
		})
	})
}
