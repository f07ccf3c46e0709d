package postgres_test

import (
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/postgres"
	"github.com/bellhop/bellhop/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) }, storetest.ExclusiveLocks())
}

// newSchema returns the name of a schema of its own for the test, dropped
// when it ends.
func newSchema(t testing.TB) string {
	t.Helper()
	_, schema := hubtest.PostgresSchema(t)
	return schema
}

// open opens a store in a fresh schema, closed and dropped when the test
// ends.
func open(t testing.TB) *postgres.Store {
	t.Helper()
	return openConfig(t, postgres.Config{Schema: newSchema(t)})
}

// openConfig opens a store on the test server with cfg (URL, when empty, is
// the test server's; MaxConns, when zero, 8), closed when the test ends.
// Stores opened on one Schema are nodes of one hub.
func openConfig(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = hubtest.PostgresURL()
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8
	}
	s, err := postgres.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the drop
	return s
}

// TestMigrateConcurrently runs the migrations from several nodes at once on
// a fresh schema: they wait for each other and apply each migration once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	admin := hubtest.Postgres(t)
	schema := newSchema(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			errs <- postgres.Migrate(t.Context(), postgres.Config{URL: hubtest.PostgresURL(), Schema: schema})
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	err := admin.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&n)
	files, _ := filepath.Glob("migrations/*.sql")
	if err != nil || n != len(files) || n == 0 {
		t.Errorf("schema_migrations: %d rows (%v), want %d", n, err, len(files))
	}
	s, err := postgres.Open(t.Context(), postgres.Config{URL: hubtest.PostgresURL(), Schema: schema})
	if err != nil {
		t.Fatalf("open after Migrate: %v", err)
	}
	s.Close()
}

func TestConfigValidate(t *testing.T) {
	cfg := postgres.Config{URL: "postgres://u@h/db"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != postgres.DefaultMaxConns {
		t.Errorf("default MaxConns %d", cfg.MaxConns)
	}
	for _, bad := range []postgres.Config{{}, {URL: "postgres://u@h/db", MaxConns: -1}, {URL: "postgres://u@h:port/db"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v): no error", bad)
		}
	}
}

func BenchmarkCreateUpdate(b *testing.B) {
	storetest.BenchmarkCreateUpdate(b, open(b))
}

func BenchmarkCreateUpdateParallel(b *testing.B) {
	storetest.BenchmarkCreateUpdateParallel(b, open(b))
}

func BenchmarkLifecycleParallel(b *testing.B) {
	storetest.BenchmarkLifecycleParallel(b, open(b))
}
