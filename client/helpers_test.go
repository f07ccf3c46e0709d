package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// The published Mews demo tokens (spec 1.2), used as fixtures.
const (
	demoClientToken = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"
	demoAccessToken = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"
	demoClient      = "Sample Client 1.0.0"
)

// request is what the fake server saw of one request.
type request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fake is an httptest server that records requests and answers each with
// respond, called with the 0-based index of the request.
type fake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int, req request, w http.ResponseWriter, r *http.Request)
}

func newFake(t testing.TB, respond func(n int, req request, w http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		req := request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		f.respond(n, req, w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// waits records the waits a Client asked for, without waiting.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// newTestClient returns a Client for addr with the demo tokens, small
// backoffs and a sleep that only records.
func newTestClient(t testing.TB, addr string, mods ...func(*Config)) (*Client, *waits) {
	t.Helper()
	cfg := Config{
		PlatformAddress: addr,
		ClientToken:     demoClientToken,
		AccessToken:     demoAccessToken,
		Client:          demoClient,
		MinBackoff:      time.Millisecond,
		MaxBackoff:      8 * time.Millisecond,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w := &waits{}
	c.sleep = w.sleep
	return c, w
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalize decodes JSON into generic values and drops null members, since
// the contract treats an absent optional property like a null one.
func normalize(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return dropNulls(v)
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
			} else {
				v[k] = dropNulls(x)
			}
		}
	case []any:
		for i := range v {
			v[i] = dropNulls(v[i])
		}
	}
	return v
}

// sameJSON fails the test unless a and b are the same JSON after normalize.
func sameJSON(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if g, w := normalize(t, got), normalize(t, want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got: %s\nwant: %s", what, compact(got), compact(want))
	}
}

func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(dropNulls(v))
	return string(out)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req-header")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func ptr[T any](v T) *T { return &v }
