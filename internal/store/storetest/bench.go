package storetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// BenchmarkCreateUpdate measures the hub's hot path on s: each operation
// creates a command and moves it to Received, one write transaction each.
func BenchmarkCreateUpdate(b *testing.B, s store.Store) {
	ctx := b.Context()
	w := newWorld(b, s)
	b.ReportAllocs()
	for b.Loop() {
		c := newCommand(w.d1, bellhop.Pending, t0)
		if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: t0}, nil); err != nil {
			b.Fatal(err)
		}
		_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
			c.State = bellhop.Received
			return &bellhop.HistoryEntry{State: c.State, Utc: t0}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateUpdateParallel is BenchmarkCreateUpdate from many
// goroutines at once, as concurrent requests reach a hub: it shows what
// grouping concurrent commits gains.
func BenchmarkCreateUpdateParallel(b *testing.B, s store.Store) {
	w := newWorld(b, s)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ctx := b.Context()
		for pb.Next() {
			c := newCommand(w.d1, bellhop.Pending, t0)
			if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: t0}, nil); err != nil {
				b.Error(err)
				return
			}
			_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
				c.State = bellhop.Received
				return &bellhop.HistoryEntry{State: c.State, Utc: t0}, nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLifecycleParallel measures the store's share of a whole command
// lifecycle as a busy hub runs it: 64 goroutines spread over 500 devices of
// 500 enterprises each create a command with a payload the size of `bellhop
// bench`'s (a 2 KiB PDF, in base64), fetch it as getAllByIds does (read it
// with its payload and mark it Received, one FetchCommands), and move it to
// Processing and Processed, one write transaction each. The table starts
// with 20,000 finished commands, so indexes are not trivially small. A store
// that counts its WAL's restarts (SQLite) reports them per 1,000 lifecycles.
func BenchmarkLifecycleParallel(b *testing.B, s store.Store) {
	benchmarkLifecycle(b, s, 32)
}

// BenchmarkLifecycle is BenchmarkLifecycleParallel one lifecycle at a time:
// every write commits alone, as most do in a hub at a few hundred
// lifecycles a second, where writes seldom meet in a group.
func BenchmarkLifecycle(b *testing.B, s store.Store) {
	benchmarkLifecycle(b, s, 0)
}

// benchmarkLifecycle runs lifecycles on parallelism × GOMAXPROCS goroutines,
// or on one when parallelism is 0.
func benchmarkLifecycle(b *testing.B, s store.Store, parallelism int) {
	ctx := b.Context()
	w := newWorld(b, s)
	devs := make([]bellhop.Device, 500)
	for i := range devs {
		devs[i] = w.device(createEnterprise(b, s), bellhop.Printer, "Printer")
	}
	// Concurrently, so that a store with group commit writes them in groups.
	var seeded sync.WaitGroup
	for g := range 16 {
		seeded.Go(func() {
			for i := g; i < 20000; i += 16 {
				c := newCommand(devs[i%len(devs)], bellhop.Processed, t0)
				if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Processed, Utc: t0}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	seeded.Wait()
	if b.Failed() {
		return
	}
	var next atomic.Int64
	lifecycle := func() bool {
		d := devs[next.Add(1)%int64(len(devs))]
		c := newCommand(d, bellhop.Pending, t0)
		c.Data = printData
		if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: t0}, nil); err != nil {
			b.Error(err)
			return false
		}
		all, _, err := s.FetchCommands(ctx, []string{c.ID}, pickPending, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
			c.State = bellhop.Received
			return &bellhop.HistoryEntry{State: c.State, Utc: t0}, nil
		})
		if err != nil || len(all) != 1 || all[0].Data == nil {
			b.Errorf("fetch: %d commands, %v", len(all), err)
			return false
		}
		for _, st := range []bellhop.State{bellhop.Processing, bellhop.Processed} {
			_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
				c.State = st
				return &bellhop.HistoryEntry{State: st, Utc: t0}, nil
			})
			if err != nil {
				b.Error(err)
				return false
			}
		}
		return true
	}
	b.ReportAllocs()
	restarts, _ := s.(interface{ WALRestarts() int64 })
	var restarts0 int64
	if restarts != nil {
		restarts0 = restarts.WALRestarts()
	}
	io0, ioOK := readIO()
	server, _ := s.(ServerCounter)
	var server0 map[string]float64
	if server != nil {
		server0 = server.ServerCounts()
	}
	g0 := goroutinesCreated()
	b.ResetTimer()
	defer func() {
		// Each goroutine started is a hand-off that waits for a CPU.
		b.ReportMetric(float64(goroutinesCreated()-g0)/float64(b.N), "goroutines/op")
		if io1, ok := readIO(); ok && ioOK {
			b.ReportMetric(float64(io1.wchar-io0.wchar)/float64(b.N), "wbytes/op")
			b.ReportMetric(float64(io1.syscw-io0.syscw)/float64(b.N), "wcalls/op")
			b.ReportMetric(float64(io1.cpu-io0.cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		}
		if server != nil {
			for k, v := range server.ServerCounts() {
				if v0, ok := server0[k]; ok {
					b.ReportMetric((v-v0)/float64(b.N), k+"/op")
				}
			}
		}
		if restarts != nil { // SQLite: how often the WAL started over, per 1,000 lifecycles
			b.ReportMetric(float64(restarts.WALRestarts()-restarts0)*1000/float64(b.N), "walrestarts/klc")
		}
	}()
	if parallelism == 0 {
		for range b.N {
			if !lifecycle() {
				return
			}
		}
		return
	}
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !lifecycle() {
				return
			}
		}
	})
}

// ServerCounter is a store whose tests count what its database server does
// (PostgreSQL's: statements, round trips, its CPU time): the lifecycle
// benchmarks report each counter's growth per lifecycle.
type ServerCounter interface {
	ServerCounts() map[string]float64
}

// goroutinesCreated is how many goroutines the process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// pickPending picks the Pending commands among cs.
func pickPending(cs []bellhop.Command) []string {
	var ids []string
	for _, c := range cs {
		if c.State == bellhop.Pending {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// printData is the Data of a print job of a 2 KiB PDF, as the hub stores it.
var printData = json.RawMessage(`{"CopyCount":1,"FileType":"application/pdf","FileData":"` +
	base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 "), 2048/9)) + `"}`)

// procIO is this process's write counters from /proc/self/io (Linux): bytes
// handed to write calls and how many calls, and its CPU time (user and
// system) from /proc/self/stat. They show what a change does to the store
// more steadily than wall time does on a busy machine.
type procIO struct {
	wchar, syscw int64
	cpu          time.Duration
}

func readIO() (procIO, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return procIO{}, false
	}
	user, sys, err := ProcCPU("self")
	if err != nil {
		return procIO{}, false
	}
	io := procIO{cpu: user + sys}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			io.wchar = n
		case "syscw":
			io.syscw = n
		}
	}
	return io, true
}

// ProcCPU is the CPU time, user and system, of a process of this machine
// ("self": this one), from /proc (Linux).
func ProcCPU(pid string) (user, sys time.Duration, err error) {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command's closing parenthesis; utime and stime are
	// the 12th and 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut) * 10 * time.Millisecond, time.Duration(st) * 10 * time.Millisecond, nil
}
