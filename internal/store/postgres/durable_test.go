package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/stage"
	"github.com/bellhop/bellhop/internal/store/postgres"
)

// TestWritesDurable: when a write of commands returns, its commit is on disk
// (the server's synchronous_commit is on). The WAL's insert position is read
// before each write, so the write's commit ends past it, and the flushed
// position must be past it when the write returns. A commit that merely
// queued its WAL (synchronous_commit off, then a statement that writes no
// WAL) is flushed by the WAL writer within 200 ms or so; this test caught
// that in most rounds on a quiet server (other sessions' flushes can hide
// it, never fail the test). Single writes, and groups of concurrent creates
// and updates.
func TestWritesDurable(t *testing.T) {
	t.Parallel()
	admin, err := pgxpool.New(t.Context(), hubtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var sc string
	if err := admin.QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&sc); err != nil {
		hubtest.Unavailable(t, "no PostgreSQL at %s: %v", hubtest.PostgresURL(), err)
	}
	if sc == "off" {
		t.Skip("the test server runs with synchronous_commit off: commits are not waited for")
	}
	s := open(t)
	insertLSN := func() (string, error) {
		var lsn string
		err := admin.QueryRow(t.Context(), `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn)
		return lsn, err
	}
	flushedPast := func(lsn string) (bool, error) {
		var past bool
		err := admin.QueryRow(t.Context(), `SELECT pg_current_wal_flush_lsn() > $1::pg_lsn`, lsn).Scan(&past)
		return past, err
	}
	progress := func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		p := 0.5
		if c.Progress != nil {
			p = *c.Progress + 1
		}
		c.Progress, c.UpdatedUtc = &p, time.Now()
		return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc, Actor: "test", Progress: &p}, nil
	}
	// write runs a create and an update, each checked.
	write := func() error {
		lsn, err := insertLSN()
		if err != nil {
			return err
		}
		now := time.Now()
		c := &bellhop.Command{ID: bellhop.NewID(), EnterpriseID: bellhop.NewID(), DeviceID: bellhop.NewID(), DeviceType: bellhop.Printer,
			State: bellhop.Pending, CreatedUtc: now, UpdatedUtc: now, Creator: bellhop.Creator{IntegrationID: bellhop.NewID()}}
		if _, err := s.CreateCommand(t.Context(), c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now, Actor: "test"}, nil); err != nil {
			return err
		}
		if past, err := flushedPast(lsn); err != nil || !past {
			return fmt.Errorf("a create returned before its commit was flushed (%v)", err)
		}
		if lsn, err = insertLSN(); err != nil {
			return err
		}
		if _, err := s.UpdateCommands(t.Context(), []string{c.ID}, progress); err != nil {
			return err
		}
		if past, err := flushedPast(lsn); err != nil || !past {
			return fmt.Errorf("an update returned before its commit was flushed (%v)", err)
		}
		return nil
	}
	for round := range 10 {
		if err := write(); err != nil {
			t.Fatalf("round %d, alone: %v", round, err)
		}
		// Concurrent writes, grouped when they meet.
		errs := make(chan error, 8)
		for range cap(errs) {
			go func() { errs <- write() }()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Fatalf("round %d, concurrent: %v", round, err)
			}
		}
	}
}

// TestWriteStages: every write of commands reports, once each, its wait for
// a committer, its group's run and commit, and its wake-up, alone and in
// groups.
func TestWriteStages(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[stage.Stage]int{}
	obs := stage.Observer(func(st stage.Stage, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d < 0 {
			t.Errorf("%s: negative %s", st, d)
		}
		seen[st]++
	})
	s := openConfig(t, postgres.Config{Schema: newSchema(t), Stage: obs})
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { newCommand(t, s, time.Now()) })
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, st := range []stage.Stage{stage.WriteQueue, stage.WriteRun, stage.Commit, stage.WriteWake} {
		if seen[st] != n {
			t.Errorf("%s observed %d times, want %d", st, seen[st], n)
		}
	}
}
