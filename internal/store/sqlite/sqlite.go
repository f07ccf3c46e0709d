// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go), the default for a single hub node.
//
// The database runs in WAL mode with foreign keys on, and on Unix belongs to
// one process while the store is open (another one is refused with
// ErrInUse). Every write transaction goes through one connection and begins
// IMMEDIATE, so writers queue in Go instead of failing with SQLITE_BUSY;
// reads go to a separate pool of query-only connections and never wait
// behind a write. Times are stored as unix milliseconds and returned in UTC.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/stage"
	"github.com/bellhop/bellhop/internal/store"
)

// Defaults of Config.
const (
	DefaultSync        = "normal"
	DefaultBusyTimeout = 5 * time.Second
	// DefaultWALRestartPages is 256 MiB of 4 KiB pages (PostgreSQL's own
	// max_wal_size is 1 GB by default).
	DefaultWALRestartPages = 65536
	// readers is the size of the read pool.
	readers = 4
)

// Config configures a SQLite store.
type Config struct {
	// Path is the database file; it is created when missing. Required. An
	// in-memory database (":memory:") is refused: the writer and the readers
	// are separate connections and would each see their own database.
	Path string
	// Sync is the durability of a commit: "normal" (default; in WAL mode a
	// power loss may lose the last commits but never corrupts) or "full"
	// (every commit is synced to disk, several times slower).
	Sync string
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before it fails; default 5s.
	BusyTimeout time.Duration
	// CheckpointEvery is how often WAL pages are copied back into the
	// database file in the background; default 250ms.
	CheckpointEvery time.Duration
	// WALRestartPages is the size of the WAL, in pages, from which the store
	// makes it start over from its beginning (see checkpoint); default 65536
	// (256 MiB). The WAL grows past it by at most what is written in one
	// CheckpointEvery. Each restart stalls the writes for a checkpoint's two
	// syncs and its wait for readers, 2–100 ms on a busy disk (30–60 ms on
	// average on a loaded machine, BenchmarkWALRestart), so it is large:
	// one restart every 2,700 lifecycles of a 2 KiB PDF whose writes commit
	// alone (about 100 KB of WAL each), about every 5 s at 500 a second.
	// A larger WAL costs disk, and time to recover it when the process
	// starts after a crash; readers look up only what is not copied back.
	WALRestartPages int
	// Stage, when set, receives how long writes wait for the committer, run,
	// commit and take to wake their caller again (see package stage).
	Stage stage.Observer
}

// Validate checks c and fills in its defaults. It returns an error naming the
// first field that is wrong.
func (c *Config) Validate() error {
	if c.Sync == "" {
		c.Sync = DefaultSync
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = DefaultBusyTimeout
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 250 * time.Millisecond
	}
	if c.WALRestartPages == 0 {
		c.WALRestartPages = DefaultWALRestartPages
	}
	switch {
	case c.Path == "":
		return errors.New("sqlite: Path is required")
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:") || strings.Contains(c.Path, "?"):
		return fmt.Errorf("sqlite: Path %q must be a plain file name", c.Path)
	case c.Sync != "normal" && c.Sync != "full":
		return fmt.Errorf(`sqlite: Sync %q must be "normal" or "full"`, c.Sync)
	case c.BusyTimeout < 0:
		return fmt.Errorf("sqlite: BusyTimeout %v must not be negative", c.BusyTimeout)
	case c.CheckpointEvery < 0:
		return fmt.Errorf("sqlite: CheckpointEvery %v must not be negative", c.CheckpointEvery)
	case c.WALRestartPages < 0:
		return fmt.Errorf("sqlite: WALRestartPages %d must not be negative", c.WALRestartPages)
	}
	return nil
}

// Store is a store.Store on SQLite. Create it with Open.
type Store struct {
	w *sql.DB // one connection: every write transaction
	// wc is w's connection, held for the store's life: a write's
	// statements run on it between a BEGIN and a COMMIT of the store's own.
	// A database/sql transaction would cost each query that returns rows a
	// goroutine and a context (Rows watch the transaction's context), and
	// each transaction one more, all on the single writer's path.
	wc *sql.Conn
	r  *sql.DB // query-only pool: every read outside a write transaction

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt // prepared statements, by connection and text

	c *sql.DB // one connection: background checkpoints
	// file is the database file, opened once more outside SQLite for the
	// checkpointer to flush it to disk off the writer's path (see
	// checkpoint). It stays open until SQLite's own connections are
	// closed: closing a file drops the process's POSIX locks on it,
	// SQLite's included.
	file *os.File

	checkpointEvery time.Duration  // Config.CheckpointEvery
	restartPages    int            // Config.WALRestartPages
	busyTimeout     time.Duration  // Config.BusyTimeout
	stage           stage.Observer // Config.Stage
	// restart asks the committer to restart the WAL after its next group
	// (see checkpoint).
	restart atomic.Bool
	// restarts counts the WAL's completed restarts (WALRestarts).
	restarts atomic.Int64

	// The write queue (see write): wmu guards queue, leading and
	// writesClosed; writers counts the writes under way, so that Close
	// can wait for them.
	wmu          sync.Mutex
	queue        []*writeReq // writes waiting for a group, oldest first
	leading      bool        // a writer is running a group
	writesClosed bool        // Close was called: no write is queued any more
	writers      sync.WaitGroup

	checkpointed chan struct{} // closed when the checkpointer has stopped
	closed       chan struct{} // closed by Close

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

type stmtKey struct {
	write bool // on wc, not on the read pool
	query string
}

// Open opens (creating if needed) the database at cfg.Path and brings its
// schema up to date with the embedded migrations. It returns an error when cfg
// is invalid, the file cannot be opened, or a migration fails.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params := func(extra ...string) string {
		v := url.Values{}
		v.Set("_busy_timeout", strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10))
		v.Set("_foreign_keys", "1")
		v.Set("_synchronous", cfg.Sync)
		if vfs != "" {
			v.Set("vfs", vfs)
		}
		for i := 0; i < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return cfg.Path + "?" + v.Encode()
	}

	// The writer never checkpoints: a background connection does (see
	// checkpoint), so that commits do not pay for copying the WAL back.
	w, err := sql.Open("sqlite", params("_journal_mode", "WAL", "_txlock", "immediate", "_pragma", "wal_autocheckpoint(0)",
		"_pragma", "journal_size_limit("+strconv.Itoa(walSizeLimit)+")"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	// Both limits: with only MaxOpenConns(1), database/sql would still close
	// and reopen the connection, rerunning the pragmas each time.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	wc, err := w.Conn(ctx)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, inUse(err))
	}
	s := &Store{checkpointEvery: cfg.CheckpointEvery, restartPages: cfg.WALRestartPages, busyTimeout: cfg.BusyTimeout,
		stage: cfg.Stage, w: w, wc: wc, stmts: make(map[stmtKey]*sql.Stmt),
		closed: make(chan struct{}), checkpointed: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		s.stopWrites()
		wc.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", cfg.Path, inUse(err))
	}

	// Readers open after the migrations, when the file is already in WAL mode.
	r, err := sql.Open("sqlite", params("_query_only", "1"))
	if err != nil {
		s.stopWrites()
		wc.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	if err := r.PingContext(ctx); err != nil {
		s.stopWrites()
		wc.Close()
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", cfg.Path, err)
	}
	s.r = r
	if s.file, err = os.OpenFile(cfg.Path, os.O_RDWR, 0); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", cfg.Path, err)
	}
	c, err := sql.Open("sqlite", params())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", cfg.Path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	s.c = c
	go s.checkpoint()
	return s, nil
}

// ErrInUse is what Open returns, wrapped, when another process has the
// database open (see vfs).
var ErrInUse = errors.New("the database is in use by another process (is a hub already running on this data directory?)")

// inUse turns SQLITE_BUSY while opening, which means another process holds
// the database, into ErrInUse; other errors stay as they are.
func inUse(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		return ErrInUse
	}
	return err
}

// walSizeLimit is the size, in bytes, SQLite truncates the WAL to when it
// starts over: twice the default restart size, so that a steady WAL, which
// grows a little past it, keeps its file's blocks instead of having them
// cut and allocated again on every restart. A WAL that grew further (a
// reader held the restart off) shrinks back to it.
const walSizeLimit = 2 * DefaultWALRestartPages * 4096

// checkpoint copies committed WAL frames back into the database file in the
// background, off the writer's path, until the store closes. PASSIVE never
// waits for readers or the writer; frames it cannot copy yet are copied by a
// later round.
//
// Under steady writes a PASSIVE checkpoint never catches up with the last
// frame, and SQLite starts writing the WAL from its beginning again only
// once every frame is copied: the WAL would grow without end, and each new
// frame would cost the file system a new page. So when the WAL has grown
// past Config.WALRestartPages, the checkpointer asks the committer, the only
// writer, to finish the job between two groups (see restartWAL).
func (s *Store) checkpoint() {
	defer close(s.checkpointed)
	t := time.NewTicker(s.checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		if s.restart.Load() {
			continue // the committer checkpoints: SQLite runs one checkpoint at a time
		}
		var busy, frames, copied int
		// A failed round is retried by the next.
		if s.c.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied) == nil && frames >= s.restartPages {
			// Copy once more what was written during that round, still
			// off the writer's path, so that the restart, which stalls
			// the writes, has only a few milliseconds of frames left.
			s.c.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
			// And flush the copied pages to disk: a PASSIVE round that
			// does not reach the WAL's last frame leaves them to the
			// kernel, and the restart's own sync of the database file
			// would otherwise write back every page copied since the last
			// restart (10-15 ms with the writes stalled) instead of the
			// few it copies itself. Should it fail, the restart syncs
			// it all as before: SQLite's own sync is what makes it durable.
			s.file.Sync()
			s.restart.Store(true)
		}
	}
}

// restartWAL copies what is left of the WAL into the database and makes the
// next write start the WAL from its beginning. It runs on the committer,
// between groups, so no write can add a frame meanwhile. Most frames are
// copied by the checkpointer already, so it is short. It waits for readers
// of an older snapshot at most restartWait: a long reader (another process,
// say) must not stall the writes; the checkpointer asks again next round.
func (s *Store) restartWAL() {
	if !s.restart.Swap(false) {
		return
	}
	defer s.stage.Since(stage.WALRestart, s.stage.Now())
	ctx := context.Background()
	if _, err := s.wc.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return
	}
	var busy, frames, copied int
	// If it cannot finish (busy), the next round asks again.
	if s.wc.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &copied) == nil && busy == 0 {
		s.restarts.Add(1)
	}
	s.wc.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", s.busyTimeout.Milliseconds()))
}

// WALRestarts returns how many times the WAL has started over from its
// beginning since Open: each restart puts a bound on how far it grew
// (Config.WALRestartPages). Tests and operators' probes read it.
func (s *Store) WALRestarts() int64 { return s.restarts.Load() }

// restartWait bounds how long restartWAL waits for readers.
const restartWait = 10 * time.Millisecond

// Close closes the database. Calls after the first return nil; any other
// method called after Close returns an error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopWrites()
		if s.c != nil {
			<-s.checkpointed
			s.c.Exec("PRAGMA wal_checkpoint(TRUNCATE)") // leave a small WAL behind
			s.c.Close()
		}
		s.mu.Lock()
		for k, st := range s.stmts {
			st.Close()
			delete(s.stmts, k)
		}
		s.mu.Unlock()
		s.closeErr = errors.Join(s.r.Close(), s.wc.Close(), s.w.Close())
		if s.file != nil {
			s.file.Close() // after SQLite's: see Store.file
		}
	})
	return s.closeErr
}

// TryLock always succeeds: a SQLite database serves a single hub node.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	return func() {}, true, nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the embedded migrations that schema_migrations does not
// list yet, each in its own write transaction, in the order of their number.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.wc.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number: %w", name, err)
		}
		text, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.write(ctx, func(tx *tx) error {
			var n int
			// Checked inside the transaction: another process may have
			// applied it since.
			if err := tx.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.w.ExecContext(ctx, string(text)); err != nil {
				return err
			}
			_, err := tx.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// prepare returns the statement for query on the writer's connection (write)
// or on the read pool, prepared once and kept.
func (s *Store) prepare(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	s.mu.Lock()
	st, ok := s.stmts[k]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	var err error
	if write {
		st, err = s.wc.PrepareContext(ctx, query)
	} else {
		st, err = s.r.PrepareContext(ctx, query)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.stmts[k]; ok {
		st.Close()
		return old, nil
	}
	s.stmts[k] = st
	return st, nil
}

// tx runs statements either on the read pool (w == nil) or inside a write
// transaction on the writer's connection, through the store's prepared
// statements.
type tx struct {
	ctx context.Context
	s   *Store
	w   *sql.Conn
}

func (s *Store) read(ctx context.Context) *tx { return &tx{ctx: ctx, s: s} }

// write runs fn in a write transaction and commits when fn returns nil. fn's
// error is returned unchanged after its changes are rolled back.
//
// Writes that arrive while another group commits are grouped: they queue,
// and when the group before them has committed, the oldest of them leads
// the next group: it runs every queued fn, up to maxGroup, in one
// transaction on its own goroutine and commits once, then answers the
// others and hands the lead to the oldest write queued meanwhile. A write
// that finds no group running leads at once, so that a lone write costs no
// hand-off between goroutines (each one a wait for a CPU on a busy
// machine). The commit, the costly part of a small write, is shared, and
// each caller still returns only after its changes are committed. A group
// first runs its fns one after the other, as they came; if one fails, the
// group is rolled back and run again with each fn inside a savepoint of its
// own, so that the failing fn rolls back only its own changes. So fn may run
// twice: it must set its results afresh each time it runs, never add to
// what an earlier run left.
func (s *Store) write(ctx context.Context, fn func(tx *tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1), queued: s.stage.Now()}
	s.wmu.Lock()
	if s.writesClosed {
		s.wmu.Unlock()
		return errors.New("sqlite: store is closed")
	}
	s.writers.Add(1)
	defer s.writers.Done()
	s.queue = append(s.queue, req)
	lead := !s.leading
	s.leading = true
	s.wmu.Unlock()
	if !lead {
		err := <-req.done
		if err != errLead {
			if !req.committed.IsZero() {
				s.stage.Since(stage.WriteWake, req.committed)
			}
			return req.outcome(err)
		}
	}
	s.lead()
	return req.outcome(<-req.done)
}

// outcome is the write's result for its caller: a panic of its fn, which
// ran on the leader's goroutine, goes on in the caller's.
func (req *writeReq) outcome(err error) error {
	if req.panicked != nil {
		panic(req.panicked)
	}
	return err
}

// call runs the write's fn. A panic fails the write alone, as an error
// would, and is kept for its caller (see outcome).
func (req *writeReq) call(t *tx) (err error) {
	req.panicked = nil
	defer func() {
		if p := recover(); p != nil {
			req.panicked, err = p, fmt.Errorf("sqlite: the write panicked: %v", p)
		}
	}()
	return req.fn(t)
}

// errLead tells a queued write that it leads the next group.
var errLead = errors.New("sqlite: lead the next group")

// lead runs one group: the queued writes, oldest first, up to maxGroup. The
// leader's own write is the oldest (a write leads only when it finds no
// group running, so nothing queued before it, or when it is handed the
// lead as the oldest). Then it hands the lead on, or ends it when nothing
// is queued. Should the group itself panic (a fn's panic is caught by
// call), its writes fail and the lead is passed on before the panic goes on
// up the leader's stack.
func (s *Store) lead() {
	s.wmu.Lock()
	n := min(len(s.queue), maxGroup)
	batch := make([]*writeReq, n)
	copy(batch, s.queue)
	if n == len(s.queue) {
		clear(s.queue)
		s.queue = s.queue[:0]
	} else {
		s.queue = s.queue[n:]
	}
	s.wmu.Unlock()
	answered := false
	defer func() {
		if !answered {
			for _, req := range batch {
				req.done <- errors.New("sqlite: a write of its group panicked")
			}
		}
		s.wmu.Lock()
		if len(s.queue) > 0 {
			s.queue[0].done <- errLead
		} else {
			s.leading = false
		}
		s.wmu.Unlock()
	}()
	s.runGroup(batch, &answered)
	s.restartWAL()
}

// stopWrites refuses new writes and waits for those under way.
func (s *Store) stopWrites() {
	close(s.closed)
	s.wmu.Lock()
	s.writesClosed = true
	s.wmu.Unlock()
	s.writers.Wait()
}

// writeReq is one write waiting for its group.
type writeReq struct {
	ctx  context.Context
	fn   func(tx *tx) error
	done chan error // its outcome, or errLead
	// panicked is what fn panicked with, if it did, when it last ran.
	panicked any
	// queued is when the write was queued and committed when its group's
	// commit ended (zero without a stage observer, or when the group failed
	// before its commit).
	queued, committed time.Time
}

// maxGroup bounds how many writes share one commit, so that one commit's
// latency stays small.
const maxGroup = 256

// runGroup runs a group of writes in one transaction: first plainly, and
// again with savepoints when one of several fails (see write).
func (s *Store) runGroup(batch []*writeReq, answered *bool) {
	if s.stage != nil {
		start := time.Now()
		for _, req := range batch {
			s.stage.Observe(stage.WriteQueue, start.Sub(req.queued))
		}
	}
	errs, err := s.run(batch, false)
	if err == errRetryGroup {
		errs, err = s.run(batch, true)
	}
	*answered = true
	for i, req := range batch {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		req.done <- errs[i]
	}
}

// errRetryGroup reports a group in which one write failed: run rolled
// everything back, and the group must run again with savepoints.
var errRetryGroup = errors.New("sqlite: a write of the group failed")

// run runs the writes one after the other in one transaction and commits.
// With savepoints, each runs inside a savepoint of its own, so that a failing
// write rolls back only its own changes and the others commit. Without, a
// single write's error is returned as its own, and when one of several
// fails, run rolls back and returns errRetryGroup. err is an error of the
// transaction as a whole, for every write that has none of its own.
func (s *Store) run(batch []*writeReq, savepoints bool) (errs []error, err error) {
	errs = make([]error, len(batch))
	began := s.stage.Now()
	exec := func(q string) error {
		_, err := s.wc.ExecContext(context.Background(), q)
		return err
	}
	rollback := func() { exec("ROLLBACK") }
	if err := exec("BEGIN IMMEDIATE"); err != nil {
		return errs, fmt.Errorf("begin: %w", err)
	}
	finished := false
	defer func() {
		if !finished { // a fn panicked: leave the connection clean
			rollback()
		}
	}()
	for i, req := range batch {
		if errs[i] = req.ctx.Err(); errs[i] != nil {
			continue
		}
		if savepoints {
			if err := exec("SAVEPOINT w"); err != nil {
				errs[i] = fmt.Errorf("savepoint: %w", err)
				continue
			}
		}
		// Its statements run to the end even if the caller gives up
		// meanwhile (its context was checked above): a statement cancelled
		// midway would only fail the group, and a context that can end costs
		// each statement a goroutine in the driver and in database/sql.
		errs[i] = req.call(&tx{ctx: context.WithoutCancel(req.ctx), s: s, w: s.wc})
		switch {
		case !savepoints && errs[i] != nil:
			finished = true
			rollback()
			if len(batch) > 1 {
				return errs, errRetryGroup
			}
			return errs, nil
		case !savepoints:
		case errs[i] != nil:
			if err := exec("ROLLBACK TO w"); err != nil {
				// The transaction is in an unknown state: fail the whole group.
				finished = true
				rollback()
				return errs, fmt.Errorf("rollback to savepoint: %w", err)
			}
			fallthrough
		default:
			if err := exec("RELEASE w"); err != nil && errs[i] == nil {
				errs[i] = fmt.Errorf("release savepoint: %w", err)
			}
		}
	}
	ran := s.stage.Now()
	finished = true
	if err := exec("COMMIT"); err != nil {
		// A COMMIT that failed may leave the transaction open (a busy
		// database): end it, so that the next group begins afresh.
		rollback()
		return errs, fmt.Errorf("commit: %w", err)
	}
	if s.stage != nil { // each write of the group waits for all of it
		committed := time.Now()
		for _, req := range batch {
			req.committed = committed
			s.stage.Observe(stage.WriteRun, ran.Sub(began))
			s.stage.Observe(stage.Commit, committed.Sub(ran))
		}
	}
	return errs, nil
}

// stmt returns the prepared statement for query: on the read pool, or on the
// writer's connection inside a write transaction (SQLite prepares a statement
// in the middle of one as well).
func (t *tx) stmt(query string) (*sql.Stmt, error) {
	return t.s.prepare(t.ctx, t.w != nil, query)
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// row runs a query that returns one row; no row is sql.ErrNoRows from Scan.
func (t *tx) row(query string, args ...any) scanner {
	st, err := t.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// wrapErr turns a driver error into a domain error and says what failed: no
// row is bellhop.ErrNotFound, a unique or primary key violation an ECONFLICT
// error, a foreign key violation bellhop.ErrNotFound (something referred to is
// missing). Domain errors pass through.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var se *sqlite.Error
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, bellhop.ErrNotFound)
	case errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return fmt.Errorf("%s: %w (%v)", what, bellhop.Errorf(bellhop.ECONFLICT, "Already exists."), se)
	case errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%s: a referenced entity: %w", what, bellhop.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Times are unix milliseconds.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func nullFloat(p *float64) sql.NullFloat64 {
	if p == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *p, Valid: true}
}

func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}
