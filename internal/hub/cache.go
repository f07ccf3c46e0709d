package hub

import (
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
const cacheTTL = 30 * time.Second

// maxCached bounds each cache; past it the cache starts afresh.
const maxCached = 50000

// cache keeps, per subscription, the answers that every Connector request
// needs and that change rarely: the caller its tokens identify and the
// devices connected to it.
type cache struct {
	mu      sync.Mutex
	callers map[string]cachedCaller  // token hashes -> caller
	devices map[string]cachedDevices // subscription -> connected devices
	epoch   uint64                   // invalidations so far
	now     func() time.Time         // time.Now; tests move it
}

type cachedCaller struct {
	caller     *bellhop.Caller
	at         time.Time
	refreshing bool // a background reload runs
}

type cachedDevices struct {
	devices    map[string]bellhop.Device // never modified once cached
	at         time.Time
	refreshing bool // a background reload runs
}

func newCache() *cache {
	return &cache{callers: map[string]cachedCaller{}, devices: map[string]cachedDevices{}, now: time.Now}
}

// fresh reports whether an answer read at "at" may still be used, and
// whether it is past half its TTL, so due for a reload.
func (c *cache) fresh(at time.Time) (ok, due bool) {
	age := c.now().Sub(at)
	return age <= cacheTTL, age > cacheTTL/2
}

// caller returns the cached caller of key, nil when none may be used, and
// whether the caller of this method should reload it in the background (it
// is due and no reload runs; the entry is marked as reloading).
func (c *cache) caller(key string) (caller *bellhop.Caller, reload bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.callers[key]
	if !ok {
		return nil, false
	}
	fresh, due := c.fresh(e.at)
	if !fresh {
		return nil, false
	}
	if due && !e.refreshing {
		e.refreshing = true
		c.callers[key] = e
		return e.caller, true
	}
	return e.caller, false
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
func (c *cache) putCaller(key string, caller *bellhop.Caller, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != gen {
		c.endReload(key, "")
		return
	}
	if len(c.callers) >= maxCached {
		c.callers = map[string]cachedCaller{}
	}
	c.callers[key] = cachedCaller{caller: caller, at: c.now()}
}

// reloadedCaller ends a background reload of a caller that failed, so that
// a later request may try again.
func (c *cache) reloadedCaller(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endReload(key, "")
}

// endReload clears the reload mark of a caller's key or a subscription's
// devices (either may be ""); c.mu is held.
func (c *cache) endReload(key, sub string) {
	if e, ok := c.callers[key]; ok && e.refreshing {
		e.refreshing = false
		c.callers[key] = e
	}
	if e, ok := c.devices[sub]; ok && e.refreshing {
		e.refreshing = false
		c.devices[sub] = e
	}
}

// dropCaller forgets key: its tokens no longer identify a caller.
func (c *cache) dropCaller(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.callers, key)
}

// connected returns the cached devices of a subscription, nil when none may
// be used, and whether to reload them in the background (as caller).
func (c *cache) connected(sub string) (devices map[string]bellhop.Device, reload bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.devices[sub]
	if !ok {
		return nil, false
	}
	fresh, due := c.fresh(e.at)
	if !fresh {
		return nil, false
	}
	if due && !e.refreshing {
		e.refreshing = true
		c.devices[sub] = e
		return e.devices, true
	}
	return e.devices, false
}

// putConnected caches what a load read, unless an invalidation came since
// gen.
func (c *cache) putConnected(sub string, devices map[string]bellhop.Device, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != gen {
		c.endReload("", sub)
		return
	}
	if len(c.devices) >= maxCached {
		c.devices = map[string]cachedDevices{}
	}
	c.devices[sub] = cachedDevices{devices: devices, at: c.now()}
}

// reloadedConnected ends a background reload of devices that failed.
func (c *cache) reloadedConnected(sub string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endReload("", sub)
}

// forget drops what is cached for a subscription.
func (c *cache) forget(sub string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.devices, sub)
	for k, e := range c.callers {
		if e.caller.Subscription.ID == sub {
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
