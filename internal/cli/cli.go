// Package cli is the bellhop command: flags, environment and configuration
// files. It builds a hub through internal/node, which wires the concrete
// types together.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/bellhop/bellhop/internal/bench"
	"github.com/bellhop/bellhop/internal/buildinfo"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/node"
	"github.com/bellhop/bellhop/internal/ratelimit"
	"github.com/bellhop/bellhop/internal/realtime"
	"github.com/bellhop/bellhop/internal/reqlog"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// Globals are the flags every command takes.
type Globals struct {
	LogFormat   string      `help:"Log format: text or json." default:"text" enum:"text,json" env:"BELLHOP_LOG_FORMAT"`
	LogLevel    string      `help:"Log level: debug, info, warn or error." default:"info" enum:"debug,info,warn,error" env:"BELLHOP_LOG_LEVEL"`
	ShowVersion versionFlag `name:"version" help:"Print the version and exit."`

	stdin          io.Reader
	stdout, stderr io.Writer
}

// Logger returns the logger the flags ask for, writing to stderr.
func (g *Globals) Logger() *slog.Logger { return slog.New(g.handler(g.stderr)) }

// handler is the log handler the flags ask for, writing to w.
func (g *Globals) handler(w io.Writer) slog.Handler {
	var level slog.Level
	level.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if g.LogFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

type command struct {
	Globals
	Serve   ServeCmd   `cmd:"" help:"Run the hub."`
	Migrate MigrateCmd `cmd:"" help:"Run the database migrations and exit."`
	Admin   AdminCmd   `cmd:"" help:"Manage a running hub through its admin API."`
	Bench   BenchCmd   `cmd:"" help:"Measure the hub as integrations use it."`
	Agent   AgentCmd   `cmd:"" help:"Run the on-premise agent."`
	Version struct{}   `cmd:"" help:"Print the version."`
	Units   UnitsCmd   `cmd:"" hidden:"" help:"Write the packages' systemd units into a directory (for scripts/package)."`
}

// Run runs the bellhop command with args (without the program name) and
// returns the process exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return run(args, os.Stdin, stdout, stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var cmd command
	cmd.stdin, cmd.stdout, cmd.stderr = stdin, stdout, stderr
	parser, err := kong.New(&cmd, kong.Name("bellhop"), defaults(), kong.Bind(&cmd.Globals),
		kong.Description("A device command hub for hotels, wire-compatible with the Mews Connector device API."),
		kong.Writers(stdout, stderr), kong.Exit(func(code int) { panic(exitCode(code)) }), kong.UsageOnError())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	kctx, code, err := parse(parser, args)
	if err != nil || kctx == nil {
		return code
	}
	if kctx.Command() == "version" {
		fmt.Fprint(stdout, buildinfo.Get())
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(&cmd.Globals); err != nil {
		fmt.Fprintln(stderr, "bellhop:", err)
		return 1
	}
	return 0
}

// defaults are the flags' defaults, read from the packages that own them.
func defaults() kong.Vars {
	b := bench.DefaultConfig()
	return kong.Vars{
		"addr":                      node.DefaultAddr,
		"data":                      node.DefaultDataDir,
		"sync":                      sqlite.DefaultSync,
		"max_body":                  strconv.Itoa(httpapi.DefaultMaxBody),
		"rate_limit":                strconv.Itoa(ratelimit.DefaultLimit),
		"rate_window":               duration(ratelimit.DefaultWindow),
		"retention":                 duration(hub.DefaultRetention),
		"max_sockets":               strconv.Itoa(realtime.DefaultMaxSockets),
		"expire_waiting":            duration(hub.DefaultExpiry.Waiting),
		"expire_processing":         duration(hub.DefaultExpiry.Processing),
		"request_log":               strconv.Itoa(reqlog.DefaultSize),
		"gc_heap":                   strconv.Itoa(defaultGCHeapMiB),
		"request_log_window":        duration(reqlog.DefaultWindow),
		"bench_scenario":            b.Scenario,
		"bench_agents":              strconv.Itoa(b.Agents),
		"bench_devices":             strconv.Itoa(b.DevicesPerAgent),
		"bench_agents_per_producer": strconv.Itoa(b.AgentsPerProducer),
		"bench_duration":            duration(b.Duration),
		"bench_warmup":              duration(b.Warmup),
		"bench_burst":               strconv.Itoa(b.Burst),
		"bench_waiting":             strconv.Itoa(b.Waiting),
		"bench_bound":               duration(b.Bound),
		"bench_max_in_flight":       strconv.Itoa(b.MaxInFlight),
		"bench_drain":               duration(b.Drain),
	}
}

// duration writes d as a person would: 720h, 15m, 2s, 100ms.
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// versionFlag is --version: it prints what `bellhop version` prints and
// exits before any command runs.
type versionFlag bool

// BeforeReset runs while kong parses, before required flags are checked, so
// that `bellhop --version` works alone.
func (versionFlag) BeforeReset(app *kong.Kong) error {
	fmt.Fprint(app.Stdout, buildinfo.Get())
	app.Exit(0)
	return nil
}

// exitCode carries kong's request to exit (after --help) out of Parse.
type exitCode int

// parse runs kong's parser, turning its exit requests into a return.
func parse(parser *kong.Kong, args []string) (kctx *kong.Context, code int, err error) {
	defer func() {
		if v := recover(); v != nil {
			c, ok := v.(exitCode)
			if !ok {
				panic(v)
			}
			kctx, code, err = nil, int(c), nil
		}
	}()
	kctx, err = parser.Parse(args)
	if err != nil {
		parser.Errorf("%s", err)
		return nil, 2, err
	}
	return kctx, 0, nil
}
