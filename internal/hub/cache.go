package hub

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// cacheTTL bounds how long a cached answer may be used. Changes made through
// any node invalidate the caches at once (Publisher.DevicesChanged and
// Revoked pass through invalidating); the TTL is only a safety net.
//
// An answer past half its TTL is still used, and the request that finds it
// so reloads it in the background: a subscription in steady use never waits
// for the store to authenticate, where a plain expiry sent one request in
// eight of a busy agent to a store read (the auth stage's p90 under load).
// Each answer waits a random part of a quarter of the TTL more before it is
// reloaded (cache.jitter), so that answers cached together (agents that
// connected together, after a restart say) are not reloaded together: 1,000
// agents that connected within a second reloaded 2,000 answers within two
// seconds, half as many reads again as 500 lifecycles/s ask, every 15 s.
const cacheTTL = 30 * time.Second

// maxCached bounds each cache; past it the cache starts afresh.
const maxCached = 50000

// cache keeps, per subscription, the answers that every Connector request
// needs and that change rarely: the caller its tokens identify and the
// devices connected to it.
type cache struct {
	mu      sync.Mutex
	callers map[callerKey]cached[*bellhop.Caller]        // hash of the token pair -> caller
	devices map[string]cached[map[string]bellhop.Device] // subscription -> connected devices (never modified once cached)
	epoch   uint64                                       // invalidations so far
	now     func() time.Time                             // time.Now; tests move it
	jitter  func() time.Duration                         // how much later than half its TTL an answer is reloaded
}

// cached is one answer, when it was read and when to reload it.
type cached[T any] struct {
	v          T
	at         time.Time
	reloadAt   time.Time // at, half the TTL and the jitter later
	refreshing bool      // a background reload runs
}

func newCache() *cache {
	return &cache{callers: map[callerKey]cached[*bellhop.Caller]{}, devices: map[string]cached[map[string]bellhop.Device]{},
		now: time.Now, jitter: func() time.Duration { return rand.N(cacheTTL / 4) }}
}

// lookup returns the answer cached in m under key, the zero value when none
// may be used, and whether the caller of lookup should reload it in the
// background: it is past half its TTL and its jitter and no reload runs
// (the entry is then marked as reloading). c.mu is held.
func lookup[K comparable, T any](c *cache, m map[K]cached[T], key K) (v T, reload bool) {
	e, ok := m[key]
	if !ok {
		return v, false
	}
	now := c.now()
	if now.Sub(e.at) > cacheTTL {
		return v, false
	}
	if now.After(e.reloadAt) && !e.refreshing {
		e.refreshing = true
		m[key] = e
		return e.v, true
	}
	return e.v, false
}

// keep caches v in *m under key, unless an invalidation came since gen,
// in which case it only ends the key's reload. Past maxCached entries the
// map starts afresh. c.mu is held.
func keep[K comparable, T any](c *cache, m *map[K]cached[T], key K, v T, gen uint64) {
	if c.epoch != gen {
		endReload(*m, key)
		return
	}
	if len(*m) >= maxCached {
		*m = map[K]cached[T]{}
	}
	at := c.now()
	(*m)[key] = cached[T]{v: v, at: at, reloadAt: at.Add(cacheTTL/2 + c.jitter())}
}

// endReload clears the reload mark of m's entry under key; c.mu is held.
func endReload[K comparable, T any](m map[K]cached[T], key K) {
	if e, ok := m[key]; ok && e.refreshing {
		e.refreshing = false
		m[key] = e
	}
}

// caller returns the cached caller of key, nil when none may be used, and
// whether the caller of this method should reload it in the background (see
// lookup).
func (c *cache) caller(key callerKey) (caller *bellhop.Caller, reload bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lookup(c, c.callers, key)
}

// generation returns the count of invalidations; a loader takes it before
// reading the store and caches what it read only if no invalidation came in
// between, so a load that raced a change never caches stale data.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// putCaller caches what a load read, unless an invalidation came since gen.
func (c *cache) putCaller(key callerKey, caller *bellhop.Caller, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep(c, &c.callers, key, caller, gen)
}

// reloadedCaller ends a background reload of a caller that failed, so that
// a later request may try again.
func (c *cache) reloadedCaller(key callerKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	endReload(c.callers, key)
}

// dropCaller forgets key: its tokens no longer identify a caller.
func (c *cache) dropCaller(key callerKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.callers, key)
}

// connected returns the cached devices of a subscription, nil when none may
// be used, and whether to reload them in the background (as caller).
func (c *cache) connected(sub string) (devices map[string]bellhop.Device, reload bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lookup(c, c.devices, sub)
}

// putConnected caches what a load read, unless an invalidation came since
// gen.
func (c *cache) putConnected(sub string, devices map[string]bellhop.Device, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep(c, &c.devices, sub, devices, gen)
}

// reloadedConnected ends a background reload of devices that failed.
func (c *cache) reloadedConnected(sub string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	endReload(c.devices, sub)
}

// forget drops what is cached for a subscription.
func (c *cache) forget(sub string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.devices, sub)
	for k, e := range c.callers {
		if e.v.Subscription.ID == sub {
			delete(c.callers, k)
		}
	}
}

// invalidating passes topology changes on after dropping what the cache
// holds for the subscription.
type invalidating struct {
	Publisher
	c *cache
}

func (p invalidating) DevicesChanged(sub string) {
	p.c.forget(sub)
	p.Publisher.DevicesChanged(sub)
}

func (p invalidating) Revoked(sub string) {
	p.c.forget(sub)
	p.Publisher.Revoked(sub)
}

// keyedLocks holds one mutex per key in use, so that only changes of the
// same command wait for each other.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock takes the locks of keys (sorted, without duplicates, so that two
// callers never wait for each other in a cycle) and returns their release.
func (k *keyedLocks) lock(keys []string) func() {
	held := make([]*keyedLock, 0, len(keys))
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	for _, key := range keys {
		l := k.locks[key]
		if l == nil {
			l = &keyedLock{}
			k.locks[key] = l
		}
		l.users++
		held = append(held, l)
	}
	k.mu.Unlock()
	for _, l := range held {
		l.Lock()
	}
	return func() {
		for _, l := range held {
			l.Unlock()
		}
		k.mu.Lock()
		for i, l := range held {
			if l.users--; l.users == 0 {
				delete(k.locks, keys[i])
			}
		}
		k.mu.Unlock()
	}
}
