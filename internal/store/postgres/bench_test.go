package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/store/postgres"
	"github.com/bellhop/bellhop/internal/store/storetest"
)

func BenchmarkCreateUpdate(b *testing.B) {
	storetest.BenchmarkCreateUpdate(b, open(b))
}

func BenchmarkCreateUpdateParallel(b *testing.B) {
	storetest.BenchmarkCreateUpdateParallel(b, open(b))
}

func BenchmarkLifecycleParallel(b *testing.B) {
	storetest.BenchmarkLifecycleParallel(b, openCounted(b))
}

func BenchmarkLifecycle(b *testing.B) {
	storetest.BenchmarkLifecycle(b, openCounted(b))
}

// countedStore is a store whose traffic to the server passes a counting
// proxy (serverCounter), so that the lifecycle benchmarks report what the
// server is asked to do and what its CPU costs per lifecycle.
type countedStore struct {
	*postgres.Store
	c *serverCounter
}

// ServerCounts returns the counters so far (see storetest.ServerCounter).
func (s countedStore) ServerCounts() map[string]float64 { return s.c.counts() }

// openCounted opens a store in a database of its own (so that its server
// processes can be told apart) through a counting proxy.
func openCounted(b *testing.B) countedStore {
	b.Helper()
	direct := hubtest.PostgresDatabase(b)
	c := newServerCounter(b, direct)
	u, err := url.Parse(direct)
	if err != nil {
		b.Fatal(err)
	}
	u.Host = c.addr
	q := u.Query()
	q.Set("application_name", c.app)
	u.RawQuery = q.Encode()
	return countedStore{Store: openConfig(b, postgres.Config{URL: u.String()}), c: c}
}

// serverCounter is a TCP proxy in front of the test server that counts the
// frontend messages of the protocol (the URL must not use TLS): statements
// executed, round trips (a Sync or a simple Query ends one), commits and
// flushes (flushSQL); and, through an admin connection of its own, the CPU
// time of the server processes of the proxied connections (from /proc,
// when the server is local) and the server's WAL counters (server-wide).
type serverCounter struct {
	addr, app string
	admin     *pgx.Conn
	executes  atomic.Int64
	syncs     atomic.Int64
	commits   atomic.Int64
	flushes   atomic.Int64
}

func newServerCounter(tb testing.TB, direct string) *serverCounter {
	tb.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	admin, err := pgx.Connect(tb.Context(), direct)
	if err != nil {
		tb.Fatal(err)
	}
	c := &serverCounter{addr: ln.Addr().String(), app: "bench-" + strconv.Itoa(os.Getpid()), admin: admin}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		ln.Close()
		wg.Wait()
		admin.Close(context.Background())
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", u.Host)
			if err != nil {
				client.Close()
				continue
			}
			wg.Go(func() {
				io.Copy(client, server)
				client.Close()
			})
			wg.Go(func() {
				c.count(client, server)
				server.Close()
			})
		}
	})
	return c
}

// count copies what the client sends to the server, as it comes, and
// counts its messages.
func (c *serverCounter) count(client io.Reader, server io.Writer) {
	buf := make([]byte, 64<<10)
	var pending []byte           // the messages not yet counted whole
	started := false             // the startup message, which has no type byte, is past
	stmts := map[string]string{} // prepared statement name → text
	portal := ""                 // the text of the statement last bound
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if _, err := server.Write(buf[:n]); err != nil {
				return
			}
			pending = append(pending, buf[:n]...)
		}
		for {
			if !started {
				if len(pending) < 4 || len(pending) < int(binary.BigEndian.Uint32(pending)) {
					break
				}
				size := int(binary.BigEndian.Uint32(pending))
				// An SSLRequest or GSSENCRequest is answered and followed by
				// the startup message; the URL has sslmode=disable.
				started = size > 8 || binary.BigEndian.Uint32(pending[4:]) < 80877102
				pending = pending[size:]
				continue
			}
			if len(pending) < 5 || len(pending) < 1+int(binary.BigEndian.Uint32(pending[1:])) {
				break
			}
			size := 1 + int(binary.BigEndian.Uint32(pending[1:]))
			body := pending[5:size]
			switch pending[0] {
			case 'P': // Parse: name, text
				name, rest, _ := bytes.Cut(body, []byte{0})
				text, _, _ := bytes.Cut(rest, []byte{0})
				stmts[string(name)] = string(text)
			case 'B': // Bind: portal, statement
				_, rest, _ := bytes.Cut(body, []byte{0})
				name, _, _ := bytes.Cut(rest, []byte{0})
				portal = stmts[string(name)]
			case 'E':
				c.executed(portal)
			case 'Q':
				c.executed(string(bytes.TrimRight(body, "\x00")))
				c.syncs.Add(1)
			case 'S':
				c.syncs.Add(1)
			}
			pending = pending[size:]
		}
		pending = append([]byte(nil), pending...)
		if err != nil {
			return
		}
	}
}

func (c *serverCounter) executed(text string) {
	c.executes.Add(1)
	switch {
	case strings.EqualFold(strings.TrimSpace(text), "COMMIT"):
		c.commits.Add(1)
	case strings.HasPrefix(text, "UPDATE durable_marks"):
		c.flushes.Add(1)
	}
}

// counts returns the counters so far: statements, round trips, commits and
// flushes of the proxied connections; the server's CPU for them in µs; and
// WAL syncs and bytes of the whole server.
func (c *serverCounter) counts() map[string]float64 {
	m := map[string]float64{
		"stmts": float64(c.executes.Load()), "roundtrips": float64(c.syncs.Load()),
		"commits": float64(c.commits.Load()), "flushes": float64(c.flushes.Load()),
	}
	ctx := context.Background()
	rows, _ := c.admin.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, c.app)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err == nil {
		var user, sys time.Duration
		for _, pid := range pids {
			u, s, err := storetest.ProcCPU(strconv.Itoa(int(pid)))
			if err != nil {
				user = -1
				break
			}
			user, sys = user+u, sys+s
		}
		if user >= 0 { // the system time is mostly the WAL's fdatasync
			m["srv-cpu-µs"] = float64(user+sys) / float64(time.Microsecond)
			m["srv-user-µs"] = float64(user) / float64(time.Microsecond)
		}
	}
	var syncs, walBytes float64
	if err := c.admin.QueryRow(ctx, `SELECT wal_sync, wal_bytes FROM pg_stat_wal`).Scan(&syncs, &walBytes); err == nil {
		m["walsyncs"], m["walbytes"] = syncs, walBytes
	}
	return m
}
