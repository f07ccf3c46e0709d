// Package postgres implements store.Store on PostgreSQL (pgx, pgxpool), the
// store that several hub nodes share, with store.Notifier (LISTEN/NOTIFY, see
// notify.go) and a shared rate Limiter.
//
// Rows are the truth: nothing in a node's memory is needed by another node.
// Updates of commands lock the rows they change (SELECT ... FOR UPDATE, in Seq
// order, so concurrent updates neither get lost nor deadlock). Concurrent
// creates and updates of commands share transactions (group commit, see
// group.go). Named locks are
// PostgreSQL advisory locks. Times are timestamptz (microseconds) and returned
// in UTC.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/stage"
	"github.com/bellhop/bellhop/internal/store"
)

// DefaultMaxConns is the default of Config.MaxConns.
const DefaultMaxConns = 10

// Config configures a PostgreSQL store.
type Config struct {
	// URL is the connection string, e.g.
	// "postgres://bellhop@db:5432/bellhop?sslmode=verify-full". Required.
	// Without an sslmode (in the URL, PGSSLMODE or a service), a loopback
	// host is tried without TLS first and then with it (libpq's
	// sslmode=allow); any other host with TLS first (prefer, pgx's default).
	URL string
	// Schema, when set, is created if missing and used (as the search_path)
	// for every table, so several hubs, or tests, can share one database.
	// Default: the server's search_path, usually "public".
	Schema string
	// MaxConns caps the pool; default 10. A held TryLock keeps one
	// connection busy. Listen uses a connection of its own, outside the
	// pool.
	MaxConns int32
	// Logger receives what the store cannot return: a Limiter's database
	// errors, a lost listening connection. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of Listen's gap times and of Limiter windows; default
	// time.Now. The hub passes its own.
	Now func() time.Time
	// ListenRetry is the first delay before Listen reconnects after losing
	// its connection, doubled on each failure up to 5 s; default 100 ms.
	ListenRetry time.Duration
	// Stage, when set, receives how long the writes of commands
	// (CreateCommand, UpdateCommands) wait for a committer, run their
	// group's statements, commit (the last round trip: write, notify,
	// commit, flush) and take to wake their caller again (see package
	// stage).
	Stage stage.Observer
}

// Validate checks c and fills in its defaults. It returns an error naming the
// first field that is wrong.
//
// When Schema is empty and the URL sets a search_path parameter that names
// one schema (postgres://host/db?search_path=hotel_group), Schema is taken
// from it, so that the schema is created and locks are scoped to it.
func (c *Config) Validate() error {
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ListenRetry == 0 {
		c.ListenRetry = 100 * time.Millisecond
	}
	switch {
	case c.URL == "":
		return errors.New("postgres: URL is required")
	case c.MaxConns < 0:
		return fmt.Errorf("postgres: MaxConns %d must not be negative", c.MaxConns)
	case c.ListenRetry < 0:
		return fmt.Errorf("postgres: ListenRetry %s must not be negative", c.ListenRetry)
	}
	pc, err := pgx.ParseConfig(c.URL)
	if err != nil {
		return fmt.Errorf("postgres: URL: %w", err)
	}
	if sp := pc.RuntimeParams["search_path"]; c.Schema == "" && plainIdentifier(sp) {
		c.Schema = sp
	}
	return nil
}

// plainIdentifier reports whether s is a lower-case SQL identifier that
// needs no quoting: one schema name, not a list.
func plainIdentifier(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Store is a store.Store on PostgreSQL. Create it with Open.
type Store struct {
	pool   *pgxpool.Pool
	cfg    Config
	schema string
	stage  stage.Observer // Config.Stage

	mu    sync.Mutex
	locks map[*heldLock]struct{} // released by Close if still held

	// The group commit (group.go): writes for the committer, closing
	// closed by Close, committed closed when the committer has stopped,
	// ctx cancelled by Close.
	writes    chan *groupWrite
	closing   chan struct{}
	committed chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database and brings its schema up to date (see
// Migrate). It returns an error when cfg is invalid, the server cannot be
// reached, or a migration fails.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ccfg, err := connConfig(cfg)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: URL: %w", err)
	}
	pcfg.ConnConfig = ccfg
	pcfg.MaxConns = cfg.MaxConns
	p, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: pool: %w", err)
	}
	err = p.AcquireFunc(ctx, func(c *pgxpool.Conn) error { return migrate(ctx, c.Conn(), cfg.Schema) })
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	s := &Store{pool: p, cfg: cfg, schema: cfg.Schema, stage: cfg.Stage, locks: make(map[*heldLock]struct{}),
		writes: make(chan *groupWrite), closing: make(chan struct{}), committed: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.startCommitters()
	return s, nil
}

// connConfig is the configuration of every connection: cfg.URL, with
// cfg.Schema as the search_path.
func connConfig(cfg Config) (*pgx.ConnConfig, error) {
	ccfg, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: URL: %w", err)
	}
	if cfg.Schema != "" {
		ccfg.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	if !sslModeGiven(cfg.URL) {
		plainOnLoopback(ccfg)
	}
	return ccfg, nil
}

// sslModeGiven reports whether the connection string, or the environment
// that pgx reads, chooses an sslmode (or a service file that may).
func sslModeGiven(connString string) bool {
	for _, env := range []string{"PGSSLMODE", "PGSERVICE", "PGSERVICEFILE"} {
		if os.Getenv(env) != "" {
			return true
		}
	}
	if u, err := url.Parse(connString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		return q.Has("sslmode") || q.Has("ssl") || q.Has("service")
	}
	return keywordSSL.MatchString(connString)
}

// keywordSSL finds an sslmode (or service) in a keyword/value connection
// string.
var keywordSSL = regexp.MustCompile(`(^|\s)(sslmode|ssl|service)\s*=`)

// plainOnLoopback turns the default sslmode, prefer (try TLS first, without
// checking the server's certificate, then without TLS), into allow (try
// without TLS first, then with it) for the hosts that are loopback addresses:
// there TLS protects nothing that prefer would (an unchecked certificate
// stops no one who can reach the loopback interface, and only root can read
// it), and crypto/tls took 6.6 % of the in-process bench's CPU at 250/s.
// A server that accepts only TLS (hostssl in pg_hba.conf) rejects the first
// attempt and gets the second.
func plainOnLoopback(ccfg *pgx.ConnConfig) {
	tries := append([]*pgconn.FallbackConfig{{Host: ccfg.Host, Port: ccfg.Port, TLSConfig: ccfg.TLSConfig}}, ccfg.Fallbacks...)
	for i := 0; i+1 < len(tries); i++ {
		tls, plain := tries[i], tries[i+1]
		if tls.TLSConfig != nil && plain.TLSConfig == nil && tls.Host == plain.Host && tls.Port == plain.Port && loopback(tls.Host) {
			tls.TLSConfig, plain.TLSConfig = nil, tls.TLSConfig
			i++
		}
	}
	ccfg.TLSConfig, ccfg.Fallbacks = tries[0].TLSConfig, tries[1:]
}

// loopback reports whether host names this machine over the loopback
// interface.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Migrate brings the schema up to date with the embedded migrations and
// returns; Open does the same. It is safe to run from several nodes at once:
// the migrations run in one transaction under an advisory lock, so a second
// node waits and then finds nothing left to do. It returns an error when cfg
// is invalid, the server cannot be reached, or a migration fails (then none
// of this run's migrations is applied).
func Migrate(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := migrate(ctx, conn, cfg.Schema); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// SchemaOf is the schema a store opened with cfg uses: cfg.Schema, else the
// URL's search_path when that is one plain lower-case name (see Config);
// "" for the server's default, or when the URL cannot be read.
func SchemaOf(cfg Config) string {
	if cfg.Validate() != nil {
		return ""
	}
	return cfg.Schema
}

// CreateSchema creates cfg.Schema (from the URL's search_path when empty),
// which must not exist yet: a store opened on it then starts with empty
// tables, as on a new database. It returns an error when cfg names no
// schema, the schema exists, or the server cannot be reached.
func CreateSchema(ctx context.Context, cfg Config) error {
	return onSchema(ctx, cfg, `CREATE SCHEMA %s`)
}

// DropSchema drops cfg.Schema (from the URL's search_path when empty) and
// everything in it; a schema that does not exist is not an error. Close
// the stores opened on it first: their connections would hold it. It
// returns an error when cfg names no schema or the server cannot be
// reached.
func DropSchema(ctx context.Context, cfg Config) error {
	return onSchema(ctx, cfg, `DROP SCHEMA IF EXISTS %s CASCADE`)
}

// onSchema runs the statement format with cfg.Schema's quoted name.
func onSchema(ctx context.Context, cfg Config, format string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Schema == "" {
		return errors.New("postgres: no schema: set Schema or a search_path in the URL")
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stmt := fmt.Sprintf(format, pgx.Identifier{cfg.Schema}.Sanitize())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("postgres: %s: %w", stmt, err)
	}
	return nil
}

// connect opens one connection of its own for cfg, validated, outside any
// pool.
func connect(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	ccfg, err := connConfig(cfg)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, ccfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return conn, nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the embedded migrations that schema_migrations does not
// list yet, in the order of their number, in one transaction that holds a
// transaction-level advisory lock (pg_advisory_xact_lock): it is freed by the
// commit or rollback, so no failure can leave it held.
func migrate(ctx context.Context, conn *pgx.Conn, schema string) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(schema, "bellhop:migrate")); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if schema != "" {
			id := pgx.Identifier{schema}.Sanitize()
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+id+`; SET LOCAL search_path TO `+id); err != nil {
				return fmt.Errorf("schema %s: %w", id, err)
			}
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			applied timestamptz NOT NULL DEFAULT now()
		)`)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		for _, name := range names {
			version, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number: %w", name, err)
			}
			if contains(versions, version) {
				continue
			}
			text, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(text)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		return nil
	})
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Close releases the locks still held and closes the pool. Calls after the
// first do nothing; any other method called after Close returns an error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.committed // each committer ends its group first
		s.cancel()
		s.mu.Lock()
		held := make([]*heldLock, 0, len(s.locks))
		for l := range s.locks {
			held = append(held, l)
		}
		s.mu.Unlock()
		for _, l := range held {
			s.unlock(l)
		}
		s.pool.Close()
	})
	return nil
}

// heldLock is a session advisory lock and the connection whose session holds
// it.
type heldLock struct {
	conn *pgxpool.Conn
	key  int64
}

// TryLock takes the session advisory lock for name (within this store's
// schema), if free, on a connection it keeps until release: another hub node,
// or another caller on this node, cannot take it meanwhile. If the connection
// breaks, PostgreSQL frees the lock. release is never nil and may be called
// more than once. An error means the database could not be asked.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	noop := func() {}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return noop, false, fmt.Errorf("try lock %q: %w", name, err)
	}
	key := lockKey(s.schema, name)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		return noop, false, wrapErr(err, "try lock %q", name)
	}
	l := &heldLock{conn: conn, key: key}
	s.mu.Lock()
	s.locks[l] = struct{}{}
	s.mu.Unlock()
	return func() { s.unlock(l) }, true, nil
}

// unlock releases l once. If the unlock fails, it closes the connection, which
// ends the session and so frees the lock.
func (s *Store) unlock(l *heldLock) {
	s.mu.Lock()
	_, held := s.locks[l]
	delete(s.locks, l)
	s.mu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&ok); err != nil || !ok {
		l.conn.Hijack().Close(ctx)
		return
	}
	l.conn.Release()
}

// lockKey maps a lock name within a schema to an advisory lock key. Advisory
// locks are database-wide, so the schema is part of the key.
func lockKey(schema, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(schema))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// wrapErr turns a driver error into a domain error and says what failed: no
// row is bellhop.ErrNotFound, a unique violation an ECONFLICT error, a foreign
// key violation bellhop.ErrNotFound (something referred to is missing).
// Domain errors pass through.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", what, bellhop.ErrNotFound)
	case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		return fmt.Errorf("%s: %w (%s)", what, bellhop.Errorf(bellhop.ECONFLICT, "Already exists."), pe.ConstraintName)
	case errors.As(err, &pe) && pe.Code == "23503": // foreign_key_violation
		return fmt.Errorf("%s: %s: %w", what, pe.ConstraintName, bellhop.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// write runs fn in a transaction and commits when fn returns nil. fn's error
// is returned unchanged after the rollback.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// utc returns t in UTC; pgx returns timestamptz in the local zone.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
