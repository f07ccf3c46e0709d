// Package node builds a hub node from its configuration: the store, the
// service, the broker, the HTTP APIs, the console and the listeners. It is
// the one place that sees every concrete type; the CLI, the bench and the
// tests all build a hub through it.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/adminapi"
	"github.com/bellhop/bellhop/internal/connectorapi"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/metrics"
	"github.com/bellhop/bellhop/internal/ratelimit"
	"github.com/bellhop/bellhop/internal/realtime"
	"github.com/bellhop/bellhop/internal/reqlog"
	"github.com/bellhop/bellhop/internal/stage"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// Where a node listens and keeps its SQLite database unless configured
// otherwise.
const (
	DefaultAddr    = "127.0.0.1:8080"
	DefaultDataDir = "bellhop-data"
)

// Config is everything a hub node needs. Zero fields take the defaults of
// the packages that own them (named below); the serve command shows them.
type Config struct {
	Addr       string // HTTP listener, default DefaultAddr; port 0 picks one
	WSAddr     string // optional separate listener for /ws/connector
	DataDir    string // SQLite database and dev.json live here; default DefaultDataDir
	Database   string // postgres://... selects PostgreSQL instead of SQLite
	Schema     string // PostgreSQL schema of the tables, created if missing; default the URL's search_path
	Sync       string // SQLite durability: full or normal (sqlite.DefaultSync)
	TLSCert    string
	TLSKey     string
	Logger     *slog.Logger
	Now        func() time.Time
	MaxBody    int64           // default httpapi.DefaultMaxBody
	RateLimit  int             // requests per AccessToken per RateWindow; default ratelimit.DefaultLimit; negative disables
	RateWindow time.Duration   // default ratelimit.DefaultWindow
	Hub        hub.Config      // expiry, retention (hub.DefaultExpiry, hub.DefaultRetention)
	Realtime   realtime.Config // sockets (realtime.DefaultMaxSockets)
	// AdminToken, when set, is registered as an admin token at start.
	AdminToken string
	// Faults are set at start (see package fault); more may be set through
	// the admin API and the console.
	Faults []fault.Spec
	// DevTime lets the admin API move an enterprise's time (serve --dev).
	DevTime bool
	// RequestLog sizes the request log (reqlog.DefaultSize entries for
	// reqlog.DefaultWindow); a negative Size keeps none.
	RequestLog reqlog.Config
	// Console mounts the web console at /.
	Console bool
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers (slowloris); default 10 s. ReadTimeout bounds the
	// whole request, body included; default 2 minutes.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
}

// Node is a running hub node: store, service, broker and HTTP listeners.
type Node struct {
	cfg     Config
	Store   store.Store
	Service *hub.Service
	Broker  *realtime.Broker
	Metrics *metrics.Hub
	Limiter ratelimit.Limiter
	// Faults holds the node's faults; Requests its request log (nil when
	// it keeps none).
	Faults    *fault.Injector
	Requests  *reqlog.Log
	publisher hub.Publisher // the broker, counted by Metrics
	stages    *metrics.Stages
	ln, wsln  net.Listener
	handler   http.Handler
	srv       *http.Server
	wssrv     *http.Server
	log       *slog.Logger
	closeOnce sync.Once
}

// OpenStore opens the store that cfg names.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	return openStore(ctx, cfg, nil)
}

// openStore opens the store that cfg names; the store reports its writes'
// stages to obs.
func openStore(ctx context.Context, cfg Config, obs stage.Observer) (store.Store, error) {
	if cfg.Database != "" {
		return openPostgres(ctx, cfg, obs)
	}
	dir := cfg.DataDir
	if dir == "" {
		dir = DefaultDataDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "bellhop.db"), Sync: cfg.Sync, Stage: obs})
}

// New opens the store, wires the service, the broker and the APIs, and
// binds the listeners (so Addr is known before Run).
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	stages := metrics.NewStages()
	st, err := openStore(ctx, cfg, stages.Observe)
	if err != nil {
		return nil, err
	}
	h := &Node{cfg: cfg, Store: st, log: cfg.Logger, stages: stages}
	if err := h.wire(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return h, nil
}

func (h *Node) wire(ctx context.Context) error {
	cfg := h.cfg
	hcfg := cfg.Hub
	hcfg.Logger, hcfg.Now = cfg.Logger, cfg.Now
	rcfg := cfg.Realtime
	rcfg.Logger, rcfg.Now = cfg.Logger, cfg.Now
	hcfg.Clustered = clustered(h.Store) // then Run relays the store's reports
	h.Faults = fault.New(cfg.Now)
	for _, f := range cfg.Faults {
		if f.CreatedBy == "" {
			f.CreatedBy = "serve --faults"
		}
		if _, err := h.Faults.Add(f); err != nil {
			return fmt.Errorf("fault %s: %w", f.Kind, err)
		}
	}
	if cfg.RequestLog.Size >= 0 {
		lc := cfg.RequestLog
		lc.Now = cfg.Now
		h.Requests = reqlog.New(lc)
	}
	hcfg.Faults, hcfg.Requests, hcfg.DevTime = h.Faults, h.Requests, cfg.DevTime
	rcfg.Faults, rcfg.Log, rcfg.Stage = h.Faults, h.Requests, h.stages.Observe

	hcfg.Sockets = func() map[string]hub.Sockets { return openSockets(h.Broker) }
	var svc *hub.Service
	pub := &lazyPublisher{}
	svc, err := hub.New(hcfg, h.Store, pub)
	if err != nil {
		return err
	}
	h.Service = svc
	h.Metrics = metrics.NewHub(func() int { return h.Broker.Count() }, svc, h.stages)
	rcfg.OnDeliver = h.Metrics.ObserveDelivery
	h.Broker = realtime.NewBroker(rcfg, svc)
	pub.next = metrics.Publisher{Next: h.Broker, Hub: h.Metrics}
	h.publisher = pub.next

	if cfg.RateLimit >= 0 {
		h.Limiter = newLimiter(h.Store, cfg)
	}
	if cfg.AdminToken != "" {
		if err := EnsureAdminToken(ctx, h.Store, "configured", cfg.AdminToken); err != nil {
			return err
		}
	}

	conn := connectorapi.New(connectorapi.Config{Logger: cfg.Logger, MaxBody: cfg.MaxBody, Limiter: h.Limiter,
		Observe: h.Metrics.ObserveRequest, Faults: h.Faults, Log: h.Requests, Stage: h.stages.Observe}, svc)
	admin := adminapi.New(adminapi.Config{Logger: cfg.Logger, MaxBody: cfg.MaxBody}, svc)
	var allow func(context.Context, string) (bool, time.Duration)
	if h.Limiter != nil {
		allow = h.Limiter.Allow
	}
	ws := h.Broker.Handler(realtime.HandlerOptions{Allow: allow})

	mux := http.NewServeMux()
	mux.Handle(connectorapi.Prefix, conn)
	mux.Handle(adminapi.Prefix, admin)
	mux.Handle("/ws/connector", ws)
	mux.Handle("GET /metrics", h.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"Status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.ready)
	if cfg.Console {
		mux.Handle("/", h.console())
	} else {
		mux.Handle("/", httpapi.NotFound(cfg.Logger))
	}
	h.handler = httpapi.WithRequestID(httpapi.Recover(cfg.Logger, mux))

	var err2 error
	if h.ln, err2 = net.Listen("tcp", cfg.Addr); err2 != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err2)
	}
	h.srv = newServer(h.handler, cfg)
	if cfg.WSAddr != "" {
		if h.wsln, err2 = net.Listen("tcp", cfg.WSAddr); err2 != nil {
			h.ln.Close()
			return fmt.Errorf("listen on %s: %w", cfg.WSAddr, err2)
		}
		wsmux := http.NewServeMux()
		wsmux.Handle("/ws/connector", ws)
		wsmux.Handle("/", httpapi.NotFound(cfg.Logger))
		h.wssrv = newServer(httpapi.WithRequestID(httpapi.Recover(cfg.Logger, wsmux)), cfg)
	}
	return nil
}

// newServer returns an http.Server with timeouts that a slow client cannot
// stretch: headers must arrive within 10 s, a body within 2 minutes (or
// cfg's ReadHeaderTimeout and ReadTimeout).
func newServer(h http.Handler, cfg Config) *http.Server {
	header, read := cfg.ReadHeaderTimeout, cfg.ReadTimeout
	if header <= 0 {
		header = 10 * time.Second
	}
	if read <= 0 {
		read = 2 * time.Minute
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: header, ReadTimeout: read,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog:  slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
}

func (h *Node) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := h.Store.ListEnterprises(ctx); err != nil {
		httpapi.WriteError(w, r, h.log, bellhop.Errorf(bellhop.EUNAVAILABLE, "Store unavailable."))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"Status": "ready"})
}

// openSockets reports the broker's sockets to the service (which may not
// import realtime: the assembly joins them).
func openSockets(b *realtime.Broker) map[string]hub.Sockets {
	if b == nil {
		return nil
	}
	st := b.OpenSockets()
	out := make(map[string]hub.Sockets, len(st))
	for sub, s := range st {
		out[sub] = hub.Sockets{Count: s.Count, Since: s.Oldest}
	}
	return out
}

// lazyPublisher lets the service be built before the broker it publishes to.
type lazyPublisher struct{ next hub.Publisher }

func (p *lazyPublisher) Publish(e []bellhop.Event) { p.next.Publish(e) }
func (p *lazyPublisher) DevicesChanged(id string)  { p.next.DevicesChanged(id) }
func (p *lazyPublisher) Revoked(id string)         { p.next.Revoked(id) }

// Handler is the node's whole HTTP handler (what its main listener serves),
// for tests that call it without a socket.
func (h *Node) Handler() http.Handler { return h.handler }

// Addr returns the HTTP listener's address.
func (h *Node) Addr() string { return h.ln.Addr().String() }

// PlatformAddress is the base URL of the Connector API.
func (h *Node) PlatformAddress() string { return h.scheme("http") + "://" + h.Addr() }

// WebSocketAddress is the base URL of the WebSocket endpoint.
func (h *Node) WebSocketAddress() string {
	addr := h.Addr()
	if h.wsln != nil {
		addr = h.wsln.Addr().String()
	}
	return h.scheme("ws") + "://" + addr
}

func (h *Node) scheme(plain string) string {
	if h.cfg.TLSCert != "" {
		return plain + "s"
	}
	return plain
}

// Run serves until ctx is done, then shuts down gracefully: it stops taking
// connections, closes sockets with 1001, and lets in-flight requests finish
// (up to 10 s).
//
// On PostgreSQL it first relays the store's reports of every node's changes
// to the broker (see hub.Config.Clustered), and serves once that listens.
func (h *Node) Run(ctx context.Context) error {
	stopRelay, err := startRelay(ctx, h.Service, h.Store, h.publisher)
	if err != nil {
		return err
	}
	defer stopRelay()
	errc := make(chan error, 3)
	serve := func(srv *http.Server, ln net.Listener) {
		var err error
		if h.cfg.TLSCert != "" {
			err = srv.ServeTLS(ln, h.cfg.TLSCert, h.cfg.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	go serve(h.srv, h.ln)
	if h.wssrv != nil {
		go serve(h.wssrv, h.wsln)
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		h.Service.Run(sweepCtx)
	}()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopSweep()
	<-swept
	h.shutdown()
	return err
}

func (h *Node) shutdown() {
	h.Broker.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
	if h.wssrv != nil {
		h.wssrv.Shutdown(ctx)
	}
}

// Close stops the listeners and closes the store. Safe to call after Run.
func (h *Node) Close() error {
	var err error
	h.closeOnce.Do(func() {
		h.shutdown()
		h.srv.Close()
		h.ln.Close()
		if h.wssrv != nil {
			h.wssrv.Close()
			h.wsln.Close()
		}
		err = h.Store.Close()
	})
	return err
}

// EnsureAdminToken registers token as an admin token unless it already is.
func EnsureAdminToken(ctx context.Context, st store.Store, name, token string) error {
	hash := bellhop.HashToken(token)
	if _, err := st.AdminTokenName(ctx, hash); err == nil {
		return nil
	} else if !errors.Is(err, bellhop.ErrNotFound) {
		return fmt.Errorf("admin token: %w", err)
	}
	if err := st.CreateAdminToken(ctx, name+"-"+hash[:8], hash); err != nil {
		if bellhop.ErrorCode(err) == bellhop.ECONFLICT {
			// Another node, starting at the same time, registered it.
			if _, err2 := st.AdminTokenName(ctx, hash); err2 == nil {
				return nil
			}
		}
		return fmt.Errorf("admin token: %w", err)
	}
	return nil
}
