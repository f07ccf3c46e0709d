package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent/driver"
)

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
	unlock  func() error
	ln      net.Listener // nil when Listen is "off"
	srv     *http.Server

	workers []*worker
	byID    map[string]*worker // lower-case hub device id
	byName  map[string]*worker

	mu         sync.Mutex
	known      map[string]*task // queued or running in this process
	ignored    map[string]bool  // commands of devices without a driver
	loggedDevs map[string]bool  // devices without a driver, logged once
	seq        uint64
	lastActive time.Time
	connected  bool
	fetch      map[string]bool // ids announced by events, to fetch
	fetchWake  chan struct{}
	running    bool
	stopRun    context.CancelFunc
	runDone    chan struct{}

	catchUpMu sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// worker runs one configured device's commands, one at a time.
type worker struct {
	dev    DeviceConfig
	scheme string
	drv    driver.Driver
	queue  []*task // sorted by creation
	wake   chan struct{}
}

// task is one command queued for or running on a worker.
type task struct {
	cmd     client.Command
	w       *worker
	seq     uint64
	running bool
	cancel  context.CancelCauseFunc
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
		known: map[string]*task{}, ignored: map[string]bool{}, loggedDevs: map[string]bool{},
		fetch: map[string]bool{}, fetchWake: make(chan struct{}, 1)}
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
	a.client, err = client.New(client.Config{PlatformAddress: cfg.PlatformAddress, WebSocketAddress: cfg.WebSocketAddress,
		ClientToken: cfg.ClientToken, AccessToken: cfg.AccessToken, Client: cfg.Client, Logger: cfg.Logger,
		MaxBackoff: 5 * time.Second, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	for _, d := range cfg.Devices {
		drv, err := cfg.Drivers.Open(d.Driver, driver.Options{Timeout: cfg.DriverTimeout, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("agent: device %s: %w", d.label(), err)
		}
		w := &worker{dev: d, scheme: driver.Scheme(d.Driver), drv: drv, wake: make(chan struct{}, 1)}
		a.workers = append(a.workers, w)
		if d.ID != "" {
			a.byID[strings.ToLower(d.ID)] = w
		} else {
			a.byName[d.Name] = w
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
	a.metrics = newMetrics(func() float64 { return float64(a.outbox.Len()) }, a.queued)
	if cfg.Listen != ListenOff {
		if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("agent: listen on %s: %w", cfg.Listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.metrics.handler())
		mux.HandleFunc("GET /healthz", a.healthz)
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
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("agent: Run called twice")
	}
	a.running = true
	ctx, a.stopRun = context.WithCancel(ctx)
	a.runDone = make(chan struct{})
	a.lastActive = time.Now()
	a.mu.Unlock()
	defer close(a.runDone)

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
	var follow sync.WaitGroup
	follow.Go(func() { a.fetchLoop(ctx) })
	follow.Go(func() { a.pollLoop(ctx) })
	a.log.Info("agent: started", "platform_address", a.cfg.PlatformAddress, "devices", len(a.workers),
		"state_dir", a.cfg.StateDir, "health", a.HealthAddr())
	_ = a.client.Subscribe(ctx, a.onEvent, client.SubscribeOptions{OnConnect: a.onConnect, OnDisconnect: a.onDisconnect})
	a.setConnected(false)
	follow.Wait()

	// Shutdown: workers take no new command; running ones get the grace.
	grace := time.NewTimer(a.cfg.ShutdownGrace)
	defer grace.Stop()
	workDone := make(chan struct{})
	go func() { work.Wait(); close(workDone) }()
	select {
	case <-workDone:
	case <-grace.C:
		stopActions(errShutdown)
		<-workDone
	}
	select {
	case <-a.outbox.Idle():
	case <-grace.C:
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
	a.closeOnce.Do(func() {
		a.mu.Lock()
		stop, done := a.stopRun, a.runDone
		a.mu.Unlock()
		if stop != nil {
			stop()
			<-done
		}
		a.closeErr = a.release()
	})
	return a.closeErr
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

// recoverJournal turns what a previous run left in the journal into work:
// outcomes not yet accepted go to the outbox; commands started but not
// finished become Error "interrupted, check the device", unless their
// driver is Repeatable, in which case they run again once the hub shows
// them (see dispatch).
func (a *Agent) recoverJournal() error {
	for _, e := range a.journal.Entries() {
		switch {
		case e.Finished() && e.Reported.IsZero():
			a.outbox.Put(finalUpdate(e.ID, e.State, e.Notes))
		case !e.Finished() && !e.Started.IsZero():
			if w := a.workerByKey(e.Device); w != nil && w.drv.Repeatable() {
				a.log.Info("agent: will run an interrupted command again (repeatable driver)", "command", e.ID, "device", w.dev.label())
				continue
			}
			a.log.Warn("agent: command was interrupted mid-action", "command", e.ID, "device", e.Device)
			if err := a.journal.Finish(e.ID, string(client.StateError), InterruptedNote); err != nil {
				return fmt.Errorf("agent: %w", err)
			}
			a.metrics.commands.WithLabelValues(outcomeInterrupted).Inc()
			a.outbox.Put(finalUpdate(e.ID, string(client.StateError), InterruptedNote))
		}
	}
	return nil
}

func finalUpdate(id, state, notes string) client.UpdateRequest {
	n := driver.Bound(notes)
	return client.UpdateRequest{CommandId: id, State: client.State(state), Notes: &n}
}

func (a *Agent) workerByKey(key string) *worker {
	for _, w := range a.workers {
		if w.dev.key() == key {
			return w
		}
	}
	return nil
}

// reported is the outbox's callback for an accepted outcome.
func (a *Agent) reported(id string) {
	if err := a.journal.Reported(id); err != nil {
		a.log.Error("agent: journal", "error", err)
	}
}

// match returns the worker for a hub device: by id, else by name.
func (a *Agent) match(d client.Device) *worker {
	if w := a.byID[strings.ToLower(d.Id)]; w != nil {
		return w
	}
	return a.byName[d.Name]
}

// dispatch decides what to do with a command read from the hub. It is
// idempotent: events and catch-ups announce the same command many times.
func (a *Agent) dispatch(cmd client.Command) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.known[cmd.Id]; t != nil {
		if cmd.State.Final() {
			a.cancelLocked(t)
		}
		return
	}
	if e, ok := a.journal.Get(cmd.Id); ok {
		if e.Finished() {
			return // done before; the outbox owes the hub its outcome, if anything
		}
		// Started, not finished, and still here after recovery: its driver
		// is repeatable. Run it again unless the hub finished it meanwhile.
		if cmd.State.Final() {
			a.finishUnrun(cmd.Id, cmd.State)
			return
		}
		a.enqueueLocked(cmd, a.match(cmd.Device))
		return
	}
	if !cmd.State.Active() || a.ignored[cmd.Id] {
		return // Processing by someone else, or final: not ours to touch
	}
	w := a.match(cmd.Device)
	if w == nil {
		a.ignored[cmd.Id] = true
		if len(a.ignored) > 100_000 {
			clear(a.ignored) // a memory bound; forgetting only costs a fetch
		}
		if !a.loggedDevs[cmd.Device.Id] {
			a.loggedDevs[cmd.Device.Id] = true
			a.log.Info("agent: no driver configured for device; leaving its commands alone",
				"device_id", cmd.Device.Id, "device", cmd.Device.Name, "type", cmd.Device.Type)
		}
		return
	}
	a.enqueueLocked(cmd, w)
}

// finishUnrun records that a command the journal holds as started was
// finished at the hub by someone else: there is nothing left to report.
func (a *Agent) finishUnrun(id string, state client.State) {
	if err := a.journal.Finish(id, string(state), "finished at the hub"); err == nil {
		_ = a.journal.Reported(id)
	}
}

func (a *Agent) enqueueLocked(cmd client.Command, w *worker) {
	if w == nil {
		return
	}
	a.seq++
	t := &task{cmd: cmd, w: w, seq: a.seq}
	a.known[cmd.Id] = t
	i, _ := slices.BinarySearchFunc(w.queue, t, func(x, y *task) int {
		if c := x.cmd.CreatedUtc.Compare(y.cmd.CreatedUtc); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	w.queue = slices.Insert(w.queue, i, t)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// cancelLocked skips a queued command or aborts a running one.
func (a *Agent) cancelLocked(t *task) {
	if t.running {
		a.log.Info("agent: command cancelled at the hub while running; aborting", "command", t.cmd.Id)
		t.cancel(errCancelledAtHub)
		return
	}
	t.w.queue = slices.DeleteFunc(t.w.queue, func(x *task) bool { return x == t })
	delete(a.known, t.cmd.Id)
	a.metrics.commands.WithLabelValues(outcomeCancelled).Inc()
	a.log.Info("agent: command cancelled at the hub before it started; skipped", "command", t.cmd.Id)
}

func (a *Agent) queued() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return float64(len(a.known))
}

// runWorker runs w's commands one at a time, oldest first, until ctx ends.
func (a *Agent) runWorker(ctx, actionCtx context.Context, w *worker) {
	for {
		a.mu.Lock()
		for len(w.queue) == 0 {
			a.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			a.mu.Lock()
		}
		if ctx.Err() != nil {
			a.mu.Unlock()
			return
		}
		t := w.queue[0]
		w.queue = w.queue[1:]
		actx, cancel := context.WithCancelCause(actionCtx)
		t.running, t.cancel = true, cancel
		a.mu.Unlock()
		a.execute(actx, w, t)
		cancel(nil)
	}
}

// execute runs one command on w's driver, bracketed by the journal.
func (a *Agent) execute(ctx context.Context, w *worker, t *task) {
	cmd := t.cmd
	log := a.log.With("command", cmd.Id, "device", w.dev.label())
	if err := a.journal.Start(cmd.Id, w.dev.key(), cmd.Device.Id); err != nil {
		// Without the record the promise cannot hold: do not touch the device.
		log.Error("agent: cannot journal the start; not running the command", "error", err)
		a.forget(t)
		return
	}
	zero := 0.0
	a.outbox.Put(client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessing, Progress: &zero})
	job := driver.Job{CommandID: cmd.Id, DeviceID: cmd.Device.Id, DeviceName: cmd.Device.Name,
		DeviceType: string(cmd.Device.Type), Data: json.RawMessage(cmd.Data),
		Progress: func(f float64) {
			a.outbox.Put(client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessing, Progress: &f})
		}}
	started := time.Now()
	res, err := w.drv.Run(ctx, job)
	a.metrics.latency.WithLabelValues(w.dev.label(), w.scheme).Observe(time.Since(started).Seconds())

	var state client.State
	var notes, outcome string
	cause := context.Cause(ctx)
	switch {
	case err == nil:
		state, notes, outcome = client.StateProcessed, res.Notes, outcomeProcessed
	case errors.Is(cause, errShutdown):
		// Leave "started" in the journal: the next start decides (Error, or
		// a re-run for a repeatable driver), exactly as after a crash.
		log.Warn("agent: action aborted by shutdown", "error", err)
		a.forget(t)
		return
	case errors.Is(cause, errCancelledAtHub):
		state, notes, outcome = client.StateCancelled, "cancelled at the hub while running: "+err.Error(), outcomeCancelled
	default:
		state, notes, outcome = client.StateError, err.Error(), outcomeError
	}
	notes = driver.Bound(notes)
	if jerr := a.journal.Finish(cmd.Id, string(state), notes); jerr != nil {
		log.Error("agent: cannot journal the outcome", "error", jerr)
	}
	a.forget(t)
	a.metrics.commands.WithLabelValues(outcome).Inc()
	if state == client.StateCancelled {
		// The hub already has it Cancelled; there is nothing to report.
		_ = a.journal.Reported(cmd.Id)
		log.Info("agent: command aborted", "notes", notes)
		return
	}
	a.outbox.Put(finalUpdate(cmd.Id, string(state), notes))
	log.Debug("agent: command finished", "state", state, "notes", notes, "took", time.Since(started))
}

func (a *Agent) forget(t *task) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.known[t.cmd.Id] == t {
		delete(a.known, t.cmd.Id)
	}
}

// onEvent handles one DeviceCommand event, quickly: cancellations act at
// once, new commands are fetched in batches by fetchLoop.
func (a *Agent) onEvent(_ context.Context, ev client.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastActive = time.Now()
	if t := a.known[ev.Id]; t != nil {
		if ev.State.Final() {
			a.cancelLocked(t)
		}
		return
	}
	if !ev.State.Active() || a.ignored[ev.Id] {
		return
	}
	if e, ok := a.journal.Get(ev.Id); ok && e.Finished() {
		return
	}
	a.fetch[ev.Id] = true
	select {
	case a.fetchWake <- struct{}{}:
	default:
	}
}

// fetchLoop fetches the commands that events announced, in batches.
func (a *Agent) fetchLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.fetchWake:
		}
		a.mu.Lock()
		ids := make([]string, 0, len(a.fetch))
		for id := range a.fetch {
			ids = append(ids, id)
		}
		clear(a.fetch)
		a.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		cmds, err := a.client.CommandsByIds(ctx, ids)
		if err != nil {
			if ctx.Err() == nil {
				// The next catch-up (reconnect or poll) finds them anyway.
				a.log.Warn("agent: fetching announced commands", "count", len(ids), "error", err)
			}
			continue
		}
		// Oldest first, so that a device's queue sees them in order.
		slices.SortStableFunc(cmds, func(x, y client.Command) int { return x.CreatedUtc.Compare(y.CreatedUtc) })
		for _, c := range cmds {
			a.dispatch(c)
		}
	}
}

// pollLoop catches up whenever PollInterval passed without an event or a
// catch-up: the safety net for lost events and a WebSocket that cannot
// connect.
func (a *Agent) pollLoop(ctx context.Context) {
	timer := time.NewTimer(a.cfg.PollInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		a.mu.Lock()
		wait := time.Until(a.lastActive.Add(a.cfg.PollInterval))
		a.mu.Unlock()
		if wait > 0 {
			timer.Reset(wait)
			continue
		}
		if err := a.catchUp(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("agent: poll failed", "error", err)
			a.mu.Lock()
			a.lastActive = time.Now() // try again after another interval
			a.mu.Unlock()
		}
		timer.Reset(a.cfg.PollInterval)
	}
}

func (a *Agent) onConnect(ctx context.Context) error {
	a.setConnected(true)
	a.outbox.Retry()
	return a.catchUp(ctx)
}

func (a *Agent) onDisconnect(err error) {
	a.setConnected(false)
	a.log.Warn("agent: WebSocket disconnected", "error", err)
}

func (a *Agent) setConnected(c bool) {
	a.mu.Lock()
	a.connected = c
	a.mu.Unlock()
	if c {
		a.metrics.connected.Set(1)
	} else {
		a.metrics.connected.Set(0)
	}
}

// catchUp reads every active command (all pages) and, by id, every command
// that this process holds or the journal has not closed, and dispatches
// them: new commands are queued, and cancellations missed while events were
// not flowing take effect.
func (a *Agent) catchUp(ctx context.Context) error {
	a.catchUpMu.Lock()
	defer a.catchUpMu.Unlock()
	active, err := a.client.AllActiveCommands(ctx)
	if err != nil {
		return fmt.Errorf("catching up: %w", err)
	}
	a.mu.Lock()
	ids := make([]string, 0, len(a.known))
	for id := range a.known {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	for _, e := range a.journal.Entries() {
		if e.Reported.IsZero() {
			ids = append(ids, e.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	held, err := a.client.CommandsByIds(ctx, ids)
	if err != nil {
		return fmt.Errorf("catching up: %w", err)
	}
	for _, c := range active {
		a.dispatch(c)
	}
	for _, c := range held {
		a.dispatch(c)
	}
	a.mu.Lock()
	a.lastActive = time.Now()
	a.mu.Unlock()
	return nil
}

// healthz answers 200 while the agent can keep its promise (the journal
// is writable), 503 otherwise, with a small JSON status either way. A
// lost hub connection is reported but is not unhealthy: the agent keeps
// working and catches up when the hub returns.
func (a *Agent) healthz(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	st := struct {
		Status    string
		Connected bool
		Queued    int
		Outbox    int
		Journal   string `json:",omitempty"`
	}{Status: "ok", Connected: a.connected, Queued: len(a.known)}
	a.mu.Unlock()
	st.Outbox = a.outbox.Len()
	code := http.StatusOK
	if err := a.journal.Err(); err != nil {
		st.Status, st.Journal, code = "failing", err.Error(), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}
