// Package hub is the service layer of the hub: authentication, who may see
// and change what, the state rules, the Data of new commands, and the events
// every change emits. It sits above the store.Store interface and below the
// HTTP and WebSocket adapters, so each business rule lives here once.
package hub

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// Publisher receives what changed, after it is committed. realtime.Broker is
// the usual one. Calls must not block.
type Publisher interface {
	// Publish delivers command events, in commit order per command.
	Publish(events []bellhop.Event)
	// DevicesChanged says the connected devices of a subscription changed.
	DevicesChanged(subscriptionID string)
	// Revoked says a subscription's token no longer works.
	Revoked(subscriptionID string)
}

// Service is the hub's business logic. It is safe for concurrent use.
type Service struct {
	cfg   Config
	store store.Store
	pub   Publisher
	log   *slog.Logger

	locks keyedLocks // per-command order of commit and publish
	cache *cache
	users users
	// presence is what this node saw of its callers (see Seen).
	presence presences
	// pending is what this node last saw Pending (see CommandsByIDs).
	pending pendingSet
}

// New returns a service over s that publishes to pub (nil: nowhere). With
// cfg.Clustered it never calls pub: run Relay instead.
func New(cfg Config, s store.Store, pub Publisher) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if pub == nil || cfg.Clustered {
		pub = nopPublisher{} // clustered: Relay publishes what the store reports
	}
	c := newCache()
	svc := &Service{cfg: cfg, store: s, log: cfg.Logger, cache: c}
	svc.pub = invalidating{pub, c}
	if !cfg.Clustered { // clustered: Relay notes what every node commits
		svc.pub = noting{svc.pub, &svc.pending}
	}
	svc.users.params = cfg.PasswordParams
	return svc, nil
}

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.cfg.Now().UTC() }

type nopPublisher struct{}

func (nopPublisher) Publish([]bellhop.Event) {}
func (nopPublisher) DevicesChanged(string)   {}
func (nopPublisher) Revoked(string)          {}

var errUnauthorized = &bellhop.Error{Code: bellhop.EUNAUTHORIZED, Message: "Invalid ClientToken or AccessToken."}

// Authenticate returns the caller that the token pair identifies, or an
// EUNAUTHORIZED error. Tokens are stored and looked up only as SHA-256
// hashes: the comparison runs on hashes whose bytes a caller cannot steer, so
// its timing reveals nothing about a stored token.
func (s *Service) Authenticate(ctx context.Context, clientToken, accessToken string) (*bellhop.Caller, error) {
	if clientToken == "" || accessToken == "" || len(clientToken) > 512 || len(accessToken) > 512 {
		return nil, errUnauthorized
	}
	key := keyOf(clientToken, accessToken)
	if c, reload := s.cache.caller(key); c != nil {
		if reload {
			ch, ah := bellhop.HashToken(clientToken), bellhop.HashToken(accessToken)
			go func() {
				ctx, cancel := reloadContext(ctx)
				defer cancel()
				if _, err := s.loadCaller(ctx, key, ch, ah); errors.Is(err, errUnauthorized) {
					s.cache.dropCaller(key) // the tokens no longer work
				} else if err != nil {
					s.cache.reloadedCaller(key)
				}
			}()
		}
		return c, nil
	}
	return s.loadCaller(ctx, key, bellhop.HashToken(clientToken), bellhop.HashToken(accessToken))
}

// callerKey is what the cache knows a token pair by: a hash of both, so
// that a cached request needs one hash and no string of its own.
type callerKey [sha256.Size]byte

// keyOf returns the cache key of a token pair (each at most 512 bytes; the
// client token's length makes the pair's split unambiguous).
func keyOf(clientToken, accessToken string) callerKey {
	var b [2 + 2*512]byte
	buf := append(b[:0], byte(len(clientToken)>>8), byte(len(clientToken)))
	buf = append(append(buf, clientToken...), accessToken...)
	return sha256.Sum256(buf)
}

// loadCaller reads the caller of a token pair's hashes and caches it under
// key.
func (s *Service) loadCaller(ctx context.Context, key callerKey, clientHash, accessHash string) (*bellhop.Caller, error) {
	gen := s.cache.generation()
	c, err := s.store.Authenticate(ctx, clientHash, accessHash)
	if errors.Is(err, bellhop.ErrNotFound) {
		return nil, errUnauthorized
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	s.cache.putCaller(key, c, gen)
	return c, nil
}

// AuthenticateAdmin returns the name of the admin token, or EUNAUTHORIZED.
func (s *Service) AuthenticateAdmin(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 512 {
		return "", errUnauthorizedAdmin
	}
	h := bellhop.HashToken(token)
	name, err := s.store.AdminTokenName(ctx, h)
	if errors.Is(err, bellhop.ErrNotFound) {
		return "", errUnauthorizedAdmin
	} else if err != nil {
		return "", fmt.Errorf("authenticate admin: %w", err)
	}
	return name, nil
}

var errUnauthorizedAdmin = &bellhop.Error{Code: bellhop.EUNAUTHORIZED, Message: "Invalid admin token."}

// lock takes the locks of the given commands, so that a command's changes
// are committed and published in the same order.
func (s *Service) lock(ids []string) (unlock func()) {
	keys := append([]string(nil), ids...)
	sort.Strings(keys)
	keys = slices.Compact(keys)
	return s.locks.lock(keys)
}

// changeFunc changes a command in place and returns the history entry to
// record (nil: nothing changed) and whether the state moved.
type changeFunc func(c *bellhop.Command) (entry *bellhop.HistoryEntry, stateChange bool, err error)

// update applies fn to the commands in one transaction and publishes the
// events of what changed.
func (s *Service) update(ctx context.Context, ids []string, fn changeFunc) ([]bellhop.Command, error) {
	unlock := s.lock(ids)
	defer unlock()
	moved := map[string]bool{}
	changed, err := s.store.UpdateCommands(ctx, ids, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		e, sc, err := fn(c)
		moved[c.ID] = sc
		return e, err
	})
	if err != nil {
		return nil, err
	}
	s.publish(changed, moved)
	return changed, nil
}

// applyFunc returns the changeFunc that applies u by the state rules.
func (s *Service) applyFunc(u bellhop.Update) changeFunc {
	return func(c *bellhop.Command) (*bellhop.HistoryEntry, bool, error) {
		now := s.Now()
		sc, changed, err := c.Apply(u, now)
		if err != nil || !changed {
			return nil, false, err
		}
		return &bellhop.HistoryEntry{State: c.State, Utc: now, Actor: u.Actor, Progress: c.Progress, Notes: c.Notes,
			ExternalID: u.ExternalID}, sc, nil
	}
}

// publish emits the events of changed commands. stateChanged, when not nil,
// says per command id whether its state (rather than only its progress) moved;
// nil means every command changed state.
func (s *Service) publish(changed []bellhop.Command, stateChanged map[string]bool) {
	if len(changed) == 0 {
		return
	}
	events := make([]bellhop.Event, len(changed))
	for i := range changed {
		events[i] = bellhop.EventOf(&changed[i])
		if stateChanged != nil {
			events[i].StateChange = stateChanged[changed[i].ID]
		}
		events[i].Progress = changed[i].Progress
	}
	s.pub.Publish(events)
}
