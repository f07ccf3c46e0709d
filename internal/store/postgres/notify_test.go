package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/postgres"
)

// listen runs s.Listen until the test ends, sending what it reports on the
// returned channels, and returns once it listens.
func listen(t *testing.T, s *postgres.Store) (events chan bellhop.Event, topology chan store.TopologyChange, gaps chan time.Time) {
	t.Helper()
	events, topology, gaps = make(chan bellhop.Event, 10000), make(chan store.TopologyChange, 100), make(chan time.Time, 10)
	listening := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, store.NotifyHandler{
			Listening: func() { close(listening) },
			Events: func(es []bellhop.Event) {
				for _, e := range es {
					events <- e
				}
			},
			Topology: func(tc store.TopologyChange) { topology <- tc },
			Gap:      func(since time.Time) { gaps <- since },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	})
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("Listen: %v", err)
	}
	return events, topology, gaps
}

func newCommand(t testing.TB, s store.Store, now time.Time) *bellhop.Command {
	t.Helper()
	c := &bellhop.Command{ID: bellhop.NewID(), EnterpriseID: bellhop.NewID(), DeviceID: bellhop.NewID(), DeviceType: bellhop.Printer,
		State: bellhop.Pending, CreatedUtc: now, UpdatedUtc: now, Creator: bellhop.Creator{IntegrationID: bellhop.NewID(), LastName: "test"},
		Data: []byte(`{}`)}
	if _, err := s.CreateCommand(t.Context(), c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now, Actor: "test"}, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func next[T any](t testing.TB, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing reported within 10 s")
	}
	var zero T
	return zero
}

// TestListenCommitOrder updates one command concurrently through two stores
// (two nodes); a third hears every change once, in commit order: each update
// increments the progress, so the progress heard must count up by one, with
// states that never move back and StateChange set exactly when the state
// moved.
func TestListenCommitOrder(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, b := openConfig(t, postgres.Config{Schema: schema}), openConfig(t, postgres.Config{Schema: schema})
	events, _, _ := listen(t, openConfig(t, postgres.Config{Schema: schema}))
	now := time.Now().UTC()
	c := newCommand(t, a, now)

	const n = 200
	stateAt := func(k int) bellhop.State {
		switch {
		case k == n:
			return bellhop.Processed
		case k > n/2:
			return bellhop.Processing
		}
		return bellhop.Received
	}
	var wg sync.WaitGroup
	for w := range 8 {
		s := []*postgres.Store{a, b}[w%2]
		wg.Go(func() {
			for range n / 8 {
				_, err := s.UpdateCommands(t.Context(), []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
					k := 1.0
					if c.Progress != nil {
						k = *c.Progress + 1
					}
					c.Progress, c.State, c.UpdatedUtc = &k, stateAt(int(k)), time.Now().UTC()
					return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc, Actor: "test", Progress: c.Progress}, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	e := next(t, events)
	if e.CommandID != c.ID || e.State != bellhop.Pending || !e.StateChange || e.Progress != nil || e.DeviceID != c.DeviceID ||
		e.EnterpriseID != c.EnterpriseID || e.CreatorIntegrationID != c.Creator.IntegrationID || !e.Utc.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("first event %+v, want the creation of %+v", e, c)
	}
	prev := e.State
	for k := 1; k <= n; k++ {
		e := next(t, events)
		if e.Progress == nil || int(*e.Progress) != k {
			t.Fatalf("event %d: %+v, want progress %d", k, e, k)
		}
		if e.State != stateAt(k) || e.StateChange != (e.State != prev) {
			t.Fatalf("event %d: state %s (change %v) after %s, want %s", k, e.State, e.StateChange, prev, stateAt(k))
		}
		prev = e.State
	}
	final, err := b.GetCommand(t.Context(), c.ID)
	if err != nil || final.State != prev || *final.Progress != n {
		t.Fatalf("final command %+v (%v), last event state %s", final, err, prev)
	}
	select {
	case e := <-events:
		t.Fatalf("extra event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestListenTopology: connecting, disconnecting, deleting a device and
// revoking a subscription are heard by every node.
func TestListenTopology(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a := openConfig(t, postgres.Config{Schema: schema})
	_, topology, _ := listen(t, openConfig(t, postgres.Config{Schema: schema}))
	ctx := t.Context()
	now := time.Now().UTC()
	e := &bellhop.Enterprise{ID: bellhop.NewID(), Name: "E", CreatedUtc: now}
	i := &bellhop.Integration{ID: bellhop.NewID(), Name: "I", CreatedUtc: now}
	sub := &bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: i.ID, EnterpriseIDs: []string{e.ID}, CreatedUtc: now}
	d := &bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e.ID, Type: bellhop.Printer, Name: "P", CreatedUtc: now}
	for _, err := range []error{a.CreateEnterprise(ctx, e), a.CreateIntegration(ctx, i, "c"), a.CreateSubscription(ctx, sub, "a"), a.CreateDevice(ctx, d)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	devices := store.TopologyChange{SubscriptionID: sub.ID}
	for _, step := range []struct {
		name string
		do   func() error
		want store.TopologyChange
	}{
		{"connect", func() error { return a.Connect(ctx, sub.ID, d.ID) }, devices},
		{"disconnect", func() error { return a.Disconnect(ctx, sub.ID, d.ID) }, devices},
		{"reconnect", func() error { return a.Connect(ctx, sub.ID, d.ID) }, devices},
		{"delete device", func() error { return a.DeleteDevice(ctx, d.ID) }, devices},
		{"revoke", func() error { return a.RevokeSubscription(ctx, sub.ID) }, store.TopologyChange{SubscriptionID: sub.ID, Revoked: true}},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := next(t, topology); got != step.want {
			t.Fatalf("%s: heard %+v, want %+v", step.name, got, step.want)
		}
	}
	if err := a.RevokeSubscription(ctx, bellhop.NewID()); err == nil {
		t.Fatal("revoking an unknown subscription: no error")
	}
	select {
	case got := <-topology:
		t.Fatalf("heard %+v after failed calls", got)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestListenGap kills the listener's server process: Listen reconnects and
// calls Gap with a time no later than the changes it may have missed, and
// hears the changes after it.
func TestListenGap(t *testing.T) {
	t.Parallel()
	admin := hubtest.Postgres(t)
	schema := newSchema(t)
	writer := openConfig(t, postgres.Config{Schema: schema})
	events, _, gaps := listen(t, openConfig(t, postgres.Config{Schema: schema, ListenRetry: 300 * time.Millisecond}))

	heard := newCommand(t, writer, time.Now().UTC())
	if e := next(t, events); e.CommandID != heard.ID {
		t.Fatalf("heard %+v", e)
	}
	var killed int
	err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"bellhop-listen:"+schema).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners (%v)", killed, err)
	}
	missed := newCommand(t, writer, time.Now().UTC()) // before Listen reconnects (300 ms)
	since := next(t, gaps)
	// pg_terminate_backend does not wait for the backend to go: the dying
	// connection may still deliver the change, before the gap (the same
	// goroutine reports both, in order). Only a change not heard by then
	// must lie within the gap.
	heardMissed := false
	select {
	case e := <-events:
		if e.CommandID != missed.ID {
			t.Fatalf("heard %+v", e)
		}
		heardMissed = true
	default:
	}
	if !heardMissed && since.After(missed.UpdatedUtc) {
		t.Errorf("gap since %s, after the change it may have missed (%s)", since, missed.UpdatedUtc)
	}
	after := newCommand(t, writer, time.Now().UTC())
	for {
		e := next(t, events)
		if e.CommandID == after.ID {
			break
		}
		if e.CommandID != missed.ID { // heard again only if the reconnect won the race
			t.Fatalf("heard %+v", e)
		}
	}
}

// TestLimiterShared: two nodes' limiters share one count, also when they ask
// at the same time, and a refused request is not counted.
func TestLimiterShared(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	limiters := []*postgres.Limiter{
		postgres.NewLimiter(openConfig(t, postgres.Config{Schema: schema, Now: clock}), 10, time.Minute),
		postgres.NewLimiter(openConfig(t, postgres.Config{Schema: schema, Now: clock}), 10, time.Minute),
	}
	var allowed sync.WaitGroup
	results := make(chan bool, 40)
	for w := range 8 {
		allowed.Go(func() {
			for range 5 {
				ok, retry := limiters[w%2].Allow(t.Context(), "key")
				if !ok && retry <= 0 {
					t.Errorf("refused with retry %s", retry)
				}
				results <- ok
			}
		})
	}
	allowed.Wait()
	close(results)
	n := 0
	for ok := range results {
		if ok {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("%d of 40 allowed, want 10", n)
	}
	if ok, _ := limiters[0].Allow(t.Context(), "other"); !ok {
		t.Fatal("another key is refused")
	}
	// Three quarters into the next window the previous 10 weigh 2.5: 8
	// more (2.5 + 7 < 10).
	mu.Lock()
	now = now.Add(time.Minute + 45*time.Second)
	mu.Unlock()
	n = 0
	for i := range 20 {
		if ok, _ := limiters[i%2].Allow(t.Context(), "key"); ok {
			n++
		}
	}
	if n != 8 {
		t.Fatalf("%d allowed in the next window, want 8", n)
	}
}

// TestListenKeyedCreates: concurrent creates with idempotency keys, grouped
// when they meet, some repeating one key; an event is heard for each command
// created and for no repeat. A create without a key, made after all of them
// returned, is heard after every event of theirs (commit order), so reading
// up to it hears all they sent.
func TestListenKeyedCreates(t *testing.T) {
	t.Parallel()
	s := open(t)
	events, _, _ := listen(t, s)
	type result struct {
		id      string
		created bool
		err     error
	}
	results := make(chan result, 30)
	for i := range cap(results) {
		go func() {
			key := "same"
			if i < 20 {
				key = fmt.Sprintf("key-%d", i)
			}
			now := time.Now()
			c := &bellhop.Command{ID: bellhop.NewID(), EnterpriseID: "e", DeviceID: "d", DeviceType: bellhop.Printer,
				State: bellhop.Pending, CreatedUtc: now, UpdatedUtc: now, Data: []byte(`{}`)}
			created, err := s.CreateCommand(context.Background(), c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now, Actor: "test"},
				&bellhop.Idempotency{Scope: "test", Key: key, RequestHash: "h"})
			results <- result{c.ID, created, err}
		}()
	}
	want := map[string]bool{}
	for range cap(results) {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.created {
			want[r.id] = true
		}
	}
	if len(want) != 21 {
		t.Fatalf("%d commands created, want 21 (20 keys and one repeated 10 times)", len(want))
	}
	last := newCommand(t, s, time.Now())
	heard := map[string]int{}
	for {
		e := next(t, events)
		if e.CommandID == last.ID {
			break
		}
		heard[e.CommandID]++
	}
	for id, n := range heard {
		if !want[id] || n != 1 {
			t.Errorf("event of %s heard %d times; created: %v", id, n, want[id])
		}
	}
	if len(heard) != len(want) {
		t.Errorf("heard the events of %d commands, want %d", len(heard), len(want))
	}
}
