package postgres

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/stage"
)

// Group commit. Every notifying commit takes PostgreSQL's database-wide
// notify lock, every commit waits for a WAL flush, and every statement costs
// the server a parse, plan and round of messages, so the hot writes
// (CreateCommand, UpdateCommands, FetchCommands) of concurrent callers are
// grouped: a committer goroutine takes the writes that queued while it was
// busy and runs them in one transaction of few statements, whatever the
// group's size (arrays, unnest): round trip 1, when the group updates or
// fetches commands, locks and reads them (a fetch's with their payload, and
// its pick chooses there which to change); round trip 2 takes the idempotency keys and
// inserts the new commands whose keys were free, writes the updates, sends
// one pg_notify per ~7900 bytes of events (eventChunks), commits and waits
// until the commit is durable (flushSQL). A caller returns only then. Up to
// committers groups are in flight at once; each command is in at most one of
// them (its row lock), so the events of a command are still notified in
// commit order.
//
// A group never waits for a row lock (FOR UPDATE SKIP LOCKED), so groups of
// several nodes cannot deadlock with each other or with single writes. A
// write the group cannot do as it would alone is run by its caller on its
// own, as before (errSolo): an update whose commands another transaction
// holds or that names a command that does not exist (the lock cannot tell
// these apart, and a second statement to tell them cost every group more
// than the rare update of a missing command costs on its own), or whose
// commands an earlier write of the group updates; a create
// whose idempotency key is taken (its own path finds the first command);
// and, when the database rejects a statement before the commit, every write
// of the group (nothing of it committed), so that each gets its own answer.
// A write that finds no other queued is run on its own by the committer,
// except a fetch, which runs as a group of one.
// Since a group holds row locks across a round trip while the committer
// runs the updates' functions, those functions must be quick, as they are.

// maxGroup bounds how many writes share one transaction, so that a group's
// latency and its notify payloads stay small.
const maxGroup = 128

// errSolo tells a caller to run its write on its own.
var errSolo = errors.New("postgres: run on its own")

// groupWrite is one write waiting for the committer: a create (c set) or an
// update (ids set).
type groupWrite struct {
	ctx context.Context
	// create
	c    *bellhop.Command
	h    bellhop.HistoryEntry
	idem *bellhop.Idempotency
	// update (ids set), or a fetch (pick set too, see FetchCommands)
	ids     []string
	fn      func(c *bellhop.Command) (*bellhop.HistoryEntry, error)
	pick    func(cs []bellhop.Command) []string
	changed []bellhop.Command
	all     []bellhop.Command // a fetch's commands read, with their payload
	// results
	solo    bool // run on its own by the committer: err and the results are final
	created bool
	err     error
	fnErr   error // fn's error, also in err
	done    chan struct{}
	// stages (zero without Config.Stage): when the write was handed over,
	// and when its group committed
	queued, committed time.Time
}

// grouped hands w to the committer and waits for its result.
func (s *Store) grouped(w *groupWrite) error {
	w.done, w.queued = make(chan struct{}), s.stage.Now()
	select {
	case s.writes <- w:
	case <-s.closing:
		return errors.New("postgres: store is closed")
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	<-w.done
	if !w.committed.IsZero() {
		s.stage.Since(stage.WriteWake, w.committed)
	}
	return w.err
}

// committers is how many groups may be in flight at once: while one waits
// for its commit to reach the disk, the next one runs.
const committers = 2

// startCommitters starts the committers; s.committed is closed when all have
// stopped.
func (s *Store) startCommitters() {
	var wg sync.WaitGroup
	for range committers {
		wg.Go(s.commit)
	}
	go func() { wg.Wait(); close(s.committed) }()
}

// commit runs grouped writes until the store closes.
func (s *Store) commit() {
	group := make([]*groupWrite, 0, maxGroup)
	for {
		select {
		case w := <-s.writes:
			group = append(group[:0], w)
		case <-s.closing:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case w := <-s.writes:
				group = append(group, w)
			default:
				break more
			}
		}
		start := s.stage.Now()
		if s.stage != nil {
			for _, w := range group {
				s.stage.Observe(stage.WriteQueue, start.Sub(w.queued))
			}
		}
		s.runGroup(group, start)
		for _, w := range group {
			close(w.done)
		}
	}
}

// createCommands inserts the commands of a group and their first history
// entries in one statement, returning each command's id and seq.
const createCommands = `WITH c AS (` + insertCommands + `
		RETURNING id, seq
	), h AS (` + insertHistory + `)
	SELECT id, seq FROM c`

// createKeyedCommands is createCommands for a group with idempotency keys
// ($19-$23: scope, key, request hash, command id, created, one per keyed
// create): it takes the keys and leaves out the keyed creates whose key was
// taken. ON CONFLICT waits for a concurrent insert of the same key to commit
// or roll back.
const createKeyedCommands = `WITH k AS (
		INSERT INTO idempotency_keys (scope, key, request_hash, command_id, created)
		SELECT * FROM unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[])
		ON CONFLICT DO NOTHING RETURNING command_id
	), c AS (` + insertCommands + `
		WHERE v.id <> ALL($22::text[]) OR v.id IN (SELECT command_id FROM k)
		RETURNING id, seq
	), h AS (` + insertHistory + `)
	SELECT id, seq FROM c`

// insertCommands and insertHistory are the two inserts both create
// statements share: the commands of $1-$13, and a first history entry
// ($14-$18) for each command c inserted.
const (
	insertCommands = `
		INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, data, progress, notes)
		SELECT id, e, d, t, st, cr, up, ci, cf, cl, data::json, p, n
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::float8[], $13::text[])
			AS v(id, e, d, t, st, cr, up, ci, cf, cl, data, p, n)`
	insertHistory = `
		INSERT INTO command_history (command_seq, state, utc, actor, progress, notes)
		SELECT c.seq, v.state, v.utc, v.actor, v.progress, v.notes
		FROM c JOIN unnest($1::text[], $14::text[], $15::timestamptz[], $16::text[], $17::float8[], $18::text[])
			AS v(id, state, utc, actor, progress, notes) ON v.id = c.id
	`
)

// notifyExisting sends the events $2 (one payload, one a line) whose
// command id in $3 is empty or names a command that exists: the events of
// keyed creates are sent only if the create inserted its command. The
// commands are looked up by the ids of $3 alone: a per-event EXISTS let a
// plan made while the table was small (and kept, see writeSetupSQL) hash the
// whole table at every execution instead (TestNotifyExistingPlan).
const notifyExisting = `SELECT pg_notify($1, string_agg(v.e, E'\n' ORDER BY v.i))
	FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS v(e, id, i)
	WHERE v.id = '' OR v.id IN (SELECT c.id FROM commands c WHERE c.id = ANY($3))
	HAVING count(*) > 0`

// updateCommands writes the changes of a group's updates, at most one per
// command, and their history entries in one statement.
const updateCommands = `WITH u AS (
		UPDATE commands c SET state = v.state, updated = v.updated, progress = v.progress, notes = v.notes,
			external_id = v.external_id
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::float8[], $5::text[], $11::text[])
			AS v(seq, state, updated, progress, notes, external_id)
		WHERE c.seq = ANY($1) AND c.seq = v.seq -- ANY: by the primary key, whatever the plan
	)
	INSERT INTO command_history (command_seq, state, utc, actor, progress, notes, external_id)
	SELECT * FROM unnest($1::bigint[], $6::text[], $7::timestamptz[], $8::text[], $9::float8[], $10::text[], $12::text[])`

// lockCommands locks the commands of a group's updates and fetches ($1)
// that no other transaction holds, and reads them, with their payload only
// when a fetch reads them ($2).
var lockCommands = `SELECT ` + strings.Replace(commandCols, "data,", "CASE WHEN id = ANY($2) THEN data END,", 1) +
	` FROM commands WHERE id = ANY($1) ORDER BY seq FOR UPDATE SKIP LOCKED`

// runGroup runs a group of writes in one transaction and sets their results.
// A write alone runs as it would on its own: its single-row statements
// cost less than the group's. began is when the committer took the group
// (for the stages).
func (s *Store) runGroup(group []*groupWrite, began time.Time) {
	var ran time.Time // the last round trip's start: write, commit, flush
	if len(group) == 1 && group[0].pick == nil {
		w := group[0]
		w.solo = true
		if w.c != nil {
			w.created, w.err = s.createCommand(w.ctx, w.c, w.h, w.idem, &ran)
		} else {
			w.changed, w.err = s.updateCommands(w.ctx, w.ids, w.fn, &ran)
		}
		if w.err == nil {
			s.observeCommit(group, began, ran)
		}
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		for _, w := range group {
			w.err = err
		}
		return
	}
	defer release(conn)

	// Round trip 1, when there are updates: begin, lock and read the
	// commands to update. The idempotency keys are taken in round trip 2.
	live := make([]bool, len(group))
	taken := make(map[string]bool)
	var lockIDs, fetchIDs []string
	var keys struct {
		scope, key, hash, id []string
		at                   []time.Time
	}
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			continue
		}
		live[i] = true
		if w.c != nil {
			if k := w.idem; k != nil {
				keys.scope, keys.key, keys.hash = append(keys.scope, k.Scope), append(keys.key, k.Key), append(keys.hash, k.RequestHash)
				keys.id, keys.at = append(keys.id, w.c.ID), append(keys.at, w.c.CreatedUtc)
			}
			continue
		}
		for _, id := range w.ids {
			if taken[id] {
				// An earlier write of the group changes it.
				w.err, live[i] = errSolo, false
				break
			}
		}
		if live[i] {
			for _, id := range w.ids {
				taken[id] = true
			}
			lockIDs = append(lockIDs, w.ids...)
			if w.pick != nil {
				fetchIDs = append(fetchIDs, w.ids...)
			}
		}
	}
	var b pgx.Batch
	b.Queue(`BEGIN`)
	b.Queue(writeSetupSQL)
	var cs []bellhop.Command
	if len(lockIDs) > 0 {
		if fetchIDs == nil {
			fetchIDs = []string{}
		}
		b.Queue(lockCommands, lockIDs, fetchIDs).Query(func(rows pgx.Rows) error {
			var err error
			cs, err = collectCommands(rows)
			return err
		})
	}
	if len(lockIDs) > 0 {
		if err := conn.SendBatch(ctx, &b).Close(); err != nil {
			// Nothing committed.
			for i, w := range group {
				if live[i] {
					w.err = errSolo
				}
			}
			return
		}
		b = pgx.Batch{}
	}
	lockedAt := make(map[string]int, len(cs))
	for i := range cs {
		lockedAt[cs[i].ID] = i
	}

	// Round trip 2: write, notify, commit, wait until durable.
	var events, eventIDs []string // eventIDs: the command of a keyed create, else ""
	var cr struct {
		id, e, d, t, st, ci, cf, cl, n, hs, ha, hn []string
		cr, up, hu                                 []time.Time
		data                                       []*string
		p, hp                                      []*float64
	}
	var up struct {
		seq               []int64
		st, n, hs, ha, hn []string
		x, hx             []string // external ids
		at, hu            []time.Time
		p, hp             []*float64
	}
	creates := map[string]*bellhop.Command{}
	for i, w := range group {
		if !live[i] {
			continue
		}
		if c := w.c; c != nil {
			h := w.h
			cr.id, cr.e, cr.d, cr.t, cr.st = append(cr.id, c.ID), append(cr.e, c.EnterpriseID), append(cr.d, c.DeviceID), append(cr.t, string(c.DeviceType)), append(cr.st, string(c.State))
			cr.cr, cr.up = append(cr.cr, c.CreatedUtc), append(cr.up, c.UpdatedUtc)
			cr.ci, cr.cf, cr.cl = append(cr.ci, c.Creator.IntegrationID), append(cr.cf, c.Creator.FirstName), append(cr.cl, c.Creator.LastName)
			cr.data, cr.p, cr.n = append(cr.data, jsonText(c.Data)), append(cr.p, c.Progress), append(cr.n, c.Notes)
			cr.hs, cr.hu, cr.ha, cr.hp, cr.hn = append(cr.hs, string(h.State)), append(cr.hu, h.Utc), append(cr.ha, h.Actor), append(cr.hp, h.Progress), append(cr.hn, h.Notes)
			c.Seq = 0 // set from what the insert returns
			creates[c.ID] = c
			events = append(events, encodeEvent(c, true))
			if w.idem != nil {
				eventIDs = append(eventIDs, c.ID)
			} else {
				eventIDs = append(eventIDs, "")
			}
			continue
		}
		var mine []int
		for _, id := range w.ids {
			if j, ok := lockedAt[id]; ok {
				mine = append(mine, j)
			} else {
				// Another transaction holds it, or there is no such
				// command: on its own, the write waits for the lock or
				// finds nothing.
				w.err, live[i] = errSolo, false
				break
			}
		}
		if !live[i] {
			continue
		}
		sort.Ints(mine) // Seq order
		mine = slices.Compact(mine)
		w.changed = []bellhop.Command{}
		var chosen map[string]bool
		if w.pick != nil {
			w.all = make([]bellhop.Command, len(mine))
			for k, j := range mine {
				w.all[k] = cs[j]
			}
			ids := w.pick(w.all)
			chosen = make(map[string]bool, len(ids))
			for _, id := range ids {
				chosen[id] = true
			}
		}
		nUp, nEv := len(up.seq), len(events)
		for _, j := range mine {
			c := cs[j]
			if chosen != nil && !chosen[c.ID] {
				continue
			}
			seq, state, data := c.Seq, c.State, c.Data
			c.Data = nil // fn sees no payload, as in UpdateCommands
			h, err := w.fn(&c)
			if err != nil {
				w.err, w.fnErr, live[i] = err, err, false
				break
			}
			if h == nil {
				continue
			}
			if w.pick != nil {
				c.Data = data // a fetch answers with it
			}
			w.changed = append(w.changed, c)
			up.seq, up.st, up.at, up.p, up.n = append(up.seq, seq), append(up.st, string(c.State)), append(up.at, c.UpdatedUtc), append(up.p, c.Progress), append(up.n, c.Notes)
			up.hs, up.hu, up.ha, up.hp, up.hn = append(up.hs, string(h.State)), append(up.hu, h.Utc), append(up.ha, h.Actor), append(up.hp, h.Progress), append(up.hn, h.Notes)
			up.x, up.hx = append(up.x, c.ExternalID), append(up.hx, h.ExternalID)
			events, eventIDs = append(events, encodeEvent(&c, c.State != state)), append(eventIDs, "")
		}
		if !live[i] {
			// fn failed: drop what this write queued.
			up.seq, up.st, up.at, up.p, up.n = up.seq[:nUp], up.st[:nUp], up.at[:nUp], up.p[:nUp], up.n[:nUp]
			up.hs, up.hu, up.ha, up.hp, up.hn = up.hs[:nUp], up.hu[:nUp], up.ha[:nUp], up.hp[:nUp], up.hn[:nUp]
			up.x, up.hx = up.x[:nUp], up.hx[:nUp]
			events, eventIDs = events[:nEv], eventIDs[:nEv]
			w.changed, w.all = nil, nil
		}
	}
	start := b.Len()
	if len(cr.id) > 0 {
		sql, args := createCommands, []any{cr.id, cr.e, cr.d, cr.t, cr.st, cr.cr, cr.up, cr.ci, cr.cf, cr.cl, cr.data, cr.p, cr.n,
			cr.hs, cr.hu, cr.ha, cr.hp, cr.hn}
		if len(keys.id) > 0 {
			sql, args = createKeyedCommands, append(args, keys.scope, keys.key, keys.hash, keys.id, keys.at)
		}
		b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
			var id string
			var seq int64
			_, err := pgx.ForEachRow(rows, []any{&id, &seq}, func() error {
				if c := creates[id]; c != nil {
					c.Seq = seq
				}
				return nil
			})
			return err
		})
	}
	if len(up.seq) > 0 {
		b.Queue(updateCommands, up.seq, up.st, up.at, up.p, up.n, up.hs, up.hu, up.ha, up.hp, up.hn, up.x, up.hx)
	}
	for _, r := range eventChunks(events) {
		if slices.ContainsFunc(eventIDs[r[0]:r[1]], func(id string) bool { return id != "" }) {
			b.Queue(notifyExisting, channel(s.schema, eventsChannel), events[r[0]:r[1]], eventIDs[r[0]:r[1]])
		} else {
			b.Queue(notifySQL, channel(s.schema, eventsChannel), strings.Join(events[r[0]:r[1]], "\n"))
		}
	}
	precommit := false
	if b.Len() > start {
		last := b.QueuedQueries[b.Len()-1]
		last.Fn = wrapFn(last.Fn, func() { precommit = true })
		queueCommit(&b)
	} else {
		// Nothing written (a fetch whose pick chose none, updates whose
		// functions changed nothing): the commit only ends the transaction
		// and its row locks, and there is no WAL of its own to wait for,
		// as for a read.
		precommit = true
		b.Queue(`COMMIT`)
	}
	ran = s.stage.Now()
	err = conn.SendBatch(ctx, &b).Close()
	var pe *pgconn.PgError
	switch {
	case err == nil:
	case !precommit && errors.As(err, &pe):
		// The database rejected a write: nothing committed.
		for i, w := range group {
			if live[i] {
				w.err, w.changed, w.all = errSolo, nil, nil
			}
		}
		return
	default:
		for i, w := range group {
			if live[i] {
				w.err, w.changed, w.all = err, nil, nil
			}
		}
		return
	}
	for i, w := range group {
		if !live[i] {
			continue
		}
		if w.c != nil && w.c.Seq == 0 {
			if w.idem != nil {
				// Its key was taken: on its own, it finds the first command.
				w.err = errSolo
			} else {
				w.err = errors.New("postgres: group commit: no seq returned")
			}
		}
		for j := range w.changed {
			// As written: timestamptz keeps microseconds.
			w.changed[j].UpdatedUtc = w.changed[j].UpdatedUtc.Truncate(time.Microsecond).UTC()
		}
		if w.pick != nil {
			// A fetch answers with each command as it is now.
			k := 0
			for j := range w.all {
				if k < len(w.changed) && w.all[j].ID == w.changed[k].ID {
					w.all[j] = w.changed[k]
					k++
				}
			}
		}
	}
	s.observeCommit(group, began, ran)
}

// observeCommit records the stages of a group that committed: each write
// waited for all of it.
func (s *Store) observeCommit(group []*groupWrite, began, ran time.Time) {
	if s.stage == nil || ran.IsZero() {
		return
	}
	committed := time.Now()
	for _, w := range group {
		w.committed = committed
		s.stage.Observe(stage.WriteRun, ran.Sub(began))
		s.stage.Observe(stage.Commit, committed.Sub(ran))
	}
}

// jsonText is a command's data as a text parameter: nil is NULL.
func jsonText(data []byte) *string {
	if data == nil {
		return nil
	}
	s := string(data)
	return &s
}

// wrapFn returns a batch callback that runs fn (or, when nil, reads the
// result) and then, when that succeeded, after.
func wrapFn(fn func(pgx.BatchResults) error, after func()) func(pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		var err error
		if fn != nil {
			err = fn(br)
		} else {
			_, err = br.Exec()
		}
		if err == nil {
			after()
		}
		return err
	}
}
