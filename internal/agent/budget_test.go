package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBudgetHoldsEveryRequestAfter429 answers the first request 429 with
// Retry-After: 1 and checks that no request of the token reaches the
// server within that second, and that each is counted.
func TestBudgetHoldsEveryRequestAfter429(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		first := len(arrivals) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	counts := map[string]int{}
	var countMu sync.Mutex
	b := newBudget(http.DefaultTransport, 200, 30*time.Second, func(op, status string) {
		countMu.Lock()
		counts[op+" "+status]++
		countMu.Unlock()
	})
	hc := &http.Client{Transport: b}
	resp, err := hc.Post(srv.URL+"/api/connector/v1/commands/update", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 3 {
		wg.Go(func() {
			resp, err := hc.Post(srv.URL+"/api/connector/v1/commands/getAllByIds", "application/json", nil)
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	for _, at := range arrivals[1:] {
		if gap := at.Sub(arrivals[0]); gap < time.Second {
			t.Errorf("a request arrived %v after the 429, want at least Retry-After (1s)", gap)
		}
	}
	if counts["commands/update 429"] != 1 || counts["commands/getAllByIds 200"] != 3 {
		t.Errorf("counted %v", counts)
	}

	// A request whose context ends during the hold is not sent.
	b.pause(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/connector/v1/commands/update", nil)
	if _, err := hc.Do(req); err == nil {
		t.Error("a request went out during the hold")
	}
	if len(arrivals) != 4 {
		t.Errorf("%d arrivals, want 4", len(arrivals))
	}
}

// TestBudgetPace checks the bucket's shape: a tenth of the limit at once,
// then the rest of the window's share at a steady rate, so that no window
// of the limit's length sees more than the limit.
func TestBudgetPace(t *testing.T) {
	t.Parallel()
	b := newBudget(http.DefaultTransport, 200, 30*time.Second, func(string, string) {})
	if b.limiter.Burst() != 20 || float64(b.limiter.Limit()) != 6 {
		t.Errorf("burst %d, rate %v/s; want 20 and 6/s", b.limiter.Burst(), b.limiter.Limit())
	}
	if off := newBudget(http.DefaultTransport, -1, 30*time.Second, func(string, string) {}); off.limiter != nil {
		t.Error("rate_limit -1 must turn pacing off")
	}
	for path, want := range map[string]string{
		"/api/connector/v1/commands/update":       "commands/update",
		"/prefix/api/connector/v1/devices/getAll": "devices/getAll",
		"/ws/connector": "websocket",
		"/metrics":      "other",
	} {
		if got := operation(path); got != want {
			t.Errorf("operation(%q) = %q, want %q", path, got, want)
		}
	}
}
