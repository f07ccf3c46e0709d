package realtime

import (
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

// newTestSocket registers a socket without a connection: its queue fills
// as if its writer were blocked on a peer that stopped reading.
func newTestSocket(t *testing.T, b *Broker, sub, integ string, devices ...string) *socket {
	t.Helper()
	s := newSocket(b, sub, integ, devices)
	if ok, reason := b.add(s); !ok {
		t.Fatal(reason)
	}
	return s
}

func events(n int, device, creator string) []bellhop.Event {
	evs := make([]bellhop.Event, n)
	for i := range evs {
		evs[i] = bellhop.Event{StateChange: true, CommandID: bellhop.NewID(), State: bellhop.Pending, DeviceID: device,
			CreatorIntegrationID: creator, Utc: time.Now()}
	}
	return evs
}

func TestRouting(t *testing.T) {
	b := NewBroker(Config{}, nil)
	connected := newTestSocket(t, b, "sub1", "integ1", "dev1")
	creator := newTestSocket(t, b, "sub2", "integ2")
	both := newTestSocket(t, b, "sub3", "integ2", "dev1")
	other := newTestSocket(t, b, "sub4", "integ4", "dev2")

	b.Publish(events(1, "dev1", "integ2"))
	b.Publish([]bellhop.Event{{StateChange: false, CommandID: "x", DeviceID: "dev1"}}) // progress only
	for _, tc := range []struct {
		name string
		s    *socket
		want int
	}{{"connected", connected, 1}, {"creator", creator, 1}, {"connected and creator, once", both, 1}, {"other device", other, 0}} {
		if got := len(tc.s.queue); got != tc.want {
			t.Errorf("%s: %d events queued, want %d", tc.name, got, tc.want)
		}
	}

	// Connecting a device applies at once.
	b.mu.Lock()
	b.unindexDevices(other)
	other.devices = []string{"dev1", "dev2"}
	b.indexDevices(other)
	b.mu.Unlock()
	b.Publish(events(1, "dev1", ""))
	if len(other.queue) != 1 {
		t.Fatalf("after connecting: %d events", len(other.queue))
	}
	b.remove(other)
	b.Publish(events(1, "dev1", ""))
	if len(other.queue) != 1 {
		t.Fatal("a removed socket still gets events")
	}
}

// TestSlowSocketIsDropped shows that a socket whose queue overflows is
// closed with 1013 while publishing never blocks and the others get every
// event.
func TestSlowSocketIsDropped(t *testing.T) {
	b := NewBroker(Config{MaxQueue: 20}, nil)
	slow := newTestSocket(t, b, "sub1", "integ1", "dev1")
	healthy := newTestSocket(t, b, "sub2", "integ2", "dev1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			b.Publish(events(1, "dev1", ""))
			// The healthy socket's writer keeps up.
			healthy.mu.Lock()
			if len(healthy.queue) > 0 {
				healthy.queue = healthy.queue[:0]
			}
			healthy.mu.Unlock()
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a slow socket")
	}
	select {
	case <-slow.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow socket was not closed")
	}
	if slow.code != statusTryAgainLater {
		t.Fatalf("close code %d, want 1013", slow.code)
	}
	select {
	case <-healthy.done:
		t.Fatal("the healthy socket was closed")
	default:
	}
}

func TestSocketLimit(t *testing.T) {
	b := NewBroker(Config{MaxSocketsPerSubscription: 2}, nil)
	newTestSocket(t, b, "sub1", "i", "d")
	newTestSocket(t, b, "sub1", "i", "d")
	s := newSocket(b, "sub1", "i", nil)
	if ok, _ := b.add(s); ok {
		t.Fatal("a third socket for one subscription was accepted")
	}
	if ok, _ := b.add(newSocket(b, "sub2", "i", nil)); !ok {
		t.Fatal("another subscription was refused")
	}
	b.Close()
	if ok, _ := b.add(newSocket(b, "sub3", "i", nil)); ok {
		t.Fatal("a closed broker accepted a socket")
	}
}

func TestListener(t *testing.T) {
	b := NewBroker(Config{}, nil)
	l, stop := b.Listen(1)
	b.Publish(events(1, "d", ""))
	b.Publish(events(1, "d", "")) // the buffer holds one batch: this one is dropped
	if got := <-l.C; len(got) != 1 {
		t.Fatalf("batch %v", got)
	}
	if !l.Lagged() || l.Lagged() {
		t.Fatal("Lagged should report the drop once")
	}
	stop()
	if _, ok := <-l.C; ok {
		t.Fatal("channel open after stop")
	}
}

func TestEncode(t *testing.T) {
	got := string(encode(bellhop.Event{CommandID: "2391a3df-1c61-4131-b6f8-c85b4234adcb", State: bellhop.Processed}))
	want := `{"Type":"DeviceCommand","Id":"2391a3df-1c61-4131-b6f8-c85b4234adcb","State":"Processed"}`
	if got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
}
