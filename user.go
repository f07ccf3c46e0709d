package bellhop

import (
	"strings"
	"time"
	"unicode"
)

// Role is what a console user may do. Each role may do everything the roles
// below it may.
type Role string

const (
	// Viewer reads the queue, commands, devices and health.
	Viewer Role = "viewer"
	// Operator also cancels commands, sends copies again and sends test
	// commands.
	Operator Role = "operator"
	// Admin may do everything: devices, enterprises, integrations,
	// subscriptions, users and the audit list.
	Admin Role = "admin"
)

// Roles lists the roles from the least to the most allowed.
var Roles = []Role{Viewer, Operator, Admin}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a user with role r may do what needs role min. An
// invalid role allows nothing.
func (r Role) Allows(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// User is a person who signs in to the console with a name and a password.
type User struct {
	ID         string
	Name       string // unique, compared without regard to case
	Role       Role
	CreatedUtc time.Time
}

// Limits on users.
const (
	MaxUserName       = 64
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// CanonicalUserName is the form of a user name that is stored and compared:
// trimmed and lower case, so "Anna" and "anna " are one user.
func CanonicalUserName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// ValidateUserName checks a canonical user name: 1 to 64 characters, letters,
// digits and . _ - @ only, so that it reads the same in every list and log.
func ValidateUserName(name string) error {
	if name == "" || len(name) > MaxUserName {
		return Errorf(EINVALID, "Invalid Name: 1 to %d characters", MaxUserName)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return Errorf(EINVALID, "Invalid Name: letters, digits and . _ - @ only")
		}
	}
	return nil
}

// ValidatePassword checks a new password's length: at least 10 characters
// (length is what makes a password hard to guess), at most 256.
func ValidatePassword(p string) error {
	n := len([]rune(p))
	if n < MinPasswordLength || len(p) > MaxPasswordLength {
		return Errorf(EINVALID, "Invalid Password: %d to %d characters", MinPasswordLength, MaxPasswordLength)
	}
	return nil
}

// Session is a signed-in browser. The browser holds a random id; the store
// keeps only its hash.
type Session struct {
	IDHash string
	// UserID is the user who signed in, "" for a sign-in with an admin
	// token.
	UserID string
	// Name and Role are the user's as they are now (a role change applies
	// to open sessions at once); for an admin token, its name and Admin.
	Name       string
	Role       Role
	CSRF       string
	CreatedUtc time.Time
	ExpiresUtc time.Time
}

// AuditEntry is one line of the audit list: a sign-in, a refused sign-in, a
// change to users and their roles, a fault set or cleared, time moved.
type AuditEntry struct {
	Seq     int64 // set by the store, increasing
	Utc     time.Time
	Actor   string // who did it: a user's name, or "admin token <name>"
	Action  string // one of the Audit* actions
	Subject string // the user (or fault, or enterprise) it concerns, if any
	Detail  string
	Remote  string // the client's address, when it came over HTTP
}

// Audit actions.
const (
	AuditSignIn        = "sign-in"
	AuditSignInRefused = "sign-in refused"
	AuditSignOut       = "sign-out"
	AuditUserAdded     = "user added"
	AuditUserRemoved   = "user removed"
	AuditRoleChanged   = "role changed"
	AuditPassword      = "password changed"
	AuditFaultSet      = "fault set"
	AuditFaultCleared  = "fault cleared"
	AuditTimeMoved     = "time moved"
)
