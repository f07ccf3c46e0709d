package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of one bench run, written as JSON, Markdown and an
// SVG plot. Latencies are in milliseconds.
type Report struct {
	Scenario        string    `json:"scenario"`
	Started         time.Time `json:"started"`
	Target          string    `json:"target"`
	InProcess       bool      `json:"in_process"`
	Store           string    `json:"store,omitempty"`
	GoVersion       string    `json:"go_version"`
	CPUs            int       `json:"cpus"`
	Agents          int       `json:"agents"`
	DevicesPerAgent int       `json:"devices_per_agent"`
	Producers       int       `json:"producers"`
	PDFBytes        int       `json:"pdf_bytes"`
	Rate            float64   `json:"rate,omitempty"`
	DurationSeconds float64   `json:"duration_s,omitempty"`
	WarmupSeconds   float64   `json:"warmup_s,omitempty"`
	SetupSeconds    float64   `json:"setup_s"`

	// Result is the measured run (steady, large, burst; with FindMax the
	// highest rate that held).
	Result    *Result    `json:"result,omitempty"`
	Memory    *Memory    `json:"memory,omitempty"`
	Reconnect *Reconnect `json:"reconnect,omitempty"`
	FindMax   *FindMax   `json:"find_max,omitempty"`

	// Errors counts every error of the run by "operation: kind".
	Errors        map[string]int64 `json:"errors"`
	ErrorExamples []string         `json:"error_examples,omitempty"`
	Notes         []string         `json:"notes,omitempty"`
}

// Result is one measured phase.
type Result struct {
	TargetRate    float64 `json:"target_rate"`
	WindowSeconds float64 `json:"window_s"`
	// Sent counts the measured creates; Created those answered with an id.
	Sent         int64 `json:"sent"`
	Created      int64 `json:"created"`
	CreateErrors int64 `json:"create_errors"`
	// Processed commands were seen Processed by their producer; Failed ones
	// failed in the agent; Lost ones neither, by the end of the drain.
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
	Lost      int64 `json:"lost"`
	// MissedEvents counts commands whose Pending event never reached the agent.
	MissedEvents int64 `json:"missed_events"`
	// Achieved is the Processed events per second within the window.
	Achieved float64 `json:"achieved_per_s"`
	// Latency: "create" (HTTP answer of addPrinter), "event" (Pending event
	// at the agent) and "lifecycle" (Processed event at the producer), all
	// from the scheduled send time, so that the bench's own lag counts
	// against the hub; and "event from send", the Pending event from the
	// moment the create's request started, as a publish->deliver client
	// measures it (the peer comparison's like for like).
	Latency  map[string]Summary `json:"latency"`
	CPU      *CPU               `json:"cpu,omitempty"`
	RSSBytes int64              `json:"rss_bytes,omitempty"`
	Errors   map[string]int64   `json:"errors"`
	// Stages is the time the hub's requests and events spent in each stage
	// (its bellhop_stage_seconds histogram) over the window; empty for a hub
	// that does not export it.
	Stages map[string]StageSummary `json:"stages,omitempty"`
	// StagesWindowSeconds is the time between the two readings of the
	// stages: the window, or longer when creates were still being sent
	// after it (a hub that fell behind).
	StagesWindowSeconds float64 `json:"stages_window_s,omitempty"`

	samples map[string]*Sample
}

// CPU is the hub's CPU time over a window (with an in-process hub, the
// bench's own too).
type CPU struct {
	Seconds float64 `json:"seconds"`
	Cores   float64 `json:"cores"` // Seconds per second of the window
	// PerCommandMS is CPU milliseconds per command completed in the window.
	PerCommandMS float64 `json:"per_command_ms,omitempty"`
	// KernelShare is the part of Seconds spent in the kernel, and
	// IOCallsPerCommand the read- and write-family system calls per command
	// completed; both only where the process's kernel figures are known.
	KernelShare       float64 `json:"kernel_share,omitempty"`
	IOCallsPerCommand float64 `json:"io_calls_per_command,omitempty"`
	ioCalls           int64
}

// cpuLine is the CPU row's value: cores, seconds, per command and, where
// known, the kernel's share and the system calls per command.
func (c *CPU) cpuLine() string {
	s := fmt.Sprintf("%.2f cores (%.1fs), %.2f ms per command", c.Cores, c.Seconds, c.PerCommandMS)
	if c.KernelShare > 0 {
		s += fmt.Sprintf("; %.0f%% in the kernel", 100*c.KernelShare)
	}
	if c.IOCallsPerCommand > 0 {
		s += fmt.Sprintf(", %.1f read/write system calls per command", c.IOCallsPerCommand)
	}
	return s
}

// Memory is the idle scenario's figure.
type Memory struct {
	Sockets   int64 `json:"sockets"`
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	PerSocket int64 `json:"per_socket_bytes"`
	// GoMemoryPerSocket is the growth of the Go heap and stacks in use per
	// socket, and GoroutinesPerSocket that of the goroutines: what each
	// socket holds live, without the collector's slack in RSS.
	GoMemoryPerSocket   int64   `json:"go_memory_per_socket_bytes"`
	GoroutinesPerSocket float64 `json:"goroutines_per_socket"`
}

// Reconnect is the reconnect scenario's figure: times from the moment all
// agents started reconnecting.
type Reconnect struct {
	Waiting             int64              `json:"waiting"`
	AllConnectedSeconds float64            `json:"all_connected_s"` // every socket open and its catch-up read
	CaughtUpSeconds     float64            `json:"caught_up_s"`     // the last waiting command returned by a getAllActive
	AllProcessedSeconds float64            `json:"all_processed_s"` // the last Processed event
	Processed           int64              `json:"processed"`
	Failed              int64              `json:"failed"`
	Lost                int64              `json:"lost"`
	ByEvent             int64              `json:"by_event"`      // reached the agent by event, not catch-up
	NotCaughtUp         int64              `json:"not_caught_up"` // never reached an agent
	Latency             map[string]Summary `json:"latency"`
	CPU                 *CPU               `json:"cpu,omitempty"`

	samples map[string]*Sample
}

// FindMax is the --find-max search.
type FindMax struct {
	BoundMS float64 `json:"bound_ms"`
	MaxRate float64 `json:"max_rate"` // the highest rate that passed; 0 if none did
	// Method is MethodFreshHub or MethodOneHub; empty in reports from
	// before it was recorded, when every step ran on one hub.
	Method string `json:"method,omitempty"`
	Steps  []Step `json:"steps"`
}

// Step is one rate tried by --find-max.
type Step struct {
	Rate           float64 `json:"rate"`
	Achieved       float64 `json:"achieved_per_s"`
	P99EventMS     float64 `json:"p99_event_ms"`
	P99LifecycleMS float64 `json:"p99_lifecycle_ms"`
	Errors         int64   `json:"errors"`
	Lost           int64   `json:"lost"`
	CPU            *CPU    `json:"cpu,omitempty"`
	// PrepareSeconds is the time before the step, outside its figures:
	// with a fresh hub, to start it, set it up and connect its sockets; on
	// one hub, to connect (the first step) or to let the step before drain.
	PrepareSeconds float64 `json:"prepare_s"`
	Pass           bool    `json:"pass"`
}

func newReport(cfg *Config) *Report {
	r := &Report{Scenario: cfg.Scenario, Started: time.Now().UTC().Truncate(time.Second), Target: cfg.Target,
		InProcess: cfg.InProcess, Store: cfg.Store, GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Agents: cfg.Agents, DevicesPerAgent: cfg.DevicesPerAgent, PDFBytes: cfg.PDFSize, Errors: map[string]int64{}}
	if cfg.Scenario != ScenarioIdle {
		r.Producers = (cfg.Agents + cfg.AgentsPerProducer - 1) / cfg.AgentsPerProducer
	}
	switch cfg.Scenario {
	case ScenarioSteady, ScenarioLarge:
		r.Rate, r.DurationSeconds, r.WarmupSeconds = cfg.Rate, cfg.Duration.Seconds(), cfg.Warmup.Seconds()
	}
	if cfg.FindMax {
		r.Rate = 0
	}
	return r
}

// Title names the run in one line.
func (r *Report) Title() string {
	t := fmt.Sprintf("bellhop bench: %s, %d agents", r.Scenario, r.Agents)
	switch {
	case r.FindMax != nil:
		t += ", find-max"
	case r.Rate > 0:
		t += fmt.Sprintf(", %g/s", r.Rate)
	}
	return t
}

// series returns the latency samples to plot.
func (r *Report) series() []Series {
	var out []Series
	add := func(m map[string]*Sample) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, Series{Name: k, Sample: m[k]})
		}
	}
	if r.Result != nil {
		add(r.Result.samples)
	}
	if r.Reconnect != nil {
		add(r.Reconnect.samples)
	}
	return out
}

// WriteMarkdown writes the report as Markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", r.Title())
	where := "target " + r.Target
	if r.InProcess {
		where = "in-process hub (CPU and memory include the bench's own clients)"
	}
	fmt.Fprintf(&b, "%s; store %s; %s, %d CPUs; %d agents x %d devices, %d producers; PDF %d bytes; setup %.1fs.\n\n",
		where, orDash(r.Store), r.GoVersion, r.CPUs, r.Agents, r.DevicesPerAgent, r.Producers, r.PDFBytes, r.SetupSeconds)
	if res := r.Result; res != nil {
		b.WriteString("| measure | value |\n| --- | --- |\n")
		if res.TargetRate > 0 {
			fmt.Fprintf(&b, "| target rate | %g/s over %.1fs |\n", res.TargetRate, res.WindowSeconds)
		}
		fmt.Fprintf(&b, "| achieved (Processed/s) | %.1f |\n", res.Achieved)
		fmt.Fprintf(&b, "| sent / created / processed | %d / %d / %d |\n", res.Sent, res.Created, res.Processed)
		fmt.Fprintf(&b, "| create errors / failed / lost / missed events | %d / %d / %d / %d |\n",
			res.CreateErrors, res.Failed, res.Lost, res.MissedEvents)
		if res.CPU != nil {
			fmt.Fprintf(&b, "| CPU | %s |\n", res.CPU.cpuLine())
		}
		if res.RSSBytes > 0 {
			fmt.Fprintf(&b, "| RSS at end | %s |\n", mib(res.RSSBytes))
		}
		b.WriteString("\n")
		writeLatency(&b, res.Latency, []string{"create", "event", "event from send", "lifecycle"})
		writeStages(&b, res.Stages, res.StagesWindowSeconds)
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(&b, "| idle sockets | RSS before | RSS after | RSS per socket | Go heap+stacks per socket | goroutines per socket |\n| --- | --- | --- | --- | --- | --- |\n")
		fmt.Fprintf(&b, "| %d | %s | %s | %.1f KiB | %.1f KiB | %.1f |\n\n", m.Sockets, mib(m.RSSBefore), mib(m.RSSAfter),
			float64(m.PerSocket)/1024, float64(m.GoMemoryPerSocket)/1024, m.GoroutinesPerSocket)
	}
	if rc := r.Reconnect; rc != nil {
		b.WriteString("| measure | value |\n| --- | --- |\n")
		fmt.Fprintf(&b, "| waiting commands | %d |\n", rc.Waiting)
		fmt.Fprintf(&b, "| all sockets open and caught up | %.3fs |\n", rc.AllConnectedSeconds)
		fmt.Fprintf(&b, "| last waiting command fetched | %.3fs |\n", rc.CaughtUpSeconds)
		fmt.Fprintf(&b, "| last command Processed | %.3fs |\n", rc.AllProcessedSeconds)
		fmt.Fprintf(&b, "| processed / failed / lost / not caught up | %d / %d / %d / %d |\n", rc.Processed, rc.Failed, rc.Lost, rc.NotCaughtUp)
		if rc.CPU != nil {
			fmt.Fprintf(&b, "| CPU | %.2f cores (%.1fs) |\n", rc.CPU.Cores, rc.CPU.Seconds)
		}
		b.WriteString("\n")
		writeLatency(&b, rc.Latency, []string{"catch-up", "processed"})
	}
	if fm := r.FindMax; fm != nil {
		fmt.Fprintf(&b, "Highest sustained rate with p99 lifecycle <= %g ms: **%g/s**\n\n", fm.BoundMS, fm.MaxRate)
		switch fm.Method {
		case MethodFreshHub:
			b.WriteString("Method: **fresh hub per step**: each step ran on a hub of its own, on a new store, started, " +
				"set up and connected before it (prepare s, outside the step's figures).\n\n")
		case MethodOneHub:
			b.WriteString("Method: **one hub**: every step ran on the same hub, each once the agents had finished " +
				"their work on the step before (prepare s: connecting before the first, waiting for the drain " +
				"before the others); a step finds the tables, indexes and WAL that the steps before it grew.\n\n")
		}
		b.WriteString("| rate | achieved | p99 event ms | p99 lifecycle ms | errors | lost | CPU cores | prepare s | |\n" +
			"| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, s := range fm.Steps {
			cores := "-"
			if s.CPU != nil {
				cores = fmt.Sprintf("%.2f", s.CPU.Cores)
			}
			fmt.Fprintf(&b, "| %g | %.1f | %.2f | %.2f | %d | %d | %s | %.1f | %s |\n", s.Rate, s.Achieved, s.P99EventMS,
				s.P99LifecycleMS, s.Errors, s.Lost, cores, s.PrepareSeconds, passWord(s.Pass))
		}
		b.WriteString("\n")
	}
	if len(r.Errors) > 0 {
		b.WriteString("| error | count |\n| --- | --- |\n")
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(&b, "| %s | %d |\n", mdEscape(k), r.Errors[k])
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No errors.\n\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s\n\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLatency(b *strings.Builder, lat map[string]Summary, order []string) {
	b.WriteString("| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, k := range order {
		s, ok := lat[k]
		if !ok {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", k, s.Count, s.P50, s.P90, s.P99, s.P999, s.Max)
	}
	b.WriteString("\n")
}

// WriteFiles writes <scenario>-<time>.json, .md and .svg into dir (created
// if missing) and returns their paths.
func (r *Report) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	base := filepath.Join(dir, r.Scenario+"-"+r.Started.Format("20060102-150405"))
	if r.FindMax != nil {
		base = filepath.Join(dir, r.Scenario+"-findmax-"+r.Started.Format("20060102-150405"))
	}
	var paths []string
	write := func(ext string, fn func(io.Writer) error) error {
		p := base + ext
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("bench: writing %s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: writing %s: %w", p, err)
		}
		paths = append(paths, p)
		return nil
	}
	if err := write(".json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}); err != nil {
		return paths, err
	}
	if err := write(".md", r.WriteMarkdown); err != nil {
		return paths, err
	}
	if s := r.series(); len(s) > 0 {
		var bound time.Duration
		if r.FindMax != nil {
			bound = time.Duration(r.FindMax.BoundMS * float64(time.Millisecond))
		}
		if err := write(".svg", func(w io.Writer) error { return WriteSVG(w, r.Title(), s, bound) }); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
