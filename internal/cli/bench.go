package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/bellhop/bellhop/internal/bench"
	"github.com/bellhop/bellhop/internal/node"
)

// BenchCmd measures a hub as integrations use it: simulated agents on
// WebSockets and producers creating print commands at a fixed rate. By
// default it starts its own hub in this process (SQLite in a temporary
// directory, rate limit off); with --target it measures a running hub, which
// must run with --rate-limit=-1 (the default limit of 200 requests per
// AccessToken per 30 s stops a benchmark within seconds) and --max-sockets
// of at least 1.
type BenchCmd struct {
	Scenario          string        `help:"What to measure: idle (memory per idle socket), steady (a rate for a duration), burst (commands all at once), reconnect (all agents drop, commands wait, agents catch up), large (1 MB PDFs)." default:"${bench_scenario}" enum:"idle,steady,burst,reconnect,large"`
	Agents            int           `help:"Simulated agents, each with its own subscription and WebSocket." default:"${bench_agents}"`
	DevicesPerAgent   int           `help:"Printers per agent." default:"${bench_devices}"`
	AgentsPerProducer int           `help:"Agents per producer integration (one PMS per group of properties)." default:"${bench_agents_per_producer}"`
	Rate              float64       `help:"Commands per second, open loop (0: 100, or 10 for large). With --find-max, the first rate tried."`
	Duration          time.Duration `help:"Measured time at the rate (each step of --find-max)." default:"${bench_duration}"`
	Warmup            time.Duration `help:"Time at the rate before measuring (idle: before reading memory)." default:"${bench_warmup}"`
	Burst             int           `help:"Commands of the burst scenario." default:"${bench_burst}"`
	Waiting           int           `help:"Commands waiting when the agents reconnect (reconnect scenario)." default:"${bench_waiting}"`
	PDFSize           int           `name:"pdf-size" help:"PDF size in bytes (0: 2 KiB, or 1 MiB for large)."`
	FindMax           bool          `name:"find-max" help:"Double the rate, then bisect, until the p99 lifecycle latency exceeds --bound; report the highest rate that held. In process each step runs on a fresh hub (new store, set up and connected before the step, outside its figures); with --target on that one hub, each step once the one before has drained."`
	FindMaxOneHub     bool          `name:"find-max-one-hub" help:"With --find-max in process, run every step on one hub, each once the one before has drained, as with --target: a step then inherits the tables and WAL that the steps before it grew. For comparison with a fresh hub per step."`
	Bound             time.Duration `help:"p99 lifecycle latency that --find-max must hold." default:"${bench_bound}"`
	MaxInFlight       int           `help:"Creates in flight at most; later ones wait, and the wait counts in their latency." default:"${bench_max_in_flight}"`
	Drain             time.Duration `help:"How long to wait for outstanding commands after the last create." default:"${bench_drain}"`
	Out               string        `help:"Directory for the JSON, Markdown and SVG results." default:"bench-results" type:"path"`
	Data              string        `help:"Data directory of the in-process hub's SQLite database; a temporary directory (removed afterwards) when empty. With --find-max (not --find-max-one-hub), a new subdirectory step-N per step (kept)." type:"path"`
	Database          string        `help:"PostgreSQL URL for the in-process hub; SQLite in a temporary directory when empty. With --find-max (not --find-max-one-hub), each step on a new schema named after the URL's search_path (or bench), dropped after the step." env:"BELLHOP_DATABASE_URL"`
	Sync              string        `help:"SQLite durability of the in-process hub: full or normal." default:"${sync}" enum:"full,normal"`
	Target            string        `help:"Measure the hub at this URL (its platform address) instead of starting one; it must run with --rate-limit=-1."`
	WSAddr            string        `name:"ws-addr" help:"WebSocket base URL of --target when it differs."`
	AdminToken        string        `help:"Admin token of --target." env:"BELLHOP_ADMIN_TOKEN"`
	CPUProfile        string        `name:"cpuprofile" help:"Write a CPU profile of this process (with an in-process hub: hub and bench) to this file." type:"path"`
	Trace             string        `help:"Write an execution trace of this process (go tool trace: scheduling, GC, network waits) to this file; it costs a few percent of CPU." type:"path"`
}

// Run runs the benchmark, prints the Markdown report and writes the result
// files.
func (c *BenchCmd) Run(ctx context.Context, g *Globals) error {
	rep, err := c.run(ctx, g)
	if err != nil {
		return err
	}
	if err := rep.WriteMarkdown(g.stdout); err != nil {
		return err
	}
	paths, err := rep.WriteFiles(c.Out)
	for _, p := range paths {
		fmt.Fprintln(g.stderr, "wrote", p)
	}
	return err
}

// run runs the bench, against --target or a hub of its own.
func (c *BenchCmd) run(ctx context.Context, g *Globals) (*bench.Report, error) {
	log := g.Logger()
	cfg := bench.Config{Target: c.Target, WebSocketAddress: c.WSAddr, AdminToken: c.AdminToken,
		Scenario: c.Scenario, Agents: c.Agents, DevicesPerAgent: c.DevicesPerAgent, AgentsPerProducer: c.AgentsPerProducer,
		Rate: c.Rate, Duration: c.Duration, Warmup: c.Warmup, Burst: c.Burst, Waiting: c.Waiting, PDFSize: c.PDFSize,
		FindMax: c.FindMax, FindMaxOneHub: c.FindMaxOneHub, Bound: c.Bound, MaxInFlight: c.MaxInFlight, Drain: c.Drain, Progress: g.stderr, Logger: log}
	if c.Target == "" {
		// The hub's own logs would tear the progress line: warnings only.
		hubLog := log
		if g.LogLevel == "info" {
			quiet := *g
			quiet.LogLevel = "warn"
			hubLog = quiet.Logger()
		}
		cfg.Hub = node.Config{DataDir: c.Data, Database: c.Database, Sync: c.Sync, Logger: hubLog}
	} else if c.AdminToken == "" {
		return nil, errors.New("bench: --target needs --admin-token")
	}

	// A CPU profile and an execution trace, each stopped, then its file closed, when the bench ends.
	for _, r := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{{c.CPUProfile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {c.Trace, trace.Start, trace.Stop}} {
		if r.path == "" {
			continue
		}
		f, err := os.Create(r.path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := r.start(f); err != nil {
			return nil, err
		}
		defer r.stop()
	}
	return bench.Run(ctx, cfg)
}
