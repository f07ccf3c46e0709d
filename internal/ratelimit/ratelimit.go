// Package ratelimit bounds how many requests a key (an AccessToken's hash)
// may make in a window, across REST calls and WebSocket upgrades.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Limiter decides whether a key may make one more request now; when not, it
// says how long until it may. ctx is the request's: a limiter that asks a
// database gives up with it.
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration)
}

// Memory is a sliding-window-counter limiter kept in process memory: it
// weighs the previous window's count by how much of it still overlaps the
// sliding window, which bounds bursts at window edges without storing every
// request time.
type Memory struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*counter
	last time.Time // last cleanup
}

type counter struct {
	start      time.Time // start of the current fixed window
	prev, curr int
}

// The limit of a hub's AccessTokens unless configured otherwise: 200
// requests per 30 s, REST calls and WebSocket upgrades together.
const (
	DefaultLimit  = 200
	DefaultWindow = 30 * time.Second
)

// NewMemory returns a limiter of limit requests per window (DefaultLimit per
// DefaultWindow when either is zero). now is the clock (time.Now when nil).
func NewMemory(limit int, window time.Duration, now func() time.Time) *Memory {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if window <= 0 {
		window = DefaultWindow
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{limit: limit, window: window, now: now, keys: map[string]*counter{}}
}

// Allow counts one request for key if it is within the limit.
func (m *Memory) Allow(_ context.Context, key string) (bool, time.Duration) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanup(now)
	c := m.keys[key]
	if c == nil {
		c = &counter{start: now.Truncate(m.window)}
		m.keys[key] = c
	}
	c.roll(now, m.window)
	elapsed := now.Sub(c.start)
	weight := float64(m.window-elapsed) / float64(m.window)
	if float64(c.prev)*weight+float64(c.curr) >= float64(m.limit) {
		retry := m.window - elapsed
		if c.curr >= m.limit {
			retry += m.window // the current window alone is full
		}
		return false, retry
	}
	c.curr++
	return true, 0
}

func (c *counter) roll(now time.Time, window time.Duration) {
	start := now.Truncate(window)
	switch {
	case start.Equal(c.start):
	case start.Sub(c.start) == window:
		c.prev, c.curr, c.start = c.curr, 0, start
	default:
		c.prev, c.curr, c.start = 0, 0, start
	}
}

// cleanup drops keys idle for two windows, at most once a window.
func (m *Memory) cleanup(now time.Time) {
	if now.Sub(m.last) < m.window {
		return
	}
	m.last = now
	for k, c := range m.keys {
		if now.Sub(c.start) > 2*m.window {
			delete(m.keys, k)
		}
	}
}
