package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/node"
	"github.com/bellhop/bellhop/internal/realtime"
	"github.com/bellhop/bellhop/internal/service"
)

// ServeCmd runs a hub node.
type ServeCmd struct {
	Addr             string            `help:"Listen address of the APIs, the console and (by default) the WebSocket." default:"${addr}" env:"BELLHOP_ADDR"`
	WSAddr           string            `name:"ws-addr" help:"Separate listen address for /ws/connector (Mews serves it from its own host)." env:"BELLHOP_WS_ADDR"`
	Data             string            `help:"Data directory of the embedded SQLite database." default:"${data}" env:"BELLHOP_DATA"`
	Database         string            `help:"PostgreSQL URL (postgres://...); SQLite in --data when empty." env:"BELLHOP_DATABASE_URL"`
	Sync             string            `help:"SQLite durability: full (every commit survives power loss) or normal (survives a process crash)." default:"${sync}" enum:"full,normal" env:"BELLHOP_SYNC"`
	Dev              bool              `help:"Seed demo data once (an enterprise, an integration, one device of each type) and print its tokens; let the admin API move an enterprise's time."`
	MewsDemo         bool              `name:"mews-demo" help:"Accept the ClientToken and AccessTokens printed in the Mews documentation's examples, with their devices, reservation, customer and command: an integration set up for the Mews demo needs only its addresses changed. Lets the admin API move time. The tokens are public: never on a hub others reach." env:"BELLHOP_MEWS_DEMO"`
	AdminToken       string            `help:"Register this admin token (for scripts and deployments)." env:"BELLHOP_ADMIN_TOKEN"`
	TLSCert          string            `name:"tls-cert" help:"TLS certificate file (PEM)." env:"BELLHOP_TLS_CERT"`
	TLSKey           string            `name:"tls-key" help:"TLS key file (PEM)." env:"BELLHOP_TLS_KEY"`
	MaxBody          int64             `help:"Largest request body in bytes." default:"${max_body}" env:"BELLHOP_MAX_BODY"`
	RateLimit        int               `help:"Requests per AccessToken per rate window (REST and WebSocket upgrades); -1 disables." default:"${rate_limit}" env:"BELLHOP_RATE_LIMIT"`
	RateWindow       time.Duration     `help:"Rate limit window." default:"${rate_window}" env:"BELLHOP_RATE_WINDOW"`
	Retention        time.Duration     `help:"How long final commands are kept." default:"${retention}" env:"BELLHOP_RETENTION"`
	MaxSockets       int               `help:"Open WebSockets allowed per AccessToken." default:"${max_sockets}" env:"BELLHOP_MAX_SOCKETS"`
	ExpireWaiting    time.Duration     `help:"A Pending or Received command with no update for this long becomes Cancelled." default:"${expire_waiting}" env:"BELLHOP_EXPIRE_WAITING"`
	ExpireProcessing time.Duration     `help:"A Processing command with no update for this long becomes Error." default:"${expire_processing}" env:"BELLHOP_EXPIRE_PROCESSING"`
	DebugAddr        string            `name:"debug-addr" help:"Serve Go's profiler (/debug/pprof) on this separate address, e.g. 127.0.0.1:6060; off when empty." env:"BELLHOP_DEBUG_ADDR"`
	DebugBlock       bool              `name:"debug-block" help:"With --debug-addr, also record where goroutines block and wait for locks (/debug/pprof/block and /mutex); costs some CPU." env:"BELLHOP_DEBUG_BLOCK"`
	Expiry           map[string]string `help:"Per device type: TYPE=WAITING/PROCESSING, e.g. --expiry KeyCutter=30m/2m." env:"BELLHOP_EXPIRY"`
	Faults           []string          `help:"Set a fault at start (repeat, or separate with ;): KIND,rate=R[,seed=S][,integration=ID|subscription=ID][,ops=OP+OP][,status=N][,delay=D][,code=N][,times=N]. See bellhop admin faults set." sep:";" env:"BELLHOP_FAULTS"`
	RequestLog       int               `name:"request-log" help:"How many Connector requests and WebSocket sessions the request log keeps; 0 keeps none." default:"${request_log}" env:"BELLHOP_REQUEST_LOG"`
	RequestLogWindow time.Duration     `name:"request-log-window" help:"How long the request log keeps them." default:"${request_log_window}" env:"BELLHOP_REQUEST_LOG_WINDOW"`
	GCHeap           int               `name:"gc-heap" help:"Let the heap grow to this many MiB between garbage collections while less than half of it is in use (fewer collections, a shorter latency tail); above that, collect as Go does by default. 0: Go's default. GOGC or GOMEMLIMIT in the environment win." default:"${gc_heap}" env:"BELLHOP_GC_HEAP"`
}

// expiry turns the expiry flags into the hub's per-type configuration.
func (c *ServeCmd) expiry() (map[bellhop.DeviceType]hub.Expiry, error) {
	out := map[bellhop.DeviceType]hub.Expiry{}
	for _, t := range bellhop.DeviceTypes {
		out[t] = hub.Expiry{Waiting: c.ExpireWaiting, Processing: c.ExpireProcessing}
	}
	for typ, v := range c.Expiry {
		t := bellhop.DeviceType(typ)
		if !t.Mews() {
			return nil, fmt.Errorf("--expiry: %q is not a Mews device type (generic devices take --expire-waiting and --expire-processing)", typ)
		}
		w, p, ok := strings.Cut(v, "/")
		wd, err1 := time.ParseDuration(w)
		pd, err2 := time.ParseDuration(p)
		if !ok || err1 != nil || err2 != nil || wd <= 0 || pd <= 0 {
			return nil, fmt.Errorf("--expiry %s=%s: want WAITING/PROCESSING durations, e.g. 30m/2m", typ, v)
		}
		out[t] = hub.Expiry{Waiting: wd, Processing: pd}
	}
	return out, nil
}

// Run serves until interrupted, or until systemd stops it: it tells
// systemd when it listens (see internal/service).
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	log := g.Logger()
	return service.Run(ctx, func(ctx context.Context, ready func()) error { return c.serve(ctx, g, log, ready) },
		service.Options{Name: service.HubName, Logger: log})
}

// serve runs the hub and calls ready once it listens.
func (c *ServeCmd) serve(ctx context.Context, g *Globals, log *slog.Logger, ready func()) (err error) {
	cfg := node.Config{Addr: c.Addr, WSAddr: c.WSAddr, DataDir: c.Data, Database: c.Database, Sync: c.Sync,
		TLSCert: c.TLSCert, TLSKey: c.TLSKey, Logger: log, MaxBody: c.MaxBody, RateLimit: c.RateLimit,
		RateWindow: c.RateWindow, AdminToken: c.AdminToken,
		Realtime: realtime.Config{MaxSocketsPerSubscription: c.MaxSockets}}
	cfg.Hub.Retention = c.Retention
	if c.ExpireWaiting <= 0 || c.ExpireProcessing <= 0 || c.Retention <= 0 {
		return fmt.Errorf("--expire-waiting, --expire-processing and --retention must be positive")
	}
	if cfg.Hub.Expiry, err = c.expiry(); err != nil {
		return err
	}
	cfg.Hub.GenericExpiry = hub.Expiry{Waiting: c.ExpireWaiting, Processing: c.ExpireProcessing}
	for _, f := range c.Faults {
		spec, err := fault.Parse(f)
		if err != nil {
			return fmt.Errorf("--faults: %w", err)
		}
		cfg.Faults = append(cfg.Faults, spec)
	}
	switch {
	case c.RequestLog < 0 || c.RequestLogWindow <= 0:
		return fmt.Errorf("--request-log must be 0 or more and --request-log-window positive")
	case c.RequestLog == 0:
		cfg.RequestLog.Size = -1
	default:
		cfg.RequestLog.Size, cfg.RequestLog.Window = c.RequestLog, c.RequestLogWindow
	}
	if c.GCHeap < 0 {
		return fmt.Errorf("--gc-heap must be 0 or more MiB")
	}
	cfg.Console = true
	cfg.DevTime = c.Dev || c.MewsDemo
	h, err := node.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	stopGC, gc := tuneGC(c.GCHeap, os.Getenv)
	defer stopGC()
	log.Debug("garbage collection", "policy", gc)
	for _, f := range h.Faults.List() {
		log.Warn("fault set: this hub misbehaves on purpose", "fault", f.Spec.String())
	}
	if c.DebugAddr != "" {
		stop, err := serveDebug(c.DebugAddr)
		if err != nil {
			return err
		}
		defer stop()
		if c.DebugBlock {
			// One sample per 10 µs spent blocked, and one lock wait in 10.
			runtime.SetBlockProfileRate(10_000)
			runtime.SetMutexProfileFraction(10)
		}
		log.Info("profiler listening", "addr", c.DebugAddr, "block_profiles", c.DebugBlock)
	}
	if c.Dev {
		dev, err := node.SeedDev(ctx, h, c.Data)
		if err != nil {
			return err
		}
		dev.Print(g.stdout)
	}
	if c.MewsDemo {
		log.Warn("--mews-demo: this hub accepts the tokens printed in the Mews documentation; anyone who reaches it can use them")
		demo, err := node.SeedMewsDemo(ctx, h)
		if err != nil {
			return err
		}
		demo.Print(g.stdout)
	}
	log.Info("bellhop hub listening", "platform_address", h.PlatformAddress(), "websocket_address", h.WebSocketAddress(),
		"store", storeName(c.Database))
	ready()
	if err := h.Run(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("bellhop hub stopped")
	return nil
}

func storeName(database string) string {
	if database != "" {
		return "postgres"
	}
	return "sqlite"
}

// MigrateCmd runs the migrations alone.
type MigrateCmd struct {
	Data     string `help:"Data directory of the embedded SQLite database." default:"${data}" env:"BELLHOP_DATA"`
	Database string `help:"PostgreSQL URL; SQLite in --data when empty." env:"BELLHOP_DATABASE_URL"`
}

// Run opens the store, which migrates it, and closes it.
func (c *MigrateCmd) Run(ctx context.Context, g *Globals) error {
	st, err := node.OpenStore(ctx, node.Config{DataDir: c.Data, Database: c.Database})
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, "migrations applied")
	return st.Close()
}

// serveDebug serves net/http/pprof on its own listener, never on the public
// one.
func serveDebug(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
