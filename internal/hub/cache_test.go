package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

// k1 is the cache key of a token pair.
var k1 = keyOf("client", "access")

func TestCacheInvalidation(t *testing.T) {
	c := newCache()
	devs := map[string]bellhop.Device{"d1": {ID: "d1"}}
	caller := &bellhop.Caller{Subscription: bellhop.Subscription{ID: "s1"}}

	gen := c.generation()
	c.putConnected("s1", devs, gen)
	c.putCaller(k1, caller, gen)
	if m, _ := c.connected("s1"); m == nil {
		t.Fatal("no devices cached")
	}
	if cl, _ := c.caller(k1); cl == nil {
		t.Fatal("no caller cached")
	}
	c.forget("s1")
	m, _ := c.connected("s1")
	cl, _ := c.caller(k1)
	if m != nil || cl != nil {
		t.Fatal("forget left the subscription's entries")
	}

	// A load that started before an invalidation must not cache what it read.
	gen = c.generation()
	c.forget("s2") // any change, while the load reads the store
	c.putConnected("s1", devs, gen)
	c.putCaller(k1, caller, gen)
	m, _ = c.connected("s1")
	cl, _ = c.caller(k1)
	if m != nil || cl != nil {
		t.Fatal("a load that raced an invalidation was cached")
	}
}

// TestCacheReloadsAhead checks that an answer past half its TTL is still
// used and handed to one request to reload, and that past its TTL it is not
// used at all.
func TestCacheReloadsAhead(t *testing.T) {
	c := newCache()
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.jitter = func() time.Duration { return 0 }
	caller := &bellhop.Caller{Subscription: bellhop.Subscription{ID: "s1"}}
	devs := map[string]bellhop.Device{"d1": {ID: "d1"}}
	c.putCaller(k1, caller, c.generation())
	c.putConnected("s1", devs, c.generation())

	if cl, reload := c.caller(k1); cl != caller || reload {
		t.Fatalf("fresh caller: %v, reload %v", cl, reload)
	}
	now = now.Add(cacheTTL/2 + time.Millisecond)
	if cl, reload := c.caller(k1); cl != caller || !reload {
		t.Fatalf("caller past half its TTL: %v, reload %v; want it used and reloaded", cl, reload)
	}
	if cl, reload := c.caller(k1); cl != caller || reload {
		t.Fatalf("second request while a reload runs: %v, reload %v; want it used, not reloaded again", cl, reload)
	}
	if m, reload := c.connected("s1"); m == nil || !reload {
		t.Fatalf("devices past half their TTL: %v, reload %v", m, reload)
	}
	// A reload that raced an invalidation keeps nothing and lets the next
	// request try again.
	gen := c.generation()
	c.forget("other")
	c.putConnected("s1", devs, gen)
	if m, reload := c.connected("s1"); m == nil || !reload {
		t.Fatalf("devices after a discarded reload: %v, reload %v; want another reload", m, reload)
	}
	// A failed reload likewise.
	c.reloadedCaller(k1)
	if _, reload := c.caller(k1); !reload {
		t.Fatal("after a failed reload no request reloads again")
	}
	c.putCaller(k1, caller, c.generation())
	if _, reload := c.caller(k1); reload {
		t.Fatal("a reloaded caller is due again at once")
	}
	now = now.Add(cacheTTL + time.Millisecond)
	if cl, _ := c.caller(k1); cl != nil {
		t.Fatal("a caller past its TTL is used")
	}
	if m, _ := c.connected("s1"); m != nil {
		t.Fatal("devices past their TTL are used")
	}
	c.dropCaller(k1)
	if len(c.callers) != 0 {
		t.Fatal("dropCaller kept the entry")
	}
}

func TestKeyedLocks(t *testing.T) {
	var k keyedLocks
	unlockA := k.lock([]string{"a", "b"})
	other := make(chan struct{})
	go func() {
		unlock := k.lock([]string{"c"}) // another key: must not wait
		unlock()
		close(other)
	}()
	select {
	case <-other:
	case <-time.After(5 * time.Second):
		t.Fatal("a lock on another key waited")
	}
	same := make(chan struct{})
	go func() {
		unlock := k.lock([]string{"b"})
		unlock()
		close(same)
	}()
	select {
	case <-same:
		t.Fatal("a lock on a held key did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	unlockA()
	select {
	case <-same:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never got the lock")
	}
	if len(k.locks) != 0 {
		t.Fatalf("%d locks kept after release", len(k.locks))
	}
}

// TestCacheReloadSpread: an answer is reloaded only past half its TTL and
// its jitter, and answers cached at the same moment get reload times spread
// over a quarter of the TTL, so that they are not all reloaded at once.
func TestCacheReloadSpread(t *testing.T) {
	c := newCache()
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	const n = 1000
	for i := range n {
		c.putConnected(fmt.Sprint("s", i), map[string]bellhop.Device{}, c.generation())
	}
	now = now.Add(cacheTTL / 2)
	var due []int // how many are due, per second from half the TTL on
	for range 8 {
		now = now.Add(time.Second)
		k := 0
		for i := range n {
			if _, reload := c.connected(fmt.Sprint("s", i)); reload {
				k++
			}
		}
		due = append(due, k)
	}
	t.Logf("reloads due per second after half the TTL, of %d cached at once: %v", n, due)
	total := 0
	for i, k := range due {
		total += k
		if k > n/3 {
			t.Errorf("second %d after half the TTL: %d of %d answers cached together are due at once", i+1, k, n)
		}
	}
	if total != n {
		t.Errorf("%d of %d answers were due within half the TTL and a quarter more, want all", total, n)
	}
	now = now.Add(cacheTTL/2 - 8*time.Second + time.Millisecond)
	if m, _ := c.connected("s0"); m != nil {
		t.Error("an answer past its TTL is used")
	}
}
