package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// Several hub nodes on one store (Config.Clustered): each node's service
// commits and publishes nothing itself; the store reports every commit of any
// node to every node, in commit order, and Relay hands those reports to the
// node's own publisher (its broker and sockets).

// GapMargin is how far before the start of a gap in the store's reports Relay
// re-reads commands: it covers the skew between the nodes' clocks (UpdatedUtc
// is written by the node that made the change) and the time between a
// change's UpdatedUtc and its commit.
const GapMargin = 10 * time.Second

// Relay publishes to pub what n reports, until ctx is done: command events,
// changes of connected devices, revocations. listening, when not nil, is
// called once the store reports every later commit; a node should not accept
// sockets before, or a change committed in between would miss them.
//
// After a gap (the store lost and regained its listening connection), Relay
// re-reads what may have been missed, so that no socket misses a state change
// that its client would find with getAllActive: it reloads the connected
// devices of every subscription and closes the sockets of revoked ones, and
// publishes the current state of every command updated since the gap's start
// minus GapMargin (some of them twice: clients take events idempotently).
// Until the next gap, a reported event whose state is older than the state it
// republished for that command is dropped, so a socket never sees a command's
// state move backwards. It returns the error of a first Listen that fails.
func (s *Service) Relay(ctx context.Context, n store.Notifier, pub Publisher, listening func()) error {
	pub = noting{invalidating{pub, s.cache}, &s.pending} // other nodes' changes reach this node's caches too
	r := &relay{s: s, pub: pub, ctx: ctx}
	return n.Listen(ctx, store.NotifyHandler{
		Listening: listening,
		Events:    r.events,
		Topology: func(t store.TopologyChange) {
			if t.Revoked {
				pub.Revoked(t.SubscriptionID)
			} else {
				pub.DevicesChanged(t.SubscriptionID)
			}
		},
		Gap: r.gap,
	})
}

// relay is Relay's state; the store calls it from one goroutine.
type relay struct {
	s   *Service
	pub Publisher
	ctx context.Context

	republished map[string]int // command id: stage of the state published by the last gap
	gapAt       time.Time
}

func (r *relay) events(events []bellhop.Event) {
	if r.republished != nil {
		if time.Since(r.gapAt) > 2*GapMargin {
			// Reports now come after the re-read's commits by far.
			r.republished = nil
		} else {
			kept := events[:0:0]
			for _, e := range events {
				if st, ok := r.republished[e.CommandID]; ok && stage(e.State) < st {
					continue
				}
				kept = append(kept, e)
			}
			events = kept
		}
	}
	if len(events) > 0 {
		r.pub.Publish(events)
	}
}

// gap re-reads what a gap may have hidden, retrying until it succeeds or ctx
// is done: the store reports nothing more until it returns.
func (r *relay) gap(since time.Time) {
	r.republished, r.gapAt = map[string]int{}, time.Now()
	delay := 100 * time.Millisecond
	for {
		err := r.reread(since.Add(-GapMargin))
		if err == nil || r.ctx.Err() != nil {
			return
		}
		r.s.log.Error("relay: re-read after a gap failed; retrying", "err", err, "retry_in", delay)
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func (r *relay) reread(from time.Time) error {
	subs, err := r.s.store.ListSubscriptions(r.ctx, "")
	if err != nil {
		return fmt.Errorf("subscriptions: %w", err)
	}
	for _, sub := range subs {
		if sub.Revoked {
			r.pub.Revoked(sub.ID)
		} else {
			r.pub.DevicesChanged(sub.ID)
		}
	}
	f := bellhop.CommandFilter{UpdatedFrom: from, Limit: 1000}
	for {
		cmds, err := r.s.store.ListCommands(r.ctx, f)
		if err != nil {
			return fmt.Errorf("commands updated since %s: %w", from.Format(time.RFC3339Nano), err)
		}
		if len(cmds) == 0 {
			return nil
		}
		events := make([]bellhop.Event, len(cmds))
		for i := range cmds {
			events[i] = bellhop.EventOf(&cmds[i])
			events[i].Progress = cmds[i].Progress
			r.republished[cmds[i].ID] = stage(cmds[i].State)
		}
		r.pub.Publish(events)
		f.AfterSeq = cmds[len(cmds)-1].Seq
	}
}

// stage orders a command's states: a command never moves to a lower stage.
func stage(st bellhop.State) int {
	switch st {
	case bellhop.Pending:
		return 0
	case bellhop.Received:
		return 1
	case bellhop.Processing:
		return 2
	}
	return 3
}
