package realtime

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/httpapi"
)

const (
	statusGoingAway       = websocket.StatusGoingAway
	statusPolicyViolation = websocket.StatusPolicyViolation
	statusTryAgainLater   = websocket.StatusTryAgainLater
)

// socket is one open WebSocket: its routing keys, and a queue of events that
// its own writer goroutine drains, so publishing never waits on the network.
type socket struct {
	b            *Broker
	conn         *websocket.Conn
	subscription string
	integration  string
	devices      []string // guarded by b.mu

	mu     sync.Mutex
	queue  []event
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	code   websocket.StatusCode
	reason string
}

func (s *socket) enqueue(e event) {
	s.mu.Lock()
	if len(s.queue) >= s.b.cfg.MaxQueue {
		s.mu.Unlock()
		go s.close(statusTryAgainLater, "too slow: events dropped, reconnect and catch up")
		return
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close asks the writer to close the socket with code; the first call wins.
func (s *socket) close(code websocket.StatusCode, reason string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.code, s.reason = code, reason
		s.mu.Unlock()
		close(s.done)
	})
}

// HandlerOptions configures the WebSocket endpoint.
type HandlerOptions struct {
	// Allow, when set, is asked before each upgrade with the AccessToken's
	// hash (the rate limit shared with the REST API).
	Allow func(key string) (bool, time.Duration)
	// OriginPatterns lists the browser origins allowed besides the hub's own
	// host; clients that send no Origin (agents) are always allowed.
	OriginPatterns []string
}

// Handler returns the /ws/connector endpoint. It authenticates with the
// ClientToken and AccessToken cookies (or, deprecated, query parameters) and
// answers 401 with the Mews error body before the upgrade when they fail.
func (b *Broker) Handler(opts HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := b.cfg.Logger
		if r.Method != http.MethodGet {
			httpapi.WriteError(w, r, log, bellhop.Errorf(bellhop.ENOTFOUND, "Not found: use GET to open a WebSocket."))
			return
		}
		clientToken, accessToken := tokens(r)
		if opts.Allow != nil && accessToken != "" {
			if ok, retry := opts.Allow(bellhop.HashToken(accessToken)); !ok {
				httpapi.WriteError(w, r, log, &httpapi.RateLimitError{RetryAfter: retry})
				return
			}
		}
		caller, err := b.backend.Authenticate(r.Context(), clientToken, accessToken)
		if err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		devices, err := b.backend.ConnectedDeviceIDs(r.Context(), caller.Subscription.ID)
		if err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		// Register before the upgrade completes, so that no event committed
		// after the client sees the handshake can miss this socket; events
		// queue until the writer starts.
		s := &socket{b: b, subscription: caller.Subscription.ID, integration: caller.Integration.ID,
			devices: devices, wake: make(chan struct{}, 1), done: make(chan struct{})}
		if ok, reason := b.add(s); !ok {
			httpapi.WriteError(w, r, log, bellhop.Errorf(bellhop.ERATELIMIT, "%s", reason))
			return
		}
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: opts.OriginPatterns,
			CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			b.remove(s)
			return // Accept has answered the client
		}
		conn.SetReadLimit(4096)
		s.conn = conn
		defer b.remove(s)
		s.run(r.Context())
	})
}

// tokens reads the tokens from the cookies, or from the deprecated query
// string that older integrations still use.
func tokens(r *http.Request) (clientToken, accessToken string) {
	if c, err := r.Cookie("ClientToken"); err == nil {
		clientToken = c.Value
	}
	if c, err := r.Cookie("AccessToken"); err == nil {
		accessToken = c.Value
	}
	if clientToken == "" && accessToken == "" {
		q := r.URL.Query()
		clientToken, accessToken = q.Get("ClientToken"), q.Get("AccessToken")
	}
	return clientToken, accessToken
}

// run writes queued events, pings, and closes the socket when the peer goes,
// falls silent, or the broker asks. Clients send nothing but control frames;
// a data message closes the socket (CloseRead's rule).
func (s *socket) run(ctx context.Context) {
	readCtx := s.conn.CloseRead(context.WithoutCancel(ctx))
	ping := time.NewTicker(s.b.cfg.PingInterval)
	defer ping.Stop()
	pong := make(chan error, 1)
	pinging := false
	lastHeard := time.Now() // real time: peers time out in it, whatever the hub's clock
	for {
		select {
		case <-readCtx.Done():
			s.conn.CloseNow()
			return
		case <-s.done:
			s.mu.Lock()
			code, reason := s.code, s.reason
			s.mu.Unlock()
			s.b.remove(s) // route nothing more to it during the closing handshake
			s.conn.Close(code, reason)
			return
		case <-s.wake:
			if err := s.flush(); err != nil {
				s.conn.CloseNow()
				return
			}
		case err := <-pong:
			pinging = false
			if err == nil {
				lastHeard = time.Now()
			}
		case <-ping.C:
			if time.Since(lastHeard) >= s.b.cfg.IdleTimeout {
				// A peer that answers no ping would not answer a close
				// handshake either.
				s.conn.CloseNow()
				return
			}
			if !pinging {
				pinging = true
				go func() {
					pctx, cancel := context.WithTimeout(context.Background(), s.b.cfg.IdleTimeout)
					defer cancel()
					pong <- s.conn.Ping(pctx)
				}()
			}
		}
	}
}

// flush writes everything queued as one {"Events":[...]} message: events that
// arrive while a write is under way are coalesced into the next one.
func (s *socket) flush() error {
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	n := len(`{"Events":[]}`)
	for _, e := range batch {
		n += len(e.json) + 1
	}
	msg := make([]byte, 0, n)
	msg = append(msg, `{"Events":[`...)
	for i, e := range batch {
		if i > 0 {
			msg = append(msg, ',')
		}
		msg = append(msg, e.json...)
	}
	msg = append(msg, "]}"...)
	ctx, cancel := context.WithTimeout(context.Background(), s.b.cfg.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	if s.b.cfg.OnDeliver != nil {
		now := s.b.cfg.Now()
		for _, e := range batch {
			s.b.cfg.OnDeliver(now.Sub(e.at))
		}
	}
	return nil
}
