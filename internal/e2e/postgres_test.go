package e2e

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/node"
)

// The hub on PostgreSQL: the test server is BELLHOP_TEST_DATABASE_URL, or
// the local one (database test, user postgres). Without a server these tests
// skip, except in CI (CI set), where they fail.

func testDatabaseURL() string {
	if u := os.Getenv("BELLHOP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// pgAdmin connects to the test server for the test's own queries.
func pgAdmin(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testDatabaseURL())
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s: %v", testDatabaseURL(), err)
		}
		t.Skipf("no PostgreSQL at %s: %v", testDatabaseURL(), err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// postgresURL returns the URL of a fresh schema (its search_path) on the test
// server, dropped when the test ends, after the hubs on it (register it
// before starting them).
func postgresURL(t testing.TB) string {
	t.Helper()
	u, _ := pgSchema(t)
	return u
}

func pgSchema(t testing.TB) (dbURL, schema string) {
	t.Helper()
	admin := pgAdmin(t)
	schema = "e2e_" + strings.ReplaceAll(bellhop.NewID(), "-", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(testDatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// onDatabase runs the hub on this PostgreSQL URL: several hubs on one URL
// are the nodes of one cluster.
func onDatabase(dbURL string) option {
	return func(c *node.Config) { c.Database = dbURL }
}

// The end-to-end tests of visibility and of WebSocket events, on PostgreSQL
// (one node). BELLHOP_E2E_STORE=postgres runs every test of the package so.

func TestPostgresVisibility(t *testing.T) {
	t.Setenv("BELLHOP_E2E_STORE", "postgres")
	TestVisibility(t)
}

func TestPostgresWebSocketEvents(t *testing.T) {
	t.Setenv("BELLHOP_E2E_STORE", "postgres")
	TestWebSocketEvents(t)
}
