package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
)

// CreateUser inserts u with its password hash. A name already taken is an
// ECONFLICT error.
func (s *Store) CreateUser(ctx context.Context, u *bellhop.User, passwordHash string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (id, name, role, password_hash, created) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, u.Name, string(u.Role), passwordHash, u.CreatedUtc)
	return wrapErr(err, "create user %q", u.Name)
}

func scanUser(row pgx.Row, extra ...any) (*bellhop.User, error) {
	var u bellhop.User
	var role string
	if err := row.Scan(append([]any{&u.ID, &u.Name, &role, &u.CreatedUtc}, extra...)...); err != nil {
		return nil, err
	}
	u.Role, u.CreatedUtc = bellhop.Role(role), utc(u.CreatedUtc)
	return &u, nil
}

// GetUser returns the user with this id, or ErrNotFound wrapped.
func (s *Store) GetUser(ctx context.Context, id string) (*bellhop.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT id, name, role, created FROM users WHERE id = $1`, id))
	return u, wrapErr(err, "get user %s", id)
}

// UserByName returns the user with this canonical name and its password hash,
// or ErrNotFound wrapped.
func (s *Store) UserByName(ctx context.Context, name string) (*bellhop.User, string, error) {
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT id, name, role, created, password_hash FROM users WHERE name = $1`, name), &hash)
	if err != nil {
		return nil, "", wrapErr(err, "user %q", name)
	}
	return u, hash, nil
}

// ListUsers lists every user by name (bytewise); never nil.
func (s *Store) ListUsers(ctx context.Context) ([]bellhop.User, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, name, role, created FROM users ORDER BY name COLLATE "C"`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bellhop.User, error) {
		u, err := scanUser(row)
		if err != nil {
			return bellhop.User{}, err
		}
		return *u, nil
	})
	if list == nil {
		list = []bellhop.User{}
	}
	return list, wrapErr(err, "list users")
}

// SetUserRole changes a user's role.
func (s *Store) SetUserRole(ctx context.Context, id string, role bellhop.Role) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET role = $1 WHERE id = $2`, string(role), id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrapErr(err, "set role of user %s", id)
}

// SetUserPassword replaces a user's password hash and ends the user's other
// sessions.
func (s *Store) SetUserPassword(ctx context.Context, id, passwordHash, keep string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, id, keep)
		return err
	})
	return wrapErr(err, "set password of user %s", id)
}

// DeleteUser removes a user; its sessions go with it.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrapErr(err, "delete user %s", id)
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se *bellhop.Session) error {
	var user *string
	if se.UserID != "" {
		user = &se.UserID
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, name, role, csrf, created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		se.IDHash, user, se.Name, string(se.Role), se.CSRF, se.CreatedUtc, se.ExpiresUtc)
	return wrapErr(err, "create session")
}

// GetSession returns a session with its user's current name and role.
func (s *Store) GetSession(ctx context.Context, idHash string) (*bellhop.Session, error) {
	var se bellhop.Session
	var user *string
	var role string
	err := s.pool.QueryRow(ctx, `SELECT s.id_hash, s.user_id, coalesce(u.name, s.name), coalesce(u.role, s.role), s.csrf, s.created, s.expires
		FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1`, idHash).
		Scan(&se.IDHash, &user, &se.Name, &role, &se.CSRF, &se.CreatedUtc, &se.ExpiresUtc)
	if err != nil {
		return nil, wrapErr(err, "get session")
	}
	if user != nil {
		se.UserID = *user
	}
	se.Role, se.CreatedUtc, se.ExpiresUtc = bellhop.Role(role), utc(se.CreatedUtc), utc(se.ExpiresUtc)
	return &se, nil
}

// ExtendSession sets a session's expiry.
func (s *Store) ExtendSession(ctx context.Context, idHash string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET expires = $1 WHERE id_hash = $2`, expires, idHash)
	return wrapErr(err, "extend session")
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return wrapErr(err, "delete session")
}

// PurgeSessions deletes the sessions that expired before the time.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires < $1`, before)
	if err != nil {
		return 0, wrapErr(err, "purge sessions")
	}
	return int(tag.RowsAffected()), nil
}

// AddAudit appends an entry to the audit list and sets its Seq.
func (s *Store) AddAudit(ctx context.Context, e *bellhop.AuditEntry) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO audit (utc, actor, action, subject, detail, remote) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`,
		e.Utc, e.Actor, e.Action, e.Subject, e.Detail, e.Remote).Scan(&e.Seq)
	return wrapErr(err, "add audit entry")
}

// ListAudit returns audit entries newest first.
func (s *Store) ListAudit(ctx context.Context, beforeSeq int64, limit int) ([]bellhop.AuditEntry, error) {
	if beforeSeq <= 0 {
		beforeSeq = 1<<63 - 1
	}
	rows, _ := s.pool.Query(ctx, `SELECT seq, utc, actor, action, subject, detail, remote FROM audit WHERE seq < $1 ORDER BY seq DESC LIMIT $2`,
		beforeSeq, limit)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (e bellhop.AuditEntry, err error) {
		err = row.Scan(&e.Seq, &e.Utc, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.Remote)
		e.Utc = utc(e.Utc)
		return e, err
	})
	if list == nil {
		list = []bellhop.AuditEntry{}
	}
	return list, wrapErr(err, "list audit")
}
