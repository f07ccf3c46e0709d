package agent

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/bellhop/bellhop/client"
)

// budget is the agent's transport to the hub: it spends the token's
// requests within its limit (Mews and bellhop allow 200 per AccessToken in
// 30 s, REST and WebSocket upgrades together) and, when the hub answers 429
// anyway (another program shares the token), holds every request of the
// token until Retry-After has passed.
//
// Pacing is a token bucket holding a tenth of the limit that refills at
// nine tenths of it: in any window at most limit requests leave, and a hub
// that weighs the previous window into a sliding estimate (as bellhop does)
// never sees more than the limit either. Every request is counted in
// bellhop_agent_requests_total by operation and status.
type budget struct {
	next     http.RoundTripper
	limiter  *rate.Limiter // nil: no pacing
	requests func(op, status string)
	now      func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
}

// newBudget paces next to limit requests per window; a negative limit
// turns pacing off (429 answers still pause).
func newBudget(next http.RoundTripper, limit int, window time.Duration, count func(op, status string)) *budget {
	b := &budget{next: next, requests: count, now: time.Now}
	if limit > 0 && window > 0 {
		burst := max(limit/10, 1)
		refill := float64(limit-burst) / window.Seconds()
		b.limiter = rate.NewLimiter(rate.Limit(refill), burst)
	}
	return b
}

// RoundTrip waits for the budget, sends the request, counts it and pauses
// the token on 429. A context that ends while waiting returns its error
// and sends nothing.
func (b *budget) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := b.waitPause(ctx); err != nil {
		return nil, err
	}
	if b.limiter != nil {
		if err := b.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		// A 429 may have arrived while this request waited for its turn.
		if err := b.waitPause(ctx); err != nil {
			return nil, err
		}
	}
	resp, err := b.next.RoundTrip(req)
	op := operation(req.URL.Path)
	if err != nil {
		b.requests(op, "error")
		return nil, err
	}
	b.requests(op, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode == http.StatusTooManyRequests {
		wait := client.ParseRetryAfter(resp.Header.Get("Retry-After"), b.now())
		if wait <= 0 {
			wait = time.Second
		}
		b.pause(wait)
	}
	return resp, nil
}

// pause holds every request until d from now, and empties the bucket so
// that requests resume at the steady pace rather than in a burst.
func (b *budget) pause(d time.Duration) {
	now := b.now()
	b.mu.Lock()
	if until := now.Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	b.mu.Unlock()
	if b.limiter != nil {
		if n := int(b.limiter.TokensAt(now)); n > 0 {
			b.limiter.ReserveN(now, n) // takes what is left
		}
	}
}

// waitPause returns once no 429 pause is in force, or with ctx's error.
func (b *budget) waitPause(ctx context.Context) error {
	for {
		b.mu.Lock()
		wait := b.pausedUntil.Sub(b.now())
		b.mu.Unlock()
		if wait <= 0 {
			return ctx.Err()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// operation names a request for the metrics: "commands/update",
// "websocket", or "other".
func operation(path string) string {
	const api = "/api/connector/v1/"
	if i := strings.Index(path, api); i >= 0 {
		return path[i+len(api):]
	}
	if strings.HasSuffix(path, "/ws/connector") {
		return "websocket"
	}
	return "other"
}
