package cli

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// gcPercent reads the GC percent in force.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// With a small heap, --gc-heap raises the GC percent after the next
// collections, and stopping restores what was in force; with GOGC or
// GOMEMLIMIT set, or 0, it changes nothing.
func TestTuneGC(t *testing.T) {
	noEnv := func(string) string { return "" }
	before := gcPercent()
	for _, tc := range []struct {
		name string
		mib  int
		env  map[string]string
		want string
	}{
		{"off", 0, nil, "Go's default"},
		{"GOGC set", 256, map[string]string{"GOGC": "100"}, "ignored"},
		{"GOMEMLIMIT set", 256, map[string]string{"GOMEMLIMIT": "1GiB"}, "ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop, did := tuneGC(tc.mib, func(k string) string { return tc.env[k] })
			defer stop()
			if !strings.Contains(did, tc.want) {
				t.Errorf("tuneGC says %q, want it to say %q", did, tc.want)
			}
			for range 3 {
				runtime.GC()
			}
			time.Sleep(50 * time.Millisecond) // a tuner would run in the finalizer goroutine
			if p := gcPercent(); p != before {
				t.Errorf("GC percent %d, want %d left alone", p, before)
			}
		})
	}

	t.Run("percent", func(t *testing.T) {
		for _, tc := range []struct {
			live, heap uint64
			want       int
		}{
			{0, 256 << 20, 100},
			{200 << 20, 256 << 20, 100}, // over half: Go's default
			{128 << 20, 256 << 20, 100},
			{64 << 20, 256 << 20, 300},
			{32 << 20, 256 << 20, 700},
			{1 << 20, 256 << 20, maxGCPercent},
		} {
			if got := gcPercentFor(tc.live, tc.heap); got != tc.want {
				t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", tc.live>>20, tc.heap>>20, got, tc.want)
			}
		}
	})

	t.Run("tuned", func(t *testing.T) {
		stop, did := tuneGC(256, noEnv)
		if !strings.Contains(did, "256 MiB") {
			t.Errorf("tuneGC says %q", did)
		}
		// The test binary's heap is a few MiB: the percent goes up to the
		// tuner's ceiling once a collection has run its finalizers.
		floor := max(before, 100)
		p := before
		for i := 0; i < 100 && p <= floor; i++ {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			p = gcPercent()
		}
		if p <= floor {
			t.Errorf("GC percent %d after 100 collections with a heap far under 128 MiB, want above %d", p, floor)
		}
		stop()
		if p := gcPercent(); p != before {
			t.Errorf("GC percent %d after stop, want %d as before", p, before)
		}
		// Once stopped, collections leave it there.
		for range 3 {
			runtime.GC()
		}
		time.Sleep(50 * time.Millisecond)
		if p := gcPercent(); p != before {
			t.Errorf("GC percent %d after stop and collections, want %d", p, before)
		}
	})
}
