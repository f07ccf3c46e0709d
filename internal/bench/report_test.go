package bench

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/metrics"
)

func testReport() *Report {
	cfg := Config{Target: "http://127.0.0.1:1", AdminToken: "x", Scenario: ScenarioSteady, Agents: 120, Rate: 500}
	cfg.setDefaults()
	r := newReport(&cfg)
	r.Store = "sqlite (sync=normal)"
	life, ev := &Sample{}, &Sample{}
	for i := 1; i <= 1000; i++ {
		ev.Add(time.Duration(i) * time.Microsecond)
		life.Add(time.Duration(i) * 10 * time.Microsecond)
	}
	r.Result = &Result{TargetRate: 500, WindowSeconds: 10, Sent: 1000, Created: 1000, Processed: 1000, Achieved: 499.5,
		Latency: map[string]Summary{"event": ev.Summary(), "lifecycle": life.Summary()},
		CPU:     &CPU{Seconds: 12, Cores: 1.2}, RSSBytes: 64 << 20,
		samples: map[string]*Sample{"event": ev, "lifecycle": life}}
	r.Errors = map[string]int64{"update Processed: HTTP 500": 2, "weird|kind": 1}
	r.Notes = []string{"a note"}
	return r
}

func TestReportMarkdown(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := testReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## bellhop bench: steady, 120 agents, 500/s",
		"| achieved (Processed/s) | 499.5 |",
		"| sent / created / processed | 1000 / 1000 / 1000 |",
		"| event | 1000 | 0.50 | 0.90 | 0.99 | 1.00 | 1.00 |",
		"| lifecycle | 1000 | 5.00 | 9.00 | 9.90 | 9.99 | 10.00 |",
		"| CPU | 1.20 cores (12.0s), 0.00 ms per command |",
		"| update Processed: HTTP 500 | 2 |",
		`| weird\|kind | 1 |`,
		"Note: a note",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table row has as many cells as its header.
	cols := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row %q has %d separators, header %d", line, n, cols)
		}
	}
}

func TestReportMarkdownOtherScenarios(t *testing.T) {
	t.Parallel()
	r := &Report{Scenario: ScenarioIdle, Agents: 10, Memory: &Memory{Sockets: 10, RSSBefore: 10 << 20, RSSAfter: 11 << 20,
		PerSocket: 100 << 10, GoMemoryPerSocket: 20 << 10, GoroutinesPerSocket: 3}}
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 10 | 10.0 MiB | 11.0 MiB | 100.0 KiB | 20.0 KiB | 3.0 |") || !strings.Contains(b.String(), "No errors.") {
		t.Errorf("idle report:\n%s", b.String())
	}
}

// TestReportFindMax: the report says how the steps ran, in Markdown and in
// JSON, and how long each step's hub took to prepare.
func TestReportFindMax(t *testing.T) {
	t.Parallel()
	for method, want := range map[string]string{
		MethodFreshHub: "Method: **fresh hub per step**: each step ran on a hub of its own",
		MethodOneHub:   "Method: **one hub**: every step ran on the same hub",
		"":             "| rate |", // a report from before the method was recorded
	} {
		r := &Report{Scenario: ScenarioSteady, FindMax: &FindMax{BoundMS: 100, MaxRate: 1500, Method: method,
			Steps: []Step{{Rate: 1000, Pass: true, PrepareSeconds: 0.94}, {Rate: 2000, P99LifecycleMS: 250, PrepareSeconds: 4.1}}}}
		var b strings.Builder
		if err := r.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		for _, want := range []string{"**1500/s**", want, "| rate | achieved | p99 event ms | p99 lifecycle ms | errors | lost | CPU cores | prepare s | |",
			"| 1000 | 0.0 | 0.00 | 0.00 | 0 | 0 | - | 0.9 | pass |", "| 2000 | 0.0 | 0.00 | 250.00 | 0 | 0 | - | 4.1 | FAIL |"} {
			if !strings.Contains(md, want) {
				t.Errorf("method %q: find-max report lacks %q:\n%s", method, want, md)
			}
		}
		if method == "" && strings.Contains(md, "Method:") {
			t.Errorf("no method: the report names one:\n%s", md)
		}
		raw, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if back.FindMax.Method != method || back.FindMax.Steps[1].PrepareSeconds != 4.1 {
			t.Errorf("JSON round trip: %s", raw)
		}
	}
}

func TestReportWriteFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	paths, err := testReport().WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("wrote %v, want .json, .md and .svg", paths)
	}
	raw, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("JSON does not decode: %v", err)
	}
	if back.Result == nil || back.Result.Processed != 1000 || back.Result.Latency["lifecycle"].P99 != 9.9 || back.Errors["weird|kind"] != 1 {
		t.Errorf("JSON round trip lost data: %s", raw)
	}
	svg, err := os.ReadFile(paths[2])
	if err != nil {
		t.Fatal(err)
	}
	if c := parseSVG(t, svg); c["polyline"] != 2 {
		t.Errorf("SVG has %d lines, want 2", c["polyline"])
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_resident_memory_bytes 4.2991616e+07
go_memstats_heap_inuse_bytes 1000
go_memstats_stack_inuse_bytes 24
go_goroutines 12
`
	u, err := parseMetrics(bufio.NewScanner(strings.NewReader(text)))
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU != 12500*time.Millisecond || u.RSS != 42991616 || u.GoMemory != 1024 || u.Goroutines != 12 || u.KernelKnown {
		t.Errorf("parseMetrics = %+v", u)
	}
	kernel := text + `bellhop_process_cpu_system_seconds_total 4.25
bellhop_process_io_syscalls_total{kind="read"} 1.5e+06
bellhop_process_io_syscalls_total{kind="write"} 2.5e+06
`
	u, err = parseMetrics(bufio.NewScanner(strings.NewReader(kernel)))
	if err != nil {
		t.Fatal(err)
	}
	if !u.KernelKnown || u.Kernel.SystemCPU != 4250*time.Millisecond || u.Kernel.ReadCalls != 1_500_000 || u.Kernel.WriteCalls != 2_500_000 {
		t.Errorf("parseMetrics with the kernel figures = %+v", u)
	}
	c := cpuOf(Usage{CPU: time.Second, Kernel: metrics.Kernel{SystemCPU: time.Second / 2, ReadCalls: 10, WriteCalls: 20}, KernelKnown: true},
		Usage{CPU: 3 * time.Second, Kernel: metrics.Kernel{SystemCPU: time.Second, ReadCalls: 1010, WriteCalls: 2020}, KernelKnown: true},
		time.Second)
	if c.Cores != 2 || c.KernelShare != 0.25 || c.ioCalls != 3000 {
		t.Errorf("cpuOf = %+v", c)
	}
	if c := cpuOf(Usage{CPU: time.Second}, Usage{CPU: 2 * time.Second}, time.Second); c.KernelShare != 0 || c.ioCalls != 0 {
		t.Errorf("cpuOf without kernel figures = %+v", c)
	}
	if _, err := parseMetrics(bufio.NewScanner(strings.NewReader("go_goroutines 3\n"))); err == nil {
		t.Error("no CPU metric: want an error")
	}
}

func TestMakePDF(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 2 << 10, 1 << 20} {
		pdf := makePDF(size)
		if !strings.HasPrefix(string(pdf), "%PDF-1.4\n") || !strings.HasSuffix(string(pdf), "%%EOF\n") {
			t.Errorf("size %d: not a PDF", size)
		}
		if size > 1000 && (len(pdf) < size-100 || len(pdf) > size+100) {
			t.Errorf("size %d: got %d bytes", size, len(pdf))
		}
		if enc := base64.StdEncoding.EncodeToString(pdf); len(enc)%4 != 0 {
			t.Errorf("size %d: base64 length %d", size, len(enc))
		}
	}
}

func TestPhaseCounters(t *testing.T) {
	t.Parallel()
	ph := newPhase()
	now := time.Now()
	// The event and the outcome can arrive before the create's answer.
	ph.sent.Add(3)
	ph.markPending("A", now)
	ph.markProcessed("A", now)
	if ph.pending.Load() != 0 || ph.processed.Load() != 0 || ph.done() {
		t.Fatal("unregistered commands must not count")
	}
	ph.register("a", now, now, now, false) // ids compare case-insensitively
	ph.register("b", now, now, now, false)
	ph.createErrs.Add(1)
	if ph.pending.Load() != 1 || ph.processed.Load() != 1 || ph.resolved.Load() != 1 || ph.done() {
		t.Fatalf("after register: pending %d processed %d resolved %d", ph.pending.Load(), ph.processed.Load(), ph.resolved.Load())
	}
	if !ph.claim("b") || ph.claim("B") {
		t.Error("claim: want the first caller only")
	}
	ph.markFailed("b")
	ph.markProcessed("b", now) // both: resolved once
	if ph.resolved.Load() != 2 || !ph.done() {
		t.Errorf("resolved %d, done %v", ph.resolved.Load(), ph.done())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Target: "http://x", AdminToken: "t"}
	ok.setDefaults()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(c *Config){
		"no token":           func(c *Config) { c.AdminToken = "" },
		"unknown scenario":   func(c *Config) { c.Scenario = "soak" },
		"negative rate":      func(c *Config) { c.Rate = -1 },
		"find-max with idle": func(c *Config) { c.Scenario, c.FindMax = ScenarioIdle, true },
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
