package hub

import (
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// cacheTTL bounds how long a cached answer may be used. Changes made through
// any node invalidate the caches at once (Publisher.DevicesChanged and
// Revoked pass through invalidating); the TTL is only a safety net.
const cacheTTL = 5 * time.Second

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
}

type cachedCaller struct {
	caller *bellhop.Caller
	at     time.Time
}

type cachedDevices struct {
	devices map[string]bellhop.Device // never modified once cached
	at      time.Time
}

func newCache() *cache {
	return &cache{callers: map[string]cachedCaller{}, devices: map[string]cachedDevices{}}
}

func (c *cache) caller(key string) *bellhop.Caller {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.callers[key]
	if !ok || time.Since(e.at) > cacheTTL {
		return nil
	}
	return e.caller
}

// generation returns the count of invalidations; a loader takes it before
// reading the store and caches what it read only if no invalidation came in
// between, so a load that raced a change never caches stale data.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *cache) putCaller(key string, caller *bellhop.Caller, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != gen {
		return
	}
	if len(c.callers) >= maxCached {
		c.callers = map[string]cachedCaller{}
	}
	c.callers[key] = cachedCaller{caller: caller, at: time.Now()}
}

func (c *cache) connected(sub string) map[string]bellhop.Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.devices[sub]
	if !ok || time.Since(e.at) > cacheTTL {
		return nil
	}
	return e.devices
}

func (c *cache) putConnected(sub string, devices map[string]bellhop.Device, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != gen {
		return
	}
	if len(c.devices) >= maxCached {
		c.devices = map[string]cachedDevices{}
	}
	c.devices[sub] = cachedDevices{devices: devices, at: time.Now()}
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
