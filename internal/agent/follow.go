package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bellhop/bellhop/client"
)

// following is the state of following the hub: when it last heard from
// it, whether the WebSocket is open, and the ids that events announced and
// that wait to be fetched.
type following struct {
	mu         sync.Mutex
	lastActive time.Time
	connected  bool
	link       hubLink
	fetch      map[string]bool // ids announced by events, to fetch
	fetching   map[string]bool // ids of the fetch in flight
	finals     []string        // of those, ids whose event said final meanwhile
	fetchWake  chan struct{}
	catchUpMu  sync.Mutex // one catch-up at a time
}

// fetchGather is how long the agent gathers announced commands before it
// fetches them in one getAllByIds: a burst of commands costs one request
// per fetchGather instead of one per command.
const fetchGather = 250 * time.Millisecond

func newFollowing() following {
	return following{fetch: map[string]bool{}, fetching: map[string]bool{}, fetchWake: make(chan struct{}, 1)}
}

// touch records that the hub was heard from now.
func (f *following) touch() {
	f.mu.Lock()
	f.lastActive = time.Now()
	f.mu.Unlock()
}

func (f *following) isConnected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

// announce queues id for the next batched fetch, unless the fetch in
// flight carries it (reading a command marks it Received: its own echo).
func (f *following) announce(id string) {
	f.mu.Lock()
	if f.fetching[id] {
		f.mu.Unlock()
		return
	}
	f.fetch[id] = true
	f.mu.Unlock()
	select {
	case f.fetchWake <- struct{}{}:
	default:
	}
}

// takeFetch moves the ids waiting to be fetched to the fetch in flight
// and returns them.
func (f *following) takeFetch() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.fetching)
	ids := make([]string, 0, len(f.fetch))
	for id := range f.fetch {
		ids = append(ids, id)
		f.fetching[id] = true
	}
	clear(f.fetch)
	return ids
}

// finalWhileFetching remembers that id ended at the hub while the fetch in
// flight carries it, so that a stale answer cannot run it; it reports
// whether id is in that fetch.
func (f *following) finalWhileFetching(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fetching[id] {
		f.finals = append(f.finals, id)
	}
	return f.fetching[id]
}

// fetched ends the fetch in flight and returns the ids that ended at the
// hub meanwhile.
func (f *following) fetched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.fetching)
	finals := f.finals
	f.finals = nil
	return finals
}

// onEvent handles one DeviceCommand event, quickly: cancellations act at
// once, new commands are fetched in batches by fetchLoop.
func (a *Agent) onEvent(_ context.Context, ev client.Event) {
	a.follow.touch()
	if a.held(ev.Id, ev.State) {
		return
	}
	if ev.State.Final() {
		a.follow.finalWhileFetching(ev.Id)
		return
	}
	if !ev.State.Active() || a.settled(ev.Id) {
		return
	}
	a.follow.announce(ev.Id)
}

// fetchLoop fetches the commands that events announced, in batches: it
// gathers announcements for fetchGather, then fetches those that nothing
// else (a catch-up) brought in meanwhile.
func (a *Agent) fetchLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.follow.fetchWake:
		}
		gather := time.NewTimer(fetchGather)
		select {
		case <-ctx.Done():
			gather.Stop()
			return
		case <-gather.C:
		}
		ids := slices.DeleteFunc(a.follow.takeFetch(), a.settled)
		if len(ids) == 0 {
			a.follow.fetched()
			continue
		}
		cmds, err := a.client.CommandsByIds(ctx, ids)
		if err != nil {
			a.follow.fetched()
			if ctx.Err() == nil && !a.hubDown() {
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
		for _, id := range a.follow.fetched() {
			a.held(id, client.StateCancelled) // skips it if queued, aborts it if running
		}
	}
}

// settled reports whether the agent needs nothing more from the hub about
// a command an event announced: it holds it, leaves it alone, or finished it.
func (a *Agent) settled(id string) bool {
	if a.held(id, "") || a.isIgnored(id) {
		return true
	}
	e, ok := a.journal.Get(id)
	return ok && e.Finished()
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
		a.follow.mu.Lock()
		wait := time.Until(a.follow.lastActive.Add(a.cfg.PollInterval))
		a.follow.mu.Unlock()
		if wait > 0 {
			timer.Reset(wait)
			continue
		}
		if err := a.catchUp(ctx); err != nil && ctx.Err() == nil {
			if a.hubDown() {
				a.log.Debug("agent: poll failed", "error", err)
			} else {
				a.log.Warn("agent: poll failed", "error", err)
			}
			a.follow.touch() // try again after another interval
		}
		timer.Reset(a.cfg.PollInterval)
	}
}

// hubLink is what the agent knows of its connection to the hub, for the
// log, /healthz and /readyz. Guarded by following.mu.
type hubLink struct {
	// caughtUp is set once the catch-up after a connect succeeded, and
	// cleared when the connection ends.
	caughtUp bool
	// downSince is when the hub was last lost (or Run started); zero while
	// connected and caught up.
	downSince time.Time
	// lossLogged and reminded pace the warnings of an outage: the first
	// loss, then a reminder at most every reminderEvery.
	lossLogged bool
	reminded   time.Time
	// everUp tells a reconnect from the first connect.
	everUp bool
}

// reminderEvery is how often the log says again that the hub is still
// unreachable: the first loss is logged at once, each failed reconnect
// attempt only at debug level in between.
const reminderEvery = time.Minute

// startLink starts counting the hub as unreachable from now: until the
// first connect, it is.
func (f *following) startLink() {
	f.mu.Lock()
	f.link = hubLink{downSince: time.Now()}
	f.mu.Unlock()
}

// upFor reports whether the agent is connected and caught up, and for how
// long the hub has been unreachable when it is not.
func (f *following) upFor() (up bool, down time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.connected && f.link.caughtUp {
		return true, 0
	}
	return false, time.Since(f.link.downSince)
}

func (a *Agent) onConnect(ctx context.Context) error {
	a.setConnected(true)
	a.outbox.Retry()
	if err := a.catchUp(ctx); err != nil {
		return err
	}
	a.follow.mu.Lock()
	l := &a.follow.link
	first, lost, down := !l.everUp, l.lossLogged, time.Since(l.downSince)
	l.caughtUp, l.everUp, l.lossLogged, l.downSince = true, true, false, time.Time{}
	a.follow.mu.Unlock()
	switch {
	case first:
		a.log.Info("agent: connected to the hub", "platform_address", a.cfg.PlatformAddress)
		a.readyOnce.Do(func() { close(a.ready) })
		go a.warnDevices(ctx)
	case lost:
		a.log.Info(fmt.Sprintf("agent: reconnected to the hub after %v", down.Round(time.Second)), "outage", down.Round(time.Second))
	default:
		a.log.Debug("agent: reconnected to the hub", "outage", down)
	}
	return nil
}

// onDisconnect is called for each failed attempt as well as for a lost
// connection: the first is a warning, the others are debug lines with a
// reminder at most every reminderEvery, so an outage does not flood the
// log.
func (a *Agent) onDisconnect(err error) {
	a.setConnected(false)
	now := time.Now()
	a.follow.mu.Lock()
	l := &a.follow.link
	l.caughtUp = false
	if l.downSince.IsZero() {
		l.downSince = now
	}
	first, remind, down := !l.lossLogged, now.Sub(l.reminded) >= reminderEvery, now.Sub(l.downSince)
	if first || remind {
		l.lossLogged, l.reminded = true, now
	}
	a.follow.mu.Unlock()
	switch {
	case first:
		a.log.Warn("agent: cannot reach the hub; running what it holds and reconnecting", "error", err)
	case remind:
		a.log.Warn(fmt.Sprintf("agent: the hub is still unreachable after %v", down.Round(time.Second)),
			"outage", down.Round(time.Second), "error", err)
	default:
		a.log.Debug("agent: reconnecting to the hub failed", "error", err)
	}
}

// hubDown reports whether the WebSocket is down, for the callers that
// would otherwise warn about every failed request during an outage that
// onDisconnect already reports.
func (a *Agent) hubDown() bool { return !a.follow.isConnected() }

func (a *Agent) setConnected(c bool) {
	a.follow.mu.Lock()
	a.follow.connected = c
	a.follow.mu.Unlock()
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
	a.follow.catchUpMu.Lock()
	defer a.follow.catchUpMu.Unlock()
	active, err := a.client.AllActiveCommands(ctx)
	if err != nil {
		return fmt.Errorf("catching up: %w", err)
	}
	ids := a.heldIDs()
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
	a.follow.touch()
	return nil
}
