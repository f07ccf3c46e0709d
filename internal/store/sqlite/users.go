package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/bellhop/bellhop"
)

// CreateUser inserts u with its password hash. A name already taken is an
// ECONFLICT error.
func (s *Store) CreateUser(ctx context.Context, u *bellhop.User, passwordHash string) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO users (id, name, role, password_hash, created) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.Name, string(u.Role), passwordHash, ms(u.CreatedUtc))
		return err
	})
	return wrapErr(err, "create user %q", u.Name)
}

func scanUser(row scanner, extra ...any) (*bellhop.User, error) {
	var u bellhop.User
	var role string
	var created int64
	if err := row.Scan(append([]any{&u.ID, &u.Name, &role, &created}, extra...)...); err != nil {
		return nil, err
	}
	u.Role, u.CreatedUtc = bellhop.Role(role), fromMS(created)
	return &u, nil
}

// GetUser returns the user with this id, or ErrNotFound wrapped.
func (s *Store) GetUser(ctx context.Context, id string) (*bellhop.User, error) {
	u, err := scanUser(s.read(ctx).row(`SELECT id, name, role, created FROM users WHERE id = ?`, id))
	return u, wrapErr(err, "get user %s", id)
}

// UserByName returns the user with this canonical name and its password hash,
// or ErrNotFound wrapped.
func (s *Store) UserByName(ctx context.Context, name string) (*bellhop.User, string, error) {
	var hash string
	u, err := scanUser(s.read(ctx).row(`SELECT id, name, role, created, password_hash FROM users WHERE name = ?`, name), &hash)
	if err != nil {
		return nil, "", wrapErr(err, "user %q", name)
	}
	return u, hash, nil
}

// ListUsers lists every user by name; never nil.
func (s *Store) ListUsers(ctx context.Context) ([]bellhop.User, error) {
	rows, err := s.read(ctx).query(`SELECT id, name, role, created FROM users ORDER BY name`)
	if err != nil {
		return nil, wrapErr(err, "list users")
	}
	list, err := scanAll(rows, func(rows scanner) (bellhop.User, error) {
		u, err := scanUser(rows)
		if err != nil {
			return bellhop.User{}, err
		}
		return *u, nil
	})
	return list, wrapErr(err, "list users")
}

// SetUserRole changes a user's role.
func (s *Store) SetUserRole(ctx context.Context, id string, role bellhop.Role) error {
	err := s.write(ctx, func(tx *tx) error {
		return mustAffect(tx.exec(`UPDATE users SET role = ? WHERE id = ?`, string(role), id))
	})
	return wrapErr(err, "set role of user %s", id)
}

// SetUserPassword replaces a user's password hash and ends the user's other
// sessions.
func (s *Store) SetUserPassword(ctx context.Context, id, passwordHash, keep string) error {
	err := s.write(ctx, func(tx *tx) error {
		if err := mustAffect(tx.exec(`UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, id)); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, id, keep)
		return err
	})
	return wrapErr(err, "set password of user %s", id)
}

// DeleteUser removes a user; its sessions go with it.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *tx) error {
		return mustAffect(tx.exec(`DELETE FROM users WHERE id = ?`, id))
	})
	return wrapErr(err, "delete user %s", id)
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se *bellhop.Session) error {
	var user any
	if se.UserID != "" {
		user = se.UserID
	}
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO sessions (id_hash, user_id, name, role, csrf, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			se.IDHash, user, se.Name, string(se.Role), se.CSRF, ms(se.CreatedUtc), ms(se.ExpiresUtc))
		return err
	})
	return wrapErr(err, "create session")
}

// GetSession returns a session with its user's current name and role.
func (s *Store) GetSession(ctx context.Context, idHash string) (*bellhop.Session, error) {
	var se bellhop.Session
	var user sql.NullString
	var role string
	var created, expires int64
	err := s.read(ctx).row(`SELECT s.id_hash, s.user_id, coalesce(u.name, s.name), coalesce(u.role, s.role), s.csrf, s.created, s.expires
		FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, idHash).
		Scan(&se.IDHash, &user, &se.Name, &role, &se.CSRF, &created, &expires)
	if err != nil {
		return nil, wrapErr(err, "get session")
	}
	se.UserID, se.Role, se.CreatedUtc, se.ExpiresUtc = user.String, bellhop.Role(role), fromMS(created), fromMS(expires)
	return &se, nil
}

// ExtendSession sets a session's expiry.
func (s *Store) ExtendSession(ctx context.Context, idHash string, expires time.Time) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`UPDATE sessions SET expires = ? WHERE id_hash = ?`, ms(expires), idHash)
		return err
	})
	return wrapErr(err, "extend session")
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	err := s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM sessions WHERE id_hash = ?`, idHash)
		return err
	})
	return wrapErr(err, "delete session")
}

// PurgeSessions deletes the sessions that expired before the time.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM sessions WHERE expires < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrapErr(err, "purge sessions")
}

// AddAudit appends an entry to the audit list and sets its Seq.
func (s *Store) AddAudit(ctx context.Context, e *bellhop.AuditEntry) error {
	var seq int64
	err := s.write(ctx, func(tx *tx) error {
		return tx.row(`INSERT INTO audit (utc, actor, action, subject, detail, remote) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
			ms(e.Utc), e.Actor, e.Action, e.Subject, e.Detail, e.Remote).Scan(&seq)
	})
	if err != nil {
		return wrapErr(err, "add audit entry")
	}
	e.Seq = seq
	return nil
}

// ListAudit returns audit entries newest first.
func (s *Store) ListAudit(ctx context.Context, beforeSeq int64, limit int) ([]bellhop.AuditEntry, error) {
	if beforeSeq <= 0 {
		beforeSeq = 1<<63 - 1
	}
	rows, err := s.read(ctx).query(`SELECT seq, utc, actor, action, subject, detail, remote FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
		beforeSeq, limit)
	if err != nil {
		return nil, wrapErr(err, "list audit")
	}
	list, err := scanAll(rows, func(rows scanner) (e bellhop.AuditEntry, err error) {
		var utc int64
		err = rows.Scan(&e.Seq, &utc, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.Remote)
		e.Utc = fromMS(utc)
		return e, err
	})
	return list, wrapErr(err, "list audit")
}
