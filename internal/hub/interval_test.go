package hub

import (
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

func TestIntervalResolve(t *testing.T) {
	now := time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	ms := time.Millisecond
	tests := []struct {
		name     string
		in       Interval
		from, to time.Time
		why      string
	}{
		{"closed", Interval{at("2026-05-01T00:00:00Z"), at("2026-05-02T00:00:00Z")}, *at("2026-05-01T00:00:00Z"), *at("2026-05-02T00:00:00Z"), ""},
		{"open end: up to now, now included", Interval{Start: at("2026-05-01T00:00:00Z")}, *at("2026-05-01T00:00:00Z"), now.Add(ms), ""},
		{"open start: three months before the end", Interval{End: at("2026-05-02T00:00:00Z")}, *at("2026-02-02T00:00:00Z"), *at("2026-05-02T00:00:00Z"), ""},
		{"both open: the last three months", Interval{}, now.AddDate(0, -3, 0), now.Add(ms), ""},
		{"an instant", Interval{at("2026-05-01T00:00:00Z"), at("2026-05-01T00:00:00Z")}, *at("2026-05-01T00:00:00Z"), at("2026-05-01T00:00:00Z").Add(ms), ""},
		{"exactly three months", Interval{at("2026-01-31T00:00:00Z"), at("2026-04-30T00:00:00Z")}, *at("2026-01-31T00:00:00Z"), *at("2026-04-30T00:00:00Z"), ""},
		{"backwards", Interval{at("2026-05-02T00:00:00Z"), at("2026-05-01T00:00:00Z")}, time.Time{}, time.Time{}, "before StartUtc"},
		{"too long", Interval{at("2026-01-01T00:00:00Z"), at("2026-04-02T00:00:00Z")}, time.Time{}, time.Time{}, "longer than 3 months"},
		{"open end, old start", Interval{Start: at("2026-01-01T00:00:00Z")}, time.Time{}, time.Time{}, "more than 3 months before now"},
	}
	for _, tt := range tests {
		from, to, err := tt.in.Resolve(now, "UpdatedUtc")
		switch {
		case tt.why != "":
			if bellhop.ErrorMessage(err) != "Invalid UpdatedUtc" || !strings.Contains(bellhop.ErrorDetails(err), tt.why) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.why)
			}
		case err != nil || !from.Equal(tt.from) || !to.Equal(tt.to):
			t.Errorf("%s: [%v, %v) %v, want [%v, %v)", tt.name, from, to, err, tt.from, tt.to)
		}
	}
}
