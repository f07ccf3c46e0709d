package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const wantCookie = "ClientToken=" + demoClientToken + "; AccessToken=" + demoAccessToken

// wsFake is a WebSocket server that hands the n-th connection attempt to
// serve and checks the path and the cookie header of every attempt.
func wsFake(t testing.TB, serve func(n int, w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	var attempts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws/connector" {
			t.Errorf("path = %q, want /ws/connector", r.URL.Path)
		}
		if got := r.Header.Values("Cookie"); !reflect.DeepEqual(got, []string{wantCookie}) {
			t.Errorf("Cookie headers = %q, want exactly [%q]", got, wantCookie)
		}
		serve(int(attempts.Add(1)-1), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func accept(t testing.TB, w http.ResponseWriter, r *http.Request) *websocket.Conn {
	t.Helper()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.Errorf("Accept: %v", err)
		return nil
	}
	return conn
}

func send(t testing.TB, ctx context.Context, conn *websocket.Conn, msg string) {
	t.Helper()
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Errorf("Write: %v", err)
	}
}

// readUntilClosed reads until the peer goes away and returns the close status.
func readUntilClosed(ctx context.Context, conn *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// receive returns the next value of ch, failing the test if none comes
// within a generous bound (a safety net, not a timing assumption).
func receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting")
		panic("unreachable")
	}
}

type subscription struct {
	trace chan string // "connect", "disconnect", "event:<id>:<state>" in call order
	errs  chan error  // OnDisconnect causes
	done  chan error  // Subscribe's result
}

// subscribe runs c.Subscribe in a goroutine, tracing the callbacks.
func subscribe(ctx context.Context, c *Client, onConnect func(ctx context.Context, n int) error) *subscription {
	s := &subscription{trace: make(chan string, 100), errs: make(chan error, 100), done: make(chan error, 1)}
	connects := 0
	go func() {
		s.done <- c.Subscribe(ctx, func(_ context.Context, ev Event) {
			s.trace <- "event:" + ev.Id + ":" + string(ev.State)
		}, SubscribeOptions{
			OnConnect: func(ctx context.Context) error {
				s.trace <- "connect"
				connects++
				if onConnect != nil {
					return onConnect(ctx, connects-1)
				}
				return nil
			},
			OnDisconnect: func(err error) {
				s.trace <- "disconnect"
				s.errs <- err
			},
		})
	}()
	return s
}

func (s *subscription) expect(t testing.TB, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := receive(t, s.trace); got != w {
			t.Fatalf("callback %q, want %q", got, w)
		}
	}
}

// TestSubscribe covers events in order with foreign types ignored, a
// dropped connection, OnConnect after the reconnect, and a cancel that
// closes the socket normally and returns.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	closed := make(chan websocket.StatusCode, 1)
	mixed := string(readTestdata(t, "websocket-message.json"))
	srv := wsFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		conn := accept(t, w, r)
		if conn == nil {
			return
		}
		switch n {
		case 0:
			send(t, r.Context(), conn, mixed)
			send(t, r.Context(), conn, `{"Events": [{"Type": "DeviceCommand", "Id": "b", "State": "Received"},`+
				`{"Type": "DeviceCommand", "Id": "c", "State": "Processing"}]}`)
			send(t, r.Context(), conn, `{"Events": []}`)
			conn.CloseNow() // drop without a close handshake
		case 1:
			send(t, r.Context(), conn, `{"Events": [{"Type": "DeviceCommand", "Id": "d", "State": "Pending"}]}`)
			closed <- readUntilClosed(r.Context(), conn)
		default:
			t.Errorf("connection %d", n)
			conn.CloseNow()
		}
	})
	c, w := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := subscribe(ctx, c, nil)

	s.expect(t, "connect", "event:2391a3df-1c61-4131-b6f8-c85b4234adcb:Pending", "event:b:Received",
		"event:c:Processing", "disconnect", "connect", "event:d:Pending")
	if err := receive(t, s.errs); err == nil {
		t.Error("OnDisconnect(nil)")
	}
	cancel()
	if err := receive(t, s.done); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v, want context.Canceled", err)
	}
	if code := receive(t, closed); code != websocket.StatusNormalClosure {
		t.Errorf("server saw close status %v, want normal closure", code)
	}
	if got := w.all(); len(got) != 1 || got[0] < 0 || got[0] >= c.cfg.MinBackoff {
		t.Errorf("reconnect waits = %v, want one in [0, MinBackoff)", got)
	}
	select {
	case v := <-s.trace:
		t.Errorf("callback %q after cancel", v)
	default:
	}
}

// TestSubscribeRejected covers a 401 at the handshake: reported as an
// *Error, retried after MaxBackoff, and the caller may cancel.
func TestSubscribeRejected(t *testing.T) {
	t.Parallel()
	srv := wsFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 2 {
			writeJSON(w, http.StatusUnauthorized, `{"Message": "Invalid AccessToken", "RequestId": "r1"}`)
			return
		}
		if conn := accept(t, w, r); conn != nil {
			readUntilClosed(r.Context(), conn)
		}
	})
	c, w := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := subscribe(ctx, c, func(context.Context, int) error {
		cancel()
		return nil
	})
	s.expect(t, "disconnect", "disconnect", "connect")
	for range 2 {
		err := receive(t, s.errs)
		var apiErr *Error
		if !errors.As(err, &apiErr) || !IsUnauthorized(err) || apiErr.Message != "Invalid AccessToken" ||
			apiErr.RequestId != "r1" || apiErr.Operation != "websocket" {
			t.Errorf("OnDisconnect(%#v), want the 401 *Error", err)
		}
	}
	if err := receive(t, s.done); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v", err)
	}
	if got := w.all(); !reflect.DeepEqual(got, []time.Duration{c.cfg.MaxBackoff, c.cfg.MaxBackoff}) {
		t.Errorf("waits = %v, want MaxBackoff twice", got)
	}
}

// TestSubscribeOnConnectError checks that a failed catch-up drops the
// connection and is retried on the next one.
func TestSubscribeOnConnectError(t *testing.T) {
	t.Parallel()
	closed := make(chan websocket.StatusCode, 2)
	srv := wsFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if conn := accept(t, w, r); conn != nil {
			if n == 1 {
				send(t, r.Context(), conn, `{"Events": [{"Type": "DeviceCommand", "Id": "x", "State": "Pending"}]}`)
			}
			closed <- readUntilClosed(r.Context(), conn)
		}
	})
	c, _ := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	catchUpFailed := errors.New("catch-up failed")
	s := subscribe(ctx, c, func(_ context.Context, n int) error {
		if n == 0 {
			return catchUpFailed
		}
		return nil
	})
	s.expect(t, "connect", "disconnect", "connect", "event:x:Pending")
	if err := receive(t, s.errs); !errors.Is(err, catchUpFailed) {
		t.Errorf("OnDisconnect(%v), want the OnConnect error", err)
	}
	if code := receive(t, closed); code != websocket.StatusGoingAway {
		t.Errorf("first connection closed with %v", code)
	}
	cancel()
	if err := receive(t, s.done); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v", err)
	}
}

// TestSubscribeBadMessage checks that an invalid message ends the
// connection (the catch-up of the next one recovers).
func TestSubscribeBadMessage(t *testing.T) {
	t.Parallel()
	srv := wsFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if conn := accept(t, w, r); conn != nil {
			if n == 0 {
				send(t, r.Context(), conn, `{"Events": [{"Type": "DeviceCommand", "Id": "a", "State": "Pending"}]}`)
				send(t, r.Context(), conn, `not json`)
			}
			readUntilClosed(r.Context(), conn)
		}
	})
	c, _ := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := subscribe(ctx, c, func(_ context.Context, n int) error {
		if n == 1 {
			cancel()
		}
		return nil
	})
	s.expect(t, "connect", "event:a:Pending", "disconnect", "connect")
	if err := receive(t, s.errs); err == nil {
		t.Error("OnDisconnect(nil)")
	}
	if err := receive(t, s.done); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v", err)
	}
}

func TestSubscribeNilHandler(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, "http://localhost")
	if err := c.Subscribe(t.Context(), nil, SubscribeOptions{}); err == nil {
		t.Error("no error for a nil handler")
	}
}

// TestSubscribeStopsWithFullReadAhead: when a connection ends while more
// messages wait than the read-ahead holds (here OnConnect fails while the
// server sends), the reader stops too and Subscribe returns.
func TestSubscribeStopsWithFullReadAhead(t *testing.T) {
	t.Parallel()
	sent, closed := make(chan struct{}), make(chan websocket.StatusCode, 1)
	srv := wsFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if conn := accept(t, w, r); conn != nil {
			for i := range 4 * eventBuffer {
				send(t, r.Context(), conn, fmt.Sprintf(`{"Events": [{"Type": "DeviceCommand", "Id": "%d", "State": "Pending"}]}`, i))
			}
			close(sent)
			closed <- readUntilClosed(r.Context(), conn)
		}
	})
	c, _ := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Subscribe(ctx, func(context.Context, Event) { t.Error("event delivered after a failed OnConnect") },
			SubscribeOptions{OnConnect: func(context.Context) error {
				<-sent
				cancel()
				return errors.New("catch-up failed")
			}})
	}()
	if err := receive(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe = %v", err)
	}
	if code := receive(t, closed); code != websocket.StatusGoingAway {
		t.Errorf("close status = %v, want %v", code, websocket.StatusGoingAway)
	}
}
