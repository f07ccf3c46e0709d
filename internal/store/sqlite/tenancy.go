package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/bellhop/bellhop"
)

// CreateEnterprise inserts e. A duplicate id is an ECONFLICT error.
func (s *Store) CreateEnterprise(ctx context.Context, e *bellhop.Enterprise) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO enterprises (id, name, created, time_zone) VALUES (?, ?, ?, ?)`, e.ID, e.Name, ms(e.CreatedUtc), e.TimeZone)
		return err
	})
	return wrapErr(err, "create enterprise %s", e.ID)
}

// GetEnterprise returns the enterprise with this id, or ErrNotFound wrapped.
func (s *Store) GetEnterprise(ctx context.Context, id string) (*bellhop.Enterprise, error) {
	var e bellhop.Enterprise
	var created int64
	err := s.read(ctx).row(`SELECT id, name, created, time_zone FROM enterprises WHERE id = ?`, id).Scan(&e.ID, &e.Name, &created, &e.TimeZone)
	if err != nil {
		return nil, wrapErr(err, "get enterprise %s", id)
	}
	e.CreatedUtc = fromMS(created)
	return &e, nil
}

// ListEnterprises lists every enterprise by name, then id; never nil.
func (s *Store) ListEnterprises(ctx context.Context) ([]bellhop.Enterprise, error) {
	rows, err := s.read(ctx).query(`SELECT id, name, created, time_zone FROM enterprises ORDER BY name, id`)
	if err != nil {
		return nil, wrapErr(err, "list enterprises")
	}
	list, err := scanAll(rows, func(rows scanner) (e bellhop.Enterprise, err error) {
		var created int64
		err = rows.Scan(&e.ID, &e.Name, &created, &e.TimeZone)
		e.CreatedUtc = fromMS(created)
		return e, err
	})
	return list, wrapErr(err, "list enterprises")
}

// SetEnterpriseTimeZone sets the zone an enterprise's times are shown in.
func (s *Store) SetEnterpriseTimeZone(ctx context.Context, id, zone string) error {
	err := s.write(ctx, func(tx *tx) error {
		return mustAffect(tx.exec(`UPDATE enterprises SET time_zone = ? WHERE id = ?`, zone, id))
	})
	return wrapErr(err, "set time zone of enterprise %s", id)
}

// CreateIntegration inserts i with the hash of its ClientToken. A duplicate id
// or hash is an ECONFLICT error.
func (s *Store) CreateIntegration(ctx context.Context, i *bellhop.Integration, clientTokenHash string) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO integrations (id, name, client_token_hash, created) VALUES (?, ?, ?, ?)`,
			i.ID, i.Name, clientTokenHash, ms(i.CreatedUtc))
		return err
	})
	return wrapErr(err, "create integration %s", i.ID)
}

// GetIntegration returns the integration with this id, or ErrNotFound wrapped.
func (s *Store) GetIntegration(ctx context.Context, id string) (*bellhop.Integration, error) {
	var i bellhop.Integration
	var created int64
	err := s.read(ctx).row(`SELECT id, name, created FROM integrations WHERE id = ?`, id).Scan(&i.ID, &i.Name, &created)
	if err != nil {
		return nil, wrapErr(err, "get integration %s", id)
	}
	i.CreatedUtc = fromMS(created)
	return &i, nil
}

// ListIntegrations lists every integration by name, then id; never nil.
func (s *Store) ListIntegrations(ctx context.Context) ([]bellhop.Integration, error) {
	rows, err := s.read(ctx).query(`SELECT id, name, created FROM integrations ORDER BY name, id`)
	if err != nil {
		return nil, wrapErr(err, "list integrations")
	}
	list, err := scanAll(rows, func(rows scanner) (i bellhop.Integration, err error) {
		var created int64
		err = rows.Scan(&i.ID, &i.Name, &created)
		i.CreatedUtc = fromMS(created)
		return i, err
	})
	return list, wrapErr(err, "list integrations")
}

// CreateSubscription inserts s with the hash of its AccessToken, keeping the
// order of its EnterpriseIDs. A missing integration or enterprise is
// ErrNotFound wrapped; a duplicate id, hash or enterprise id is an ECONFLICT
// error.
func (s *Store) CreateSubscription(ctx context.Context, sub *bellhop.Subscription, accessTokenHash string) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO subscriptions (id, integration_id, access_token_hash, created, revoked, generic_devices)
			VALUES (?, ?, ?, ?, ?, ?)`, sub.ID, sub.IntegrationID, accessTokenHash, ms(sub.CreatedUtc), sub.Revoked, sub.GenericDevices)
		if err != nil {
			return err
		}
		for i, e := range sub.EnterpriseIDs {
			_, err := tx.exec(`INSERT INTO subscription_enterprises (subscription_id, enterprise_id, position) VALUES (?, ?, ?)`, sub.ID, e, i)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr(err, "create subscription %s", sub.ID)
}

// subscriptionCols selects a subscription with its enterprise ids as a JSON
// array, in their order.
const subscriptionCols = `s.id, s.integration_id, s.created, s.revoked, s.generic_devices,
	(SELECT json_group_array(enterprise_id) FROM
		(SELECT enterprise_id FROM subscription_enterprises WHERE subscription_id = s.id ORDER BY position))`

func scanSubscription(row scanner, sub *bellhop.Subscription, extra ...any) error {
	var created int64
	var enterprises string
	if err := row.Scan(append([]any{&sub.ID, &sub.IntegrationID, &created, &sub.Revoked, &sub.GenericDevices, &enterprises}, extra...)...); err != nil {
		return err
	}
	sub.CreatedUtc = fromMS(created)
	if err := json.Unmarshal([]byte(enterprises), &sub.EnterpriseIDs); err != nil {
		return fmt.Errorf("subscription %s: enterprise ids: %w", sub.ID, err)
	}
	return nil
}

// GetSubscription returns the subscription with this id, revoked or not, or
// ErrNotFound wrapped.
func (s *Store) GetSubscription(ctx context.Context, id string) (*bellhop.Subscription, error) {
	var sub bellhop.Subscription
	if err := scanSubscription(s.read(ctx).row(`SELECT `+subscriptionCols+` FROM subscriptions s WHERE s.id = ?`, id), &sub); err != nil {
		return nil, wrapErr(err, "get subscription %s", id)
	}
	return &sub, nil
}

// ListSubscriptions lists the subscriptions of an integration, or all when
// integrationID is "", revoked ones included, oldest first (then by id);
// never nil.
func (s *Store) ListSubscriptions(ctx context.Context, integrationID string) ([]bellhop.Subscription, error) {
	rows, err := s.read(ctx).query(`SELECT `+subscriptionCols+` FROM subscriptions s
		WHERE ?1 = '' OR s.integration_id = ?1 ORDER BY s.created, s.id`, integrationID)
	if err != nil {
		return nil, wrapErr(err, "list subscriptions of %q", integrationID)
	}
	list, err := scanAll(rows, func(rows scanner) (sub bellhop.Subscription, err error) {
		return sub, scanSubscription(rows, &sub)
	})
	return list, wrapErr(err, "list subscriptions of %q", integrationID)
}

// RevokeSubscription marks the subscription revoked; revoking it again is not
// an error. A missing subscription is ErrNotFound wrapped.
func (s *Store) RevokeSubscription(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *tx) error {
		res, err := tx.exec(`UPDATE subscriptions SET revoked = 1 WHERE id = ?`, id)
		return mustAffect(res, err)
	})
	return wrapErr(err, "revoke subscription %s", id)
}

// SetSubscriptionGenericDevices sets whether a subscription sees generic
// devices. A missing subscription is ErrNotFound wrapped.
func (s *Store) SetSubscriptionGenericDevices(ctx context.Context, id string, on bool) error {
	err := s.write(ctx, func(tx *tx) error {
		return mustAffect(tx.exec(`UPDATE subscriptions SET generic_devices = ? WHERE id = ?`, on, id))
	})
	return wrapErr(err, "set generic devices of subscription %s", id)
}

// Authenticate returns the caller whose integration has clientTokenHash and
// whose unrevoked subscription of that integration has accessTokenHash. Any
// mismatch (unknown hash, a subscription of another integration, a revoked
// subscription) is ErrNotFound wrapped.
func (s *Store) Authenticate(ctx context.Context, clientTokenHash, accessTokenHash string) (*bellhop.Caller, error) {
	row := s.read(ctx).row(`SELECT `+subscriptionCols+`, i.name, i.created
		FROM subscriptions s JOIN integrations i ON i.id = s.integration_id
		WHERE s.access_token_hash = ? AND i.client_token_hash = ? AND NOT s.revoked`, accessTokenHash, clientTokenHash)
	var c bellhop.Caller
	var created int64
	if err := scanSubscription(row, &c.Subscription, &c.Integration.Name, &created); err != nil {
		return nil, wrapErr(err, "authenticate: tokens")
	}
	c.Integration.ID = c.Subscription.IntegrationID
	c.Integration.CreatedUtc = fromMS(created)
	return &c, nil
}

// CreateAdminToken stores the hash of an admin token under a name. A
// duplicate hash or name is an ECONFLICT error.
func (s *Store) CreateAdminToken(ctx context.Context, name, tokenHash string) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO admin_tokens (token_hash, name) VALUES (?, ?)`, tokenHash, name)
		return err
	})
	return wrapErr(err, "create admin token %q", name)
}

// AdminTokenName returns the name of the admin token with this hash, or
// ErrNotFound wrapped.
func (s *Store) AdminTokenName(ctx context.Context, tokenHash string) (string, error) {
	var name string
	err := s.read(ctx).row(`SELECT name FROM admin_tokens WHERE token_hash = ?`, tokenHash).Scan(&name)
	return name, wrapErr(err, "admin token")
}

// mustAffect turns an update or delete that touched no row into
// sql.ErrNoRows.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanAll scans every row with scan and closes rows. The result is never nil.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}
