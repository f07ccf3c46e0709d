package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/postgres"
	"github.com/bellhop/bellhop/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) }, storetest.ExclusiveLocks())
}

// databaseURL is the test server: BELLHOP_TEST_DATABASE_URL, or a local one.
func databaseURL() string {
	if u := os.Getenv("BELLHOP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// connect connects to the test server. Without a server the test is
// skipped, except in CI (CI set), where it fails.
func connect(t testing.TB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), databaseURL())
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s: %v", databaseURL(), err)
		}
		t.Skipf("no PostgreSQL at %s: %v", databaseURL(), err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// newSchema returns the name of a schema of its own for the test, dropped
// when it ends.
func newSchema(t testing.TB, admin *pgx.Conn) string {
	t.Helper()
	schema := "test_" + strings.ReplaceAll(bellhop.NewID(), "-", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// open opens a store in a fresh schema, closed and dropped when the test
// ends.
func open(t testing.TB) *postgres.Store {
	t.Helper()
	return openConfig(t, postgres.Config{Schema: newSchema(t, connect(t))})
}

// openConfig opens a store on the test server with cfg (URL, when empty, is
// the test server's; MaxConns, when zero, 8), closed when the test ends.
// Stores opened on one Schema are nodes of one hub.
func openConfig(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = databaseURL()
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
	admin := connect(t)
	schema := newSchema(t, admin)
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- postgres.Migrate(t.Context(), postgres.Config{URL: databaseURL(), Schema: schema}) }()
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
	s, err := postgres.Open(t.Context(), postgres.Config{URL: databaseURL(), Schema: schema})
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
