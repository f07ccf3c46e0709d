package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// CreateEnterprise inserts e. A duplicate id is an ECONFLICT error.
func (s *Store) CreateEnterprise(ctx context.Context, e *bellhop.Enterprise) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO enterprises (id, name, created, time_zone) VALUES ($1, $2, $3, $4)`, e.ID, e.Name, e.CreatedUtc, e.TimeZone)
	return wrapErr(err, "create enterprise %s", e.ID)
}

func scanEnterprise(row pgx.Row) (e bellhop.Enterprise, err error) {
	err = row.Scan(&e.ID, &e.Name, &e.CreatedUtc, &e.TimeZone)
	e.CreatedUtc = utc(e.CreatedUtc)
	return e, err
}

// GetEnterprise returns the enterprise with this id, or ErrNotFound wrapped.
func (s *Store) GetEnterprise(ctx context.Context, id string) (*bellhop.Enterprise, error) {
	e, err := scanEnterprise(s.pool.QueryRow(ctx, `SELECT id, name, created, time_zone FROM enterprises WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get enterprise %s", id)
	}
	return &e, nil
}

// ListEnterprises lists every enterprise by name (bytewise), then id; never
// nil.
func (s *Store) ListEnterprises(ctx context.Context) ([]bellhop.Enterprise, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, name, created, time_zone FROM enterprises ORDER BY name COLLATE "C", id COLLATE "C"`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bellhop.Enterprise, error) { return scanEnterprise(row) })
	return list, wrapErr(err, "list enterprises")
}

// SetEnterpriseTimeZone sets the zone an enterprise's times are shown in.
func (s *Store) SetEnterpriseTimeZone(ctx context.Context, id, zone string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE enterprises SET time_zone = $1 WHERE id = $2`, zone, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrapErr(err, "set time zone of enterprise %s", id)
}

// CreateIntegration inserts i with the hash of its ClientToken. A duplicate id
// or hash is an ECONFLICT error.
func (s *Store) CreateIntegration(ctx context.Context, i *bellhop.Integration, clientTokenHash string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO integrations (id, name, client_token_hash, created) VALUES ($1, $2, $3, $4)`,
		i.ID, i.Name, clientTokenHash, i.CreatedUtc)
	return wrapErr(err, "create integration %s", i.ID)
}

func scanIntegration(row pgx.Row) (i bellhop.Integration, err error) {
	err = row.Scan(&i.ID, &i.Name, &i.CreatedUtc)
	i.CreatedUtc = utc(i.CreatedUtc)
	return i, err
}

// GetIntegration returns the integration with this id, or ErrNotFound wrapped.
func (s *Store) GetIntegration(ctx context.Context, id string) (*bellhop.Integration, error) {
	i, err := scanIntegration(s.pool.QueryRow(ctx, `SELECT id, name, created FROM integrations WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get integration %s", id)
	}
	return &i, nil
}

// ListIntegrations lists every integration by name (bytewise), then id; never
// nil.
func (s *Store) ListIntegrations(ctx context.Context) ([]bellhop.Integration, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, name, created FROM integrations ORDER BY name COLLATE "C", id COLLATE "C"`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bellhop.Integration, error) { return scanIntegration(row) })
	return list, wrapErr(err, "list integrations")
}

// CreateSubscription inserts s with the hash of its AccessToken, keeping the
// order of its EnterpriseIDs. A missing integration or enterprise is
// ErrNotFound wrapped; a duplicate id, hash or enterprise id is an ECONFLICT
// error.
func (s *Store) CreateSubscription(ctx context.Context, sub *bellhop.Subscription, accessTokenHash string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO subscriptions (id, integration_id, access_token_hash, created, revoked, generic_devices)
			VALUES ($1, $2, $3, $4, $5, $6)`, sub.ID, sub.IntegrationID, accessTokenHash, sub.CreatedUtc, sub.Revoked, sub.GenericDevices)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO subscription_enterprises (subscription_id, enterprise_id, position)
			SELECT $1, e, n FROM unnest($2::text[]) WITH ORDINALITY AS t (e, n)`, sub.ID, sub.EnterpriseIDs)
		return err
	})
	return wrapErr(err, "create subscription %s", sub.ID)
}

// subscriptionCols selects a subscription with its enterprise ids in their
// order.
const subscriptionCols = `s.id, s.integration_id, s.created, s.revoked, s.generic_devices,
	array(SELECT enterprise_id FROM subscription_enterprises WHERE subscription_id = s.id ORDER BY position)`

func scanSubscription(row pgx.Row, sub *bellhop.Subscription, extra ...any) error {
	err := row.Scan(append([]any{&sub.ID, &sub.IntegrationID, &sub.CreatedUtc, &sub.Revoked, &sub.GenericDevices, &sub.EnterpriseIDs}, extra...)...)
	sub.CreatedUtc = utc(sub.CreatedUtc)
	return err
}

// GetSubscription returns the subscription with this id, revoked or not, or
// ErrNotFound wrapped.
func (s *Store) GetSubscription(ctx context.Context, id string) (*bellhop.Subscription, error) {
	var sub bellhop.Subscription
	if err := scanSubscription(s.pool.QueryRow(ctx, `SELECT `+subscriptionCols+` FROM subscriptions s WHERE s.id = $1`, id), &sub); err != nil {
		return nil, wrapErr(err, "get subscription %s", id)
	}
	return &sub, nil
}

// ListSubscriptions lists the subscriptions of an integration, or all when
// integrationID is "", revoked ones included, oldest first (then by id);
// never nil.
func (s *Store) ListSubscriptions(ctx context.Context, integrationID string) ([]bellhop.Subscription, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+subscriptionCols+` FROM subscriptions s
		WHERE $1 = '' OR s.integration_id = $1 ORDER BY s.created, s.id COLLATE "C"`, integrationID)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sub bellhop.Subscription, err error) {
		return sub, scanSubscription(row, &sub)
	})
	return list, wrapErr(err, "list subscriptions of %q", integrationID)
}

// SetSubscriptionGenericDevices sets whether a subscription sees generic
// devices and notifies it (see Listen), as its devices change. A missing
// subscription is ErrNotFound wrapped.
func (s *Store) SetSubscriptionGenericDevices(ctx context.Context, id string, on bool) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE subscriptions SET generic_devices = $1 WHERE id = $2`, on, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return s.notifyTopology(ctx, tx, store.TopologyChange{SubscriptionID: id})
	})
	return wrapErr(err, "set generic devices of subscription %s", id)
}

// RevokeSubscription marks the subscription revoked and notifies it (see
// Listen); revoking it again is not an error. A missing subscription is ErrNotFound wrapped.
func (s *Store) RevokeSubscription(ctx context.Context, id string) error {
	var b pgx.Batch
	var n int64
	b.Queue(`UPDATE subscriptions SET revoked = true WHERE id = $1`, id).Exec(func(tag pgconn.CommandTag) error {
		n = tag.RowsAffected()
		return nil
	})
	b.Queue(`SELECT pg_notify($1, $2) FROM subscriptions WHERE id = $3`,
		channel(s.schema, topologyChannel), encodeTopology(store.TopologyChange{SubscriptionID: id, Revoked: true}), id)
	err := s.pool.SendBatch(ctx, &b).Close()
	if err == nil && n == 0 {
		err = pgx.ErrNoRows
	}
	return wrapErr(err, "revoke subscription %s", id)
}

// Authenticate returns the caller whose integration has clientTokenHash and
// whose unrevoked subscription of that integration has accessTokenHash. Any
// mismatch (unknown hash, a subscription of another integration, a revoked
// subscription) is ErrNotFound wrapped.
func (s *Store) Authenticate(ctx context.Context, clientTokenHash, accessTokenHash string) (*bellhop.Caller, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+subscriptionCols+`, i.name, i.created
		FROM subscriptions s JOIN integrations i ON i.id = s.integration_id
		WHERE s.access_token_hash = $1 AND i.client_token_hash = $2 AND NOT s.revoked`, accessTokenHash, clientTokenHash)
	var c bellhop.Caller
	var created time.Time
	if err := scanSubscription(row, &c.Subscription, &c.Integration.Name, &created); err != nil {
		return nil, wrapErr(err, "authenticate: tokens")
	}
	c.Integration.ID = c.Subscription.IntegrationID
	c.Integration.CreatedUtc = utc(created)
	return &c, nil
}

// CreateAdminToken stores the hash of an admin token under a name. A
// duplicate hash or name is an ECONFLICT error.
func (s *Store) CreateAdminToken(ctx context.Context, name, tokenHash string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_tokens (token_hash, name) VALUES ($1, $2)`, tokenHash, name)
	return wrapErr(err, "create admin token %q", name)
}

// AdminTokenName returns the name of the admin token with this hash, or
// ErrNotFound wrapped.
func (s *Store) AdminTokenName(ctx context.Context, tokenHash string) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `SELECT name FROM admin_tokens WHERE token_hash = $1`, tokenHash).Scan(&name)
	return name, wrapErr(err, "admin token")
}
