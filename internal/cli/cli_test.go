package cli

import (
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bellhop/bellhop/internal/bench"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/node"
	"github.com/bellhop/bellhop/internal/ratelimit"
	"github.com/bellhop/bellhop/internal/realtime"
)

// TestDefaults: a flag left out is the default of the package that owns it.
func TestDefaults(t *testing.T) {
	t.Parallel()
	var cmd command
	parser, err := kong.New(&cmd, defaults())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse([]string{"serve"}); err != nil {
		t.Fatal(err)
	}
	s := cmd.Serve
	if s.Addr != node.DefaultAddr || s.Data != node.DefaultDataDir || s.MaxBody != httpapi.DefaultMaxBody ||
		s.RateLimit != ratelimit.DefaultLimit || s.RateWindow != ratelimit.DefaultWindow || s.Retention != hub.DefaultRetention ||
		s.MaxSockets != realtime.DefaultMaxSockets || s.ExpireWaiting != hub.DefaultExpiry.Waiting ||
		s.ExpireProcessing != hub.DefaultExpiry.Processing {
		t.Errorf("serve defaults %+v", s)
	}
	if _, err := parser.Parse([]string{"bench"}); err != nil {
		t.Fatal(err)
	}
	b, want := cmd.Bench, bench.DefaultConfig()
	if b.Scenario != want.Scenario || b.Agents != want.Agents || b.Duration != want.Duration || b.Warmup != want.Warmup ||
		b.Bound != want.Bound || b.Drain != want.Drain || b.Waiting != want.Waiting || b.MaxInFlight != want.MaxInFlight {
		t.Errorf("bench defaults %+v, want %+v", b, want)
	}
	for d, want := range map[string]string{"720h0m0s": "720h", "15m0s": "15m", "30s": "30s", "100ms": "100ms", "1h30m0s": "1h30m"} {
		parsed, _ := time.ParseDuration(d)
		if got := duration(parsed); got != want {
			t.Errorf("duration(%s) = %s, want %s", d, got, want)
		}
	}
}
