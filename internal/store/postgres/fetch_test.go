package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/store/postgres"
)

// TestFetchWhileLocked: a fetch of a command whose row another transaction
// holds cannot take it in a group (which skips locked rows); it waits for
// that transaction on its own path and then marks the command as that
// transaction left it.
func TestFetchWhileLocked(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openConfig(t, postgres.Config{Schema: schema})
	c := newCommand(t, s, time.Now().UTC())

	admin := hubtest.Postgres(t)
	tx, err := admin.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `UPDATE `+pgx.Identifier{schema, "commands"}.Sanitize()+` SET notes = 'held' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}

	type result struct {
		all, changed []bellhop.Command
		seen         string // the notes fn saw last
		err          error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.all, r.changed, r.err = s.FetchCommands(t.Context(), []string{c.ID}, func(cs []bellhop.Command) []string {
			var ids []string
			for _, c := range cs {
				if c.State == bellhop.Pending {
					ids = append(ids, c.ID)
				}
			}
			return ids
		}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
			r.seen = c.Notes
			c.State, c.UpdatedUtc = bellhop.Received, time.Now()
			return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc, Actor: "test"}, nil
		})
		done <- r
	}()
	// Wait until the fetch waits for the row lock, then let it go.
	for {
		var waiting bool
		err := admin.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)))`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the fetch returned while another transaction held the command: %+v", r)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.seen != "held" || len(r.all) != 1 || r.all[0].Notes != "held" || r.all[0].State != bellhop.Received ||
		string(r.all[0].Data) != `{}` || len(r.changed) != 1 || string(r.changed[0].Data) != `{}` {
		t.Fatalf("fn saw notes %q; fetched %+v, changed %+v; want the command as the other transaction left it, marked Received, with its payload",
			r.seen, r.all, r.changed)
	}
	got, err := s.GetCommand(t.Context(), c.ID)
	if err != nil || got.Notes != "held" || got.State != bellhop.Received {
		t.Fatalf("stored %+v (%v)", got, err)
	}
}

// TestFetchNothingNoFlush: a fetch whose pick chooses no command writes
// nothing, so it answers without the flush a change waits for (which writes
// WAL of its own: a durable_marks row), as a read would; a fetch that marks
// a command does wait for it.
func TestFetchNothingNoFlush(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openConfig(t, postgres.Config{Schema: schema})
	c := newCommand(t, s, time.Now().UTC())
	admin := hubtest.Postgres(t)
	flushes := func() int64 {
		var n int64
		if err := admin.QueryRow(t.Context(), `SELECT coalesce(sum(n), 0) FROM `+
			pgx.Identifier{schema, "durable_marks"}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	mark := func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.State, c.UpdatedUtc = bellhop.Received, time.Now()
		return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc, Actor: "test"}, nil
	}

	before := flushes()
	all, changed, err := s.FetchCommands(t.Context(), []string{c.ID}, func([]bellhop.Command) []string { return nil }, mark)
	if err != nil || len(all) != 1 || all[0].State != bellhop.Pending || string(all[0].Data) != `{}` || len(changed) != 0 {
		t.Fatalf("fetched %+v, changed %+v (%v); want the Pending command with its payload, nothing changed", all, changed, err)
	}
	if after := flushes(); after != before {
		t.Errorf("a fetch that changed nothing waited for %d flushes", after-before)
	}

	all, changed, err = s.FetchCommands(t.Context(), []string{c.ID}, func([]bellhop.Command) []string { return []string{c.ID} }, mark)
	if err != nil || len(all) != 1 || all[0].State != bellhop.Received || len(changed) != 1 {
		t.Fatalf("fetched %+v, changed %+v (%v); want the command marked Received", all, changed, err)
	}
	if after := flushes(); after <= before {
		t.Errorf("a fetch that marked a command waited for no flush (durable_marks %d, before %d)", after, before)
	}
}
