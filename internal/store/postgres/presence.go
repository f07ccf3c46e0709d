package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
)

// savePresence upserts the rows of SavePresence in one statement.
const savePresence = `INSERT INTO presence (subscription_id, node, client, address, first_utc, last_utc, sockets, connected_utc, updated_utc)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::integer[],
		$8::timestamptz[], $9::timestamptz[])
	ON CONFLICT (subscription_id, node) DO UPDATE SET client = excluded.client, address = excluded.address,
		first_utc = least(presence.first_utc, excluded.first_utc), last_utc = greatest(presence.last_utc, excluded.last_utc),
		sockets = excluded.sockets, connected_utc = excluded.connected_utc, updated_utc = excluded.updated_utc`

// SavePresence writes each node's row of what it saw, in one statement (a
// node flushes the rows of every subscription it served, 1,000 upserts every
// 5 s in the bench, each its own statement before). Rows for the same
// subscription and node are merged first, as writing them one after the
// other would: the earliest first request, the latest last one, the rest
// from the last row.
func (s *Store) SavePresence(ctx context.Context, rows []bellhop.Presence) error {
	if len(rows) == 0 {
		return nil
	}
	type key struct{ sub, node string }
	at := make(map[key]int, len(rows))
	merged := make([]bellhop.Presence, 0, len(rows))
	for _, p := range rows {
		k := key{p.SubscriptionID, p.Node}
		i, ok := at[k]
		if !ok {
			at[k] = len(merged)
			merged = append(merged, p)
			continue
		}
		first, last := merged[i].FirstUtc, merged[i].LastUtc
		merged[i] = p
		if first.Before(p.FirstUtc) {
			merged[i].FirstUtc = first
		}
		if last.After(p.LastUtc) {
			merged[i].LastUtc = last
		}
	}
	n := len(merged)
	subs, nodes, clients, addrs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	firsts, lasts, updated := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	sockets, connected := make([]int32, n), make([]*time.Time, n)
	for i, p := range merged {
		subs[i], nodes[i], clients[i], addrs[i] = p.SubscriptionID, p.Node, p.Client, p.Address
		firsts[i], lasts[i], updated[i], sockets[i] = p.FirstUtc, p.LastUtc, p.UpdatedUtc, int32(p.Sockets)
		if !p.ConnectedUtc.IsZero() {
			connected[i] = &merged[i].ConnectedUtc
		}
	}
	_, err := s.pool.Exec(ctx, savePresence, subs, nodes, clients, addrs, firsts, lasts, sockets, connected, updated)
	return wrapErr(err, "save presence")
}

// ListPresence returns every node's rows, by subscription and node.
func (s *Store) ListPresence(ctx context.Context) ([]bellhop.Presence, error) {
	rows, _ := s.pool.Query(ctx, `SELECT subscription_id, node, client, address, first_utc, last_utc, sockets, connected_utc, updated_utc
		FROM presence ORDER BY subscription_id, node`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (p bellhop.Presence, err error) {
		var connected *time.Time
		err = row.Scan(&p.SubscriptionID, &p.Node, &p.Client, &p.Address, &p.FirstUtc, &p.LastUtc, &p.Sockets, &connected, &p.UpdatedUtc)
		p.FirstUtc, p.LastUtc, p.UpdatedUtc, p.ConnectedUtc = utc(p.FirstUtc), utc(p.LastUtc), utc(p.UpdatedUtc), utcPtr(connected)
		return p, err
	})
	if list == nil {
		list = []bellhop.Presence{}
	}
	return list, wrapErr(err, "list presence")
}

// PurgePresence deletes the rows last written before the time.
func (s *Store) PurgePresence(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM presence WHERE updated_utc < $1`, before)
	if err != nil {
		return 0, wrapErr(err, "purge presence")
	}
	return int(tag.RowsAffected()), nil
}
