package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

const commandCols = `seq, id, enterprise_id, device_id, device_type, state, created, updated,
	creator_integration_id, creator_first_name, creator_last_name, data, progress, notes, external_id`

// headCols are commandCols without the payload (NULL in its place), for
// UpdateCommands: no update changes it, so it is neither read nor written.
var headCols = strings.Replace(commandCols, "data,", "NULL,", 1)

// selectCommands reads whole commands: the row and its payload.
// selectActive does too, through commands_active, for queries that state
// its condition (unfinished): without statistics, SQLite's planner may prefer another
// index or none, and neither a device's queue nor the expiry sweep may
// depend on a guess. The index is small: unfinished commands only.
const (
	selectCommands = `SELECT ` + commandCols + ` FROM commands LEFT JOIN command_data ON command_seq = seq`
	selectActive   = `SELECT ` + commandCols + ` FROM commands INDEXED BY commands_active LEFT JOIN command_data ON command_seq = seq`
)

// selectHeads reads commands without their payload.
var selectHeads = `SELECT ` + headCols + ` FROM commands`

// unfinished, finalStates and fiscal are the conditions of the
// commands_active, commands_final and commands_creator indexes, word for
// word: SQLite uses a partial index only for a query that states its
// condition. The column unfinished is 1 exactly when the state is Pending,
// Received or Processing (see isUnfinished); it is a column of its own so
// that a state change from one of those to another leaves commands_active
// alone (migration 0008).
const (
	unfinished  = `unfinished = 1`
	finalStates = `state IN ('Processed', 'Cancelled', 'Error')`
	fiscal      = `device_type = 'FiscalMachine'`
)

// isUnfinished is the value of the column unfinished for a state.
func isUnfinished(st bellhop.State) bool { return st.Valid() && !st.Final() }

func scanCommand(row scanner) (c bellhop.Command, err error) {
	var created, updated int64
	var progress sql.NullFloat64
	var data []byte
	err = row.Scan(&c.Seq, &c.ID, &c.EnterpriseID, &c.DeviceID, &c.DeviceType, &c.State, &created, &updated,
		&c.Creator.IntegrationID, &c.Creator.FirstName, &c.Creator.LastName, &data, &progress, &c.Notes, &c.ExternalID)
	if data != nil {
		c.Data = json.RawMessage(data)
	}
	c.CreatedUtc, c.UpdatedUtc, c.Progress = fromMS(created), fromMS(updated), floatPtr(progress)
	return c, err
}

// CreateCommand inserts c, sets c.Seq and records h as its first history
// entry. With idem, a second create with the same Scope and Key fills c with
// the first command and returns created=false when RequestHash matches, and an
// ECONFLICT error when it does not. A duplicate command id is an ECONFLICT
// error. The idempotency key is dated c.CreatedUtc (see Purge).
func (s *Store) CreateCommand(ctx context.Context, c *bellhop.Command, h bellhop.HistoryEntry, idem *bellhop.Idempotency) (created bool, err error) {
	err = s.write(ctx, func(tx *tx) error {
		created = false // fn may run again (see write)
		if idem != nil {
			res, err := tx.exec(`INSERT INTO idempotency_keys (scope, key, request_hash, command_id, created)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, idem.Scope, idem.Key, idem.RequestHash, c.ID, ms(c.CreatedUtc))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return err
				}
				return tx.repeated(c, idem)
			}
		}
		created = true
		err := tx.row(`INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
				creator_integration_id, creator_first_name, creator_last_name, progress, notes, unfinished)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			c.ID, c.EnterpriseID, c.DeviceID, string(c.DeviceType), string(c.State), ms(c.CreatedUtc), ms(c.UpdatedUtc),
			c.Creator.IntegrationID, c.Creator.FirstName, c.Creator.LastName, nullFloat(c.Progress), c.Notes, isUnfinished(c.State),
		).Scan(&c.Seq)
		if err != nil {
			return err
		}
		if err := tx.setData(c.Seq, c.Data); err != nil {
			return err
		}
		if c.Payment != nil {
			if err := tx.addPayment(c.Seq, c.Payment); err != nil {
				return err
			}
		}
		return tx.addHistory(c.Seq, h)
	})
	if err != nil {
		return false, wrapErr(err, "create command %s", c.ID)
	}
	return created, nil
}

// repeated answers a create whose idempotency key is taken: the first command
// when the request is the same, an ECONFLICT error when it is not.
func (tx *tx) repeated(c *bellhop.Command, idem *bellhop.Idempotency) error {
	var hash, id string
	err := tx.row(`SELECT request_hash, command_id FROM idempotency_keys WHERE scope = ? AND key = ?`,
		idem.Scope, idem.Key).Scan(&hash, &id)
	if err != nil {
		return wrapErr(err, "idempotency key %q", idem.Key)
	}
	if hash != idem.RequestHash {
		return bellhop.Errorf(bellhop.ECONFLICT, "Idempotency-Key %q was used with a different request.", idem.Key)
	}
	first, err := scanCommand(tx.row(selectCommands+` WHERE id = ?`, id))
	if err != nil {
		return wrapErr(err, "command %s of idempotency key %q", id, idem.Key)
	}
	*c = first
	return nil
}

// setData stores a command's payload; nil data deletes it.
func (tx *tx) setData(seq int64, data json.RawMessage) error {
	var err error
	if data == nil {
		_, err = tx.exec(`DELETE FROM command_data WHERE command_seq = ?`, seq)
	} else {
		_, err = tx.exec(`INSERT OR REPLACE INTO command_data (command_seq, data) VALUES (?, ?)`, seq, []byte(data))
	}
	return err
}

func (tx *tx) addHistory(seq int64, h bellhop.HistoryEntry) error {
	_, err := tx.exec(`INSERT INTO command_history (command_seq, n, state, utc, actor, progress, notes, external_id)
		VALUES (?1, (SELECT coalesce(max(n), 0) + 1 FROM command_history WHERE command_seq = ?1), ?2, ?3, ?4, ?5, ?6, ?7)`,
		seq, string(h.State), ms(h.Utc), h.Actor, nullFloat(h.Progress), h.Notes, h.ExternalID)
	return err
}

// addPayment records the payment of the command with this seq; an id that
// is already recorded is bellhop.ErrPaymentExists.
func (tx *tx) addPayment(seq int64, p *bellhop.Payment) error {
	amount, err := json.Marshal(p.Amount)
	if err != nil {
		return err
	}
	res, err := tx.exec(`INSERT INTO payments (id, command_seq, command_id, enterprise_id, kind, account_id, amount,
			bill_id, payment_request_id, reservation_id, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		p.ID, seq, p.CommandID, p.EnterpriseID, string(p.Kind), p.AccountID, string(amount),
		p.BillID, p.PaymentRequestID, p.ReservationID, ms(p.CreatedUtc))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return err
		}
		return bellhop.ErrPaymentExists
	}
	return nil
}

const paymentCols = `id, command_id, enterprise_id, kind, account_id, amount, bill_id, payment_request_id, reservation_id, created`

func scanPayment(row scanner) (p bellhop.Payment, err error) {
	var amount string
	var created int64
	err = row.Scan(&p.ID, &p.CommandID, &p.EnterpriseID, &p.Kind, &p.AccountID, &amount, &p.BillID,
		&p.PaymentRequestID, &p.ReservationID, &created)
	if err == nil {
		err = json.Unmarshal([]byte(amount), &p.Amount)
	}
	p.CreatedUtc = fromMS(created)
	return p, err
}

// GetPayment returns the payment record with this id, or ErrNotFound wrapped.
func (s *Store) GetPayment(ctx context.Context, id string) (*bellhop.Payment, error) {
	p, err := scanPayment(s.read(ctx).row(`SELECT `+paymentCols+` FROM payments WHERE id = ?`, id))
	if err != nil {
		return nil, wrapErr(err, "get payment %s", id)
	}
	return &p, nil
}

// ListPayments returns the payment records that match f, newest first.
func (s *Store) ListPayments(ctx context.Context, f bellhop.PaymentFilter) ([]bellhop.Payment, error) {
	q, args := `SELECT `+paymentCols+` FROM payments`, []any{}
	var conds []string
	if f.CommandID != "" {
		conds, args = append(conds, `command_id = ?`), append(args, f.CommandID)
	}
	if f.EnterpriseID != "" {
		conds, args = append(conds, `enterprise_id = ?`), append(args, f.EnterpriseID)
	}
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	q += ` ORDER BY command_seq DESC`
	if f.Limit > 0 {
		q, args = q+` LIMIT ?`, append(args, f.Limit)
	}
	rows, err := s.read(ctx).query(q, args...)
	if err != nil {
		return nil, wrapErr(err, "list payments")
	}
	list, err := scanAll(rows, scanPayment)
	return list, wrapErr(err, "list payments")
}

// GetCommand returns the command with this id, or ErrNotFound wrapped.
func (s *Store) GetCommand(ctx context.Context, id string) (*bellhop.Command, error) {
	c, err := scanCommand(s.read(context.WithoutCancel(ctx)).row(selectCommands+` WHERE id = ?`, id))
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
	// Reads by primary key, a bounded few: not worth a goroutine per
	// statement to cancel them (see run).
	cs, err := s.read(context.WithoutCancel(ctx)).commandsByID(selectCommands, ids)
	return cs, wrapErr(err, "get %d commands", len(ids))
}

// commandsByID reads the commands with these ids with sel (selectCommands
// or selectHeads), in Seq order.
func (tx *tx) commandsByID(sel string, ids []string) ([]bellhop.Command, error) {
	if len(ids) == 1 { // the common case, without json_each's cost
		c, err := scanCommand(tx.row(sel+` WHERE id = ?`, ids[0]))
		if errors.Is(err, sql.ErrNoRows) {
			return []bellhop.Command{}, nil
		} else if err != nil {
			return nil, err
		}
		return []bellhop.Command{c}, nil
	}
	rows, err := tx.query(sel+`
		WHERE id IN (SELECT value FROM json_each(?)) ORDER BY seq`, jsonArray(ids))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanCommand)
}

// ListCommands returns the commands that match f, in Seq order (descending
// with f.Descending). Both paging bounds apply in either order when non-zero.
// Never nil.
func (s *Store) ListCommands(ctx context.Context, f bellhop.CommandFilter) ([]bellhop.Command, error) {
	query, args, ok := commandQuery(f)
	if !ok {
		return []bellhop.Command{}, nil
	}
	rows, err := s.read(ctx).query(query, args...)
	if err != nil {
		return nil, wrapErr(err, "list commands")
	}
	list, err := scanAll(rows, scanCommand)
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
// Lists are bound as one JSON array each, so the text of the query depends
// only on which fields are set and its prepared statement is reused.
func commandQuery(f bellhop.CommandFilter) (query string, args []any, ok bool) {
	var where []string
	cond := func(c string, arg any) {
		where = append(where, c)
		args = append(args, arg)
	}
	in := func(col string, vals []string) bool {
		if vals == nil {
			return true
		}
		if len(vals) == 0 {
			return false
		}
		cond(col+` IN (SELECT value FROM json_each(?))`, jsonArray(vals))
		return true
	}
	states := make([]string, len(f.States))
	for i, st := range f.States {
		states[i] = string(st)
	}
	if f.States == nil {
		states = nil
	}
	if !in("id", f.IDs) || !in("enterprise_id", f.EnterpriseIDs) || !in("device_id", f.DeviceIDs) || !in("state", states) {
		return "", nil, false
	}
	sel := selectCommands
	if len(states) > 0 && allActive(f.States) {
		where = append(where, unfinished)
		if f.IDs == nil { // with ids, their unique index finds the rows
			sel = selectActive
		}
	}
	if f.DeviceType != "" {
		cond("device_type = ?", string(f.DeviceType))
	}
	if f.GenericTypes {
		where = append(where, genericTypes)
	}
	if f.CreatorIntegrationID != "" {
		cond("creator_integration_id = ?", f.CreatorIntegrationID)
		if f.DeviceType == bellhop.FiscalMachine { // commands_creator holds these only
			where = append(where, fiscal)
		}
	}
	if f.Search != "" {
		pattern := "%" + store.EscapeLike(f.Search) + "%"
		where = append(where, `(id LIKE ? ESCAPE '\' OR notes LIKE ? ESCAPE '\' OR device_id IN (SELECT value FROM json_each(?)))`)
		args = append(args, strings.ToLower(pattern), pattern, jsonArray(f.SearchDeviceIDs))
	}
	for _, t := range []struct {
		op string
		at time.Time
	}{{"created >= ?", f.CreatedFrom}, {"created < ?", f.CreatedTo}, {"updated >= ?", f.UpdatedFrom}, {"updated < ?", f.UpdatedTo}} {
		if !t.at.IsZero() {
			cond(t.op, ms(t.at))
		}
	}
	if f.AfterSeq != 0 {
		cond("seq > ?", f.AfterSeq)
	}
	if f.BeforeSeq != 0 {
		cond("seq < ?", f.BeforeSeq)
	}
	var b strings.Builder
	b.WriteString(sel)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY seq")
	if f.Descending {
		b.WriteString(" DESC")
	}
	if f.Limit > 0 {
		b.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	return b.String(), args, true
}

// UpdateCommands runs fn on each of the commands with these ids that exist, in
// Seq order, in one write transaction. fn changes the command in place and
// returns the history entry to record, or nil to write nothing for it. The
// store writes State, UpdatedUtc, Progress, Notes and ExternalID; the other
// fields are fixed at creation. The payload is neither read nor written: fn
// sees Data nil, and so does the result. An error from fn rolls everything
// back and is returned unchanged. The result holds the commands that changed,
// as written (UpdatedUtc in milliseconds); never nil.
func (s *Store) UpdateCommands(ctx context.Context, ids []string, fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) ([]bellhop.Command, error) {
	changed := []bellhop.Command{}
	if len(ids) == 0 {
		return changed, nil
	}
	var fnErr error
	err := s.write(ctx, func(tx *tx) error {
		changed, fnErr = changed[:0], nil // fn may run again (see write)
		cs, err := tx.commandsByID(selectHeads, ids)
		if err != nil {
			return err
		}
		for i := range cs {
			c := &cs[i]
			seq, was := c.Seq, c.State
			h, err := fn(c)
			if err != nil {
				fnErr = err
				return err
			}
			if h == nil {
				continue
			}
			c.Seq = seq // fn changes only what an update writes
			if err := tx.updateCommand(c, was, *h); err != nil {
				return err
			}
			c.Data = nil
			changed = append(changed, *c)
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case err != nil:
		return nil, wrapErr(err, "update %d commands", len(ids))
	}
	for i := range changed {
		changed[i].UpdatedUtc = fromMS(ms(changed[i].UpdatedUtc)) // as written
	}
	return changed, nil
}

// FetchCommands reads the commands with these ids that exist, in Seq order,
// with their payload, and runs fn on those pick chooses, in one write
// transaction (see store.Store): the reads run on the writer, so a fetch
// that changes what it reads costs one write instead of a read on the read
// pool and a write that reads the rows again. It always takes the writer,
// even when pick chooses none: a caller that expects no change reads with
// GetCommands. An error from fn rolls everything back and is returned
// unchanged. It returns every command read, as it is after fn (UpdatedUtc in
// milliseconds), and those that changed; never nil.
func (s *Store) FetchCommands(ctx context.Context, ids []string, pick func(cs []bellhop.Command) []string,
	fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) (all, changed []bellhop.Command, err error) {
	if len(ids) == 0 {
		return []bellhop.Command{}, []bellhop.Command{}, nil
	}
	var fnErr error
	err = s.write(ctx, func(tx *tx) error {
		all, changed, fnErr = nil, []bellhop.Command{}, nil // fn may run again (see write)
		cs, err := tx.commandsByID(selectCommands, ids)
		if err != nil {
			return err
		}
		chosen := make(map[string]bool)
		for _, id := range pick(cs) {
			chosen[id] = true
		}
		for i := range cs {
			if !chosen[cs[i].ID] {
				continue
			}
			c := cs[i]
			c.Data = nil
			h, err := fn(&c)
			if err != nil {
				fnErr = err
				return err
			}
			if h == nil {
				continue
			}
			c.Seq, c.Data = cs[i].Seq, cs[i].Data // fn changes only what an update writes
			if err := tx.updateCommand(&c, cs[i].State, *h); err != nil {
				return err
			}
			c.UpdatedUtc = fromMS(ms(c.UpdatedUtc)) // as written
			cs[i] = c
			changed = append(changed, c)
		}
		all = cs
		return nil
	})
	switch {
	case fnErr != nil:
		return nil, nil, fnErr
	case err != nil:
		return nil, nil, wrapErr(err, "fetch %d commands", len(ids))
	}
	return all, changed, nil
}

// updateCommand writes the fields of c that an update changes, and h; was
// is the state c had. The column unfinished is set only when it changes:
// SQLite writes an index again whenever an UPDATE sets a column of its key
// or its condition, even to the value it had.
func (tx *tx) updateCommand(c *bellhop.Command, was bellhop.State, h bellhop.HistoryEntry) error {
	var err error
	if isUnfinished(c.State) == isUnfinished(was) {
		_, err = tx.exec(`UPDATE commands SET state = ?, updated = ?, progress = ?, notes = ?, external_id = ? WHERE seq = ?`,
			string(c.State), ms(c.UpdatedUtc), nullFloat(c.Progress), c.Notes, c.ExternalID, c.Seq)
	} else {
		_, err = tx.exec(`UPDATE commands SET state = ?, updated = ?, progress = ?, notes = ?, external_id = ?, unfinished = ? WHERE seq = ?`,
			string(c.State), ms(c.UpdatedUtc), nullFloat(c.Progress), c.Notes, c.ExternalID, isUnfinished(c.State), c.Seq)
	}
	if err != nil {
		return err
	}
	return tx.addHistory(c.Seq, h)
}

// History returns a command's history, oldest first, or ErrNotFound wrapped
// when there is no such command.
func (s *Store) History(ctx context.Context, id string) ([]bellhop.HistoryEntry, error) {
	r := s.read(ctx)
	var seq int64
	if err := r.row(`SELECT seq FROM commands WHERE id = ?`, id).Scan(&seq); err != nil {
		return nil, wrapErr(err, "history of command %s", id)
	}
	rows, err := r.query(`SELECT state, utc, actor, progress, notes, external_id FROM command_history WHERE command_seq = ? ORDER BY n`, seq)
	if err != nil {
		return nil, wrapErr(err, "history of command %s", id)
	}
	list, err := scanAll(rows, func(rows scanner) (h bellhop.HistoryEntry, err error) {
		var utc int64
		var progress sql.NullFloat64
		err = rows.Scan(&h.State, &utc, &h.Actor, &progress, &h.Notes, &h.ExternalID)
		h.Utc, h.Progress = fromMS(utc), floatPtr(progress)
		return h, err
	})
	return list, wrapErr(err, "history of command %s", id)
}

// Stats returns, for every device of an enterprise (all when ""), how many of
// its commands wait (Pending or Received) and process, when the oldest
// waiting one was created, and when one last became Processed. Devices with no
// commands are present with zero stats; commands of deleted devices are not
// counted.
func (s *Store) Stats(ctx context.Context, enterpriseID string) (map[string]bellhop.DeviceStats, error) {
	rows, err := s.read(ctx).query(statsQuery, enterpriseID)
	if err != nil {
		return nil, wrapErr(err, "stats of %q", enterpriseID)
	}
	defer rows.Close()
	stats := make(map[string]bellhop.DeviceStats)
	for rows.Next() {
		var id string
		var st bellhop.DeviceStats
		var oldest, last sql.NullInt64
		if err := rows.Scan(&id, &st.Waiting, &st.Processing, &oldest, &last); err != nil {
			return nil, wrapErr(err, "stats of %q", enterpriseID)
		}
		st.OldestWaitingUtc, st.LastProcessedUtc = fromNullMS(oldest), fromNullMS(last)
		stats[id] = st
	}
	return stats, wrapErr(rows.Err(), "stats of %q", enterpriseID)
}

// statsQuery reads the stats of one enterprise's devices, or of all when ?1
// is empty: the unfinished commands through commands_active (its condition
// stated word for word), the last processed through commands_processed.
const statsQuery = `SELECT d.id,
		(SELECT count(*) FROM commands c WHERE c.device_id = d.id AND c.unfinished = 1 AND c.state IN ('Pending', 'Received')),
		(SELECT count(*) FROM commands c WHERE c.device_id = d.id AND c.unfinished = 1 AND c.state = 'Processing'),
		(SELECT min(c.created) FROM commands c WHERE c.device_id = d.id AND c.unfinished = 1 AND c.state IN ('Pending', 'Received')),
		(SELECT max(c.updated) FROM commands c WHERE c.device_id = d.id AND c.state = 'Processed')
	FROM devices d WHERE ?1 = '' OR d.enterprise_id = ?1`

// purgeQuery deletes up to ?2 final commands updated before ?1.
const purgeQuery = `DELETE FROM commands WHERE seq IN (
	SELECT seq FROM commands INDEXED BY commands_final WHERE ` + finalStates + ` AND updated < ?1 LIMIT ?2)`

// purgeBatch is how many commands Purge deletes per write transaction, so
// that a large purge never holds the writer for long.
const purgeBatch = 1000

// Purge deletes the final commands (Processed, Cancelled, Error) last updated
// before the time, with their history, and the idempotency keys created
// before it. It works in batches of 1000 commands, each its own transaction,
// and returns how many commands it deleted, also when it fails partway.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := s.write(ctx, func(tx *tx) error {
			res, err := tx.exec(purgeQuery, ms(before), purgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, wrapErr(err, "purge commands")
		}
		total += int(n)
		if n < purgeBatch {
			break
		}
	}
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM idempotency_keys WHERE created < ?`, ms(before))
		return err
	})
	return total, wrapErr(err, "purge idempotency keys")
}

// allActive reports whether every state is one of the active states.
func allActive(states []bellhop.State) bool {
	for _, st := range states {
		if !isUnfinished(st) {
			return false
		}
	}
	return true
}

func jsonArray(vals []string) string {
	b, _ := json.Marshal(vals) // strings always encode
	return string(b)
}

// AgeCommands moves every time of an enterprise's commands back by d: their
// creation and last update, their history, idempotency keys and payments.
func (s *Store) AgeCommands(ctx context.Context, enterpriseID string, d time.Duration) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *tx) error {
		by := d.Milliseconds()
		if _, err := tx.exec(`UPDATE command_history SET utc = utc - ?1
			WHERE command_seq IN (SELECT seq FROM commands WHERE enterprise_id = ?2)`, by, enterpriseID); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE idempotency_keys SET created = created - ?1
			WHERE command_id IN (SELECT id FROM commands WHERE enterprise_id = ?2)`, by, enterpriseID); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE payments SET created = created - ?1 WHERE enterprise_id = ?2`, by, enterpriseID); err != nil {
			return err
		}
		res, err := tx.exec(`UPDATE commands SET created = created - ?1, updated = updated - ?1 WHERE enterprise_id = ?2`, by, enterpriseID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrapErr(err, "age the commands of %s", enterpriseID)
}
