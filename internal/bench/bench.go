// Package bench is the load generator behind `bellhop bench`: it measures a
// hub the way integrations use it. Setup goes through the admin API
// (enterprises, subscriptions, printers), so it works against any hub.
// Simulated agents each hold a WebSocket and follow the prescribed loop
// (event -> getAllByIds -> update Processing -> update Processed);
// producers, one integration per group of agents like a PMS, create print
// commands at a fixed open-loop rate and watch their outcome on their own
// WebSocket.
//
// Latencies are measured from each command's scheduled send time, not from
// when it was actually sent, so a hub that slows down cannot hide its
// latency by slowing the producer (no coordinated omission).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/node"
)

// Scenarios.
const (
	ScenarioIdle      = "idle"      // N idle sockets: memory per connection
	ScenarioSteady    = "steady"    // a fixed rate for a duration
	ScenarioBurst     = "burst"     // Burst commands due at the same instant
	ScenarioReconnect = "reconnect" // agents drop, commands wait, agents reconnect and catch up
	ScenarioLarge     = "large"     // steady with 1 MB PDFs
)

// Config says what to measure. Zero fields take the documented defaults.
type Config struct {
	// Target is the hub's base URL (its PlatformAddress). When empty, Run
	// starts a hub in this process as Hub says and measures that.
	Target string
	// Hub configures the in-process hub when Target is empty: its store
	// (DataDir, a temporary directory when empty; Database; Sync) and its
	// Logger. The address, the admin token, the rate limit (off) and the
	// socket cap (none) are the bench's.
	Hub node.Config
	// WebSocketAddress is the base URL of the WebSocket; default derived
	// from Target.
	WebSocketAddress string
	// AdminToken authenticates the setup against the admin API. Required
	// with Target.
	AdminToken string
	// Usage reads the hub's CPU time and RSS; default MetricsUsage(Target).
	Usage UsageFunc
	// InProcess says the hub runs in this process: CPU and memory then
	// include the bench's own agents and producers, and idle memory is read
	// after a forced collection.
	InProcess bool
	// Store names the hub's store for the report, e.g. "sqlite (sync=normal)".
	Store string

	// Scenario is one of the Scenario constants; default ScenarioSteady.
	Scenario string
	// Agents is the number of simulated agents (sockets); default 100.
	Agents int
	// DevicesPerAgent is the printers each agent serves; default 1.
	DevicesPerAgent int
	// AgentsPerProducer groups agents under one producer integration;
	// default 50.
	AgentsPerProducer int
	// Rate is commands per second; default 100 (10 for ScenarioLarge).
	// With FindMax it is the first rate tried.
	Rate float64
	// Duration is how long commands are sent after the warm-up; default 10 s.
	Duration time.Duration
	// Warmup is sent at Rate but left out of the statistics; default 2 s.
	// The idle scenario waits this long before reading memory.
	Warmup time.Duration
	// Burst is how many commands ScenarioBurst sends at once; default 1000.
	Burst int
	// Waiting is how many commands wait for ScenarioReconnect; default 10,000.
	Waiting int
	// PDFSize is the size of the printed PDF in bytes; default 2 KiB
	// (1 MiB for ScenarioLarge).
	PDFSize int
	// FindMax raises the rate (doubling, then bisecting) until the p99
	// lifecycle latency exceeds Bound, and reports the highest rate that held.
	// Without Target every step runs on a hub of its own (MethodFreshHub),
	// started on a new store (a new temporary data directory; a
	// subdirectory step-N of Hub.DataDir; or a new schema of Hub.Database,
	// dropped after the step) and set up and connected before the step's
	// schedule starts, so that no step inherits the backlog, the grown
	// tables or the WAL of the overloaded step before it. With Target, or
	// FindMaxOneHub, every step runs on one hub (MethodOneHub).
	FindMax bool
	// FindMaxOneHub runs every FindMax step on one in-process hub, as
	// find-max did before it started a hub per step: for comparison.
	FindMaxOneHub bool
	// Bound is the p99 lifecycle latency FindMax must hold; default 100 ms.
	Bound time.Duration
	// MaxInFlight bounds the creates in flight; a create due while the
	// bound is reached waits, and the wait counts in its latency. Default 1000.
	MaxInFlight int
	// Drain is how long to wait after the last create for outstanding
	// commands before counting them lost; default 15 s.
	Drain time.Duration
	// Progress receives a progress line rewritten with \r; nil: none.
	Progress io.Writer
	// Logger receives setup and diagnostic records; default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults that Run applies to zero fields (Rate
// and PDFSize there depend on the scenario).
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Scenario == "" {
		c.Scenario = ScenarioSteady
	}
	if c.Agents == 0 {
		c.Agents = 100
	}
	if c.DevicesPerAgent == 0 {
		c.DevicesPerAgent = 1
	}
	if c.AgentsPerProducer == 0 {
		c.AgentsPerProducer = 50
	}
	if c.Rate == 0 {
		c.Rate = 100
		if c.Scenario == ScenarioLarge {
			c.Rate = 10
		}
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Burst == 0 {
		c.Burst = 1000
	}
	if c.Waiting == 0 {
		c.Waiting = 10000
	}
	if c.PDFSize == 0 {
		c.PDFSize = 2 << 10
		if c.Scenario == ScenarioLarge {
			c.PDFSize = 1 << 20
		}
	}
	if c.Bound == 0 {
		c.Bound = 100 * time.Millisecond
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1000
	}
	if c.Drain == 0 {
		c.Drain = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Target = strings.TrimRight(c.Target, "/")
}

// Validate reports a configuration that cannot run, naming the field.
func (c *Config) Validate() error {
	switch {
	case c.Target != "" && c.AdminToken == "":
		return errors.New("bench: AdminToken is required with Target")
	case c.Scenario != ScenarioIdle && c.Scenario != ScenarioSteady && c.Scenario != ScenarioBurst &&
		c.Scenario != ScenarioReconnect && c.Scenario != ScenarioLarge:
		return fmt.Errorf("bench: unknown scenario %q", c.Scenario)
	case c.Agents < 1 || c.DevicesPerAgent < 1 || c.AgentsPerProducer < 1:
		return errors.New("bench: Agents, DevicesPerAgent and AgentsPerProducer must be positive")
	case c.Rate < 0 || c.Duration < 0 || c.Warmup < 0 || c.Burst < 0 || c.Waiting < 0 || c.PDFSize < 0 ||
		c.Bound < 0 || c.MaxInFlight < 0 || c.Drain < 0:
		return errors.New("bench: negative rate, size or duration")
	case c.FindMax && c.Scenario != ScenarioSteady && c.Scenario != ScenarioLarge:
		return errors.New("bench: FindMax needs the steady or large scenario")
	case c.FindMaxOneHub && !c.FindMax:
		return errors.New("bench: FindMaxOneHub needs FindMax")
	}
	return nil
}

// Run sets up the hub through its admin API, runs the scenario and returns
// its report. Setup and connection failures are returned as errors; errors
// during the measurement are counted in the report instead.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var rep *Report
	var err error
	if cfg.FindMax && cfg.Target == "" && !cfg.FindMaxOneHub {
		rep, err = findMaxFresh(ctx, cfg)
	} else {
		rep, err = runOneHub(ctx, cfg)
	}
	if rep != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		rep.Notes = append(rep.Notes, "interrupted")
		return rep, nil
	}
	return rep, err
}

// runOneHub runs the scenario on one hub: cfg.Target, or one it starts.
func runOneHub(ctx context.Context, cfg Config) (*Report, error) {
	r, err := open(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	defer r.close()
	r.rep.SetupSeconds = r.setup.Seconds()
	switch cfg.Scenario {
	case ScenarioIdle:
		err = r.idle(r.ctx)
	case ScenarioBurst:
		err = r.burst(r.ctx)
	case ScenarioReconnect:
		err = r.reconnect(r.ctx)
	default:
		if cfg.FindMax {
			err = findMax(r.ctx, r.cfg, r.rep, MethodOneHub, r.oneHubStep)
		} else {
			err = r.steady(r.ctx)
		}
	}
	r.rep.Errors = r.errs.snapshot()
	r.rep.ErrorExamples = r.errs.examplesOf(r.rep.Errors)
	return r.rep, err
}

// open starts the hub when cfg.Target is empty, sets up the topology
// through the hub's admin API and builds the clients of a runner; close
// stops them all. The runner reports to rep, or to a report of its own when
// rep is nil.
func open(ctx context.Context, cfg Config, rep *Report) (*runner, error) {
	r := &runner{cfg: &cfg, rep: rep}
	r.ctx, r.cancel = context.WithCancel(ctx)
	r.phase.Store(newPhase())
	fail := func(err error) (*runner, error) {
		r.close()
		return nil, err
	}
	if cfg.Target == "" {
		stop, err := startHub(ctx, r.cfg)
		if err != nil {
			return fail(err)
		}
		r.stopHub = stop
	}
	r.hc = &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: cfg.MaxInFlight + 4*cfg.Agents,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	if cfg.Usage == nil {
		cfg.Usage = MetricsUsage(cfg.Target, r.hc)
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	runID := time.Now().Format("150405") + "-" + hex.EncodeToString(b[:])

	if r.rep == nil {
		r.rep = newReport(&cfg)
	}
	adm, err := admin.New(admin.Config{Address: cfg.Target, Token: cfg.AdminToken, HTTPClient: r.hc})
	if err != nil {
		return fail(err)
	}
	started := time.Now()
	r.topo, err = setup(ctx, adm, &cfg, runID, cfg.Scenario != ScenarioIdle)
	if err != nil {
		return fail(fmt.Errorf("bench setup: %w", err))
	}
	r.setup = time.Since(started)
	cfg.Logger.Debug("bench: setup done", "agents", len(r.topo.agents), "producers", len(r.topo.producers), "took", r.setup)
	if err := r.build(); err != nil {
		return fail(err)
	}
	return r, nil
}

// close stops the sockets, waits for the agents' work to end, and stops the
// hub when open started it.
func (r *runner) close() {
	r.cancel()
	r.stopAll()
	r.work.Wait()
	if r.hc != nil {
		r.hc.CloseIdleConnections()
	}
	if r.stopHub != nil {
		r.stopHub()
	}
}

// runner holds the simulated integrations of one bench run, on one hub.
type runner struct {
	cfg     *Config
	ctx     context.Context // outlives agents' sockets: their work finishes after a drop
	cancel  context.CancelFunc
	hc      *http.Client
	topo    *topology
	rep     *Report
	setup   time.Duration // of the topology, through the admin API
	stopHub func()        // the hub open started; nil for Target

	agents    []*sub
	producers []*producer
	devices   []deviceRef // every device, agents interleaved, for round-robin
	pdf       string      // base64

	phase       atomic.Pointer[phase]
	errs        errorCounter
	work        sync.WaitGroup // agents' command work
	busy        atomic.Int64   // agents' command work under way
	disconnects atomic.Int64
}

// producer is one PMS-like integration: it creates commands and watches
// their outcome on its own socket.
type producer struct {
	c   *client.Client
	sub *sub
}

// sub is one subscription's WebSocket, started and stopped as a whole.
type sub struct {
	c        *client.Client
	handle   func(ctx context.Context, ev client.Event)
	catchUp  func(ctx context.Context) error // OnConnect; nil for none
	mu       sync.Mutex
	cancel   context.CancelFunc
	done     chan struct{}
	ready    chan struct{} // closed at the first successful OnConnect of a start
	readyOne *sync.Once
}

func (r *runner) newClient(clientToken, accessToken string) (*client.Client, error) {
	return client.New(client.Config{PlatformAddress: r.cfg.Target, WebSocketAddress: r.cfg.WebSocketAddress,
		ClientToken: clientToken, AccessToken: accessToken, Client: "bellhop-bench", HTTPClient: r.hc,
		MaxRetries: -1, MinBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second})
}

// build creates the SDK clients of the topology.
func (r *runner) build() error {
	for _, spec := range r.topo.agents {
		c, err := r.newClient(r.topo.agentClientToken, spec.accessToken)
		if err != nil {
			return err
		}
		s := &sub{c: c}
		s.handle = func(ctx context.Context, ev client.Event) { r.agentEvent(c, ev) }
		s.catchUp = func(ctx context.Context) error { return r.agentCatchUp(ctx, c) }
		r.agents = append(r.agents, s)
	}
	for _, spec := range r.topo.producers {
		c, err := r.newClient(spec.clientToken, spec.accessToken)
		if err != nil {
			return err
		}
		s := &sub{c: c, handle: func(ctx context.Context, ev client.Event) {
			if ev.State == client.StateProcessed {
				r.phase.Load().markProcessed(ev.Id, time.Now())
			}
		}}
		r.producers = append(r.producers, &producer{c: c, sub: s})
	}
	// Interleave the producers' devices so that consecutive commands go to
	// different agents and groups.
	for i := 0; ; i++ {
		added := false
		for _, p := range r.topo.producers {
			if i < len(p.devices) {
				r.devices = append(r.devices, p.devices[i])
				added = true
			}
		}
		if !added {
			break
		}
	}
	r.pdf = base64.StdEncoding.EncodeToString(makePDF(r.cfg.PDFSize))
	return nil
}

// start opens the subscription's socket (reconnecting until stop).
func (s *sub) start(parent context.Context, r *runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithCancel(parent)
	s.cancel, s.done, s.ready, s.readyOne = cancel, make(chan struct{}), make(chan struct{}), &sync.Once{}
	done, ready, once := s.done, s.ready, s.readyOne
	go func() {
		defer close(done)
		_ = s.c.Subscribe(ctx, s.handle, client.SubscribeOptions{
			OnConnect: func(ctx context.Context) error {
				if s.catchUp != nil {
					if err := s.catchUp(ctx); err != nil {
						return err
					}
				}
				once.Do(func() { close(ready) })
				return nil
			},
			OnDisconnect: func(err error) {
				r.disconnects.Add(1)
				r.errs.add("websocket", err)
			},
		})
	}()
}

// stop closes the socket and waits for the subscriber to end.
func (s *sub) stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *sub) readyC() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

func (r *runner) allSubs() []*sub {
	subs := append([]*sub(nil), r.agents...)
	for _, p := range r.producers {
		subs = append(subs, p.sub)
	}
	return subs
}

func (r *runner) stopAll() {
	for _, s := range r.allSubs() {
		s.stop()
	}
}

// connect starts the sockets, batch by batch (batch <= 0: all at once), and
// waits until every one has connected and caught up.
func (r *runner) connect(ctx context.Context, subs []*sub, batch int) error {
	if batch <= 0 {
		batch = len(subs)
	}
	const timeout = 2 * time.Minute
	deadline := time.Now().Add(timeout)
	for lo := 0; lo < len(subs); lo += batch {
		part := subs[lo:min(lo+batch, len(subs))]
		for _, s := range part {
			s.start(r.ctx, r)
		}
		for _, s := range part {
			select {
			case <-s.readyC():
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(deadline)):
				return fmt.Errorf("bench: %d sockets did not connect within %v (errors so far: %v)", len(subs), timeout, r.errs.snapshot())
			}
		}
		if batch < len(subs) {
			r.progress("connecting: %d/%d sockets", min(lo+batch, len(subs)), len(subs))
		}
	}
	if batch < len(subs) {
		r.progressDone()
	}
	return nil
}

// agentEvent is the agent's event handler: on Pending, fetch and work the
// command on its own goroutine, as an agent runs device work off the
// socket's goroutine.
func (r *runner) agentEvent(c *client.Client, ev client.Event) {
	if ev.State != client.StatePending {
		return
	}
	ph := r.phase.Load()
	ph.markPending(ev.Id, time.Now())
	if !ph.claim(ev.Id) {
		return
	}
	r.goWork(func() {
		ctx, cancel := context.WithTimeout(r.ctx, requestTimeout)
		defer cancel()
		cmds, err := c.CommandsByIds(ctx, []string{ev.Id})
		if err == nil && len(cmds) == 0 {
			err = errNotReturned
		}
		if err != nil {
			r.errs.add("getAllByIds", err)
			ph.markFailed(ev.Id)
			return
		}
		r.finish(ctx, c, ph, ev.Id)
	})
}

// agentCatchUp is the agent's OnConnect: read every active command and work
// them in order on one goroutine (one device's commands run one at a time).
func (r *runner) agentCatchUp(ctx context.Context, c *client.Client) error {
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	cmds, err := c.AllActiveCommands(cctx)
	if err != nil {
		r.errs.add("getAllActive", err)
		return err
	}
	if len(cmds) == 0 {
		return nil
	}
	ph := r.phase.Load()
	now := time.Now()
	var mine []string
	for _, cmd := range cmds {
		ph.markFetched(cmd.Id, now)
		if ph.claim(cmd.Id) {
			mine = append(mine, cmd.Id)
		}
	}
	r.goWork(func() {
		for _, id := range mine {
			ctx, cancel := context.WithTimeout(r.ctx, requestTimeout)
			r.finish(ctx, c, ph, id)
			cancel()
		}
	})
	return nil
}

// goWork runs fn, an agent's work on commands, on a goroutine of its own,
// counted in r.busy while it runs.
func (r *runner) goWork(fn func()) {
	r.busy.Add(1)
	r.work.Go(func() {
		defer r.busy.Add(-1)
		fn()
	})
}

// finish reports a command Processing, then Processed.
func (r *runner) finish(ctx context.Context, c *client.Client, ph *phase, id string) {
	for _, st := range []client.State{client.StateProcessing, client.StateProcessed} {
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: st}); err != nil {
			r.errs.add("update "+string(st), err)
			ph.markFailed(id)
			return
		}
	}
}

// requestTimeout bounds one Connector request of the bench.
const requestTimeout = 30 * time.Second

// create sends command number i (round-robin over the devices), due at sched.
func (r *runner) create(ph *phase, i int, sched time.Time, warm bool) {
	dev := r.devices[i%len(r.devices)]
	p := r.producers[dev.producer]
	ctx, cancel := context.WithTimeout(r.ctx, requestTimeout)
	defer cancel()
	ent := dev.enterpriseID
	sent := time.Now()
	id, err := p.c.AddPrinterCommand(ctx, client.AddPrinterRequest{EnterpriseId: &ent, PrinterId: dev.id, Data: r.pdf, CopyCount: 1})
	if err != nil {
		r.errs.add("addPrinter", err)
		ph.createErrs.Add(1)
		return
	}
	ph.register(id, sched, sent, time.Now(), warm)
}

// makePDF returns a one-page PDF of about size bytes (at least ~300), padded
// with comment lines inside its content stream.
func makePDF(size int) []byte {
	head := "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
		"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n" +
		"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >> endobj\n"
	tail := "\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
	content := "BT /F1 12 Tf 20 100 Td (bellhop bench) Tj ET\n"
	pad := size - len(head) - len(tail) - len(content) - 40
	var b strings.Builder
	b.WriteString(content)
	line := "% " + strings.Repeat("bellhop ", 9) + "\n"
	for pad > 0 {
		n := min(pad, len(line))
		b.WriteString(line[:n-1] + "\n")
		pad -= n
	}
	stream := b.String()
	return []byte(head + fmt.Sprintf("4 0 obj << /Length %d >> stream\n", len(stream)) + stream + tail)
}
