package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// MaxAdvance bounds one move of an enterprise's time.
const MaxAdvance = 10 * 366 * 24 * time.Hour

// TimeAdvance is what AdvanceTime did.
type TimeAdvance struct {
	// Commands counts the commands whose times moved.
	Commands int
	// Swept is what the expiry and retention that followed did.
	Swept SweepResult
}

// AdvanceTime lets d pass for one enterprise's commands on a development hub
// (Config.DevTime): every time of its commands moves back by d (creation,
// last update, history, idempotency keys), then expiry and retention run at
// once. A Pending command aged past 24 h is Cancelled, a Processing one past
// 15 min is Error, a final one past the retention is deleted, before this
// returns: what takes a day takes a call. Other enterprises are untouched.
func (s *Service) AdvanceTime(ctx context.Context, a Actor, enterpriseID string, d time.Duration) (*TimeAdvance, error) {
	if !s.cfg.DevTime {
		return nil, bellhop.Errorf(bellhop.EFORBIDDEN, "Time moves only on a hub started with serve --dev.")
	}
	e, err := get(ctx, enterpriseID, "enterprise", s.store.GetEnterprise)
	if err != nil {
		return nil, err
	}
	if d <= 0 || d > MaxAdvance {
		return nil, bellhop.Errorf(bellhop.EINVALID, "Invalid Advance: forward, at most %s", MaxAdvance)
	}
	n, err := s.store.AgeCommands(ctx, e.ID, d)
	if err != nil {
		return nil, fmt.Errorf("advance time: %w", err)
	}
	s.audit(ctx, a, bellhop.AuditTimeMoved, e.Name, fmt.Sprintf("%s forward for %d commands", d, n))
	out := &TimeAdvance{Commands: n}
	// The background sweep (on any node) may hold the lock: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.Swept, err = s.Sweep(ctx)
		if err != nil || !out.Swept.Skipped || time.Now().After(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
