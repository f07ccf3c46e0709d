// Package store defines the hub's persistence: one narrow interface with an
// embedded SQLite implementation (sqlite/) and a PostgreSQL one (postgres/),
// both held to the same conformance suite (storetest/).
//
// Business rules (visibility, legal transitions, events) live in the hub
// service above this interface, never in a backend. A backend turns its driver
// errors into domain errors: a missing entity is bellhop.ErrNotFound wrapped
// with what was looked up (never nil, nil); a duplicate is an ECONFLICT error.
package store

import (
	"context"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Store is what the hub needs of a database. Every method is safe for
// concurrent use. Times are stored with at least millisecond precision and
// returned in UTC.
type Store interface {
	// CreateEnterprise inserts e (ID and CreatedUtc set by the caller).
	CreateEnterprise(ctx context.Context, e *bellhop.Enterprise) error
	GetEnterprise(ctx context.Context, id string) (*bellhop.Enterprise, error)
	ListEnterprises(ctx context.Context) ([]bellhop.Enterprise, error)
	// SetEnterpriseTimeZone sets an enterprise's TimeZone (validated by the
	// caller); ErrNotFound wrapped when there is no such enterprise.
	SetEnterpriseTimeZone(ctx context.Context, id, zone string) error

	// CreateIntegration inserts i with the hash of its ClientToken.
	CreateIntegration(ctx context.Context, i *bellhop.Integration, clientTokenHash string) error
	GetIntegration(ctx context.Context, id string) (*bellhop.Integration, error)
	ListIntegrations(ctx context.Context) ([]bellhop.Integration, error)

	// CreateSubscription inserts s with the hash of its AccessToken. Every
	// enterprise and the integration must exist (else ErrNotFound wrapped).
	CreateSubscription(ctx context.Context, s *bellhop.Subscription, accessTokenHash string) error
	GetSubscription(ctx context.Context, id string) (*bellhop.Subscription, error)
	// ListSubscriptions lists the subscriptions of an integration, or all when
	// integrationID is "", revoked ones included, oldest first.
	ListSubscriptions(ctx context.Context, integrationID string) ([]bellhop.Subscription, error)
	// SetSubscriptionGenericDevices sets Subscription.GenericDevices; a
	// missing subscription is ErrNotFound wrapped. On a store that reports
	// to every node (Notifier) it reports a Topology change.
	SetSubscriptionGenericDevices(ctx context.Context, id string, on bool) error
	// RevokeSubscription marks s revoked; its token stops working at once.
	// Revoking a revoked subscription is not an error.
	RevokeSubscription(ctx context.Context, id string) error
	// Authenticate finds the integration and the unrevoked subscription of
	// that integration with these token hashes, or returns ErrNotFound wrapped.
	Authenticate(ctx context.Context, clientTokenHash, accessTokenHash string) (*bellhop.Caller, error)

	// CreateAdminToken stores the hash of an admin token under a name.
	CreateAdminToken(ctx context.Context, name, tokenHash string) error
	// AdminTokenName returns the name of the admin token with this hash, or
	// ErrNotFound wrapped.
	AdminTokenName(ctx context.Context, tokenHash string) (string, error)

	// CreateUser inserts u (ID, canonical Name and CreatedUtc set by the
	// caller) with its password hash. A name already taken is an ECONFLICT
	// error.
	CreateUser(ctx context.Context, u *bellhop.User, passwordHash string) error
	GetUser(ctx context.Context, id string) (*bellhop.User, error)
	// UserByName returns the user with this canonical name and its password
	// hash, or ErrNotFound wrapped.
	UserByName(ctx context.Context, name string) (*bellhop.User, string, error)
	// ListUsers lists every user by name; never nil.
	ListUsers(ctx context.Context) ([]bellhop.User, error)
	// SetUserRole changes a user's role; ErrNotFound wrapped when there is
	// no such user.
	SetUserRole(ctx context.Context, id string, role bellhop.Role) error
	// SetUserPassword replaces a user's password hash and ends every session
	// of the user but keep (a session id hash, or "").
	SetUserPassword(ctx context.Context, id, passwordHash, keep string) error
	// DeleteUser removes a user and ends its sessions.
	DeleteUser(ctx context.Context, id string) error

	// CreateSession stores s (every field set by the caller). A session of a
	// user that does not exist is ErrNotFound wrapped.
	CreateSession(ctx context.Context, s *bellhop.Session) error
	// GetSession returns the session with this id hash, whatever its expiry,
	// with its user's current name and role, or ErrNotFound wrapped.
	GetSession(ctx context.Context, idHash string) (*bellhop.Session, error)
	// ExtendSession sets a session's expiry; a missing session is not an
	// error (it was signed out meanwhile).
	ExtendSession(ctx context.Context, idHash string, expires time.Time) error
	// DeleteSession ends a session; a missing one is not an error.
	DeleteSession(ctx context.Context, idHash string) error
	// PurgeSessions deletes the sessions that expired before the time and
	// returns how many.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)

	// AddAudit appends an entry to the audit list and sets its Seq.
	AddAudit(ctx context.Context, e *bellhop.AuditEntry) error
	// ListAudit returns at most limit entries, newest first, with a Seq
	// below beforeSeq when it is not zero; never nil.
	ListAudit(ctx context.Context, beforeSeq int64, limit int) ([]bellhop.AuditEntry, error)

	// CreateDevice inserts d; its enterprise must exist.
	CreateDevice(ctx context.Context, d *bellhop.Device) error
	GetDevice(ctx context.Context, id string) (*bellhop.Device, error)
	// ListDevices lists the devices of an enterprise (all when ""), by name.
	ListDevices(ctx context.Context, enterpriseID string) ([]bellhop.Device, error)
	// DeleteDevice removes a device and its connections; its commands stay.
	DeleteDevice(ctx context.Context, id string) error

	// Connect connects a device to a subscription (idempotent). Both must
	// exist and the device's enterprise must be in the subscription's scope
	// (else an EINVALID error).
	Connect(ctx context.Context, subscriptionID, deviceID string) error
	// Disconnect removes the connection (idempotent).
	Disconnect(ctx context.Context, subscriptionID, deviceID string) error
	// ConnectedDevices lists the devices connected to a subscription, by name.
	ConnectedDevices(ctx context.Context, subscriptionID string) ([]bellhop.Device, error)
	// DeviceSubscriptions lists the ids of the unrevoked subscriptions a
	// device is connected to.
	DeviceSubscriptions(ctx context.Context, deviceID string) ([]string, error)

	CreateReservation(ctx context.Context, r *bellhop.Reservation) error
	GetReservation(ctx context.Context, id string) (*bellhop.Reservation, error)
	CreateCustomer(ctx context.Context, c *bellhop.Customer) error
	GetCustomer(ctx context.Context, id string) (*bellhop.Customer, error)

	// CreateCommand inserts c (ID, times, State set by the caller; Seq set
	// by the store) and records its first history entry, and c.Payment
	// when set (an id already recorded is bellhop.ErrPaymentExists). With idem, a second
	// create with the same Scope and Key returns the first command in c and
	// created=false when RequestHash matches, and an ECONFLICT error when it
	// does not.
	CreateCommand(ctx context.Context, c *bellhop.Command, h bellhop.HistoryEntry, idem *bellhop.Idempotency) (created bool, err error)
	// GetCommand returns one command or ErrNotFound wrapped.
	GetCommand(ctx context.Context, id string) (*bellhop.Command, error)
	// GetCommands returns the commands with these ids that exist, in Seq order.
	GetCommands(ctx context.Context, ids []string) ([]bellhop.Command, error)
	// ListCommands returns the commands that match f.
	ListCommands(ctx context.Context, f bellhop.CommandFilter) ([]bellhop.Command, error)
	// UpdateCommands runs fn on each of the commands with these ids that exist,
	// in Seq order, in one transaction. fn changes the command in place and
	// returns the history entry to record, or nil to write nothing for it. An
	// error from fn rolls everything back and is returned. The result holds
	// the commands that changed, as written. fn may run more than once for a
	// command (a store may retry a transaction): it must only change c and
	// return its result. The payload stays as created: it is neither read nor
	// written (fn sees Data nil, and so does the result), so that a state
	// change costs no copy of a large PDF.
	UpdateCommands(ctx context.Context, ids []string, fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) ([]bellhop.Command, error)
	// FetchCommands returns what GetCommands returns (the commands with these
	// ids that exist, in Seq order, with their payload) and changes some of
	// them on the way, as UpdateCommands does, for a read that changes what
	// it reads. pick chooses the ids to change among the commands read; it
	// may see them before the write transaction, so it must decide only
	// from fields an update never changes, and from the state, which fn
	// checks again. fn runs on each chosen command that still exists, in Seq
	// order, inside the write transaction, as UpdateCommands' fn (Data nil).
	// An error from fn rolls everything back and is returned. It returns
	// every command read, the changed ones as written (with their payload),
	// and, of those, the ones that changed. pick and fn may run more than
	// once (a store may retry a transaction). A store does it in one write
	// transaction, or reads first and writes only when pick chooses some
	// ids, whichever costs it less.
	FetchCommands(ctx context.Context, ids []string, pick func(cs []bellhop.Command) []string,
		fn func(c *bellhop.Command) (*bellhop.HistoryEntry, error)) (all, changed []bellhop.Command, err error)
	// GetPayment returns the payment record with this id (written by
	// CreateCommand from Command.Payment) or ErrNotFound wrapped.
	GetPayment(ctx context.Context, id string) (*bellhop.Payment, error)
	// ListPayments returns the payment records that match f, newest first
	// (in the order of their commands' creation).
	ListPayments(ctx context.Context, f bellhop.PaymentFilter) ([]bellhop.Payment, error)
	// History returns a command's history, oldest first.
	History(ctx context.Context, id string) ([]bellhop.HistoryEntry, error)
	// Stats returns, per device of an enterprise (all when ""), what waits and
	// when it last processed something.
	Stats(ctx context.Context, enterpriseID string) (map[string]bellhop.DeviceStats, error)
	// Purge deletes final commands last updated before the time, with their
	// history, and idempotency keys older than it. It returns how many
	// commands it deleted.
	Purge(ctx context.Context, before time.Time) (int, error)

	// AgeCommands moves every time of an enterprise's commands back by d
	// (creation, last update, history, idempotency keys, payments), as if d had
	// passed for them, and returns how many commands it moved. It is how a
	// development hub moves time for expiry and retention.
	AgeCommands(ctx context.Context, enterpriseID string, d time.Duration) (int, error)

	// SavePresence writes what hub nodes saw of subscriptions' clients: one
	// row per subscription and node, replacing the node's row but keeping
	// the earliest FirstUtc and the latest LastUtc. A subscription that does
	// not exist is ErrNotFound wrapped. Hubs call it every few seconds with
	// what changed, never once per request.
	SavePresence(ctx context.Context, rows []bellhop.Presence) error
	// ListPresence returns every row SavePresence wrote, by subscription
	// and node; never nil.
	ListPresence(ctx context.Context) ([]bellhop.Presence, error)
	// PurgePresence deletes the rows written before the time and returns
	// how many.
	PurgePresence(ctx context.Context, before time.Time) (int, error)

	// TryLock takes a named lock shared by every hub node on this database,
	// if free; release gives it back. On a single-node store it always
	// succeeds.
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)

	Close() error
}

// EscapeLike escapes the wildcards of a LIKE pattern (with ESCAPE '\').
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// Notifier is implemented by stores whose commits reach every hub node
// (PostgreSQL). A hub on such a store publishes what Listen reports instead of
// what its own service changed, so that a socket held by any node sees the
// changes made through every node.
type Notifier interface {
	// Listen reports every change to commands and connections committed by
	// any node, in commit order, until ctx is done (then it returns nil).
	// It calls the handler's functions from one goroutine, one at a time.
	// When its connection is lost it reconnects, with backoff, and calls
	// Gap. It returns an error only when it cannot listen the first time.
	Listen(ctx context.Context, h NotifyHandler) error
}

// NotifyHandler receives what a Notifier reports. Nil functions are skipped.
type NotifyHandler struct {
	// Listening is called once, when the first LISTEN is in effect: every
	// change committed after it is reported.
	Listening func()
	// Events receives the events of committed command changes. An event's
	// StateChange is true when the state column changed (a command's
	// creation included), false when only progress, notes or data did; Utc
	// is the command's UpdatedUtc.
	Events func(events []bellhop.Event)
	// Topology receives a change of a subscription's connected devices, or
	// its revocation.
	Topology func(TopologyChange)
	// Gap is called after a lost connection is listening again: changes
	// committed after Listening or the previous Gap and before this call may
	// have been missed, but none of those committed before since (by the
	// store's clock, when the connection was last known to work). Changes
	// committed after the call are reported as usual.
	Gap func(since time.Time)
}

// TopologyChange is a change that the sockets of a subscription must follow.
type TopologyChange struct {
	SubscriptionID string
	// Revoked: the subscription's token no longer works; otherwise its
	// connected devices changed.
	Revoked bool
}
