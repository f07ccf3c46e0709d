package agent

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/bellhop/bellhop/client"
)

// Outbox tuning.
const (
	outboxMinBackoff = 200 * time.Millisecond
	outboxMaxBackoff = 30 * time.Second
	// outboxAttemptTimeout bounds one commands/update, so that a connection
	// that died silently (a cut cable, a NAT that forgot us) cannot hold an
	// update forever.
	outboxAttemptTimeout = 15 * time.Second
	// outboxSenders is how many updates are in flight at once.
	outboxSenders = 4
)

// Outbox holds the state updates the hub has not accepted yet and sends
// them until it does, with exponential backoff and full jitter between
// attempts (or, after a 429, the Retry-After the hub asked for). It keeps
// one update per command, the latest: a final update
// (Processed, Error, Cancelled) replaces a Processing one and is never
// replaced by one. Updates for one command are never in flight twice at
// once.
//
// The outbox itself lives in memory; the final updates it owes are durable
// because the journal's "finished" records hold them: the agent refills the
// outbox from the journal at start, and marks a final update "reported" in
// the journal through the accepted callback. Progress (Processing) updates
// are best effort and not persisted.
//
// A 400 "Invalid State" answer counts as accepted: the command is already
// final at the hub (cancelled, expired, or our own outcome, reported before
// a crash), and repeating the update cannot change that. Every other
// failure is retried, including 401, 403 and other 400s, because tokens and
// device connections can be fixed while the agent runs.
type Outbox struct {
	send     func(ctx context.Context, req client.UpdateRequest) error
	accepted func(id string)
	log      *slog.Logger
	now      func() time.Time
	min, max time.Duration
	// ready, when set, is waited on before each attempt and outside its
	// timeout: the budget's hold after a 429.
	ready func(ctx context.Context) error

	mu    sync.Mutex
	seq   uint64 // orders items by arrival
	items map[string]*outItem
	wake  chan struct{}
	idle  chan struct{} // closed and replaced whenever the outbox becomes empty
}

type outItem struct {
	seq      uint64
	req      client.UpdateRequest
	version  int
	inflight bool
	failures int
	next     time.Time
}

// NewOutbox returns an outbox that sends with send (client.UpdateCommand)
// and calls accepted with the command id once a final update is accepted.
// Call Run to start sending.
func NewOutbox(send func(context.Context, client.UpdateRequest) error, accepted func(id string), log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if accepted == nil {
		accepted = func(string) {}
	}
	return &Outbox{send: send, accepted: accepted, log: log, now: time.Now,
		min: outboxMinBackoff, max: outboxMaxBackoff,
		items: map[string]*outItem{}, wake: make(chan struct{}, 1), idle: make(chan struct{})}
}

// Put queues req, replacing what is queued for the same command unless
// that is final and req is not. Notes are bounded to what the hub keeps.
func (o *Outbox) Put(req client.UpdateRequest) {
	o.mu.Lock()
	it := o.items[req.CommandId]
	switch {
	case it == nil:
		o.seq++
		o.items[req.CommandId] = &outItem{seq: o.seq, req: req, next: o.now()}
	case it.req.State.Final() && !req.State.Final():
		// A late progress report never overtakes the outcome.
	default:
		it.req, it.failures, it.next = req, 0, o.now()
		it.version++
	}
	o.mu.Unlock()
	o.poke()
}

// Len returns how many commands have an update waiting.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

// Idle returns a channel that is closed once the outbox is empty (at once
// if it is empty now).
func (o *Outbox) Idle() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return o.idle
}

// Retry makes every waiting update due now: called after a reconnect, when
// the hub is likely reachable again.
func (o *Outbox) Retry() {
	o.mu.Lock()
	now := o.now()
	for _, it := range o.items {
		it.next = now
	}
	o.mu.Unlock()
	o.poke()
}

func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends updates until ctx is done; updates not sent by then stay
// queued (the final ones are in the journal for the next start).
func (o *Outbox) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, outboxSenders)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		o.mu.Lock()
		now := o.now()
		var due []*outItem
		next := now.Add(time.Hour)
		for _, it := range o.items {
			switch {
			case it.inflight:
			case !it.next.After(now):
				due = append(due, it)
			case it.next.Before(next):
				next = it.next
			}
		}
		// Outcomes before progress, then in the order they came: when the
		// budget is tight, what staff wait for goes first.
		slices.SortFunc(due, func(x, y *outItem) int {
			if fx, fy := x.req.State.Final(), y.req.State.Final(); fx != fy {
				if fx {
					return -1
				}
				return 1
			}
			return cmp.Compare(x.seq, y.seq)
		})
		ids := make([]string, len(due))
		for i, it := range due {
			ids[i] = it.req.CommandId
		}
		o.mu.Unlock()
		for _, id := range ids {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			o.mu.Lock()
			it := o.items[id]
			if it == nil || it.inflight {
				o.mu.Unlock()
				<-slots
				continue
			}
			it.inflight = true
			req, version := it.req, it.version
			o.mu.Unlock()
			wg.Go(func() {
				defer func() { <-slots }()
				o.attempt(ctx, req, version)
			})
		}
		if len(due) > 0 {
			continue // look again: some may have been skipped while slots were busy
		}
		timer.Reset(max(next.Sub(now), time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-timer.C:
		}
	}
}

// attempt sends one update and files the result.
func (o *Outbox) attempt(ctx context.Context, req client.UpdateRequest, version int) {
	var err error
	if o.ready != nil {
		err = o.ready(ctx)
	}
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, outboxAttemptTimeout)
		err = o.send(actx, req)
		cancel()
	}
	done := err == nil
	if err != nil && client.IsInvalid(err) {
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Message == "Invalid State" {
			o.log.Info("agent: the hub has the command in another final state; keeping its state",
				"command", req.CommandId, "ours", req.State)
			done = true
		} else if !req.State.Final() {
			// A progress report the hub refuses is not worth retrying.
			done = true
		}
	}
	o.mu.Lock()
	it := o.items[req.CommandId]
	if it == nil || ctx.Err() != nil && !done {
		if it != nil {
			it.inflight = false
		}
		o.mu.Unlock()
		return
	}
	it.inflight = false
	acceptedFinal := false
	if done {
		if it.version == version {
			delete(o.items, req.CommandId)
			acceptedFinal = req.State.Final()
			if len(o.items) == 0 {
				close(o.idle)
				o.idle = make(chan struct{})
			}
		} else {
			it.next = o.now() // a newer update arrived meanwhile: send it now
		}
	} else {
		it.failures++
		it.next = o.now().Add(o.backoff(it.failures))
		if apiErr, ok := errors.AsType[*client.Error](err); ok && apiErr.RetryAfter > 0 {
			it.next = o.now().Add(apiErr.RetryAfter) // the hub said when
		}
		// Once per update: during an outage every attempt fails, and the
		// agent's reconnect warnings already say so.
		lvl := slog.LevelDebug
		if it.failures == 1 {
			lvl = slog.LevelWarn
		}
		o.log.Log(ctx, lvl, "agent: state update not accepted, will retry", "command", req.CommandId,
			"state", req.State, "failures", it.failures, "error", err)
	}
	o.mu.Unlock()
	if acceptedFinal {
		o.accepted(req.CommandId)
	}
	o.poke()
}

// backoff is a random wait in [min/2, min(max, min*2^failures)).
func (o *Outbox) backoff(failures int) time.Duration {
	ceiling := o.max
	if failures < 30 {
		if d := o.min << failures; d < ceiling {
			ceiling = d
		}
	}
	return o.min/2 + rand.N(max(ceiling-o.min/2, 1))
}
