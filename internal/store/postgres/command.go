package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

const commandCols = `seq, id, enterprise_id, device_id, device_type, state, created, updated,
	creator_integration_id, creator_first_name, creator_last_name, data, progress, notes, external_id`

// headCols are commandCols without the payload (NULL in its place), for
// UpdateCommands: no update changes it, so it is neither read nor written,
// and PostgreSQL keeps its TOASTed value instead of storing it again.
var headCols = strings.Replace(commandCols, "data,", "NULL::json,", 1)

func scanCommand(row pgx.Row) (c bellhop.Command, err error) {
	var data []byte
	err = row.Scan(&c.Seq, &c.ID, &c.EnterpriseID, &c.DeviceID, &c.DeviceType, &c.State, &c.CreatedUtc, &c.UpdatedUtc,
		&c.Creator.IntegrationID, &c.Creator.FirstName, &c.Creator.LastName, &data, &c.Progress, &c.Notes, &c.ExternalID)
	if data != nil {
		c.Data = json.RawMessage(data)
	}
	c.CreatedUtc, c.UpdatedUtc = utc(c.CreatedUtc), utc(c.UpdatedUtc)
	return c, err
}

func collectCommands(rows pgx.Rows) ([]bellhop.Command, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (bellhop.Command, error) { return scanCommand(row) })
}

// insertCommand inserts a command and its first history entry in one
// statement, returning the command's seq.
const insertCommand = `WITH c AS (
		INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, data, progress, notes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq
	)
	INSERT INTO command_history (command_seq, state, utc, actor, progress, notes)
	SELECT seq, $14, $15, $16, $17, $18 FROM c RETURNING command_seq`

// insertPayment records the payment of a command inserted in the same
// transaction. An id already recorded violates payments_pkey, which fails
// the transaction on the server (the batch's COMMIT is then skipped).
const insertPayment = `INSERT INTO payments (id, command_seq, command_id, enterprise_id, kind, account_id, amount,
		bill_id, payment_request_id, reservation_id, created)
	SELECT $1, seq, id, $2, $3, $4, $5, $6, $7, $8, $9 FROM commands WHERE id = $10`

// CreateCommand inserts c, sets c.Seq and records h as its first history
// entry. With idem, a second create with the same Scope and Key fills c with
// the first command and returns created=false when RequestHash matches, and an
// ECONFLICT error when it does not; concurrent creates with one key wait for
// each other, so exactly one creates. A duplicate command id is an ECONFLICT
// error. The idempotency key is dated c.CreatedUtc (see Purge).
func (s *Store) CreateCommand(ctx context.Context, c *bellhop.Command, h bellhop.HistoryEntry, idem *bellhop.Idempotency) (created bool, err error) {
	if c.Payment != nil { // rare: on its own
		return s.createCommand(ctx, c, h, idem, nil)
	}
	// Usually with concurrent writes, in a group (see group.go).
	w := &groupWrite{ctx: ctx, c: c, h: h, idem: idem}
	switch err := s.grouped(w); {
	case w.solo:
		return w.created, err
	case err != errSolo:
		return err == nil, wrapErr(err, "create command %s", c.ID)
	}
	return s.createCommand(ctx, c, h, idem, nil)
}

// insertKeyedCommand is insertCommand for a create with an idempotency key
// ($19-$21: scope, key, request hash): it takes the key and inserts the
// command only if the key was free, returning no row when it was taken. ON
// CONFLICT waits for a concurrent insert of the same key to commit or roll
// back.
const insertKeyedCommand = `WITH k AS (
		INSERT INTO idempotency_keys (scope, key, request_hash, command_id, created)
		VALUES ($19, $20, $21, $1, $6) ON CONFLICT DO NOTHING RETURNING 1
	), c AS (
		INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, data, progress, notes)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::timestamptz, $7::timestamptz, $8::text, $9::text, $10::text,
			$11::json, $12::float8, $13::text
		WHERE EXISTS (SELECT 1 FROM k) RETURNING seq
	)
	INSERT INTO command_history (command_seq, state, utc, actor, progress, notes)
	SELECT seq, $14, $15, $16, $17, $18 FROM c RETURNING command_seq`

// notifyCreated is notifySQL for the event of a command ($3) that the
// transaction may not have inserted: it notifies only if the command exists.
const notifyCreated = `SELECT pg_notify($1, $2) WHERE EXISTS (SELECT 1 FROM commands WHERE id = $3)`

// createCommand is CreateCommand on its own transaction, in one round trip
// (with idem too: the key is taken in the statement that inserts the
// command); when the key is taken, a second reads the first command. ran,
// when not nil, is set when the first starts (see commitNotifying).
func (s *Store) createCommand(ctx context.Context, c *bellhop.Command, h bellhop.HistoryEntry, idem *bellhop.Idempotency, ran *time.Time) (created bool, err error) {
	args := []any{c.ID, c.EnterpriseID, c.DeviceID, string(c.DeviceType), string(c.State), c.CreatedUtc, c.UpdatedUtc,
		c.Creator.IntegrationID, c.Creator.FirstName, c.Creator.LastName, []byte(c.Data), c.Progress, c.Notes,
		string(h.State), h.Utc, h.Actor, h.Progress, h.Notes}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, wrapErr(err, "create command %s", c.ID)
	}
	defer release(conn)
	var b pgx.Batch
	b.Queue(`BEGIN`)
	b.Queue(writeSetupSQL)
	inserted := idem == nil
	err = s.commitNotifying(ctx, conn, &b, ran, func(b *pgx.Batch) {
		if idem == nil {
			b.Queue(insertCommand, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&c.Seq) })
			queuePayment(b, c)
			s.queueEvent(b, c, true)
			return
		}
		b.Queue(insertKeyedCommand, append(args, idem.Scope, idem.Key, idem.RequestHash)...).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&c.Seq}, func() error { inserted = true; return nil })
			return err
		})
		queuePayment(b, c) // inserts nothing without the command
		b.Queue(notifyCreated, channel(s.schema, eventsChannel), encodeEvent(c, true), c.ID)
	})
	if err != nil {
		return false, wrapErr(paymentErr(err), "create command %s", c.ID)
	}
	if !inserted {
		// The key is taken, by a command committed before.
		return false, wrapErr(repeated(ctx, conn, c, idem), "create command %s", c.ID)
	}
	return true, nil
}

// queuePayment queues the insert of c's payment, if any.
func queuePayment(b *pgx.Batch, c *bellhop.Command) {
	p := c.Payment
	if p == nil {
		return
	}
	amount, _ := json.Marshal(p.Amount) // an ExtendedAmount cannot fail to encode
	b.Queue(insertPayment, p.ID, p.EnterpriseID, string(p.Kind), p.AccountID, string(amount), p.BillID,
		p.PaymentRequestID, p.ReservationID, p.CreatedUtc, c.ID)
}

// paymentErr turns the violation of payments_pkey into ErrPaymentExists.
func paymentErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == "payments_pkey" {
		return bellhop.ErrPaymentExists
	}
	return err
}

const paymentCols = `id, command_id, enterprise_id, kind, account_id, amount, bill_id, payment_request_id, reservation_id, created`

func scanPayment(row pgx.Row) (p bellhop.Payment, err error) {
	var amount []byte
	err = row.Scan(&p.ID, &p.CommandID, &p.EnterpriseID, &p.Kind, &p.AccountID, &amount, &p.BillID,
		&p.PaymentRequestID, &p.ReservationID, &p.CreatedUtc)
	if err == nil {
		err = json.Unmarshal(amount, &p.Amount)
	}
	p.CreatedUtc = utc(p.CreatedUtc)
	return p, err
}

// GetPayment returns the payment record with this id, or ErrNotFound wrapped.
func (s *Store) GetPayment(ctx context.Context, id string) (*bellhop.Payment, error) {
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get payment %s", id)
	}
	return &p, nil
}

// ListPayments returns the payment records that match f, newest first.
func (s *Store) ListPayments(ctx context.Context, f bellhop.PaymentFilter) ([]bellhop.Payment, error) {
	q := `SELECT ` + paymentCols + ` FROM payments WHERE ($1 = '' OR command_id = $1) AND ($2 = '' OR enterprise_id = $2)
		ORDER BY command_seq DESC`
	args := []any{f.CommandID, f.EnterpriseID}
	if f.Limit > 0 {
		q, args = q+` LIMIT $3`, append(args, f.Limit)
	}
	rows, _ := s.pool.Query(ctx, q, args...)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bellhop.Payment, error) { return scanPayment(row) })
	return list, wrapErr(err, "list payments")
}

// repeated answers a create whose idempotency key is taken: the first command
// when the request is the same, an ECONFLICT error when it is not.
func repeated(ctx context.Context, tx interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, c *bellhop.Command, idem *bellhop.Idempotency) error {
	var hash, id string
	err := tx.QueryRow(ctx, `SELECT request_hash, command_id FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		idem.Scope, idem.Key).Scan(&hash, &id)
	if err != nil {
		return wrapErr(err, "idempotency key %q", idem.Key)
	}
	if hash != idem.RequestHash {
		return bellhop.Errorf(bellhop.ECONFLICT, "Idempotency-Key %q was used with a different request.", idem.Key)
	}
	first, err := scanCommand(tx.QueryRow(ctx, `SELECT `+commandCols+` FROM commands WHERE id = $1`, id))
	if err != nil {
		return wrapErr(err, "command %s of idempotency key %q", id, idem.Key)
	}
	*c = first
	return nil
}

// GetCommand returns the command with this id, or ErrNotFound wrapped.
func (s *Store) GetCommand(ctx context.Context, id string) (*bellhop.Command, error) {
	c, err := scanCommand(s.pool.QueryRow(ctx, `SELECT `+commandCols+` FROM commands WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get command %s", id)
	}
	return &c, nil
}

// GetCommands returns the commands with these ids that exist, in Seq order,
// each once; unknown ids are left out. Never nil.
func (s *Store) GetCommands(ctx context.Context, ids []string) ([]bellhop.Command, error) {
	if len(ids) == 0 {
		return []bellhop.Command{}, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+commandCols+` FROM commands WHERE id = ANY($1) ORDER BY seq`, ids)
	list, err := collectCommands(rows)
	return list, wrapErr(err, "get %d commands", len(ids))
}

// ListCommands returns the commands that match f, in Seq order (descending
// with f.Descending). Both paging bounds apply in either order when non-zero.
// Never nil.
func (s *Store) ListCommands(ctx context.Context, f bellhop.CommandFilter) ([]bellhop.Command, error) {
	query, args, ok := commandQuery(f)
	if !ok {
		return []bellhop.Command{}, nil
	}
	rows, _ := s.pool.Query(ctx, query, args...)
	list, err := collectCommands(rows)
	return list, wrapErr(err, "list commands")
}

// genericTypes selects the commands of generic devices: of a type none of
// bellhop.DeviceTypes.
var genericTypes = "device_type NOT IN ('" + strings.Join(func() []string {
	var s []string
	for _, t := range bellhop.DeviceTypes {
		s = append(s, string(t))
	}
	return s
}(), "', '") + "')"

// commandQuery builds the query for f; ok is false when f matches nothing.
func commandQuery(f bellhop.CommandFilter) (query string, args []any, ok bool) {
	var where []string
	cond := func(c string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(c, len(args)))
	}
	in := func(col string, vals []string) bool {
		if vals == nil {
			return true
		}
		if len(vals) == 0 {
			return false
		}
		cond(col+" = ANY($%d)", vals)
		return true
	}
	var states []string
	if f.States != nil {
		states = make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
	}
	if !in("id", f.IDs) || !in("enterprise_id", f.EnterpriseIDs) || !in("device_id", f.DeviceIDs) || !in("state", states) {
		return "", nil, false
	}
	if f.DeviceType != "" {
		cond("device_type = $%d", string(f.DeviceType))
	}
	if f.Search != "" {
		pattern := "%" + store.EscapeLike(f.Search) + "%"
		ids := f.SearchDeviceIDs
		if ids == nil {
			ids = []string{}
		}
		args = append(args, strings.ToLower(pattern), pattern, ids)
		n := len(args)
		where = append(where, fmt.Sprintf(`(id LIKE $%d ESCAPE '\' OR notes ILIKE $%d ESCAPE '\' OR device_id = ANY($%d))`, n-2, n-1, n))
	}
	if f.GenericTypes {
		where = append(where, genericTypes)
	}
	if f.CreatorIntegrationID != "" {
		cond("creator_integration_id = $%d", f.CreatorIntegrationID)
	}
	for _, t := range []struct {
		op string
		at time.Time
	}{{"created >= $%d", f.CreatedFrom}, {"created < $%d", f.CreatedTo}, {"updated >= $%d", f.UpdatedFrom}, {"updated < $%d", f.UpdatedTo}} {
		if !t.at.IsZero() {
			cond(t.op, t.at)
		}
	}
	if f.AfterSeq != 0 {
		cond("seq > $%d", f.AfterSeq)
	}
	if f.BeforeSeq != 0 {
		cond("seq < $%d", f.BeforeSeq)
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + commandCols + ` FROM commands`)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY seq")
	if f.Descending {
		b.WriteString(" DESC")
	}
	if f.Limit > 0 {
		args = append(args, f.Limit)
		fmt.Fprintf(&b, " LIMIT $%d", len(args))
	}
	return b.String(), args, true
}

// UpdateCommands runs fn on each of the commands with these ids that exist, in
// Seq order, in one transaction that locks their rows first (so concurrent
// updates of one command run one after the other, each seeing the last). fn
// changes the command in place and returns the history entry to record, or
// nil to write nothing for it. The store writes State, UpdatedUtc, Progress,
// Notes and ExternalID; the other fields are fixed at creation. The payload
// is neither read nor written: fn sees Data nil, and so does the result. An
// error from fn rolls everything back and is returned unchanged. The result
// holds the commands that changed, as written; never nil. Each change is notified to
// every node (see Listen) when the transaction commits.
func (s *Store) UpdateCommands(ctx context.Context, ids []string, fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) ([]bellhop.Command, error) {
	changed := []bellhop.Command{}
	if len(ids) == 0 {
		return changed, nil
	}
	// Usually with concurrent writes, in a group (see group.go).
	w := &groupWrite{ctx: ctx, ids: ids, fn: fn}
	switch err := s.grouped(w); {
	case w.solo:
		return w.changed, err
	case err == nil:
		return w.changed, nil
	case err != errSolo:
		if w.fnErr != nil {
			return nil, w.fnErr
		}
		return nil, wrapErr(err, "update %d commands", len(ids))
	}
	return s.updateCommands(ctx, ids, fn, nil)
}

// updateCommands is UpdateCommands on its own transaction, in two round
// trips: lock and read; write, commit and wait until durable. ran, when not
// nil, is set when the second starts.
func (s *Store) updateCommands(ctx context.Context, ids []string, fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error), ran *time.Time) ([]bellhop.Command, error) {
	changed := []bellhop.Command{}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapErr(err, "update %d commands", len(ids))
	}
	defer release(conn)
	var fnErr error
	err = func() error {
		var read pgx.Batch
		read.Queue(`BEGIN`)
		read.Queue(writeSetupSQL)
		var cs []bellhop.Command
		read.Queue(`SELECT `+headCols+` FROM commands WHERE id = ANY($1) ORDER BY seq FOR UPDATE`, ids).Query(func(rows pgx.Rows) error {
			var err error
			cs, err = collectCommands(rows)
			return err
		})
		if err := conn.SendBatch(ctx, &read).Close(); err != nil {
			return err
		}
		var batch pgx.Batch
		for i := range cs {
			c := &cs[i]
			seq, state := c.Seq, c.State
			h, err := fn(c)
			if err != nil {
				fnErr = err
				return err
			}
			if h == nil {
				continue
			}
			batch.Queue(`UPDATE commands SET state = $1, updated = $2, progress = $3, notes = $4, external_id = $5 WHERE seq = $6`,
				string(c.State), c.UpdatedUtc, c.Progress, c.Notes, c.ExternalID, seq)
			batch.Queue(`INSERT INTO command_history (command_seq, state, utc, actor, progress, notes, external_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				seq, string(h.State), h.Utc, h.Actor, h.Progress, h.Notes, h.ExternalID)
			s.queueEvent(&batch, c, c.State != state)
			c.Data = nil
			changed = append(changed, *c)
		}
		if batch.Len() == 0 {
			if ran != nil {
				*ran = s.stage.Now()
			}
			_, err := conn.Exec(ctx, `COMMIT`)
			return err
		}
		return s.commitNotifying(ctx, conn, &pgx.Batch{}, ran, func(b *pgx.Batch) { b.QueuedQueries = append(b.QueuedQueries, batch.QueuedQueries...) })
	}()
	switch {
	case fnErr != nil:
		return nil, fnErr
	case err != nil:
		return nil, wrapErr(err, "update %d commands", len(ids))
	}
	for i := range changed {
		// As written: timestamptz keeps microseconds.
		changed[i].UpdatedUtc = changed[i].UpdatedUtc.Truncate(time.Microsecond).UTC()
	}
	return changed, nil
}

// FetchCommands reads the commands with these ids that exist, in Seq order,
// with their payload, and, when pick chooses some of them, changes those as
// UpdateCommands does (see store.Store). Usually it is a write of the group
// commit (group.go): its round trip that locks the commands to update also
// reads these, with their payload, and pick and fn run on them there, so that
// the read costs no round trip and no transaction of its own. When the group
// cannot (another transaction holds one of the commands), it reads first and
// writes only then, through UpdateCommands. An error from fn rolls everything
// back and is returned unchanged. It returns every command read, the changed
// ones as written, and those that changed; never nil.
func (s *Store) FetchCommands(ctx context.Context, ids []string, pick func(cs []bellhop.Command) []string,
	fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) (all, changed []bellhop.Command, err error) {
	if len(ids) == 0 {
		return []bellhop.Command{}, []bellhop.Command{}, nil
	}
	w := &groupWrite{ctx: ctx, ids: ids, fn: fn, pick: pick}
	switch err := s.grouped(w); {
	case err == nil:
		if w.all == nil {
			w.all = []bellhop.Command{}
		}
		return w.all, w.changed, nil
	case w.fnErr != nil:
		return nil, nil, w.fnErr
	case err != errSolo:
		return nil, nil, wrapErr(err, "fetch %d commands", len(ids))
	}
	return s.fetchCommands(ctx, ids, pick, fn)
}

// fetchCommands is FetchCommands outside a group: a read, then, when pick
// chooses some commands, UpdateCommands.
func (s *Store) fetchCommands(ctx context.Context, ids []string, pick func(cs []bellhop.Command) []string,
	fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) (all, changed []bellhop.Command, err error) {
	all, err = s.GetCommands(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	chosen := pick(all)
	if len(chosen) == 0 {
		return all, []bellhop.Command{}, nil
	}
	changed, err = s.UpdateCommands(ctx, chosen, fn)
	if err != nil {
		return nil, nil, err
	}
	if changed == nil {
		changed = []bellhop.Command{}
	}
	at := make(map[string]int, len(all))
	for i := range all {
		at[all[i].ID] = i
	}
	for j := range changed {
		if i, ok := at[changed[j].ID]; ok {
			changed[j].Data = all[i].Data // an update leaves the payload alone
			all[i] = changed[j]
		}
	}
	return all, changed, nil
}

// History returns a command's history, oldest first, or ErrNotFound wrapped
// when there is no such command.
func (s *Store) History(ctx context.Context, id string) ([]bellhop.HistoryEntry, error) {
	rows, _ := s.pool.Query(ctx, `SELECT h.state, h.utc, h.actor, h.progress, h.notes, h.external_id
		FROM command_history h WHERE h.command_seq = (SELECT seq FROM commands WHERE id = $1) ORDER BY h.id`, id)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (h bellhop.HistoryEntry, err error) {
		err = row.Scan(&h.State, &h.Utc, &h.Actor, &h.Progress, &h.Notes, &h.ExternalID)
		h.Utc = utc(h.Utc)
		return h, err
	})
	if err != nil {
		return nil, wrapErr(err, "history of command %s", id)
	}
	if len(list) == 0 {
		// Every command has a first entry, so none means no command; but
		// make sure.
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM commands WHERE id = $1)`, id).Scan(&exists); err != nil || !exists {
			if err == nil {
				err = pgx.ErrNoRows
			}
			return nil, wrapErr(err, "history of command %s", id)
		}
	}
	return list, nil
}

// Stats returns, for every device of an enterprise (all when ""), how many of
// its commands wait (Pending or Received) and process, when the oldest
// waiting one was created, and when one last became Processed. Devices with no
// commands are present with zero stats; commands of deleted devices are not
// counted.
func (s *Store) Stats(ctx context.Context, enterpriseID string) (map[string]bellhop.DeviceStats, error) {
	rows, _ := s.pool.Query(ctx, `SELECT d.id,
			(SELECT count(*) FROM commands c WHERE c.device_id = d.id AND c.state IN ('Pending', 'Received')),
			(SELECT count(*) FROM commands c WHERE c.device_id = d.id AND c.state = 'Processing'),
			(SELECT min(c.created) FROM commands c WHERE c.device_id = d.id AND c.state IN ('Pending', 'Received')),
			(SELECT max(c.updated) FROM commands c WHERE c.device_id = d.id AND c.state = 'Processed')
		FROM devices d WHERE $1 = '' OR d.enterprise_id = $1`, enterpriseID)
	stats := make(map[string]bellhop.DeviceStats)
	var id string
	var st bellhop.DeviceStats
	var oldest, last *time.Time
	_, err := pgx.ForEachRow(rows, []any{&id, &st.Waiting, &st.Processing, &oldest, &last}, func() error {
		st.OldestWaitingUtc, st.LastProcessedUtc = utcPtr(oldest), utcPtr(last)
		stats[id] = st
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "stats of %q", enterpriseID)
	}
	return stats, nil
}

// purgeBatch is how many commands Purge deletes per transaction, so that a
// large purge never holds many locks for long.
const purgeBatch = 1000

// Purge deletes the final commands (Processed, Cancelled, Error) last updated
// before the time, with their history, and the idempotency keys created
// before it. It works in batches of 1000 commands, each its own transaction,
// and returns how many commands it deleted, also when it fails partway.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM commands WHERE seq IN (
				SELECT seq FROM commands WHERE state IN ('Processed', 'Cancelled', 'Error') AND updated < $1 LIMIT $2)
			AND state IN ('Processed', 'Cancelled', 'Error') AND updated < $1`, before, purgeBatch)
		if err != nil {
			return total, wrapErr(err, "purge commands")
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < purgeBatch {
			break
		}
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created < $1`, before)
	return total, wrapErr(err, "purge idempotency keys")
}

// AgeCommands moves every time of an enterprise's commands back by d: their
// creation and last update, their history, idempotency keys and payments.
func (s *Store) AgeCommands(ctx context.Context, enterpriseID string, d time.Duration) (int, error) {
	var n int64
	by := d.Milliseconds()
	err := s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE command_history SET utc = utc - $1::bigint * interval '1 millisecond'
			WHERE command_seq IN (SELECT seq FROM commands WHERE enterprise_id = $2)`, by, enterpriseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET created = created - $1::bigint * interval '1 millisecond'
			WHERE command_id IN (SELECT id FROM commands WHERE enterprise_id = $2)`, by, enterpriseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET created = created - $1::bigint * interval '1 millisecond'
			WHERE enterprise_id = $2`, by, enterpriseID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE commands SET created = created - $1::bigint * interval '1 millisecond', updated = updated - $1::bigint * interval '1 millisecond' WHERE enterprise_id = $2`, by, enterpriseID)
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrapErr(err, "age the commands of %s", enterpriseID)
}
