package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
)

// SavePresence writes each node's row of what it saw, in one transaction.
func (s *Store) SavePresence(ctx context.Context, rows []bellhop.Presence) error {
	if len(rows) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, p := range rows {
			var connected *time.Time
			if !p.ConnectedUtc.IsZero() {
				connected = &p.ConnectedUtc
			}
			b.Queue(`INSERT INTO presence (subscription_id, node, client, address, first_utc, last_utc, sockets, connected_utc, updated_utc)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (subscription_id, node) DO UPDATE SET client = excluded.client, address = excluded.address,
					first_utc = least(presence.first_utc, excluded.first_utc), last_utc = greatest(presence.last_utc, excluded.last_utc),
					sockets = excluded.sockets, connected_utc = excluded.connected_utc, updated_utc = excluded.updated_utc`,
				p.SubscriptionID, p.Node, p.Client, p.Address, p.FirstUtc, p.LastUtc, p.Sockets, connected, p.UpdatedUtc)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
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
