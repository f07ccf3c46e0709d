package postgres

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

func TestEventPayloadRoundTrip(t *testing.T) {
	half := 0.5
	updated := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for _, tt := range []struct {
		name string
		c    bellhop.Command
		sc   bool
	}{
		{"created", bellhop.Command{ID: bellhop.NewID(), State: bellhop.Pending, DeviceID: bellhop.NewID(), EnterpriseID: bellhop.NewID(),
			Creator: bellhop.Creator{IntegrationID: bellhop.NewID()}, UpdatedUtc: updated}, true},
		{"progress", bellhop.Command{ID: bellhop.NewID(), State: bellhop.Processing, DeviceID: bellhop.NewID(), EnterpriseID: bellhop.NewID(),
			Progress: &half, UpdatedUtc: updated}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := encodeEvent(&tt.c, tt.sc)
			if len(p) > 250 {
				t.Errorf("payload of %d bytes: %s", len(p), p)
			}
			got, err := decodeEvent(p)
			if err != nil {
				t.Fatal(err)
			}
			want := bellhop.EventOf(&tt.c)
			want.StateChange, want.Progress, want.Utc = tt.sc, tt.c.Progress, updated.Truncate(time.Microsecond)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decode(%s)\n got %+v\nwant %+v", p, got, want)
			}
		})
	}
	for _, bad := range []string{"", "1", "2|a|Pending|d|e||0|1", "1|a|Nope|d|e|||1|1", "1|a|Pending|d|e||x|1|1", "1|a|Pending|d|e|||x|1", "1|a|Pending|d|e|||1|2"} {
		if _, err := decodeEvent(bad); err == nil {
			t.Errorf("decode(%q): no error", bad)
		}
	}
}

func TestTopologyPayloadRoundTrip(t *testing.T) {
	for _, tc := range []store.TopologyChange{{SubscriptionID: bellhop.NewID()}, {SubscriptionID: bellhop.NewID(), Revoked: true}} {
		got, err := decodeTopology(encodeTopology(tc))
		if err != nil || got != tc {
			t.Errorf("round trip of %+v: %+v, %v", tc, got, err)
		}
	}
	for _, bad := range []string{"", "d", "d|", "x|id"} {
		if _, err := decodeTopology(bad); err == nil {
			t.Errorf("decode(%q): no error", bad)
		}
	}
}

func TestChannelName(t *testing.T) {
	if got := channel("", eventsChannel); got != eventsChannel {
		t.Errorf("no schema: %q", got)
	}
	long := strings.Repeat("s", 63)
	if a, b := channel(long, topologyChannel), channel(long+"x", topologyChannel); len(a) > 63 || a == b {
		t.Errorf("long schemas: %q, %q", a, b)
	}
}

// FuzzDecodeEvent: payloads come from the database, which any node (of any
// version) writes to; no payload may crash a listener.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(encodeEvent(&bellhop.Command{ID: "a", State: bellhop.Processed, UpdatedUtc: time.Now()}, true))
	f.Add("1|a|Pending|d|e||0.25|1|0")
	f.Fuzz(func(t *testing.T, p string) {
		e, err := decodeEvent(p)
		if err != nil {
			return
		}
		c := bellhop.Command{ID: e.CommandID, State: e.State, DeviceID: e.DeviceID, EnterpriseID: e.EnterpriseID,
			Creator: bellhop.Creator{IntegrationID: e.CreatorIntegrationID}, Progress: e.Progress, UpdatedUtc: e.Utc}
		if strings.Contains(e.CommandID+e.DeviceID+e.EnterpriseID+e.CreatorIntegrationID, "|") {
			t.Fatalf("field with a separator from %q", p)
		}
		if _, err := decodeEvent(encodeEvent(&c, e.StateChange)); err != nil {
			t.Fatalf("re-encoding %q: %v", p, err)
		}
	})
}

// TestEventsPayloads: the events of a group travel in as few payloads as fit
// PostgreSQL's limit, and come out in order.
func TestEventsPayloads(t *testing.T) {
	half := 0.5
	var encoded []string
	var want []bellhop.Event
	for i := range 200 {
		c := bellhop.Command{ID: bellhop.NewID(), State: bellhop.Processing, DeviceID: bellhop.NewID(), EnterpriseID: bellhop.NewID(),
			Creator: bellhop.Creator{IntegrationID: bellhop.NewID()}, UpdatedUtc: time.UnixMicro(int64(i)).UTC()}
		if i%2 == 0 {
			c.Progress = &half
		}
		encoded = append(encoded, encodeEvent(&c, i%3 == 0))
		e := bellhop.EventOf(&c)
		e.StateChange, e.Progress = i%3 == 0, c.Progress
		want = append(want, e)
	}
	payloads := joinEvents(encoded)
	if len(payloads) < 2 || len(payloads) > 10 {
		t.Errorf("%d payloads for 200 events", len(payloads))
	}
	var got []bellhop.Event
	for _, p := range payloads {
		if len(p) > 8000 {
			t.Errorf("payload of %d bytes", len(p))
		}
		events, err := decodeEvents(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, events...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %d events, not the %d encoded, in order", len(got), len(want))
	}
	if joinEvents(nil) != nil {
		t.Error("payloads without events")
	}
	// A line it cannot read is skipped, the others kept.
	events, err := decodeEvents(encoded[0] + "\nbad\n" + encoded[1])
	if err == nil || len(events) != 2 || !reflect.DeepEqual(events, want[:2]) {
		t.Errorf("with a bad line: %v, %v", events, err)
	}
}

// FuzzDecodeEvents: no payload may crash a listener, and what it reads from
// a payload of several events encodes again to as many events.
func FuzzDecodeEvents(f *testing.F) {
	c := bellhop.Command{ID: "a", State: bellhop.Processed, UpdatedUtc: time.Now()}
	f.Add(strings.Join([]string{encodeEvent(&c, true), encodeEvent(&c, false)}, "\n"))
	f.Add("1|a|Pending|d|e||0.25|1|0\n\n1|b|Pending|d|e|||1|1")
	f.Fuzz(func(t *testing.T, p string) {
		events, _ := decodeEvents(p)
		var encoded []string
		for _, e := range events {
			c := bellhop.Command{ID: e.CommandID, State: e.State, DeviceID: e.DeviceID, EnterpriseID: e.EnterpriseID,
				Creator: bellhop.Creator{IntegrationID: e.CreatorIntegrationID}, Progress: e.Progress, UpdatedUtc: e.Utc}
			encoded = append(encoded, encodeEvent(&c, e.StateChange))
		}
		n := 0
		for _, q := range joinEvents(encoded) {
			again, err := decodeEvents(q)
			if err != nil {
				t.Fatalf("re-encoding %q: %v", p, err)
			}
			n += len(again)
		}
		if n != len(events) {
			t.Fatalf("re-encoding %q: %d events, want %d", p, n, len(events))
		}
	})
}
