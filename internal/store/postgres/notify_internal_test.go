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
