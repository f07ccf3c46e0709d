package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	files, _ := filepath.Glob("migrations/*.sql")
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil || migrations != len(files) || len(files) == 0 {
		t.Errorf("schema_migrations: %d rows (%v), want %d (one per migration)", migrations, err, len(files))
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

func BenchmarkLifecycleParallel(b *testing.B) {
	storetest.BenchmarkLifecycleParallel(b, open(b, sqlite.Config{}))
}

// TestMigrateCommandData opens a database written by the first schema, with
// commands that carry payloads and one that does not: after the second
// migration every command reads back as it was, and new writes work.
func TestMigrateCommandData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{string(init),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, data, progress, notes) VALUES
			('0190a000-0000-7000-8000-000000000001', 'e', 'd', 'Printer', 'Pending', 1000, 1000, '', 'Ann', 'Lee', '{"CopyCount":2}', NULL, ''),
			('0190a000-0000-7000-8000-000000000002', 'e', 'd', 'Printer', 'Processed', 1000, 2000, '', 'Ann', 'Lee', NULL, 1, 'done')`,
		// History of both, interleaved, as the old table numbered it.
		`INSERT INTO command_history (id, command_seq, state, utc, actor, progress, notes) VALUES
			(5, 2, 'Pending', 1000, 'admin', NULL, ''), (6, 1, 'Pending', 1000, 'admin', NULL, ''),
			(9, 2, 'Processed', 2000, 'agent', 1, 'done')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := open(t, sqlite.Config{Path: path})
	ctx := t.Context()
	got, err := s.GetCommands(ctx, []string{"0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Data) != `{"CopyCount":2}` || got[1].Data != nil || got[1].Notes != "done" || got[1].State != bellhop.Processed {
		t.Fatalf("after migrating: %+v", got)
	}
	history, err := s.History(ctx, "0190a000-0000-7000-8000-000000000002")
	if err != nil || len(history) != 2 || history[0].State != bellhop.Pending || history[1].State != bellhop.Processed || history[1].Notes != "done" {
		t.Fatalf("history after migrating: %+v (%v)", history, err)
	}
	// New entries follow the migrated ones.
	if _, err := s.UpdateCommands(ctx, []string{got[0].ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.State = bellhop.Received
		return &bellhop.HistoryEntry{State: c.State, Utc: time.UnixMilli(3000), Actor: "agent"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if history, err = s.History(ctx, got[0].ID); err != nil || len(history) != 2 || history[1].State != bellhop.Received {
		t.Fatalf("history after a new entry: %+v (%v)", history, err)
	}
	active, err := s.ListCommands(ctx, bellhop.CommandFilter{DeviceIDs: []string{"d"}, States: []bellhop.State{bellhop.Pending, bellhop.Received}})
	if err != nil || len(active) != 1 || active[0].ID != got[0].ID || active[0].State != bellhop.Received {
		t.Fatalf("active after migrating: %+v (%v)", active, err)
	}
	// Once final, it leaves the queue (the column behind commands_active).
	if _, err := s.UpdateCommands(ctx, []string{got[0].ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.State = bellhop.Processed
		return &bellhop.HistoryEntry{State: c.State, Utc: time.UnixMilli(4000), Actor: "agent"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	active, err = s.ListCommands(ctx, bellhop.CommandFilter{DeviceIDs: []string{"d"}, States: []bellhop.State{bellhop.Pending, bellhop.Received, bellhop.Processing}})
	if err != nil || len(active) != 0 {
		t.Fatalf("active after the migrated command was processed: %+v (%v)", active, err)
	}
}

// TestMigrateDataShapes opens a database written before payment records:
// the stored Data of payments and printers is brought to the published
// shapes, the rest is left as it was.
func TestMigrateDataShapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	qs := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`}
	for i, f := range []string{"0001_init.sql", "0002_command_data.sql", "0003_fewer_pages.sql"} {
		text, err := os.ReadFile("migrations/" + f)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, string(text), fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 0)`, i+1))
	}
	qs = append(qs, `INSERT INTO commands (seq, id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, progress, notes) VALUES
			(1, '0190a000-0000-7000-8000-000000000001', 'e', 'd', 'PaymentTerminal', 'Pending', 1000, 1000, '', '', 'Lee', NULL, ''),
			(2, '0190a000-0000-7000-8000-000000000002', 'e', 'd', 'Printer', 'Pending', 1000, 1000, '', '', 'Lee', NULL, ''),
			(3, '0190a000-0000-7000-8000-000000000003', 'e', 'd', 'KeyCutter', 'Pending', 1000, 1000, '', '', 'Lee', NULL, '')`,
		`INSERT INTO command_data (command_seq, data) VALUES
			(1, CAST('{"PaymentTerminalId":"T","Type":"Preauthorization","BillId":null}' AS BLOB)),
			(2, CAST('{"CopyCount":1,"PrinterDriverName":"","PrinterPortName":"LPT1"}' AS BLOB)),
			(3, CAST('{"Type":"kept","KeyCount":1}' AS BLOB))`)
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := open(t, sqlite.Config{Path: path})
	got, err := s.GetCommands(t.Context(), []string{"0190a000-0000-7000-8000-000000000001",
		"0190a000-0000-7000-8000-000000000002", "0190a000-0000-7000-8000-000000000003"})
	if err != nil || len(got) != 3 {
		t.Fatalf("%v (%v)", got, err)
	}
	for i, want := range []string{`{"PaymentTerminalId":"T","BillId":null}`,
		`{"CopyCount":1,"PrinterDriverName":"default","PrinterPortName":"LPT1"}`, `{"Type":"kept","KeyCount":1}`} {
		if string(got[i].Data) != want {
			t.Errorf("%s: %s, want %s", got[i].DeviceType, got[i].Data, want)
		}
	}
}

// TestQueryPlans checks that the queries of a device's active commands and
// of the expiry sweep use the small commands_active index, the purge the
// commands_final index and a caller's own fiscal commands commands_creator:
// SQLite uses a partial index only when the query states its condition word
// for word. The listings of the console and the APIs by device and by
// enterprise use their indexes, and none of these queries scans the table.
func TestQueryPlans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	open(t, sqlite.Config{Path: path})
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queue, queueArgs := sqlite.CommandQuery(bellhop.CommandFilter{DeviceIDs: []string{"d"}, States: []bellhop.State{bellhop.Pending, bellhop.Received}})
	sweep, sweepArgs := sqlite.CommandQuery(bellhop.CommandFilter{DeviceType: bellhop.Printer,
		States: []bellhop.State{bellhop.Pending, bellhop.Received}, UpdatedTo: time.Now(), Limit: 500})
	list := func(f bellhop.CommandFilter) (string, []any) { // as the console and the APIs page
		f.Descending, f.Limit, f.BeforeSeq = true, 50, 1000
		return sqlite.CommandQuery(f)
	}
	byDevice, byDeviceArgs := list(bellhop.CommandFilter{DeviceIDs: []string{"d"}})
	byEnterprise, byEnterpriseArgs := list(bellhop.CommandFilter{EnterpriseIDs: []string{"e"}})
	ownFiscal, ownFiscalArgs := list(bellhop.CommandFilter{DeviceType: bellhop.FiscalMachine, CreatorIntegrationID: "i",
		EnterpriseIDs: []string{"e"}})
	oldest, oldestArgs := sqlite.CommandQuery(bellhop.CommandFilter{States: []bellhop.State{bellhop.Pending, bellhop.Received}, Limit: 1})
	for _, tt := range []struct {
		name, query, index string
		args               []any
	}{
		{"a device's queue", queue, "commands_active", queueArgs},
		{"expiry sweep", sweep, "commands_active", sweepArgs},
		{"oldest waiting", oldest, "commands_active", oldestArgs},
		{"purge", sqlite.PurgeQuery, "commands_final", []any{time.Now().UnixMilli(), 1000}},
		{"a device's commands", byDevice, "commands_device", byDeviceArgs},
		{"an enterprise's commands", byEnterprise, "commands_enterprise", byEnterpriseArgs},
		{"own fiscal commands", ownFiscal, "commands_creator", ownFiscalArgs},
		{"stats: unfinished", sqlite.StatsQuery, "commands_active", []any{"e"}},
		{"stats: last processed", sqlite.StatsQuery, "commands_processed", []any{"e"}},
	} {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+tt.query, tt.args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "\n"), tt.index) {
			t.Errorf("%s: plan of %s\ndoes not use %s:\n%s", tt.name, tt.query, tt.index, strings.Join(plan, "\n"))
		}
		for _, step := range plan {
			if f := strings.Fields(step); len(f) >= 2 && f[0] == "SCAN" && (f[1] == "commands" || f[1] == "c") && !strings.Contains(step, "USING") {
				t.Errorf("%s: plan of %s\nscans the commands:\n%s", tt.name, tt.query, strings.Join(plan, "\n"))
			}
		}
		t.Logf("%s:\n\t%s", tt.name, strings.Join(plan, "\n\t"))
	}
}

// TestWALStaysBounded writes a fixed volume, 32 MiB and more of WAL pages,
// from 16 writers at once with a restart size of 256 KiB: the WAL must start
// over again and again (the store counts its restarts), and its file must
// not hold most of what went through it. Counts decide, not how long the
// writes took: a slower machine gives the checkpointer more rounds, not
// fewer. (How far the WAL grows past the restart size depends on how long a
// checkpoint round takes; the benchmarks measure that, not this test.)
func TestWALStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	s := open(t, sqlite.Config{Path: path, WALRestartPages: 64, CheckpointEvery: 5 * time.Millisecond})
	ctx := t.Context()
	e := bellhop.Enterprise{ID: bellhop.NewID(), Name: "Hotel", CreatedUtc: time.Now()}
	if err := s.CreateEnterprise(ctx, &e); err != nil {
		t.Fatal(err)
	}
	d := bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e.ID, Type: bellhop.Printer, Name: "P", CreatedUtc: time.Now()}
	if err := s.CreateDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]string{"FileData": strings.Repeat("A", 64<<10)})
	const writers, each = 16, 32 // 512 commands; each adds over 64 KB of pages
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				c := bellhop.Command{ID: bellhop.NewID(), EnterpriseID: e.ID, DeviceID: d.ID, DeviceType: d.Type,
					State: bellhop.Pending, CreatedUtc: time.Now(), UpdatedUtc: time.Now(), Data: data}
				if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: time.Now()}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// The WAL file keeps the size it grew to (it is truncated only past
	// 512 MiB): its size is the largest the WAL ever was.
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	restarts := s.WALRestarts()
	t.Logf("%d commands of 64 KB (32 MiB and more of pages): %d WAL restarts, WAL file %.1f MiB", writers*each, restarts,
		float64(fi.Size())/(1<<20))
	if restarts < 4 {
		t.Errorf("the WAL started over %d times for 32 MiB and more of pages with 256 KiB restarts: it grows with the writes", restarts)
	}
	if fi.Size() > 24<<20 {
		t.Errorf("the WAL file grew to %.1f MiB of the 32 MiB and more written: it is not reused after a restart", float64(fi.Size())/(1<<20))
	}
}

// TestCloseLeavesNoFileOpen: the store opens its file once more outside
// SQLite, for the checkpointer to flush it before a WAL restart; after the
// WAL restarted and the store closed, no descriptor of the process may
// still name the database, its WAL or its shared memory.
func TestCloseLeavesNoFileOpen(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd here")
	}
	path := filepath.Join(t.TempDir(), "bellhop.db")
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path, WALRestartPages: 16, CheckpointEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n := openFiles(t, path); n == 0 {
		t.Fatalf("no descriptor names %s while the store is open: the count below would prove nothing", path)
	}
	for i := 0; s.WALRestarts() == 0; i++ {
		if i == 10000 {
			t.Fatal("10,000 writes of 3 KB and the WAL never started over")
		}
		e := bellhop.Enterprise{ID: bellhop.NewID(), Name: strings.Repeat("H", 3000), CreatedUtc: time.Now()}
		if err := s.CreateEnterprise(t.Context(), &e); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			time.Sleep(time.Millisecond) // let the checkpointer see the WAL grow
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFiles(t, path); n != 0 {
		t.Errorf("%d descriptors still name %s (or its WAL or shared memory) after Close", n, path)
	}
}

// openFiles counts this process's descriptors that name path, path-wal or
// path-shm.
func openFiles(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && (target == path || target == path+"-wal" || target == path+"-shm") {
			n++
		}
	}
	return n
}

// TestWALRestartDoesNotWaitForReaders keeps a read transaction open in
// another connection, on an old snapshot, while writes push the WAL past its
// restart size again and again: the restart cannot finish, and the writes
// must not wait out the busy timeout for it.
func TestWALRestartDoesNotWaitForReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	const busy = 10 * time.Second
	s := open(t, sqlite.Config{Path: path, WALRestartPages: 16, CheckpointEvery: 5 * time.Millisecond, BusyTimeout: busy})
	ctx := t.Context()
	e := bellhop.Enterprise{ID: bellhop.NewID(), Name: "Hotel", CreatedUtc: time.Now()}
	if err := s.CreateEnterprise(ctx, &e); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reader, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var n int
	if err := reader.QueryRow(`SELECT count(*) FROM enterprises`).Scan(&n); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	for i := range 100 {
		e := bellhop.Enterprise{ID: bellhop.NewID(), Name: strings.Repeat("H", 3000), CreatedUtc: time.Now()}
		if err := s.CreateEnterprise(ctx, &e); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		time.Sleep(time.Millisecond) // let the checkpointer see the WAL grow
	}
	if took := time.Since(start); took >= busy {
		t.Errorf("100 writes took %v with a reader open: they waited for the WAL restart", took)
	}
}

// A write whose fn panics fails alone: the panic reaches its own caller,
// whichever goroutine ran its group, the writes grouped with it commit, and
// the writes after it run as usual.
func TestWritePanicFailsItsGroupOnly(t *testing.T) {
	s := open(t, sqlite.Config{})
	ctx := t.Context()
	release := make(chan struct{})
	started := make(chan struct{})
	// A slow write holds the lead, so that the next writes queue and
	// share a group with the panicking one.
	slow := make(chan error, 1)
	go func() {
		slow <- s.Write(ctx, func() error { close(started); <-release; return nil })
	}()
	<-started
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		s.Write(ctx, func() error { panic("boom") })
	}()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Write(ctx, func() error { return nil }) })
	}
	time.Sleep(50 * time.Millisecond) // let them queue behind the slow write
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("the write before the panic: %v", err)
	}
	if p := <-panicked; p != "boom" {
		t.Fatalf("the panicking write's caller recovered %v, want boom", p)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("a write grouped with the panic: %v", err)
		}
	}
	for i := range 3 {
		if err := s.Write(ctx, func() error { return nil }); err != nil {
			t.Fatalf("write %d after the panic: %v", i, err)
		}
	}
	e := bellhop.Enterprise{ID: bellhop.NewID(), Name: "Hotel", CreatedUtc: time.Now()}
	if err := s.CreateEnterprise(ctx, &e); err != nil {
		t.Fatalf("a store write after the panic: %v", err)
	}
}
