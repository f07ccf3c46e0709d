package drivertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Recorded is one request an HTTPPeer received.
type Recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// HTTPPeer is an HTTP server that records every request and answers with
// Respond, which receives the 1-based attempt number. The default answer is
// 200 "ok".
type HTTPPeer struct {
	URL     string
	Respond func(attempt int, w http.ResponseWriter, r *http.Request)
	mu      sync.Mutex
	reqs    []Recorded
}

// StartHTTPPeer starts a peer that lives until the test ends.
func StartHTTPPeer(tb testing.TB, respond func(attempt int, w http.ResponseWriter, r *http.Request)) *HTTPPeer {
	tb.Helper()
	p := &HTTPPeer{Respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.reqs = append(p.reqs, Recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		n := len(p.reqs)
		p.mu.Unlock()
		if p.Respond == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		p.Respond(n, w, r)
	}))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Requests returns a copy of what the peer received so far.
func (p *HTTPPeer) Requests() []Recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Recorded(nil), p.reqs...)
}
