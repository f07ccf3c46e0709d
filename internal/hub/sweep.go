package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// Run sweeps every SweepInterval until ctx is done: it expires stale commands
// and purges old final ones. On several nodes one node sweeps at a time. It
// also writes what the node saw of its callers every PresenceFlush, and once
// more before it returns.
func (s *Service) Run(ctx context.Context) error {
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		s.runPresence(ctx)
	}()
	defer func() { <-flushed }()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SweepResult counts what one sweep did.
type SweepResult struct {
	Cancelled, Failed, Purged int
	// Skipped says another sweep (on this node or another) held the lock.
	Skipped bool
}

// Sweep runs expiry and retention once: a Pending or Received command with
// no update for its type's Waiting time becomes Cancelled, a Processing one
// with no update for its Processing time becomes Error, each with a note; final
// commands older than Retention are deleted. It does nothing when another
// node holds the sweep lock.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var r SweepResult
	release, ok, err := s.store.TryLock(ctx, "sweep")
	if err != nil || !ok {
		r.Skipped = err == nil
		return r, err
	}
	defer release()
	now := s.Now()
	// The Mews types one by one, each with its expiry, then every generic
	// type at once.
	passes := make([]bellhop.CommandFilter, 0, len(bellhop.DeviceTypes)+1)
	for _, t := range bellhop.DeviceTypes {
		passes = append(passes, bellhop.CommandFilter{DeviceType: t})
	}
	passes = append(passes, bellhop.CommandFilter{GenericTypes: true})
	for _, f := range passes {
		e, what := s.cfg.expiry(f.DeviceType), string(f.DeviceType)
		if f.GenericTypes {
			e, what = s.cfg.GenericExpiry.orDefault(), "generic devices"
		}
		n, err := s.expire(ctx, f, what, []bellhop.State{bellhop.Pending, bellhop.Received}, now.Add(-e.Waiting),
			bellhop.Update{State: bellhop.Cancelled, Notes: fmt.Sprintf("Expired: nobody processed it within %s.", e.Waiting), Actor: "hub:expiry"})
		r.Cancelled += n
		if err != nil {
			return r, err
		}
		n, err = s.expire(ctx, f, what, []bellhop.State{bellhop.Processing}, now.Add(-e.Processing),
			bellhop.Update{State: bellhop.Failed, Notes: fmt.Sprintf("Expired: no progress reported for %s; check the device.", e.Processing), Actor: "hub:expiry"})
		r.Failed += n
		if err != nil {
			return r, err
		}
	}
	if r.Purged, err = s.store.Purge(ctx, now.Add(-s.cfg.Retention)); err != nil {
		return r, fmt.Errorf("purge: %w", err)
	}
	// Presence rows no node wrote within the retention: nodes long gone.
	if _, err = s.store.PurgePresence(ctx, now.Add(-s.cfg.Retention)); err != nil {
		return r, fmt.Errorf("purge presence: %w", err)
	}
	return r, nil
}

// expire applies u to the commands that f selects (their types) in states
// that were last updated before the cutoff, in batches.
func (s *Service) expire(ctx context.Context, f bellhop.CommandFilter, what string, states []bellhop.State, before time.Time, u bellhop.Update) (int, error) {
	total := 0
	f.States, f.UpdatedTo, f.Limit = states, before, 500
	for {
		cmds, err := s.store.ListCommands(ctx, f)
		if err != nil {
			return total, fmt.Errorf("expire %s: %w", what, err)
		}
		if len(cmds) == 0 {
			return total, nil
		}
		ids := make([]string, len(cmds))
		for i := range cmds {
			ids[i] = cmds[i].ID
		}
		apply := s.applyFunc(u)
		changed, err := s.update(ctx, ids, func(c *bellhop.Command) (*bellhop.HistoryEntry, bool, error) {
			// Re-check inside the transaction: an agent may have just moved it.
			if !c.UpdatedUtc.Before(before) || !contains(states, c.State) {
				return nil, false, nil
			}
			return apply(c)
		})
		if err != nil {
			return total, fmt.Errorf("expire %s: %w", what, err)
		}
		total += len(changed)
		if len(cmds) < 500 || len(changed) == 0 {
			return total, nil
		}
	}
}

func contains(states []bellhop.State, s bellhop.State) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}
