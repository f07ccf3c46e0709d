package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryAfterSecondsThenSuccess(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, _ request, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, http.StatusTooManyRequests, `{"Message": "Too many requests."}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"Devices": []}`)
	})
	c, w := newTestClient(t, f.srv.URL)
	if _, err := c.Devices(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if got := w.all(); len(got) != 1 || got[0] != 7*time.Second {
		t.Errorf("waits = %v, want [7s] (Retry-After beats MaxBackoff)", got)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := newFake(t, func(n int, _ request, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", now.Add(3*time.Second).Format(http.TimeFormat))
			writeJSON(w, http.StatusServiceUnavailable, `{"Message": "Shutting down."}`)
			return
		}
		writeJSON(w, http.StatusOK, `{}`)
	})
	c, w := newTestClient(t, f.srv.URL)
	c.now = func() time.Time { return now }
	if err := c.UpdateCommand(t.Context(), UpdateRequest{CommandId: "x", State: StateProcessing}); err != nil {
		t.Fatal(err)
	}
	if got := w.all(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("waits = %v, want [3s]", got)
	}
}

func TestRetry5xxTwiceThenSuccess(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, _ request, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 0:
			writeJSON(w, http.StatusInternalServerError, `{"Message": "Internal error."}`)
		case 1:
			writeJSON(w, http.StatusBadGateway, `<html>bad gateway</html>`)
		default:
			writeJSON(w, http.StatusOK, `{"Commands": [], "Cursor": null}`)
		}
	})
	c, w := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MinBackoff, cfg.MaxBackoff = 100*time.Millisecond, 150*time.Millisecond })
	if _, err := c.ActiveCommands(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	got := w.all()
	if len(got) != 2 {
		t.Fatalf("waits = %v, want 2", got)
	}
	// Full jitter: the n-th wait is below min(MaxBackoff, MinBackoff*2^n).
	if got[0] < 0 || got[0] >= 100*time.Millisecond || got[1] < 0 || got[1] >= 150*time.Millisecond {
		t.Errorf("waits = %v, want [0,100ms) and [0,150ms)", got)
	}
}

func TestRetryTimeoutAndNetworkError(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, _ request, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			writeJSON(w, http.StatusRequestTimeout, `{"Message": "Request timeout."}`)
		case 1:
			// Drop the connection without an answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
		default:
			writeJSON(w, http.StatusOK, `{"Devices": []}`)
		}
	})
	c, _ := newTestClient(t, f.srv.URL)
	if _, err := c.Devices(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 409, 413} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, status, `{"Message": "Invalid PrinterId", "RequestId": "req-body"}`)
			})
			c, w := newTestClient(t, f.srv.URL)
			_, err := c.AddPrinterCommand(t.Context(), AddPrinterRequest{PrinterId: "p", Data: "JVBERi0=", CopyCount: 1})
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *Error", err)
			}
			want := Error{StatusCode: status, Message: "Invalid PrinterId", RequestId: "req-body", Operation: "commands/addPrinter"}
			if *apiErr != want {
				t.Errorf("err = %+v, want %+v", *apiErr, want)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if len(w.all()) != 0 {
				t.Errorf("waited %v", w.all())
			}
			helpers := map[int]func(error) bool{400: IsInvalid, 401: IsUnauthorized, 403: IsForbidden, 404: IsNotFound, 409: IsConflict}
			for code, is := range helpers {
				if is(err) != (code == status) {
					t.Errorf("helper for %d says %v", code, is(err))
				}
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		maxRetries, wantRequests int
	}{{0, 5}, {2, 3}, {-1, 1}} {
		t.Run(fmt.Sprint(tt.maxRetries), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusTooManyRequests, `{"Message": "Too many requests."}`)
			})
			c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxRetries = tt.maxRetries })
			_, err := c.Devices(t.Context())
			if !IsRateLimited(err) {
				t.Errorf("err = %v, want 429", err)
			}
			if n := len(f.requests()); n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

// TestIdempotencyKey checks that an add-operation carries one key across
// all its retries, a new key per call, the caller's key when given, and
// that other operations carry none.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, req request, w http.ResponseWriter, _ *http.Request) {
		if strings.HasSuffix(req.Path, "addPaymentTerminal") && n%3 != 2 {
			writeJSON(w, http.StatusInternalServerError, `{"Message": "Internal error."}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"CommandId": "c1"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	req := AddPaymentTerminalRequest{TerminalId: "t", CustomerId: "c", Type: PaymentTypePayment, Amount: CurrencyValue{Currency: "EUR", Value: 230}}
	for range 2 {
		if id, err := c.AddPaymentTerminalCommand(t.Context(), req); err != nil || id != "c1" {
			t.Fatalf("AddPaymentTerminalCommand = %q, %v", id, err)
		}
	}
	if _, err := c.AddPaymentTerminalCommand(WithIdempotencyKey(t.Context(), "my-key"), req); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCommand(WithIdempotencyKey(t.Context(), "ignored"), UpdateRequest{CommandId: "c1", State: StateProcessed}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 10 {
		t.Fatalf("%d requests, want 3+3+3+1", len(reqs))
	}
	keys := make([]string, len(reqs))
	for i, r := range reqs {
		keys[i] = r.Header.Get("Idempotency-Key")
	}
	first, second := keys[0], keys[3]
	if first == "" || second == "" || first == second {
		t.Errorf("generated keys %q and %q: want two different non-empty keys", first, second)
	}
	for i := range 3 {
		if keys[i] != first || keys[3+i] != second || keys[6+i] != "my-key" {
			t.Errorf("keys = %q: want the same key on each retry", keys)
			break
		}
		if string(reqs[i].Body) != string(reqs[0].Body) {
			t.Errorf("retry %d sent another body", i)
		}
	}
	if keys[9] != "" {
		t.Errorf("update sent Idempotency-Key %q", keys[9])
	}
}

func TestContextEndsRetries(t *testing.T) {
	t.Parallel()
	t.Run("deadline before Retry-After", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			writeJSON(w, http.StatusTooManyRequests, `{"Message": "Too many requests."}`)
		})
		c, w := newTestClient(t, f.srv.URL)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err := c.Devices(ctx)
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.RetryAfter != 2*time.Minute {
			t.Errorf("err = %#v, want 429 with RetryAfter 2m", err)
		}
		if len(f.requests()) != 1 || len(w.all()) != 0 {
			t.Errorf("%d requests, waits %v: want 1 request and no wait", len(f.requests()), w.all())
		}
	})
	t.Run("cancel during backoff", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusInternalServerError, `{"Message": "Internal error."}`)
		})
		c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour })
		c.sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return sleepCtx(ctx, d) // a real wait of up to an hour, ended by the cancel
		}
		_, err := c.Devices(ctx)
		if !errors.Is(err, context.Canceled) || StatusCode(err) != 500 {
			t.Errorf("err = %v, want context.Canceled and the 500", err)
		}
	})
}

func TestErrorParsing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, retryAfter string
		want                   Error
	}{
		{"mews body", `{"Message": "Invalid State", "RequestId": "req-body", "Details": "stack"}`, "",
			Error{StatusCode: 400, Message: "Invalid State", Details: "stack", RequestId: "req-body"}},
		{"details not a string", `{"Message": "Invalid State", "Details": {"Trace": [1]}}`, "",
			Error{StatusCode: 400, Message: "Invalid State", Details: `{"Trace": [1]}`, RequestId: "req-header"}},
		{"request id from header", `{"Message": "Invalid State"}`, "",
			Error{StatusCode: 400, Message: "Invalid State", RequestId: "req-header"}},
		{"not json", "<html>Bad Request</html>", "",
			Error{StatusCode: 400, Message: "<html>Bad Request</html>", RequestId: "req-header"}},
		{"empty", "", "", Error{StatusCode: 400, Message: "Bad Request", RequestId: "req-header"}},
		{"retry after", `{"Message": "Slow down"}`, "2",
			Error{StatusCode: 400, Message: "Slow down", RequestId: "req-header", RetryAfter: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeJSON(w, tt.want.StatusCode, tt.body)
			})
			c, _ := newTestClient(t, f.srv.URL)
			err := c.UpdateCommand(t.Context(), UpdateRequest{CommandId: "x", State: StatePending})
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v", err)
			}
			tt.want.Operation = "commands/update"
			if *apiErr != tt.want {
				t.Errorf("err = %+v, want %+v", *apiErr, tt.want)
			}
		})
	}
	e := &Error{StatusCode: 400, Message: "Invalid State", RequestId: "r1", Operation: "commands/update"}
	if got, want := e.Error(), "client: commands/update: 400 Bad Request: Invalid State (Request-Id r1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.Details = "Progress is a fraction from 0 to 1."
	if got, want := e.Error(), "client: commands/update: 400 Bad Request: Invalid State: Progress is a fraction from 0 to 1. (Request-Id r1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"": 0, "0": 0, "-3": 0, "1": time.Second, " 30 ": 30 * time.Second, "soon": 0,
		"99999999999": 24 * time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := ParseRetryAfter(h, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestMalformedSuccessNotRetried(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"Devices": [`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	if _, err := c.Devices(t.Context()); err == nil || !strings.Contains(err.Error(), "devices/getAll") {
		t.Errorf("err = %v, want a decoding error naming the operation", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestNoContent(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	c, _ := newTestClient(t, f.srv.URL)
	if err := c.UpdateCommand(t.Context(), UpdateRequest{CommandId: "x", State: StateProcessed}); err != nil {
		t.Errorf("update: %v", err)
	}
	page, err := c.FiscalMachineCommands(t.Context(), FiscalMachineCommandsRequest{CommandIds: []string{"x"}})
	if err != nil || len(page.Commands) != 0 || page.Cursor != nil {
		t.Errorf("empty page = %+v, %v", page, err)
	}
	body := string(f.requests()[1].Body)
	if !strings.Contains(body, `"Limitation":{"Count":1000}`) {
		t.Errorf("fiscal body %s: want the default Limitation", body)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	valid := Config{PlatformAddress: "https://api.mews-demo.com", ClientToken: "c", AccessToken: "a", Client: "x 1.0"}
	if err := valid.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"no platform":      func(c *Config) { c.PlatformAddress = "" },
		"relative":         func(c *Config) { c.PlatformAddress = "api.mews.com" },
		"ftp":              func(c *Config) { c.PlatformAddress = "ftp://api.mews.com" },
		"query":            func(c *Config) { c.PlatformAddress = "https://api.mews.com?x=1" },
		"ws scheme":        func(c *Config) { c.WebSocketAddress = "tcp://ws.mews.com" },
		"no client token":  func(c *Config) { c.ClientToken = "" },
		"no access token":  func(c *Config) { c.AccessToken = "" },
		"no client":        func(c *Config) { c.Client = "" },
		"negative backoff": func(c *Config) { c.MinBackoff = -1 },
		"backoff order":    func(c *Config) { c.MinBackoff = time.Minute },
	} {
		cfg := valid
		mod(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil", name)
		}
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	for platform, ws := range map[string]string{
		"https://api.mews-demo.com":  "wss://ws.mews-demo.com",
		"https://api.mews.com/":      "wss://ws.mews.com",
		"http://localhost:8080":      "ws://localhost:8080",
		"https://hub.example.com/bh": "wss://hub.example.com/bh",
	} {
		cfg := valid
		cfg.PlatformAddress = platform
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Config().WebSocketAddress; got != ws {
			t.Errorf("WebSocketAddress for %s = %q, want %q", platform, got, ws)
		}
	}
	c, err := New(valid)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Config()
	if got.MaxRetries != 4 || got.MinBackoff != 200*time.Millisecond || got.MaxBackoff != 10*time.Second ||
		got.HTTPClient != http.DefaultClient || got.Logger == nil {
		t.Errorf("defaults = %+v", got)
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, "http://localhost", func(cfg *Config) { cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, time.Second })
	for attempt := range 100 {
		ceiling := min(time.Second, 10*time.Millisecond<<min(attempt, 20))
		if d := c.backoff(attempt); d < 0 || d >= ceiling {
			t.Fatalf("backoff(%d) = %v, want [0, %v)", attempt, d, ceiling)
		}
	}
}
