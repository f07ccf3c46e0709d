package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/sqlite"
	"github.com/bellhop/bellhop/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, sqlite.Config{}) })
}

// open opens a store on a fresh file in a temporary directory, closed when
// the test ends.
func open(t testing.TB, cfg sqlite.Config) *sqlite.Store {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "bellhop.db")
	}
	s, err := sqlite.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConfigValidate(t *testing.T) {
	cfg := sqlite.Config{Path: "x.db"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Sync != "normal" || cfg.BusyTimeout != 5*time.Second {
		t.Errorf("defaults: Sync %q, BusyTimeout %v", cfg.Sync, cfg.BusyTimeout)
	}
	for _, bad := range []sqlite.Config{
		{},
		{Path: ":memory:"},
		{Path: "file:x.db"},
		{Path: "x.db?mode=ro"},
		{Path: "x.db", Sync: "off"},
		{Path: "x.db", BusyTimeout: -time.Second},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v): no error", bad)
		}
	}
}

// TestReopen opens a database twice: the migrations run once, the data stays,
// and the file is in WAL mode with the chosen durability.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	s := open(t, sqlite.Config{Path: path, Sync: "full"})
	e := bellhop.Enterprise{ID: bellhop.NewID(), Name: "Hotel", CreatedUtc: time.UnixMilli(1).UTC()}
	if err := s.CreateEnterprise(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, sqlite.Config{Path: path})
	if _, err := s.GetEnterprise(t.Context(), e.ID); err != nil {
		t.Fatalf("after reopening: %v", err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var migrations int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil || migrations != 1 {
		t.Errorf("schema_migrations: %d rows (%v), want 1", migrations, err)
	}
}

func BenchmarkCreateUpdateParallel(b *testing.B) {
	storetest.BenchmarkCreateUpdateParallel(b, open(b, sqlite.Config{}))
}

func BenchmarkCreateUpdateParallelFull(b *testing.B) {
	storetest.BenchmarkCreateUpdateParallel(b, open(b, sqlite.Config{Sync: "full"}))
}

func BenchmarkCreateUpdate(b *testing.B) {
	storetest.BenchmarkCreateUpdate(b, open(b, sqlite.Config{}))
}
