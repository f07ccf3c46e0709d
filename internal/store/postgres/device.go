package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// CreateDevice inserts d. A missing enterprise is ErrNotFound wrapped; a
// duplicate id an ECONFLICT error.
func (s *Store) CreateDevice(ctx context.Context, d *bellhop.Device) error {
	config, err := json.Marshal(d.Config)
	if err != nil {
		return fmt.Errorf("create device %s: config: %w", d.ID, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO devices (id, enterprise_id, type, name, identifier, config, created) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		d.ID, d.EnterpriseID, string(d.Type), d.Name, d.Identifier, config, d.CreatedUtc)
	return wrapErr(err, "create device %s", d.ID)
}

const deviceCols = `d.id, d.enterprise_id, d.type, d.name, d.identifier, d.config, d.created`

func scanDevice(row pgx.Row) (d bellhop.Device, err error) {
	var config []byte
	if err := row.Scan(&d.ID, &d.EnterpriseID, &d.Type, &d.Name, &d.Identifier, &config, &d.CreatedUtc); err != nil {
		return d, err
	}
	d.CreatedUtc = utc(d.CreatedUtc)
	if err := json.Unmarshal(config, &d.Config); err != nil {
		return d, fmt.Errorf("device %s: config: %w", d.ID, err)
	}
	return d, nil
}

func collectDevices(rows pgx.Rows) ([]bellhop.Device, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (bellhop.Device, error) { return scanDevice(row) })
}

// GetDevice returns the device with this id, or ErrNotFound wrapped.
func (s *Store) GetDevice(ctx context.Context, id string) (*bellhop.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices d WHERE d.id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get device %s", id)
	}
	return &d, nil
}

// ListDevices lists the devices of an enterprise (all when ""), by name
// (bytewise), then id; never nil.
func (s *Store) ListDevices(ctx context.Context, enterpriseID string) ([]bellhop.Device, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+deviceCols+` FROM devices d
		WHERE $1 = '' OR d.enterprise_id = $1 ORDER BY d.name COLLATE "C", d.id COLLATE "C"`, enterpriseID)
	list, err := collectDevices(rows)
	return list, wrapErr(err, "list devices of %q", enterpriseID)
}

// DeleteDevice removes a device and its connections; its commands stay. A
// missing device is ErrNotFound wrapped. The subscriptions it was connected
// to are notified (see Listen).
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	// One implicit transaction: tell the subscriptions the device was
	// connected to, then delete it (connections cascade).
	var b pgx.Batch
	b.Queue(`SELECT pg_notify($1, 'd|' || subscription_id) FROM connections WHERE device_id = $2`, channel(s.schema, topologyChannel), id)
	var deleted int64
	b.Queue(`DELETE FROM devices WHERE id = $1`, id).Exec(func(tag pgconn.CommandTag) error {
		deleted = tag.RowsAffected()
		return nil
	})
	err := s.pool.SendBatch(ctx, &b).Close()
	if err == nil && deleted == 0 {
		err = pgx.ErrNoRows
	}
	return wrapErr(err, "delete device %s", id)
}

// Connect connects a device to a subscription and notifies it (see Listen);
// connecting it again is not an error. A missing subscription or device is ErrNotFound wrapped; a device
// whose enterprise the subscription does not cover is an EINVALID error.
// A revoked subscription may still be connected (its token works no more).
func (s *Store) Connect(ctx context.Context, subscriptionID, deviceID string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscriptions WHERE id = $1)`, subscriptionID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("subscription %s: %w", subscriptionID, bellhop.ErrNotFound)
		}
		var covered bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscription_enterprises se
			WHERE se.subscription_id = $1 AND se.enterprise_id = d.enterprise_id)
			FROM devices d WHERE d.id = $2`, subscriptionID, deviceID).Scan(&covered)
		if err != nil {
			return wrapErr(err, "device %s", deviceID)
		}
		if !covered {
			return bellhop.Errorf(bellhop.EINVALID, "Invalid DeviceId: the device's enterprise is not covered by the subscription")
		}
		// A concurrent delete of either fails the foreign key: not found.
		_, err = tx.Exec(ctx, `INSERT INTO connections (subscription_id, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, subscriptionID, deviceID)
		if err != nil {
			return err
		}
		return s.notifyTopology(ctx, tx, store.TopologyChange{SubscriptionID: subscriptionID})
	})
	return wrapErr(err, "connect device %s to subscription %s", deviceID, subscriptionID)
}

// Disconnect removes the connection, if any, and notifies the subscription
// (see Listen): disconnecting what is not connected, or does not exist, is
// not an error.
func (s *Store) Disconnect(ctx context.Context, subscriptionID, deviceID string) error {
	var b pgx.Batch
	b.Queue(`DELETE FROM connections WHERE subscription_id = $1 AND device_id = $2`, subscriptionID, deviceID)
	b.Queue(notifySQL, channel(s.schema, topologyChannel), encodeTopology(store.TopologyChange{SubscriptionID: subscriptionID}))
	err := s.pool.SendBatch(ctx, &b).Close()
	return wrapErr(err, "disconnect device %s from subscription %s", deviceID, subscriptionID)
}

// connectedDevices is the query of ConnectedDevices.
const connectedDevices = `SELECT ` + deviceCols + ` FROM connections c
	CROSS JOIN LATERAL (SELECT * FROM devices d WHERE d.id = c.device_id OFFSET 0) d
	WHERE c.subscription_id = $1 ORDER BY d.name COLLATE "C", d.id COLLATE "C"`

// ConnectedDevices lists the devices connected to a subscription, by name
// (bytewise), then id; never nil, and empty for an unknown subscription.
//
// Each device is looked up by its key (the LATERAL subquery, kept apart by
// OFFSET 0): the hub reads this for every subscription in use every few
// seconds, and the planner, with no statistics (a young schema, or no
// autovacuum), joined by hashing the whole devices table: 0.41 ms a call
// with 1,000 devices instead of 0.12 ms, a fifth of the database's CPU per
// command lifecycle in the bench.
func (s *Store) ConnectedDevices(ctx context.Context, subscriptionID string) ([]bellhop.Device, error) {
	rows, _ := s.pool.Query(ctx, connectedDevices, subscriptionID)
	list, err := collectDevices(rows)
	return list, wrapErr(err, "devices connected to %s", subscriptionID)
}

// DeviceSubscriptions lists the ids of the unrevoked subscriptions a device
// is connected to, oldest first; never nil, and empty for an unknown device.
func (s *Store) DeviceSubscriptions(ctx context.Context, deviceID string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT s.id FROM connections c JOIN subscriptions s ON s.id = c.subscription_id
		WHERE c.device_id = $1 AND NOT s.revoked ORDER BY s.created, s.id COLLATE "C"`, deviceID)
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return list, wrapErr(err, "subscriptions of device %s", deviceID)
}

// CreateReservation inserts r. A missing enterprise is ErrNotFound wrapped; a
// duplicate id an ECONFLICT error.
func (s *Store) CreateReservation(ctx context.Context, r *bellhop.Reservation) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO reservations (id, enterprise_id, number, start_utc, end_utc, first_name, last_name, email, telephone, lock_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ID, r.EnterpriseID, r.Number, r.StartUtc, r.EndUtc, r.FirstName, r.LastName, r.Email, r.Telephone, r.LockIDs)
	return wrapErr(err, "create reservation %s", r.ID)
}

// GetReservation returns the reservation with this id, or ErrNotFound wrapped.
func (s *Store) GetReservation(ctx context.Context, id string) (*bellhop.Reservation, error) {
	var r bellhop.Reservation
	err := s.pool.QueryRow(ctx, `SELECT id, enterprise_id, number, start_utc, end_utc, first_name, last_name, email, telephone, lock_ids
		FROM reservations WHERE id = $1`, id).Scan(
		&r.ID, &r.EnterpriseID, &r.Number, &r.StartUtc, &r.EndUtc, &r.FirstName, &r.LastName, &r.Email, &r.Telephone, &r.LockIDs)
	if err != nil {
		return nil, wrapErr(err, "get reservation %s", id)
	}
	r.StartUtc, r.EndUtc = utc(r.StartUtc), utc(r.EndUtc)
	return &r, nil
}

// CreateCustomer inserts c. A missing enterprise is ErrNotFound wrapped; a
// duplicate id an ECONFLICT error.
func (s *Store) CreateCustomer(ctx context.Context, c *bellhop.Customer) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO customers (id, enterprise_id, first_name, last_name, company_name, email) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.EnterpriseID, c.FirstName, c.LastName, c.CompanyName, c.Email)
	return wrapErr(err, "create customer %s", c.ID)
}

// GetCustomer returns the customer with this id, or ErrNotFound wrapped.
func (s *Store) GetCustomer(ctx context.Context, id string) (*bellhop.Customer, error) {
	var c bellhop.Customer
	err := s.pool.QueryRow(ctx, `SELECT id, enterprise_id, first_name, last_name, company_name, email FROM customers WHERE id = $1`, id).Scan(
		&c.ID, &c.EnterpriseID, &c.FirstName, &c.LastName, &c.CompanyName, &c.Email)
	if err != nil {
		return nil, wrapErr(err, "get customer %s", id)
	}
	return &c, nil
}
