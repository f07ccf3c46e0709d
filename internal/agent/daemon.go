package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/render"
)

// The daemon is split by concern, each with its own lock:
//
//   - daemon.go (this file): the lifecycle (New, Run, Close) and /healthz;
//   - dispatch.go: which commands the agent holds and in which device queue;
//   - follow.go: following the hub (events, batched fetches, polls, catch-up);
//   - worker.go: running one device's commands through its driver.

// InterruptedNote is the note of a command that was running when the agent
// died and whose driver is not Repeatable: the device may or may not have
// acted, and only a person can tell.
const InterruptedNote = "interrupted, check the device"

// Causes of an action's cancellation.
var (
	errCancelledAtHub = errors.New("cancelled at the hub")
	errShutdown       = errors.New("agent shutting down")
)

// Agent is the on-premise daemon: it follows the hub's device commands for
// the configured devices and runs them through their drivers, keeping the
// promise described in the package documentation. Create it with New, run
// it with Run, release it with Close.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	client  *client.Client
	journal *Journal
	outbox  *Outbox
	metrics *metrics
	budget  *budget
	unlock  func() error
	ln      net.Listener // nil when Listen is "off"
	srv     *http.Server

	workers []*worker
	byID    map[string]*worker // lower-case hub device id
	byName  map[string]*worker

	cmds   commands  // dispatch.go
	follow following // follow.go
	life   lifecycle

	ready     chan struct{} // closed once connected and caught up (Ready)
	readyOnce sync.Once
}

// lifecycle is Run's bookkeeping, for Close and a second Run.
type lifecycle struct {
	mu        sync.Mutex
	running   bool
	stopRun   context.CancelFunc
	runDone   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg (see Config.Validate), applies its defaults, locks and
// opens the journal in StateDir, opens every device's driver (without
// contacting the device) and binds the health listener, so HealthAddr is
// known before Run. It returns the validation error, or an error when the
// state directory is used by another agent, the journal is corrupt, or the
// listener cannot bind.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	a := &Agent{cfg: cfg, log: cfg.Logger, byID: map[string]*worker{}, byName: map[string]*worker{},
		cmds: newCommands(), follow: newFollowing(), ready: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			a.release()
		}
	}()
	hc, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	labels := make([]string, len(cfg.Devices))
	for i, d := range cfg.Devices {
		labels[i] = d.label()
	}
	a.metrics = newMetrics(labels, func() float64 { return float64(a.outbox.Len()) }, a.queued)
	a.budget = newBudget(hc.Transport, cfg.RateLimit, cfg.RateWindow, a.metrics.countRequest)
	hc.Transport = a.budget
	a.client, err = client.New(client.Config{PlatformAddress: cfg.PlatformAddress, WebSocketAddress: cfg.WebSocketAddress,
		ClientToken: cfg.ClientToken, AccessToken: cfg.AccessToken, Client: cfg.Client, Logger: cfg.Logger,
		MaxBackoff: 5 * time.Second, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	for _, d := range cfg.Devices {
		opts, err := cfg.options(d)
		if err != nil {
			return nil, fmt.Errorf("agent: device %s: %w", d.label(), err)
		}
		drv, err := cfg.Drivers.Open(d.Driver, opts)
		if err != nil {
			return nil, fmt.Errorf("agent: device %s: %w", d.label(), err)
		}
		w := &worker{dev: d, scheme: driver.Scheme(d.Driver), drv: drv, wake: make(chan struct{}, 1)}
		a.workers = append(a.workers, w)
		if d.ID != "" {
			a.byID[strings.ToLower(d.ID)] = w
		} else {
			a.byName[strings.ToLower(d.Name)] = w
		}
	}
	if err := mkdirState(cfg.StateDir); err != nil {
		return nil, err
	}
	if a.unlock, err = lockDir(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if a.journal, err = OpenJournal(cfg.StateDir, cfg.Retention, time.Now); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.outbox = NewOutbox(a.client.UpdateCommand, a.reported, a.log)
	a.outbox.ready = a.budget.waitPause
	if cfg.Listen != ListenOff {
		if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("agent: listen on %s: %w", cfg.Listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.metrics.handler())
		mux.HandleFunc("GET /healthz", a.healthz)
		mux.HandleFunc("GET /readyz", a.readyz)
		a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	ok = true
	return a, nil
}

// HealthAddr returns the address of /healthz and /metrics, or "" when the
// listener is off.
func (a *Agent) HealthAddr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Run recovers what the journal holds, then follows the hub until ctx is
// done: it subscribes to the WebSocket, catches up on every (re)connect,
// polls when events are silent, and runs commands on the devices. When ctx
// is done it stops taking commands, lets running actions finish for up to
// ShutdownGrace (then cancels them), tries to report the outcomes within
// the same grace, and returns nil. It returns an error only when it cannot
// start: Run was called twice, or the journal cannot record the recovery.
func (a *Agent) Run(ctx context.Context) error {
	a.life.mu.Lock()
	if a.life.running {
		a.life.mu.Unlock()
		return errors.New("agent: Run called twice")
	}
	a.life.running = true
	ctx, a.life.stopRun = context.WithCancel(ctx)
	a.life.runDone = make(chan struct{})
	a.life.mu.Unlock()
	defer close(a.life.runDone)
	a.follow.touch()
	a.follow.startLink()

	if err := a.recoverJournal(); err != nil {
		return err
	}
	var bg sync.WaitGroup
	if a.srv != nil {
		bg.Go(func() {
			if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("agent: health listener failed", "error", err)
			}
		})
	}
	// Actions and the outbox outlive ctx by the shutdown grace.
	actionCtx, stopActions := context.WithCancelCause(context.WithoutCancel(ctx))
	outboxCtx, stopOutbox := context.WithCancel(context.WithoutCancel(ctx))
	defer stopActions(nil)
	defer stopOutbox()
	var outboxDone sync.WaitGroup
	outboxDone.Go(func() { a.outbox.Run(outboxCtx) })
	var work sync.WaitGroup
	for _, w := range a.workers {
		work.Go(func() { a.runWorker(ctx, actionCtx, w) })
	}
	for _, d := range a.cfg.Devices {
		if d.Format == driver.FormatESCPOS || d.Format == driver.FormatRaster {
			// Starting the PDF renderer takes seconds the first time: not
			// while the first receipt waits.
			// It cannot be interrupted and serves the process, so Run does
			// not wait for it.
			go func() {
				if err := render.Start(a.cfg.cacheDir()); err != nil {
					a.log.Error("agent: starting the PDF renderer", "error", err)
				}
			}()
			break
		}
	}
	var follow sync.WaitGroup
	follow.Go(func() { a.fetchLoop(ctx) })
	follow.Go(func() { a.pollLoop(ctx) })
	a.log.Info("agent: started", "platform_address", a.cfg.PlatformAddress, "devices", len(a.workers),
		"state_dir", a.cfg.StateDir, "health", a.HealthAddr())
	if a.cfg.Started != nil {
		a.cfg.Started()
	}
	_ = a.client.Subscribe(ctx, a.onEvent, client.SubscribeOptions{OnConnect: a.onConnect, OnDisconnect: a.onDisconnect})
	a.setConnected(false)
	follow.Wait()

	// Shutdown: workers take no new command; running ones get the grace,
	// then are cancelled (a printer's job at the printer). The outcomes
	// are reported within the same grace; what is left waits in the
	// journal for the next start.
	grace, stopGrace := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer stopGrace()
	workDone := make(chan struct{})
	go func() { work.Wait(); close(workDone) }()
	select {
	case <-workDone:
	case <-grace.Done():
		stopActions(errShutdown)
		<-workDone
	}
	select {
	case <-a.outbox.Idle():
	case <-grace.Done():
	}
	stopOutbox()
	outboxDone.Wait()
	if a.srv != nil {
		_ = a.srv.Close()
	}
	bg.Wait()
	a.log.Info("agent: stopped", "outbox_pending", a.outbox.Len())
	return nil
}

// Close stops Run (as if its context ended) and waits for it, then closes
// the drivers, the journal and the state directory's lock. It is
// idempotent and returns the first error of closing.
func (a *Agent) Close() error {
	a.life.closeOnce.Do(func() {
		a.life.mu.Lock()
		stop, done := a.life.stopRun, a.life.runDone
		a.life.mu.Unlock()
		if stop != nil {
			stop()
			<-done
		}
		a.life.closeErr = a.release()
	})
	return a.life.closeErr
}

// release frees what New acquired.
func (a *Agent) release() error {
	var errs []error
	for _, w := range a.workers {
		errs = append(errs, w.drv.Close())
	}
	if a.ln != nil {
		if a.srv != nil {
			errs = append(errs, ignoreClosed(a.srv.Close()))
		}
		errs = append(errs, ignoreClosed(a.ln.Close()))
	}
	if a.journal != nil {
		errs = append(errs, a.journal.Close())
	}
	if a.unlock != nil {
		errs = append(errs, a.unlock())
	}
	return errors.Join(errs...)
}

// mkdirState creates the state directory, private to the agent's user.
func mkdirState(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agent: state dir: %w", err)
	}
	return nil
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Ready returns a channel that is closed the first time the agent is
// connected to the hub and caught up with it (its first getAllActive
// done): the moment a service manager may call it started.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// health is the JSON body of /healthz and /readyz.
type health struct {
	Status    string // ok, unready, hub unreachable, failing
	Connected bool
	CaughtUp  bool
	// Unreachable is how long the hub has been unreachable, e.g. "42s".
	Unreachable string `json:",omitempty"`
	Queued      int
	Outbox      int
	Journal     string `json:",omitempty"`
}

func (a *Agent) health() health {
	up, down := a.follow.upFor()
	st := health{Status: "ok", Connected: a.follow.isConnected(), CaughtUp: up, Queued: int(a.queued()), Outbox: a.outbox.Len()}
	if !up {
		st.Unreachable = down.Round(time.Second).String()
	}
	return st
}

// healthz answers 200 while the agent can keep its promise, 503 when the
// journal cannot be written or the hub has been unreachable for longer
// than UnreachableGrace (a restart or a person may help then; a short
// outage is not unhealthy, since the agent runs what it holds and catches
// up when the hub returns), with the health JSON either way.
func (a *Agent) healthz(w http.ResponseWriter, _ *http.Request) {
	st := a.health()
	code := http.StatusOK
	if up, down := a.follow.upFor(); !up && down > a.cfg.UnreachableGrace {
		st.Status, code = "hub unreachable", http.StatusServiceUnavailable
	}
	if err := a.journal.Err(); err != nil {
		st.Status, st.Journal, code = "failing", err.Error(), http.StatusServiceUnavailable
	}
	writeHealth(w, code, st)
}

// readyz answers 200 only when the agent is connected, caught up (the
// first fetch after connecting is done) and owes the hub no update (the
// outbox is drained); 503 otherwise, with the health JSON either way.
func (a *Agent) readyz(w http.ResponseWriter, _ *http.Request) {
	st := a.health()
	code := http.StatusOK
	switch {
	case a.journal.Err() != nil:
		st.Status, st.Journal, code = "failing", a.journal.Err().Error(), http.StatusServiceUnavailable
	case !st.CaughtUp || st.Outbox > 0:
		st.Status, code = "unready", http.StatusServiceUnavailable
	}
	writeHealth(w, code, st)
}

func writeHealth(w http.ResponseWriter, code int, st health) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}
