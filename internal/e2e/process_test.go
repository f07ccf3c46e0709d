package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestClusterProcesses starts two hub processes at the same time on one
// fresh PostgreSQL schema: both migrate safely and serve. A command created
// through one reaches a socket held by the other and back; after the first is
// killed (SIGKILL), the second serves everything it created.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL, schema := hubtest.PostgresSchema(t)
	pg := hubtest.Postgres(t)
	a, b := hubtest.LaunchProcess(t, "--database", dbURL), hubtest.LaunchProcess(t, "--database", dbURL)
	a.Wait()
	b.Wait()
	ctx := context.Background()
	var migrations int
	if err := pg.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../store/postgres/migrations/*.sql")
	if migrations != len(files) {
		t.Fatalf("%d migrations applied, want %d once each", migrations, len(files))
	}

	// The tenant, through node a's admin API.
	tn := hubtest.NewTenant(t, a.Admin, "Group", bellhop.Printer)
	wsA, _, err := dialAt(t, a.PlatformAddress, tn.ClientToken, tn.AccessToken, false)
	if err != nil {
		t.Fatal(err)
	}
	wsB, _, err := dialAt(t, b.PlatformAddress, tn.ClientToken, tn.AccessToken, false)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := tn.SDK(a.PlatformAddress), tn.SDK(b.PlatformAddress)
	add := func(c *client.Client) string {
		t.Helper()
		id, err := c.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	// Created through a, heard on b; updated through b, heard on a.
	first := add(ca)
	wsB.expect(t, first, bellhop.Pending)
	wsA.expect(t, first, bellhop.Pending)
	if err := cb.UpdateCommand(ctx, client.UpdateRequest{CommandId: first, State: client.StateProcessing}); err != nil {
		t.Fatal(err)
	}
	wsA.expect(t, first, bellhop.Processing)
	wsB.expect(t, first, bellhop.Processing)
	pending := []string{add(ca), add(ca)}

	// Kill a: b serves what a created.
	a.Kill()
	active, err := cb.AllActiveCommands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range active {
		got[c.Id] = true
	}
	if len(active) != 2 || !got[pending[0]] || !got[pending[1]] {
		t.Fatalf("getAllActive on b after a died: %v, want %v", got, pending)
	}
	for _, id := range append(pending, first) {
		if err := cb.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed}); err != nil {
			t.Fatal(err)
		}
	}
	// b's socket heard every change, a's commands included.
	for _, id := range pending {
		wsB.expect(t, id, bellhop.Pending)
	}
	for _, id := range pending {
		wsB.expect(t, id, bellhop.Received)
	}
	for _, id := range append(pending, first) {
		wsB.expect(t, id, bellhop.Processed)
	}
	select {
	case code := <-wsA.closed:
		t.Logf("a's socket ended (%d), as a died", code)
	case <-time.After(5 * time.Second):
		t.Error("a's socket still open after a was killed")
	}
}
