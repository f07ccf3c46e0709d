package httpdrv

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

func open(t *testing.T, target string) driver.Driver {
	t.Helper()
	d, err := driver.Registry{"http": New, "apiurl": NewAPIURL}.Open(target,
		driver.Options{Timeout: 2 * time.Second, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func status(code int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func TestPostsTheCommand(t *testing.T) {
	t.Parallel()
	peer := drivertest.StartHTTPPeer(t, status(201, "  encoded 2 keys \n"))
	d := open(t, peer.URL+"/keys")
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
	if err != nil || res.Notes != "encoded 2 keys" {
		t.Fatalf("Run = %q, %v", res.Notes, err)
	}
	reqs := peer.Requests()
	post := reqs[len(reqs)-1]
	if post.Method != "POST" || post.Path != "/keys" || post.Header.Get("Idempotency-Key") != "cmd-1" ||
		post.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request = %s %s %v", post.Method, post.Path, post.Header)
	}
	got, err := drivertest.DecodeRequest(post.Body)
	if err != nil || got.Id != "cmd-1" || got.Device.Type != "KeyCutter" || got.Device.Name != "Encoder" {
		t.Errorf("body = %s (%v)", post.Body, err)
	}
	var data struct{ LockIds []string }
	if json.Unmarshal(got.Data, &data); len(data.LockIds) != 2 {
		t.Errorf("Data lost its LockIds: %s", got.Data)
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 2000)
	for name, tc := range map[string]struct {
		respond  func(int, http.ResponseWriter, *http.Request)
		attempts int
		notes    string
		err      string
		timeout  time.Duration // of an attempt; default a minute, more than any answer takes
	}{
		"empty 204":         {respond: status(204, ""), attempts: 1, notes: "HTTP 204 No Content"},
		"4xx fails at once": {respond: status(422, "lock 101 unknown"), attempts: 1, err: "(attempt 1 of 4): HTTP 422 Unprocessable Entity: lock 101 unknown"},
		"5xx then success": {respond: func(n int, w http.ResponseWriter, r *http.Request) {
			if n < 3 {
				status(503, "busy")(n, w, r)
				return
			}
			status(200, "done")(n, w, r)
		}, attempts: 3, notes: "done"},
		"5xx gives up": {respond: status(500, "boom"), attempts: 4, err: "(attempt 4 of 4): HTTP 500 Internal Server Error: boom"},
		"body bounded": {respond: status(200, long), attempts: 1, notes: strings.Repeat("é", (driver.MaxNotes-3)/2) + "…"},
		"slow then ok": {respond: func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				<-r.Context().Done() // outlive the attempt timeout
				return
			}
			status(200, "ok")(n, w, r)
		}, attempts: 2, notes: "ok", timeout: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			peer := drivertest.StartHTTPPeer(t, tc.respond)
			// Only "slow then ok" is meant to run out of time: an attempt
			// that does so on a loaded machine would count one too many.
			d, err := New(peer.URL, driver.Options{Timeout: cmp.Or(tc.timeout, time.Minute), RetryDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", ""))
			if tc.err == "" && (err != nil || res.Notes != tc.notes) {
				t.Errorf("Run = %q, %v; want %q", res.Notes, err, tc.notes)
			}
			if tc.err != "" && (err == nil || !strings.HasSuffix(err.Error(), tc.err)) {
				t.Errorf("Run error = %v; want it to end with %q", err, tc.err)
			}
			if n := len(peer.Requests()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

func TestAPIURL(t *testing.T) {
	t.Parallel()
	peer := drivertest.StartHTTPPeer(t, nil)
	d := open(t, "apiurl")
	if res, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-1", peer.URL+"/api")); err != nil || res.Notes != "ok" {
		t.Fatalf("Run = %q, %v", res.Notes, err)
	}
	if reqs := peer.Requests(); len(reqs) != 1 || reqs[0].Path != "/api" {
		t.Errorf("requests = %v", reqs)
	}
	_, err := d.Run(context.Background(), drivertest.KeyCutterJob("cmd-2", ""))
	if !errors.Is(err, driver.ErrBadData) || !strings.Contains(err.Error(), "no ApiUrl") {
		t.Errorf("Run without ApiUrl = %v", err)
	}
}

func TestCancelStopsRetrying(t *testing.T) {
	t.Parallel()
	peer := drivertest.StartHTTPPeer(t, status(503, "busy"))
	d, err := New(peer.URL, driver.Options{RetryDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := d.Run(ctx, drivertest.KeyCutterJob("cmd-1", "")); done <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for len(peer.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	d, err := New("http://127.0.0.1:1/", driver.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Check = %v", err)
	}
	if _, err := d.Run(context.Background(), drivertest.KeyCutterJob("c", "")); err == nil || !strings.Contains(err.Error(), "(attempt 1 of 1)") {
		t.Errorf("Run = %v", err)
	}
	for _, bad := range []string{"http://", "ftp://x/", "http:relative"} {
		if _, err := New(bad, driver.Options{}); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
}
