package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop"
)

// Console users, their sessions and the audit list. Sessions are kept in the
// store, so a browser signed in through one hub node is signed in on every
// node of the same database.

// Actor is who asks for a change to users, for the audit list.
type Actor struct {
	Name   string // a user's name, or "admin token <name>"
	Remote string // the client's address, if known
	// SessionIDHash is the acting browser's session, kept when the actor
	// changes its own password.
	SessionIDHash string
	UserID        string // the acting user, "" for an admin token
}

// TokenActor is the actor for a request authenticated by an admin token.
func TokenActor(tokenName, remote string) Actor {
	return Actor{Name: "admin token " + tokenName, Remote: remote}
}

// SessionActor is the actor for a signed-in browser.
func SessionActor(s *bellhop.Session, remote string) Actor {
	name := s.Name
	if s.UserID == "" {
		name = "admin token " + s.Name
	}
	return Actor{Name: name, Remote: remote, SessionIDHash: s.IDHash, UserID: s.UserID}
}

// users is the service's state for sign-ins: nothing that another node needs.
type users struct {
	params    PasswordParams
	dummyOnce sync.Once
	dummy     string       // a hash to check unknown names against
	lastPurge atomic.Int64 // unix seconds of the last purge of expired sessions
}

var errSignIn = &bellhop.Error{Code: bellhop.EUNAUTHORIZED, Message: "That name and password do not match."}

// audit appends to the audit list. A failure is logged, never the caller's
// problem: the change it describes is already made.
func (s *Service) audit(ctx context.Context, a Actor, action, subject, detail string) {
	e := &bellhop.AuditEntry{Utc: s.Now(), Actor: a.Name, Action: action, Subject: subject, Detail: detail, Remote: trimRemote(a.Remote)}
	if err := s.store.AddAudit(ctx, e); err != nil {
		s.log.Error("hub: audit entry lost", "action", action, "subject", subject, "err", err)
	}
}

// AddUser creates a console user. The name is stored in its canonical form
// (trimmed, lower case); a taken name is ECONFLICT. An empty password asks
// for a generated one, which is returned this once.
func (s *Service) AddUser(ctx context.Context, a Actor, name string, role bellhop.Role, password string) (*bellhop.User, string, error) {
	name = bellhop.CanonicalUserName(name)
	if err := bellhop.ValidateUserName(name); err != nil {
		return nil, "", err
	}
	if !role.Valid() {
		return nil, "", bellhop.Errorf(bellhop.EINVALID, "Invalid Role: viewer, operator or admin")
	}
	generated := ""
	if password == "" {
		generated = newPassword()
		password = generated
	}
	if err := bellhop.ValidatePassword(password); err != nil {
		return nil, "", err
	}
	hash, err := hashPassword(password, s.users.params)
	if err != nil {
		return nil, "", err
	}
	u := &bellhop.User{ID: bellhop.NewID(), Name: name, Role: role, CreatedUtc: s.Now()}
	if err := s.store.CreateUser(ctx, u, hash); err != nil {
		if bellhop.ErrorCode(err) == bellhop.ECONFLICT {
			return nil, "", bellhop.Errorf(bellhop.ECONFLICT, "A user named %s exists already.", name)
		}
		return nil, "", fmt.Errorf("add user: %w", err)
	}
	s.audit(ctx, a, bellhop.AuditUserAdded, name, "role "+string(role))
	return u, generated, nil
}

// newPassword is 128 random bits as hex: easy to paste.
func newPassword() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// Users lists every console user by name.
func (s *Service) Users(ctx context.Context) ([]bellhop.User, error) {
	return s.store.ListUsers(ctx)
}

// SetRole changes a user's role; the user's open sessions have the new role
// at their next request. No one changes their own role, so an admin cannot
// lock the last admin out by mistake.
func (s *Service) SetRole(ctx context.Context, a Actor, id string, role bellhop.Role) (*bellhop.User, error) {
	u, err := get(ctx, id, "user", s.store.GetUser)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, bellhop.Errorf(bellhop.EINVALID, "Invalid Role: viewer, operator or admin")
	}
	if u.ID == a.UserID {
		return nil, bellhop.Errorf(bellhop.EFORBIDDEN, "You cannot change your own role.")
	}
	if u.Role == role {
		return u, nil
	}
	if err := s.store.SetUserRole(ctx, u.ID, role); err != nil {
		return nil, fmt.Errorf("set role: %w", err)
	}
	s.audit(ctx, a, bellhop.AuditRoleChanged, u.Name, string(u.Role)+" → "+string(role))
	u.Role = role
	return u, nil
}

// SetPassword gives a user a new password and ends the user's other
// sessions (all of them, unless the actor is the user in a browser). An empty
// password asks for a generated one, returned this once.
func (s *Service) SetPassword(ctx context.Context, a Actor, id, password string) (string, error) {
	u, err := get(ctx, id, "user", s.store.GetUser)
	if err != nil {
		return "", err
	}
	generated := ""
	if password == "" {
		generated = newPassword()
		password = generated
	}
	if err := bellhop.ValidatePassword(password); err != nil {
		return "", err
	}
	hash, err := hashPassword(password, s.users.params)
	if err != nil {
		return "", err
	}
	keep := ""
	if a.UserID == u.ID {
		keep = a.SessionIDHash
	}
	if err := s.store.SetUserPassword(ctx, u.ID, hash, keep); err != nil {
		return "", fmt.Errorf("set password: %w", err)
	}
	s.audit(ctx, a, bellhop.AuditPassword, u.Name, "")
	return generated, nil
}

// ChangeOwnPassword is a signed-in user changing their password: the
// current one must match.
func (s *Service) ChangeOwnPassword(ctx context.Context, a Actor, current, password string) error {
	if a.UserID == "" {
		return bellhop.Errorf(bellhop.EFORBIDDEN, "An admin token has no password to change.")
	}
	u, err := get(ctx, a.UserID, "user", s.store.GetUser)
	if err != nil {
		return err
	}
	_, hash, err := s.store.UserByName(ctx, u.Name)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !checkPassword(hash, current) {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid current password")
	}
	if password == "" {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid Password: %d to %d characters", bellhop.MinPasswordLength, bellhop.MaxPasswordLength)
	}
	_, err = s.SetPassword(ctx, a, u.ID, password)
	return err
}

// RemoveUser deletes a user and ends their sessions. No one removes their own
// account.
func (s *Service) RemoveUser(ctx context.Context, a Actor, id string) error {
	u, err := get(ctx, id, "user", s.store.GetUser)
	if err != nil {
		return err
	}
	if u.ID == a.UserID {
		return bellhop.Errorf(bellhop.EFORBIDDEN, "You cannot remove your own account.")
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		return fmt.Errorf("remove user: %w", err)
	}
	s.audit(ctx, a, bellhop.AuditUserRemoved, u.Name, "was "+string(u.Role))
	return nil
}

// Audit returns a page of the audit list, newest first, and the cursor of the
// next page (0 when there is none).
func (s *Service) Audit(ctx context.Context, cursor int64, n int) ([]bellhop.AuditEntry, int64, error) {
	if n < 1 || n > MaxPage {
		return nil, 0, bellhop.Invalid("limit")
	}
	list, err := s.store.ListAudit(ctx, cursor, n)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: %w", err)
	}
	next := int64(0)
	if len(list) == n {
		next = list[n-1].Seq
	}
	return list, next, nil
}

// SignIn checks a user's name and password and starts a session of ttl. It
// answers the same EUNAUTHORIZED error, after the same work, for an unknown
// name and a wrong password, so neither the answer nor its timing tells
// which names exist. Every attempt is in the audit list.
func (s *Service) SignIn(ctx context.Context, name, password, remote string, ttl time.Duration) (string, *bellhop.Session, error) {
	name = bellhop.CanonicalUserName(name)
	var u *bellhop.User
	hash := ""
	if bellhop.ValidateUserName(name) == nil && len(password) <= bellhop.MaxPasswordLength {
		var err error
		u, hash, err = s.store.UserByName(ctx, name)
		if err != nil && !errors.Is(err, bellhop.ErrNotFound) {
			return "", nil, fmt.Errorf("sign in: %w", err)
		}
	}
	if u == nil {
		checkPassword(s.dummyHash(), password)
		// The name typed is not recorded: it may be a password typed into
		// the wrong field.
		s.audit(ctx, Actor{Name: "(unknown name)", Remote: remote}, bellhop.AuditSignInRefused, "", "unknown name")
		return "", nil, errSignIn
	}
	if !checkPassword(hash, password) {
		s.audit(ctx, Actor{Name: u.Name, Remote: remote}, bellhop.AuditSignInRefused, u.Name, "wrong password")
		return "", nil, errSignIn
	}
	return s.startSession(ctx, u.ID, u.Name, u.Role, "password", remote, ttl)
}

// SignInWithToken starts an admin session of ttl with an admin token: how the
// first admin signs in before any user exists.
func (s *Service) SignInWithToken(ctx context.Context, token, remote string, ttl time.Duration) (string, *bellhop.Session, error) {
	name, err := s.AuthenticateAdmin(ctx, token)
	if err != nil {
		if bellhop.ErrorCode(err) == bellhop.EUNAUTHORIZED {
			s.audit(ctx, Actor{Name: "(admin token)", Remote: remote}, bellhop.AuditSignInRefused, "", "invalid admin token")
		}
		return "", nil, err
	}
	return s.startSession(ctx, "", name, bellhop.Admin, "admin token", remote, ttl)
}

func (s *Service) startSession(ctx context.Context, userID, name string, role bellhop.Role, how, remote string, ttl time.Duration) (string, *bellhop.Session, error) {
	now := s.Now()
	s.purgeSessions(ctx, now)
	id := randomHex(32) // 256 bits
	se := &bellhop.Session{IDHash: bellhop.HashToken(id), UserID: userID, Name: name, Role: role, CSRF: randomHex(32),
		CreatedUtc: now, ExpiresUtc: now.Add(ttl)}
	if err := s.store.CreateSession(ctx, se); err != nil {
		return "", nil, fmt.Errorf("start session: %w", err)
	}
	s.audit(ctx, SessionActor(se, remote), bellhop.AuditSignIn, "", "with "+how)
	return id, se, nil
}

// purgeSessions deletes expired sessions, at most once a minute per node.
func (s *Service) purgeSessions(ctx context.Context, now time.Time) {
	last := s.users.lastPurge.Load()
	if now.Unix()-last < 60 || !s.users.lastPurge.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := s.store.PurgeSessions(ctx, now); err != nil {
		s.log.Warn("hub: purge sessions", "err", err)
	}
}

// sessionSlide is how stale a session's expiry may be before a use writes a
// new one: sliding expiry without a write per request.
const sessionSlide = time.Minute

// Session returns the live session of a browser's session id and slides its
// expiry to ttl from now; EUNAUTHORIZED when there is none or it expired.
func (s *Service) Session(ctx context.Context, id string, ttl time.Duration) (*bellhop.Session, error) {
	if len(id) != 64 {
		return nil, errNoSession
	}
	h := bellhop.HashToken(id)
	se, err := s.store.GetSession(ctx, h)
	if errors.Is(err, bellhop.ErrNotFound) {
		return nil, errNoSession
	} else if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	now := s.Now()
	if !now.Before(se.ExpiresUtc) {
		s.store.DeleteSession(ctx, h)
		return nil, errNoSession
	}
	if want := now.Add(ttl); want.Sub(se.ExpiresUtc) > sessionSlide {
		if err := s.store.ExtendSession(ctx, h, want); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		se.ExpiresUtc = want
	}
	return se, nil
}

var errNoSession = &bellhop.Error{Code: bellhop.EUNAUTHORIZED, Message: "Sign in first."}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, se *bellhop.Session, remote string) error {
	if err := s.store.DeleteSession(ctx, se.IDHash); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	s.audit(ctx, SessionActor(se, remote), bellhop.AuditSignOut, "", "")
	return nil
}

// dummyHash is a hash that no password matches in practice, to spend the
// same work on an unknown name as on a known one.
func (s *Service) dummyHash() string {
	s.users.dummyOnce.Do(func() {
		s.users.dummy, _ = hashPassword(newPassword(), s.users.params)
	})
	return s.users.dummy
}

// trimRemote keeps audit entries small whatever a proxy puts in an address.
func trimRemote(r string) string {
	if len(r) > 64 {
		return r[:64]
	}
	return strings.TrimSpace(r)
}
