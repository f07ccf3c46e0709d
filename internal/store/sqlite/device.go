package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bellhop/bellhop"
)

// CreateDevice inserts d. A missing enterprise is ErrNotFound wrapped; a
// duplicate id an ECONFLICT error.
func (s *Store) CreateDevice(ctx context.Context, d *bellhop.Device) error {
	config, err := json.Marshal(d.Config)
	if err != nil {
		return fmt.Errorf("create device %s: config: %w", d.ID, err)
	}
	err = s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO devices (id, enterprise_id, type, name, identifier, config, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.EnterpriseID, d.Type, d.Name, d.Identifier, config, ms(d.CreatedUtc))
		return err
	})
	return wrapErr(err, "create device %s", d.ID)
}

const deviceCols = `d.id, d.enterprise_id, d.type, d.name, d.identifier, d.config, d.created`

func scanDevice(row scanner) (d bellhop.Device, err error) {
	var config []byte
	var created int64
	if err := row.Scan(&d.ID, &d.EnterpriseID, &d.Type, &d.Name, &d.Identifier, &config, &created); err != nil {
		return d, err
	}
	d.CreatedUtc = fromMS(created)
	if err := json.Unmarshal(config, &d.Config); err != nil {
		return d, fmt.Errorf("device %s: config: %w", d.ID, err)
	}
	return d, nil
}

// GetDevice returns the device with this id, or ErrNotFound wrapped.
func (s *Store) GetDevice(ctx context.Context, id string) (*bellhop.Device, error) {
	d, err := scanDevice(s.read(ctx).row(`SELECT `+deviceCols+` FROM devices d WHERE d.id = ?`, id))
	if err != nil {
		return nil, wrapErr(err, "get device %s", id)
	}
	return &d, nil
}

// ListDevices lists the devices of an enterprise (all when ""), by name, then
// id; never nil.
func (s *Store) ListDevices(ctx context.Context, enterpriseID string) ([]bellhop.Device, error) {
	rows, err := s.read(ctx).query(`SELECT `+deviceCols+` FROM devices d
		WHERE ?1 = '' OR d.enterprise_id = ?1 ORDER BY d.name, d.id`, enterpriseID)
	if err != nil {
		return nil, wrapErr(err, "list devices of %q", enterpriseID)
	}
	list, err := scanAll(rows, scanDevice)
	return list, wrapErr(err, "list devices of %q", enterpriseID)
}

// DeleteDevice removes a device and its connections; its commands stay. A
// missing device is ErrNotFound wrapped.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM devices WHERE id = ?`, id) // connections cascade
		return mustAffect(res, err)
	})
	return wrapErr(err, "delete device %s", id)
}

// Connect connects a device to a subscription; connecting it again is not an
// error. A missing subscription or device is ErrNotFound wrapped; a device
// whose enterprise the subscription does not cover is an EINVALID error.
// A revoked subscription may still be connected (its token works no more).
func (s *Store) Connect(ctx context.Context, subscriptionID, deviceID string) error {
	err := s.write(ctx, func(tx *tx) error {
		var n int
		if err := tx.row(`SELECT count(*) FROM subscriptions WHERE id = ?`, subscriptionID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("subscription %s: %w", subscriptionID, bellhop.ErrNotFound)
		}
		var covered bool
		err := tx.row(`SELECT EXISTS (SELECT 1 FROM subscription_enterprises se
			WHERE se.subscription_id = ? AND se.enterprise_id = d.enterprise_id)
			FROM devices d WHERE d.id = ?`, subscriptionID, deviceID).Scan(&covered)
		if err != nil {
			return wrapErr(err, "device %s", deviceID)
		}
		if !covered {
			return bellhop.Errorf(bellhop.EINVALID, "Invalid DeviceId: the device's enterprise is not covered by the subscription")
		}
		_, err = tx.exec(`INSERT INTO connections (subscription_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, subscriptionID, deviceID)
		return err
	})
	return wrapErr(err, "connect device %s to subscription %s", deviceID, subscriptionID)
}

// Disconnect removes the connection, if any: disconnecting what is not
// connected, or does not exist, is not an error.
func (s *Store) Disconnect(ctx context.Context, subscriptionID, deviceID string) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM connections WHERE subscription_id = ? AND device_id = ?`, subscriptionID, deviceID)
		return err
	})
	return wrapErr(err, "disconnect device %s from subscription %s", deviceID, subscriptionID)
}

// ConnectedDevices lists the devices connected to a subscription, by name,
// then id; never nil, and empty for an unknown subscription.
func (s *Store) ConnectedDevices(ctx context.Context, subscriptionID string) ([]bellhop.Device, error) {
	rows, err := s.read(ctx).query(`SELECT `+deviceCols+` FROM connections c JOIN devices d ON d.id = c.device_id
		WHERE c.subscription_id = ? ORDER BY d.name, d.id`, subscriptionID)
	if err != nil {
		return nil, wrapErr(err, "devices connected to %s", subscriptionID)
	}
	list, err := scanAll(rows, scanDevice)
	return list, wrapErr(err, "devices connected to %s", subscriptionID)
}

// DeviceSubscriptions lists the ids of the unrevoked subscriptions a device
// is connected to, oldest first; never nil, and empty for an unknown device.
func (s *Store) DeviceSubscriptions(ctx context.Context, deviceID string) ([]string, error) {
	rows, err := s.read(ctx).query(`SELECT s.id FROM connections c JOIN subscriptions s ON s.id = c.subscription_id
		WHERE c.device_id = ? AND NOT s.revoked ORDER BY s.created, s.id`, deviceID)
	if err != nil {
		return nil, wrapErr(err, "subscriptions of device %s", deviceID)
	}
	list, err := scanAll(rows, func(rows scanner) (id string, err error) { return id, rows.Scan(&id) })
	return list, wrapErr(err, "subscriptions of device %s", deviceID)
}

// CreateReservation inserts r. A missing enterprise is ErrNotFound wrapped; a
// duplicate id an ECONFLICT error.
func (s *Store) CreateReservation(ctx context.Context, r *bellhop.Reservation) error {
	locks, err := json.Marshal(r.LockIDs)
	if err != nil {
		return fmt.Errorf("create reservation %s: lock ids: %w", r.ID, err)
	}
	err = s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO reservations (id, enterprise_id, number, start_utc, end_utc, first_name, last_name, email, telephone, lock_ids)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.EnterpriseID, r.Number, ms(r.StartUtc), ms(r.EndUtc), r.FirstName, r.LastName, r.Email, r.Telephone, locks)
		return err
	})
	return wrapErr(err, "create reservation %s", r.ID)
}

// GetReservation returns the reservation with this id, or ErrNotFound wrapped.
func (s *Store) GetReservation(ctx context.Context, id string) (*bellhop.Reservation, error) {
	var r bellhop.Reservation
	var start, end int64
	var locks []byte
	err := s.read(ctx).row(`SELECT id, enterprise_id, number, start_utc, end_utc, first_name, last_name, email, telephone, lock_ids
		FROM reservations WHERE id = ?`, id).Scan(
		&r.ID, &r.EnterpriseID, &r.Number, &start, &end, &r.FirstName, &r.LastName, &r.Email, &r.Telephone, &locks)
	if err != nil {
		return nil, wrapErr(err, "get reservation %s", id)
	}
	r.StartUtc, r.EndUtc = fromMS(start), fromMS(end)
	if err := json.Unmarshal(locks, &r.LockIDs); err != nil {
		return nil, fmt.Errorf("get reservation %s: lock ids: %w", id, err)
	}
	return &r, nil
}

// CreateCustomer inserts c. A missing enterprise is ErrNotFound wrapped; a
// duplicate id an ECONFLICT error.
func (s *Store) CreateCustomer(ctx context.Context, c *bellhop.Customer) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO customers (id, enterprise_id, first_name, last_name, company_name, email) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.EnterpriseID, c.FirstName, c.LastName, c.CompanyName, c.Email)
		return err
	})
	return wrapErr(err, "create customer %s", c.ID)
}

// GetCustomer returns the customer with this id, or ErrNotFound wrapped.
func (s *Store) GetCustomer(ctx context.Context, id string) (*bellhop.Customer, error) {
	var c bellhop.Customer
	err := s.read(ctx).row(`SELECT id, enterprise_id, first_name, last_name, company_name, email FROM customers WHERE id = ?`,
		id).Scan(&c.ID, &c.EnterpriseID, &c.FirstName, &c.LastName, &c.CompanyName, &c.Email)
	if err != nil {
		return nil, wrapErr(err, "get customer %s", id)
	}
	return &c, nil
}
