package postgres_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"

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

// TestHotWritesKeepPlans: the statements of a lifecycle's writes (creates,
// fetches that mark, updates, alone and in groups) run on plans PostgreSQL
// made once per connection, not planned anew at each execution.
func TestHotWritesKeepPlans(t *testing.T) {
	t.Parallel()
	s := openConfig(t, postgres.Config{Schema: newSchema(t), MaxConns: 1})
	received := func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.State = bellhop.Received
		return &bellhop.HistoryEntry{State: c.State, Utc: time.Now()}, nil
	}
	processed := func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.State = bellhop.Processed
		return &bellhop.HistoryEntry{State: c.State, Utc: time.Now()}, nil
	}
	pick := func(cs []bellhop.Command) []string { return []string{cs[0].ID} }
	lifecycle := func() error {
		c := newCommand(t, s, time.Now().UTC())
		if _, _, err := s.FetchCommands(t.Context(), []string{c.ID}, pick, received); err != nil {
			return err
		}
		_, err := s.UpdateCommands(t.Context(), []string{c.ID}, processed)
		return err
	}
	for range 10 { // one at a time: each write on its own
		if err := lifecycle(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 40 { // at once: in groups
		wg.Go(func() {
			if err := lifecycle(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	plans, err := s.Plans(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	hot := 0
	for text, n := range plans {
		if !strings.Contains(text, "commands") && !strings.Contains(text, "pg_notify") {
			continue
		}
		hot++
		if custom, generic := n[0], n[1]; custom > 0 {
			t.Errorf("planned %d times, %d cached: %s", custom, generic, text)
		}
	}
	if hot < 5 {
		t.Errorf("%d statements of the writes prepared, want at least 5: %v", hot, plans)
	}
}

// TestNotifyExistingPlan: the notification of keyed creates, on the plan
// made when the commands table was small and kept while it grew (as the
// hot writes keep theirs), looks up only the commands it names instead of
// reading the whole table.
func TestNotifyExistingPlan(t *testing.T) {
	t.Parallel()
	url, schema := hubtest.PostgresSchema(t)
	openConfig(t, postgres.Config{URL: url, Schema: schema}) // migrates
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	insert := `INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, notes)
		SELECT 'c' || g, 'e', 'd', 'Printer', 'Processed', now(), now(), '', '', '', '' FROM generate_series($1::int, $2::int) AS g`
	execute := `EXECUTE notify('events', '{e1,e2}', '{c1,""}')`
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	for _, q := range []struct {
		sql  string
		args []any
	}{{postgres.WriteSetupSQL, nil}, {insert, []any{1, 3}}, {`PREPARE notify AS ` + postgres.NotifyExistingSQL, nil},
		{execute, nil}, {insert, []any{4, 3000}}} {
		if _, err := tx.Exec(t.Context(), q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := tx.Query(t.Context(), `EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) `+execute)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range plan {
		if m := regexp.MustCompile(`rows=(\d+)`).FindStringSubmatch(line); m != nil && len(m[1]) > 1 {
			t.Errorf("a node of the plan returned %s rows:\n%s", m[1], strings.Join(plan, "\n"))
			break
		}
	}
}
