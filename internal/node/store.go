package node

import (
	"context"
	"fmt"

	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/ratelimit"
	"github.com/bellhop/bellhop/internal/stage"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/postgres"
)

// openPostgres opens (and migrates) the PostgreSQL store that several hub
// nodes share. cfg.Schema, or else a search_path parameter in the URL,
// names the schema. The store reports its writes' stages to obs.
func openPostgres(ctx context.Context, cfg Config, obs stage.Observer) (store.Store, error) {
	return postgres.Open(ctx, postgres.Config{URL: cfg.Database, Schema: cfg.Schema, Logger: cfg.Logger, Now: cfg.Now, Stage: obs})
}

// CreateSchema creates the PostgreSQL schema that cfg names (Schema, or
// else the search_path of Database), which must not exist yet: a hub
// started on it begins with empty tables. DropSchema drops it with
// everything in it, once the hubs on it have stopped. Both return an error
// when cfg names no schema or the server cannot be reached; CreateSchema
// also when the schema exists.
func CreateSchema(ctx context.Context, cfg Config) error {
	return postgres.CreateSchema(ctx, postgres.Config{URL: cfg.Database, Schema: cfg.Schema})
}

// SchemaOf is the PostgreSQL schema a hub of cfg uses: Schema, else the
// search_path of Database when that is one plain name; "" for none.
func SchemaOf(cfg Config) string {
	return postgres.SchemaOf(postgres.Config{URL: cfg.Database, Schema: cfg.Schema})
}

// DropSchema: see CreateSchema.
func DropSchema(ctx context.Context, cfg Config) error {
	return postgres.DropSchema(ctx, postgres.Config{URL: cfg.Database, Schema: cfg.Schema})
}

// clustered reports whether st is shared by several nodes that learn of each
// other's changes through it, so the service must leave publishing to Relay.
func clustered(st store.Store) bool {
	_, ok := st.(store.Notifier)
	return ok
}

// newLimiter returns the rate limiter of a hub node: on PostgreSQL one that
// every node shares, else one in memory.
func newLimiter(st store.Store, cfg Config) ratelimit.Limiter {
	if pg, ok := st.(*postgres.Store); ok {
		return postgres.NewLimiter(pg, cfg.RateLimit, cfg.RateWindow)
	}
	return ratelimit.NewMemory(cfg.RateLimit, cfg.RateWindow, cfg.Now)
}

// startRelay, on a clustered store, relays what the store reports to pub
// (the broker) and returns once every later commit will be reported, so that
// no socket accepted afterwards can miss one. stop ends the relay and waits
// for it. On another store it does nothing.
func startRelay(ctx context.Context, svc *hub.Service, st store.Store, pub hub.Publisher) (stop func(), err error) {
	n, ok := st.(store.Notifier)
	if !ok {
		return func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	listening, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- svc.Relay(ctx, n, pub, func() { close(listening) }) }()
	stop = func() {
		cancel()
		<-done
	}
	select {
	case <-listening:
		return stop, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("relay: %w", err)
	}
}
