package postgres

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// pool is a small pool of pgx connections with the calls of pgxpool that the
// store uses. pgxpool itself needs github.com/jackc/puddle/v2, which is not a
// dependency of this module. Connections open on demand up to a maximum and
// stay open; a broken one, or one left inside a transaction, is closed when it
// comes back. Every connection keeps pgx's cache of prepared statements.
type pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{}  // one token per open (or opening) connection
	idle  chan *pgx.Conn // as large as slots, so a release never blocks
	done  chan struct{}  // closed by close

	mu     sync.Mutex
	closed bool
}

var errPoolClosed = errors.New("postgres: store is closed")

func newPool(cfg *pgx.ConnConfig, maxConns int32) *pool {
	return &pool{cfg: cfg, slots: make(chan struct{}, maxConns), idle: make(chan *pgx.Conn, maxConns), done: make(chan struct{})}
}

// acquire returns an idle connection, or opens one if the pool is not full,
// or waits for one to come back.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case <-p.done:
		return nil, errPoolClosed
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case <-p.done:
		return nil, errPoolClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
		c, err := pgx.ConnectConfig(ctx, p.cfg)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return c, nil
	}
}

// release gives c back, or closes it when it is broken, inside a transaction,
// or the pool is closed.
func (p *pool) release(c *pgx.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || c.IsClosed() || c.PgConn().TxStatus() != 'I' {
		c.Close(context.Background())
		<-p.slots
		return
	}
	p.idle <- c
}

// close closes the idle connections; those in use close when released.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	close(p.done)
	for {
		select {
		case c := <-p.idle:
			c.Close(context.Background())
			<-p.slots
		default:
			return
		}
	}
}

// with runs fn on a pooled connection.
func (p *pool) with(ctx context.Context, fn func(c *pgx.Conn) error) error {
	c, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(c)
	return fn(c)
}

// Exec runs a statement on a pooled connection.
func (p *pool) Exec(ctx context.Context, sql string, args ...any) (tag pgconn.CommandTag, err error) {
	err = p.with(ctx, func(c *pgx.Conn) error {
		tag, err = c.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// QueryRow runs a query on a pooled connection when its row is scanned.
func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return rowFunc(func(dest ...any) error {
		return p.with(ctx, func(c *pgx.Conn) error { return c.QueryRow(ctx, sql, args...).Scan(dest...) })
	})
}

type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// Query runs a query on a pooled connection, given back when the rows are
// closed. As with pgxpool, an error also shows in the rows' Err, so
// pgx.CollectRows(p.Query(...)) needs no check in between.
func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return errRows{err}, err
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		p.release(c)
		return errRows{err}, err
	}
	return &poolRows{Rows: rows, release: sync.OnceFunc(func() { p.release(c) })}, nil
}

type poolRows struct {
	pgx.Rows
	release func()
}

func (r *poolRows) Close() {
	r.Rows.Close()
	r.release()
}

type errRows struct{ err error }

func (r errRows) Close()                                       {}
func (r errRows) Err() error                                   { return r.err }
func (r errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r errRows) Next() bool                                   { return false }
func (r errRows) Scan(...any) error                            { return r.err }
func (r errRows) Values() ([]any, error)                       { return nil, r.err }
func (r errRows) RawValues() [][]byte                          { return nil }
func (r errRows) Conn() *pgx.Conn                              { return nil }
func (r errRows) TypeMap() *pgtype.Map                         { return nil }
