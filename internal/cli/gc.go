package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// defaultGCHeapMiB is --gc-heap's default.
const defaultGCHeapMiB = 128

// maxGCPercent bounds the GC percent tuneGC sets for a tiny heap.
const maxGCPercent = 1000

// tuneGC lets the hub's heap grow to about mib MiB between garbage
// collections while the live heap is under half of that, and collects as Go
// does by default (each time the heap doubles) above it, never more often.
// A hub holds little (25-30 MB with 1,000 agents connected), so by default
// it collected about once a second at 500 lifecycles/s, and each collection
// took a core of two for some 10 ms: a tail of the requests waited for it.
// mib 0 leaves the default. GOGC or GOMEMLIMIT in the environment are the
// operator's choice and win. It returns what it did, for the log, and a
// function that stops the tuning and restores the GC percent it found.
//
// After each collection, a finalizer sets the GC percent from the live heap
// it left (runtime/metrics). github.com/bytedance/gopkg/util/gctuner does
// the same, but sizes from HeapInuse (which counts spans not yet swept, so
// the heap grows a third less than asked) and its bounds race with its
// finalizer under the race detector.
func tuneGC(mib int, getenv func(string) string) (stop func(), did string) {
	switch {
	case mib == 0:
		return func() {}, "Go's default (--gc-heap 0)"
	case getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "":
		return func() {}, "as GOGC and GOMEMLIMIT say (--gc-heap ignored)"
	}
	t := &gcTuner{heap: uint64(mib) << 20, was: debug.SetGCPercent(100)}
	t.arm()
	return t.stop, fmt.Sprintf("heap up to %d MiB between collections", mib)
}

// gcTuner sets the GC percent after each collection (see tuneGC).
type gcTuner struct {
	heap uint64 // bytes the heap may grow to
	was  int    // the GC percent before, restored by stop

	mu      sync.Mutex // stop waits for a tune under way
	stopped bool
}

// gcSentinel is garbage on purpose: its finalizer runs after the
// collection that found it, tunes, and arms a new one.
type gcSentinel struct{ t *gcTuner }

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{t}, func(s *gcSentinel) {
		if s.t.tune() {
			s.t.arm()
		}
	})
}

// tune sets the GC percent from the live heap; false once stopped.
func (t *gcTuner) tune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	debug.SetGCPercent(gcPercentFor(sample[0].Value.Uint64(), t.heap))
	return true
}

func (t *gcTuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	debug.SetGCPercent(t.was)
}

// gcPercentFor is the GC percent that lets a heap of live bytes grow to
// heap: at least 100 (Go's default), at most maxGCPercent.
func gcPercentFor(live, heap uint64) int {
	if live == 0 || live >= heap/2 {
		return 100
	}
	return int(min((heap-live)*100/live, maxGCPercent))
}
