package hub

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/reqlog"
)

// Config configures the hub service. The zero value of each field means its
// documented default.
type Config struct {
	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
	// Logger receives the service's logs; default slog.Default().
	Logger *slog.Logger
	// Expiry per Mews device type; a type missing from the map uses
	// DefaultExpiry.
	Expiry map[bellhop.DeviceType]Expiry
	// GenericExpiry is the expiry of generic devices' commands (a Type
	// label of their own); default DefaultExpiry.
	GenericExpiry Expiry
	// Retention is how long final commands are kept; default
	// DefaultRetention.
	Retention time.Duration
	// SweepInterval is how often expiry and retention run; default 1 minute.
	SweepInterval time.Duration
	// PasswordParams are the argon2id costs of new console password
	// hashes; default DefaultPasswordParams.
	PasswordParams PasswordParams
	// Faults is the node's fault injector, which the admin API and the
	// console set faults on; nil: faults are not available.
	Faults *fault.Injector
	// Requests is the node's request log; nil: it keeps none.
	Requests *reqlog.Log
	// DevTime lets AdvanceTime move an enterprise's time, as serve --dev
	// does; default false: time moves only on a development hub.
	DevTime bool
	// Clustered says that several hub nodes share the store and that it
	// reports every committed change to every node (store.Notifier). The
	// service then publishes nothing itself: the Publisher given to New is
	// not called, and Relay, run on each node, publishes what the store
	// reports, in commit order, for the changes made through any node.
	// Default false: the service publishes its own changes, after commit.
	Clustered bool
	// Node names this hub node in the presence rows it writes (see Seen);
	// default the host name and a random suffix.
	Node string
	// PresenceFlush is how often what the node saw of its callers is
	// written to the store (only what changed); default 5 s. Close writes
	// the rest.
	PresenceFlush time.Duration
	// Sockets, when set, reports the node's open WebSockets per
	// subscription, read at each presence flush.
	Sockets func() map[string]Sockets
}

// Sockets are a subscription's open WebSockets on one node.
type Sockets struct {
	Count int
	// Since is when the oldest of them opened.
	Since time.Time
}

// Expiry says when a command nobody finishes is closed by the hub.
type Expiry struct {
	// Waiting: a Pending or Received command with no update for this long
	// becomes Cancelled. Default 24 h.
	Waiting time.Duration
	// Processing: a Processing command with no update for this long becomes
	// Error. Default 15 min.
	Processing time.Duration
}

// DefaultExpiry is the expiry of device types that Config.Expiry omits.
var DefaultExpiry = Expiry{Waiting: 24 * time.Hour, Processing: 15 * time.Minute}

// DefaultRetention is how long final commands are kept unless configured
// otherwise: 30 days.
const DefaultRetention = 30 * 24 * time.Hour

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = time.Minute
	}
	if c.PresenceFlush <= 0 {
		c.PresenceFlush = 5 * time.Second
	}
	if c.Node == "" {
		c.Node = defaultNode()
	}
	if c.PasswordParams == (PasswordParams{}) {
		c.PasswordParams = DefaultPasswordParams
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	for t, e := range c.Expiry {
		if !t.Mews() {
			return fmt.Errorf("hub: expiry for %q: per type only for the Mews device types; generic devices take GenericExpiry", t)
		}
		if e.Waiting < 0 || e.Processing < 0 {
			return fmt.Errorf("hub: negative expiry for %s", t)
		}
	}
	switch {
	case c.GenericExpiry.Waiting < 0 || c.GenericExpiry.Processing < 0:
		return fmt.Errorf("hub: negative expiry for generic devices")
	case c.Retention < 0:
		return fmt.Errorf("hub: negative retention")
	case c.SweepInterval < 0:
		return fmt.Errorf("hub: negative sweep interval")
	case c.PasswordParams != (PasswordParams{}) && (c.PasswordParams.Memory < 8 || c.PasswordParams.Time < 1 || c.PasswordParams.Threads < 1):
		return fmt.Errorf("hub: password hashing needs at least 8 KiB, one pass and one thread")
	}
	return nil
}

// expiry is the expiry of a device type's commands, defaults filled in.
func (c *Config) expiry(t bellhop.DeviceType) Expiry {
	if t.Generic() {
		return c.GenericExpiry.orDefault()
	}
	e, ok := c.Expiry[t]
	if !ok {
		return DefaultExpiry
	}
	return e.orDefault()
}

func (e Expiry) orDefault() Expiry {
	if e.Waiting == 0 {
		e.Waiting = DefaultExpiry.Waiting
	}
	if e.Processing == 0 {
		e.Processing = DefaultExpiry.Processing
	}
	return e
}
