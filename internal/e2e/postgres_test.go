package e2e

import (
	"testing"

	"github.com/bellhop/bellhop/internal/node"
)

// The hub on PostgreSQL: the test server is hubtest.PostgresURL. Without a
// server these tests skip, except in CI (CI set), where they fail.

// onDatabase runs the hub on this PostgreSQL URL: several hubs on one URL
// are the nodes of one cluster.
func onDatabase(dbURL string) func(*node.Config) {
	return func(c *node.Config) { c.Database = dbURL }
}

// The end-to-end tests of visibility and of WebSocket events, on PostgreSQL
// (one node). BELLHOP_TEST_STORE=postgres runs every test of the package so.

func TestPostgresVisibility(t *testing.T) {
	t.Setenv("BELLHOP_TEST_STORE", "postgres")
	TestVisibility(t)
}

func TestPostgresWebSocketEvents(t *testing.T) {
	t.Setenv("BELLHOP_TEST_STORE", "postgres")
	TestWebSocketEvents(t)
}
