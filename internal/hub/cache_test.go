package hub

import (
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

func TestCacheInvalidation(t *testing.T) {
	c := newCache()
	devs := map[string]bellhop.Device{"d1": {ID: "d1"}}
	caller := &bellhop.Caller{Subscription: bellhop.Subscription{ID: "s1"}}

	gen := c.generation()
	c.putConnected("s1", devs, gen)
	c.putCaller("k1", caller, gen)
	if c.connected("s1") == nil || c.caller("k1") == nil {
		t.Fatal("nothing cached")
	}
	c.forget("s1")
	if c.connected("s1") != nil || c.caller("k1") != nil {
		t.Fatal("forget left the subscription's entries")
	}

	// A load that started before an invalidation must not cache what it read.
	gen = c.generation()
	c.forget("s2") // any change, while the load reads the store
	c.putConnected("s1", devs, gen)
	c.putCaller("k1", caller, gen)
	if c.connected("s1") != nil || c.caller("k1") != nil {
		t.Fatal("a load that raced an invalidation was cached")
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
