package sqlite_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/stage"
	"github.com/bellhop/bellhop/internal/store/sqlite"
	"github.com/bellhop/bellhop/internal/store/storetest"
)

// BenchmarkLifecycle runs lifecycles one at a time: every write commits
// alone, so each commit writes all the pages it changed (see
// TestLifecyclePages).
func BenchmarkLifecycle(b *testing.B) {
	storetest.BenchmarkLifecycle(b, open(b, sqlite.Config{}))
}

// BenchmarkWALRestart runs BenchmarkLifecycle with the WAL started over at
// 64 MiB and at 256 MiB, and reports how long a restart held the writer
// (ms/restart, the fill of the table included).
func BenchmarkWALRestart(b *testing.B) {
	for _, pages := range []int{16384, 65536} {
		b.Run(fmt.Sprint("pages=", pages), func(b *testing.B) {
			var stalled atomic.Int64
			s := open(b, sqlite.Config{WALRestartPages: pages, Stage: func(st stage.Stage, d time.Duration) {
				if st == stage.WALRestart {
					stalled.Add(int64(d))
				}
			}})
			storetest.BenchmarkLifecycle(b, s)
			if n := s.WALRestarts(); n > 0 {
				b.ReportMetric(float64(stalled.Load())/1e6/float64(n), "ms/restart")
			}
		})
	}
}
