package agent

import (
	"testing"

	"github.com/bellhop/bellhop/client"
)

func TestMissingDevices(t *testing.T) {
	t.Parallel()
	hub := []client.Device{{Id: "A1B2", Name: "Front desk printer"}, {Id: "C3D4", Name: "Kitchen printer"},
		{Id: "E5F6", Name: "Key encoder"}, {Id: "0AA0", Name: "Bar"}}
	devs := []DeviceConfig{
		{Name: "front DESK printer"}, // matches without case
		{Name: "Kitchen printr"},     // a typo of a device nothing else matches
		{Name: "Key encoder 2"},      // near "Key encoder", but that one is configured below
		{Name: "KEY ENCODER"},
		{ID: "c3d5"},           // an id typo
		{Name: "Lobby screen"}, // nothing near
		{Name: "Baz"},          // short names: one edit at most
	}
	want := map[string]string{"Kitchen printr": "Kitchen printer", "Key encoder 2": "", "c3d5": "C3D4", "Lobby screen": "", "Baz": "Bar"}
	got := missingDevices(devs, hub)
	if len(got) != len(want) {
		t.Fatalf("missing = %+v, want %v", got, want)
	}
	for _, m := range got {
		if s, ok := want[m.dev.label()]; !ok || s != m.suggest {
			t.Errorf("%s: suggestion %q, want %q (listed: %v)", m.dev.label(), m.suggest, s, ok)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"printr", "printer", 1}, {"čaj", "caj", 1}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
