package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop/internal/metrics"
)

// Usage is a reading of the hub process's resources.
type Usage struct {
	// CPU is the process's user plus system CPU time so far.
	CPU time.Duration
	// RSS is the resident set size in bytes; 0 when unknown.
	RSS int64
	// GoMemory is the Go heap and stacks in use (heap_inuse + stack_inuse),
	// what live objects and goroutines hold; 0 when unknown.
	GoMemory int64
	// Goroutines is the number of goroutines; 0 when unknown.
	Goroutines int64
	// Kernel is what the process asked of the kernel so far: its system
	// CPU time and its read and write calls; KernelKnown says whether it
	// could be read (Linux, or a hub that exports it).
	Kernel      metrics.Kernel
	KernelKnown bool
}

// UsageFunc reads the hub's resource usage. Run calls it before and after
// each measured phase and reports the differences.
type UsageFunc func(ctx context.Context) (Usage, error)

// SelfUsage reads this process's usage: CPU time from getrusage and RSS
// from VmRSS in /proc/self/status (0 where there is no /proc). It collects
// garbage and returns freed memory to the OS first (debug.FreeOSMemory), so
// that RSS readings compare live memory rather than the collector's slack.
// Use it when the hub runs in this process; the figures then include the
// bench's own clients.
func SelfUsage(ctx context.Context) (Usage, error) {
	debug.FreeOSMemory()
	cpu, err := processCPU()
	if err != nil {
		return Usage{}, fmt.Errorf("cpu time: %w", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := Usage{CPU: cpu, GoMemory: int64(ms.HeapInuse + ms.StackInuse), Goroutines: int64(runtime.NumGoroutine())}
	u.Kernel, u.KernelKnown = metrics.ReadKernel()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return u, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 2 && fields[1] == "kB" {
				kb, err := strconv.ParseInt(fields[0], 10, 64)
				if err == nil {
					u.RSS = kb << 10
				}
			}
		}
	}
	return u, sc.Err()
}

// MetricsUsage returns a UsageFunc that reads process_cpu_seconds_total,
// process_resident_memory_bytes and, where the hub exports them, its
// kernel figures (bellhop_process_*) from the hub's Prometheus endpoint at
// base + "/metrics". The RSS is whatever the hub holds at that moment (no
// collection is forced). It returns an error when the endpoint fails or
// lacks the CPU metric.
func MetricsUsage(base string, hc *http.Client) UsageFunc {
	if hc == nil {
		hc = http.DefaultClient
	}
	url := strings.TrimRight(base, "/") + "/metrics"
	return func(ctx context.Context) (Usage, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return Usage{}, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return Usage{}, fmt.Errorf("metrics: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return Usage{}, fmt.Errorf("metrics: %s", resp.Status)
		}
		return parseMetrics(bufio.NewScanner(resp.Body))
	}
}

// usageMetrics are the series parseMetrics reads.
var usageMetrics = map[string]bool{
	"process_cpu_seconds_total":                       true,
	"process_resident_memory_bytes":                   true,
	"go_goroutines":                                   true,
	"go_memstats_heap_inuse_bytes":                    true,
	"go_memstats_stack_inuse_bytes":                   true,
	"bellhop_process_cpu_system_seconds_total":        true,
	`bellhop_process_io_syscalls_total{kind="read"}`:  true,
	`bellhop_process_io_syscalls_total{kind="write"}`: true,
}

// parseMetrics picks usageMetrics out of the text exposition format.
func parseMetrics(sc *bufio.Scanner) (Usage, error) {
	var u Usage
	found, kernel := false, 0
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !usageMetrics[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return u, fmt.Errorf("metrics: %s: %w", name, err)
		}
		switch name {
		case "process_cpu_seconds_total":
			u.CPU, found = time.Duration(v*float64(time.Second)), true
		case "process_resident_memory_bytes":
			u.RSS = int64(v)
		case "go_goroutines":
			u.Goroutines = int64(v)
		case "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes":
			u.GoMemory += int64(v)
		case "bellhop_process_cpu_system_seconds_total":
			u.Kernel.SystemCPU, kernel = time.Duration(v*float64(time.Second)), kernel+1
		case `bellhop_process_io_syscalls_total{kind="read"}`:
			u.Kernel.ReadCalls, kernel = int64(v), kernel+1
		default:
			u.Kernel.WriteCalls, kernel = int64(v), kernel+1
		}
	}
	if err := sc.Err(); err != nil {
		return u, fmt.Errorf("metrics: %w", err)
	}
	if !found {
		return u, fmt.Errorf("metrics: no process_cpu_seconds_total")
	}
	u.KernelKnown = kernel == 3
	return u, nil
}
