package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// Cross-node events. Every transaction that changes a command also runs
// pg_notify on the channel bellhop_events (schema-qualified, see channel)
// with a small payload line per changed command, several lines to a
// notification when a transaction changes several (see joinEvents); connections and revocations
// notify bellhop_topology. PostgreSQL delivers notifications when, and in the
// order that, their transactions commit, so every node learns of every change
// in commit order, which per command is the order of its changes (updates of
// one command lock its row). The payload carries ids and states only: rows
// stay the truth, and a node that missed notifications re-reads rows (see
// Listen and store.NotifyHandler.Gap).

const (
	eventsChannel   = "bellhop_events"
	topologyChannel = "bellhop_topology"
	// payloadVersion starts every event payload, so that a node of another
	// version can tell what it cannot read.
	payloadVersion = "1"
)

// channel is the name of a channel within a schema: notifications are
// database-wide, so hubs (or tests) in different schemas of one database must
// not hear each other.
// A channel name has at most 63 bytes: a long schema name is replaced by its
// hash.
func channel(schema, name string) string {
	if schema == "" {
		return name
	}
	if len(name)+1+len(schema) > 63 {
		return name + ":" + strconv.FormatUint(uint64(lockKey(schema, "channel")), 36)
	}
	return name + ":" + schema
}

// encodeEvent renders the notification of a command change:
//
//	1|id|state|deviceID|enterpriseID|creatorIntegrationID|progress|updatedMicros|stateChange
//
// progress is empty when unset and stateChange is 1 or 0. Ids are the hub's
// UUIDs and states are names, none holding "|"; the payload stays far below
// PostgreSQL's limit of 8000 bytes.
func encodeEvent(c *bellhop.Command, stateChange bool) string {
	b := make([]byte, 0, 200)
	b = append(b, payloadVersion...)
	for _, f := range []string{c.ID, string(c.State), c.DeviceID, c.EnterpriseID, c.Creator.IntegrationID} {
		b = append(b, '|')
		b = append(b, f...)
	}
	b = append(b, '|')
	if c.Progress != nil {
		b = strconv.AppendFloat(b, *c.Progress, 'g', -1, 64)
	}
	b = append(b, '|')
	b = strconv.AppendInt(b, c.UpdatedUtc.UnixMicro(), 10)
	if stateChange {
		b = append(b, "|1"...)
	} else {
		b = append(b, "|0"...)
	}
	return string(b)
}

// decodeEvent parses what encodeEvent wrote.
func decodeEvent(payload string) (bellhop.Event, error) {
	var e bellhop.Event
	f := strings.Split(payload, "|")
	if len(f) != 9 || f[0] != payloadVersion {
		return e, fmt.Errorf("event payload %.100q: not version %s with 9 fields", payload, payloadVersion)
	}
	e.CommandID, e.State, e.DeviceID, e.EnterpriseID, e.CreatorIntegrationID = f[1], bellhop.State(f[2]), f[3], f[4], f[5]
	if e.CommandID == "" || !e.State.Valid() {
		return e, fmt.Errorf("event payload %.100q: bad id or state", payload)
	}
	if f[6] != "" {
		p, err := strconv.ParseFloat(f[6], 64)
		if err != nil {
			return e, fmt.Errorf("event payload %.100q: progress: %w", payload, err)
		}
		e.Progress = &p
	}
	us, err := strconv.ParseInt(f[7], 10, 64)
	if err != nil {
		return e, fmt.Errorf("event payload %.100q: time: %w", payload, err)
	}
	e.Utc = time.UnixMicro(us).UTC()
	switch f[8] {
	case "1":
		e.StateChange = true
	case "0":
	default:
		return e, fmt.Errorf("event payload %.100q: state change flag", payload)
	}
	return e, nil
}

// maxPayload is the most bytes joinEvents puts in one payload, below
// PostgreSQL's limit of 8000.
const maxPayload = 7900

// joinEvents joins encoded events, in order, into as few payloads as fit:
// one notification carries the events of several changes, one a line.
func joinEvents(events []string) []string {
	var out []string
	for _, r := range eventChunks(events) {
		out = append(out, strings.Join(events[r[0]:r[1]], "\n"))
	}
	return out
}

// eventChunks splits encoded events, in order, into as few runs [start, end)
// as fit a payload each when joined by newlines (see joinEvents).
func eventChunks(events []string) [][2]int {
	var out [][2]int
	start, size := 0, 0
	for i, e := range events {
		if i > start && size+1+len(e) > maxPayload {
			out = append(out, [2]int{start, i})
			start, size = i, 0
		}
		if i > start {
			size++
		}
		size += len(e)
	}
	if start < len(events) {
		out = append(out, [2]int{start, len(events)})
	}
	return out
}

// decodeEvents parses a payload of one or more events, one a line (see
// joinEvents). It returns the events it can read and an error naming the
// first line it cannot.
func decodeEvents(payload string) ([]bellhop.Event, error) {
	events := make([]bellhop.Event, 0, strings.Count(payload, "\n")+1)
	var first error
	for line := range strings.SplitSeq(payload, "\n") {
		e, err := decodeEvent(line)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		events = append(events, e)
	}
	return events, first
}

// Topology payloads: "d|<subscription id>" (devices changed) or
// "r|<subscription id>" (revoked).
func encodeTopology(t store.TopologyChange) string {
	if t.Revoked {
		return "r|" + t.SubscriptionID
	}
	return "d|" + t.SubscriptionID
}

func decodeTopology(payload string) (store.TopologyChange, error) {
	kind, id, ok := strings.Cut(payload, "|")
	if !ok || id == "" || (kind != "d" && kind != "r") {
		return store.TopologyChange{}, fmt.Errorf("topology payload %.100q", payload)
	}
	return store.TopologyChange{SubscriptionID: id, Revoked: kind == "r"}, nil
}

const notifySQL = `SELECT pg_notify($1, $2)`

// Commits that notify, and durability. PostgreSQL holds one database-wide
// lock from a notifying transaction's pre-commit until its commit has ended,
// so that notifications queue in commit order. A commit that waits there for
// its WAL to reach the disk makes every other notifying commit wait too:
// measured on the 2-core machine, ~260 command changes/s in all. So a
// transaction that notifies runs writeSetupSQL and commits without waiting
// for the disk, and then, before the store returns, waits for the flush
// outside the lock with flushSQL, where concurrent commits share flushes. A
// change is reported to callers only once it is durable; other nodes may see
// it (and publish its event) a few milliseconds before, and would have
// published an event of a change that a crash of the database server then
// loses.
//
// writeSetupSQL, sent right after BEGIN, also keeps the plans of the hot
// writes' statements (creates, updates, fetches, their notifications): it
// has PostgreSQL plan them once per connection (plan_cache_mode), not at
// every execution, as it did for each statement with an array parameter
// (lock and read by ids, the group's inserts and updates), because the
// cost of the plan for one array says nothing about the next. Planning
// was 18 % of the server's CPU in a lifecycle (perf, BenchmarkLifecycle),
// 0.1-0.3 ms a statement against 0.01 ms with the cached plan, which is the
// same index scan. And it keeps those plans on the indexes (enable_seqscan):
// a plan made while a table is young and its statistics small would
// otherwise scan the whole table for as long as it is cached.
const writeSetupSQL = `SELECT set_config('synchronous_commit', 'off', true), set_config('enable_seqscan', 'off', true),
	set_config('plan_cache_mode', 'force_generic_plan', true)`

// flushSQL, sent after a COMMIT on the same connection, returns only once
// everything committed so far is as durable as the server's
// synchronous_commit asks (on by default: flushed to disk): it writes WAL in
// a transaction of its own, whose commit waits for its WAL, and the WAL is
// flushed in order. A transaction that writes no WAL commits without waiting
// even when it takes a transaction id (SELECT txid_current() did not wait:
// 200 such commits, 3 WAL syncs). The row is one of 64 (see migration 0007),
// so that concurrent connections seldom wait for one another's row lock.
const flushSQL = `UPDATE durable_marks SET n = n + 1 WHERE slot = pg_backend_pid() % 64`

// queueCommit adds to b the COMMIT of an asynchronously committing
// transaction and the wait for its flush (flushSQL).
func queueCommit(b *pgx.Batch) {
	b.Queue(`COMMIT`)
	b.Queue(flushSQL)
}

// commitNotifying sends, in one round trip on conn: the statements in b
// (BEGIN and writeSetupSQL, if the transaction is not open yet), what queue
// adds, COMMIT and flushSQL. When ran is not nil, it is set to the time the
// round trip started (for the stages). An error leaves conn to release,
// which rolls back.
func (s *Store) commitNotifying(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, ran *time.Time, queue func(b *pgx.Batch)) error {
	queue(b)
	queueCommit(b)
	if ran != nil {
		*ran = s.stage.Now()
	}
	return conn.SendBatch(ctx, b).Close()
}

// release gives a connection back to the pool, first rolling back what a
// failure left open; a connection that cannot roll back is closed.
func release(conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() != 'I' && !conn.Conn().IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := conn.Exec(ctx, `ROLLBACK`)
		cancel()
		if err != nil {
			conn.Hijack().Close(context.Background())
			return
		}
	}
	conn.Release()
}

// queueEvent adds the notification of a command change to a batch.
func (s *Store) queueEvent(b *pgx.Batch, c *bellhop.Command, stateChange bool) {
	b.Queue(notifySQL, channel(s.schema, eventsChannel), encodeEvent(c, stateChange))
}

// notifyTopology sends a topology notification within tx.
func (s *Store) notifyTopology(ctx context.Context, tx pgx.Tx, t store.TopologyChange) error {
	_, err := tx.Exec(ctx, notifySQL, channel(s.schema, topologyChannel), encodeTopology(t))
	return err
}

var _ store.Notifier = (*Store)(nil)

// listenKeepalive is how long the listening connection may stay silent before
// Listen checks it with a ping.
const listenKeepalive = 15 * time.Second

// Listen reports every change to commands and connections committed by any
// node on this database and schema, in commit order, until ctx is done. It
// holds a connection of its own (not from the pool, whose size it does not
// change), checks it with a ping after 15 s of silence, and after losing it
// reconnects with backoff (Config.ListenRetry doubling up to 5 s) and calls
// h.Gap with the last time (Config.Now) the connection was known to work. It
// returns an error when it cannot listen the first time; later failures go
// to Config.Logger. Payloads it cannot read are logged and skipped.
func (s *Store) Listen(ctx context.Context, h store.NotifyHandler) error {
	conn, err := s.listenConn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	if h.Listening != nil {
		h.Listening()
	}
	lastGood := s.cfg.Now()
	delay := s.cfg.ListenRetry
	for {
		if conn != nil {
			err := s.receive(ctx, conn, h, &lastGood)
			conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return nil
			}
			s.cfg.Logger.Warn("postgres: listening connection lost; reconnecting", "err", err)
			delay = s.cfg.ListenRetry
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		if conn, err = s.listenConn(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.cfg.Logger.Warn("postgres: listen: reconnect failed", "err", err, "retry_in", 2*delay)
			delay = min(2*delay, 5*time.Second)
			continue
		}
		s.cfg.Logger.Info("postgres: listening again", "gap_since", lastGood)
		if h.Gap != nil {
			h.Gap(lastGood)
		}
	}
}

// listenConn connects and listens on both channels.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	ccfg, err := connConfig(s.cfg)
	if err != nil {
		return nil, err
	}
	// Named, so that operators (and tests) can find it in pg_stat_activity.
	ccfg.RuntimeParams["application_name"] = listenerName(s.schema)
	conn, err := pgx.ConnectConfig(ctx, ccfg)
	if err != nil {
		return nil, err
	}
	for _, ch := range []string{eventsChannel, topologyChannel} {
		if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel(s.schema, ch)}.Sanitize()); err != nil {
			conn.Close(context.Background())
			return nil, err
		}
	}
	return conn, nil
}

// listenerName is the application_name of the listening connection.
func listenerName(schema string) string {
	if schema == "" {
		return "bellhop-listen"
	}
	return "bellhop-listen:" + schema
}

// receive hands notifications to h until ctx is done or the connection
// fails.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, h store.NotifyHandler, lastGood *time.Time) error {
	events, topology := channel(s.schema, eventsChannel), channel(s.schema, topologyChannel)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenKeepalive)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			*lastGood = s.cfg.Now()
			continue
		}
		*lastGood = s.cfg.Now()
		switch n.Channel {
		case events:
			list, err := decodeEvents(n.Payload)
			if err != nil {
				s.cfg.Logger.Error("postgres: skipped events of a notification", "err", err)
			}
			if h.Events != nil && len(list) > 0 {
				h.Events(list)
			}
		case topology:
			t, err := decodeTopology(n.Payload)
			if err != nil {
				s.cfg.Logger.Error("postgres: skipped a notification", "err", err)
				continue
			}
			if h.Topology != nil {
				h.Topology(t)
			}
		}
	}
}
