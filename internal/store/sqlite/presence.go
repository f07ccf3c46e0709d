package sqlite

import (
	"context"
	"time"

	"github.com/bellhop/bellhop"
)

// SavePresence writes each node's row of what it saw, in one transaction.
func (s *Store) SavePresence(ctx context.Context, rows []bellhop.Presence) error {
	if len(rows) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *tx) error {
		for _, p := range rows {
			connected := int64(0)
			if !p.ConnectedUtc.IsZero() {
				connected = ms(p.ConnectedUtc)
			}
			_, err := tx.exec(`INSERT INTO presence (subscription_id, node, client, address, first_utc, last_utc, sockets, connected_utc, updated_utc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (subscription_id, node) DO UPDATE SET client = excluded.client, address = excluded.address,
					first_utc = min(presence.first_utc, excluded.first_utc), last_utc = max(presence.last_utc, excluded.last_utc),
					sockets = excluded.sockets, connected_utc = excluded.connected_utc, updated_utc = excluded.updated_utc`,
				p.SubscriptionID, p.Node, p.Client, p.Address, ms(p.FirstUtc), ms(p.LastUtc), p.Sockets, connected, ms(p.UpdatedUtc))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr(err, "save presence")
}

// ListPresence returns every node's rows, by subscription and node.
func (s *Store) ListPresence(ctx context.Context) ([]bellhop.Presence, error) {
	rows, err := s.read(ctx).query(`SELECT subscription_id, node, client, address, first_utc, last_utc, sockets, connected_utc, updated_utc
		FROM presence ORDER BY subscription_id, node`)
	if err != nil {
		return nil, wrapErr(err, "list presence")
	}
	list, err := scanAll(rows, func(rows scanner) (p bellhop.Presence, err error) {
		var first, last, connected, updated int64
		err = rows.Scan(&p.SubscriptionID, &p.Node, &p.Client, &p.Address, &first, &last, &p.Sockets, &connected, &updated)
		p.FirstUtc, p.LastUtc, p.UpdatedUtc = fromMS(first), fromMS(last), fromMS(updated)
		if connected != 0 {
			p.ConnectedUtc = fromMS(connected)
		}
		return p, err
	})
	if list == nil {
		list = []bellhop.Presence{}
	}
	return list, wrapErr(err, "list presence")
}

// PurgePresence deletes the rows last written before the time.
func (s *Store) PurgePresence(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM presence WHERE updated_utc < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrapErr(err, "purge presence")
}
