package postgres_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/store/postgres"
)

// TestConnectedDevicesPlan: with 1,000 devices and no statistics (as in a
// young schema, or without autovacuum), ConnectedDevices looks each device
// up by its key instead of reading the whole devices table.
func TestConnectedDevicesPlan(t *testing.T) {
	t.Parallel()
	url, schema := hubtest.PostgresSchema(t)
	s := openConfig(t, postgres.Config{URL: url, Schema: schema})
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for _, q := range []string{
		`INSERT INTO enterprises VALUES ('e', 'E', now())`,
		`INSERT INTO integrations VALUES ('i', 'I', 'c', now())`,
		`INSERT INTO subscriptions (id, integration_id, access_token_hash, created)
			SELECT 's' || g, 'i', 'a' || g, now() FROM generate_series(1, 1000) AS g`,
		`INSERT INTO devices SELECT 'd' || g, 'e', 'Printer', 'P' || g, '', '{}', now() FROM generate_series(1, 1000) AS g`,
		`INSERT INTO connections SELECT 's' || g, 'd' || g FROM generate_series(1, 1000) AS g`,
	} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := conn.Query(t.Context(), `EXPLAIN `+postgres.ConnectedDevicesSQL, "s7")
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "Seq Scan on devices") || !strings.Contains(text, "devices_pkey") {
		t.Errorf("the plan reads the whole devices table:\n%s", text)
	}
	devs, err := s.ConnectedDevices(t.Context(), "s7")
	if err != nil || len(devs) != 1 || devs[0].ID != "d7" {
		t.Errorf("ConnectedDevices(s7) = %v, %v", devs, err)
	}
}
