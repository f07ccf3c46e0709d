package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bellhop/bellhop/internal/ratelimit"
)

// Limiter is a ratelimit.Limiter whose counts live in the store's database,
// so that every hub node counts against one limit. It uses the sliding window
// counter of ratelimit.Memory: the previous fixed window's count is weighed by
// how much of it the sliding window still covers. Windows start on the
// clock's (Config.Now) multiples of the window, so nodes' clocks should agree
// to well within a window.
//
// Each Allow is one statement on the store's pool (an upsert on an unlogged
// table). When the database cannot be asked, Allow lets the request through
// and logs: an outage of the limiter must not become an outage of the hub.
type Limiter struct {
	s      *Store
	limit  int
	window time.Duration

	mu        sync.Mutex
	lastPrune time.Time
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// NewLimiter returns a limiter of limit requests per window per key
// (ratelimit.DefaultLimit per ratelimit.DefaultWindow when either is zero or
// negative) on s's database.
func NewLimiter(s *Store, limit int, window time.Duration) *Limiter {
	if limit <= 0 {
		limit = ratelimit.DefaultLimit
	}
	if window <= 0 {
		window = ratelimit.DefaultWindow
	}
	return &Limiter{s: s, limit: limit, window: window}
}

// allowSQL counts one request in the current window if the weighed previous
// count plus the current one is below the limit ($5), and answers the
// previous count and the new current count (NULL when refused). ON CONFLICT
// re-checks the condition on the latest row version, so concurrent requests
// from several nodes cannot overshoot.
const allowSQL = `WITH prev AS (
		SELECT coalesce((SELECT count FROM rate_limits WHERE key = $1 AND window_start = $3), 0) AS n
	), ins AS (
		INSERT INTO rate_limits AS r (key, window_start, count)
		SELECT $1, $2, 1 FROM prev WHERE prev.n * $4::float8 < $5::float8
		ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
			WHERE (SELECT n FROM prev) * $4::float8 + r.count < $5::float8
		RETURNING count
	)
	SELECT (SELECT n FROM prev), (SELECT count FROM ins),
		coalesce((SELECT count FROM rate_limits WHERE key = $1 AND window_start = $2), 0)`

// Allow counts one request for key if it is within the limit; when not, it
// says how long until the key may try again. It asks the database for at
// most 2 s, and not after ctx (the request's) is done.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	now := l.s.cfg.Now()
	start := now.Truncate(l.window)
	elapsed := now.Sub(start)
	weight := float64(l.window-elapsed) / float64(l.window)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l.prune(ctx, now)
	var prev, curr int
	var counted *int
	err := l.s.pool.QueryRow(ctx, allowSQL, key, start, start.Add(-l.window), weight, float64(l.limit)).Scan(&prev, &counted, &curr)
	if err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			l.s.cfg.Logger.Error("rate limit: database unavailable; request allowed", "err", err)
		}
		return true, 0
	}
	if counted != nil {
		return true, 0
	}
	retry := l.window - elapsed
	if curr >= l.limit {
		retry += l.window // the current window alone is full
	}
	return false, retry
}

// prune deletes, at most once a window per node, the counts of windows that
// no longer weigh.
func (l *Limiter) prune(ctx context.Context, now time.Time) {
	l.mu.Lock()
	due := now.Sub(l.lastPrune) >= l.window
	if due {
		l.lastPrune = now
	}
	l.mu.Unlock()
	if !due {
		return
	}
	if _, err := l.s.pool.Exec(ctx, `DELETE FROM rate_limits WHERE window_start < $1`, now.Truncate(l.window).Add(-l.window)); err != nil {
		l.s.cfg.Logger.Warn("rate limit: prune", "err", err)
	}
}
