package storetest

import (
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// BenchmarkCreateUpdate measures the hub's hot path on s: each operation
// creates a command and moves it to Received, one write transaction each.
func BenchmarkCreateUpdate(b *testing.B, s store.Store) {
	ctx := b.Context()
	w := newWorld(b, s)
	b.ReportAllocs()
	for b.Loop() {
		c := newCommand(w.d1, bellhop.Pending, t0)
		if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: t0}, nil); err != nil {
			b.Fatal(err)
		}
		_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
			c.State = bellhop.Received
			return &bellhop.HistoryEntry{State: c.State, Utc: t0}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateUpdateParallel is BenchmarkCreateUpdate from many
// goroutines at once, as concurrent requests reach a hub: it shows what
// grouping concurrent commits gains.
func BenchmarkCreateUpdateParallel(b *testing.B, s store.Store) {
	w := newWorld(b, s)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ctx := b.Context()
		for pb.Next() {
			c := newCommand(w.d1, bellhop.Pending, t0)
			if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: t0}, nil); err != nil {
				b.Error(err)
				return
			}
			_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
				c.State = bellhop.Received
				return &bellhop.HistoryEntry{State: c.State, Utc: t0}, nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
