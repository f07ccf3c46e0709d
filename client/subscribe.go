package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// WebSocket tuning.
const (
	// ReadLimit is the largest WebSocket message the subscriber accepts;
	// a larger one drops the connection (and a reconnect follows).
	ReadLimit = 1 << 20
	// stableAfter is how long a connection must last for the reconnect
	// backoff to start again from MinBackoff.
	stableAfter = 30 * time.Second
	// eventBuffer is how many messages are read ahead of a busy handler.
	eventBuffer = 64
)

// SubscribeOptions are the optional callbacks of [Client.Subscribe].
type SubscribeOptions struct {
	// OnConnect is called after every successful handshake, before any
	// event of that connection is delivered, with the context of the
	// subscription. Use it to catch up with [Client.AllActiveCommands]:
	// events sent while no connection was open are lost. Events received
	// meanwhile are buffered and delivered after it returns. If it returns
	// an error, the connection is closed and reopened after a backoff, so
	// the catch-up is retried. Optional.
	OnConnect func(ctx context.Context) error

	// OnDisconnect is called with the cause each time a connection attempt
	// fails or an open connection ends, before the backoff wait. It is not
	// called when the subscription's context ends. Optional.
	OnDisconnect func(err error)
}

// Subscribe opens the WebSocket at WebSocketAddress + "/ws/connector",
// authenticated by the cookie header "ClientToken=<token>; AccessToken=<token>",
// and calls handler for each DeviceCommand event, one at a time and in the
// order received, on the calling goroutine. Events of other types are
// ignored. Events are at-least-once and may repeat what the catch-up in
// OnConnect already returned.
//
// The handler should return quickly: while it runs the socket is still read
// (so pings are answered), but only a few dozen messages are buffered.
// Run device work on other goroutines.
//
// Subscribe reconnects forever, with the backoff of [Config] (starting
// again from MinBackoff once a connection lasted 30 s), until ctx is done,
// and then closes the socket and returns ctx.Err(). A rejected handshake
// (e.g. 401 for bad tokens, reported as an [*Error] to OnDisconnect) is
// retried too, with MaxBackoff between attempts, because tokens and
// connected devices can be fixed while the subscriber runs; a caller that
// prefers to stop can cancel ctx from OnDisconnect when [IsUnauthorized].
// It returns an error at once only when handler is nil.
func (c *Client) Subscribe(ctx context.Context, handler func(ctx context.Context, ev Event), opts SubscribeOptions) error {
	if handler == nil {
		return errors.New("client: Subscribe: handler is nil")
	}
	url := c.cfg.WebSocketAddress + "/ws/connector"
	failures := 0
	for {
		started := c.now()
		err := c.session(ctx, url, handler, opts)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c.now().Sub(started) >= stableAfter {
			failures = 0
		}
		wait := c.backoff(failures)
		var apiErr *Error
		if errors.As(err, &apiErr) {
			switch {
			case apiErr.RetryAfter > 0:
				wait = apiErr.RetryAfter
			case !apiErr.Temporary():
				// A rejected handshake (401, 403...): retrying soon will not help.
				wait = c.cfg.MaxBackoff
			}
		}
		failures++
		c.log.DebugContext(ctx, "client: websocket disconnected", "error", err, "wait", wait)
		if opts.OnDisconnect != nil {
			opts.OnDisconnect(err)
		}
		if c.sleep(ctx, wait) != nil {
			return ctx.Err()
		}
	}
}

// session runs one connection: dial, OnConnect, then deliver events until
// the connection fails or ctx is done. It always returns a non-nil error.
func (c *Client) session(ctx context.Context, url string, handler func(context.Context, Event), opts SubscribeOptions) error {
	header := http.Header{}
	header.Set("Cookie", "ClientToken="+c.cfg.ClientToken+"; AccessToken="+c.cfg.AccessToken)
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: c.cfg.HTTPClient,
		HTTPHeader: header,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != 0 {
			return parseError("websocket", resp, c.now())
		}
		return fmt.Errorf("client: websocket: %w", err)
	}
	conn.SetReadLimit(ReadLimit)
	c.log.DebugContext(ctx, "client: websocket connected", "url", url)

	// The reader must not see ctx's cancellation, which would tear the
	// socket down without a close handshake; it stops when conn closes,
	// and stopRead frees it when it waits for room in batches.
	readCtx, stopRead := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRead()
	batches := make(chan []Event, eventBuffer)
	readErr := make(chan error, 1)
	go func() {
		readErr <- readLoop(readCtx, conn, batches)
	}()
	closeConn := func(code websocket.StatusCode) {
		_ = conn.Close(code, "")
		stopRead()
		<-readErr
	}

	if opts.OnConnect != nil {
		if err := opts.OnConnect(ctx); err != nil {
			closeConn(websocket.StatusGoingAway)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("client: websocket: OnConnect: %w", err)
		}
	}
	deliver := func(batch []Event) {
		for _, ev := range batch {
			if ctx.Err() != nil {
				return
			}
			handler(ctx, ev)
		}
	}
	for {
		select {
		case batch := <-batches:
			deliver(batch)
		case err := <-readErr:
			_ = conn.CloseNow()
			// The reader queued everything it read before it failed.
			for {
				select {
				case batch := <-batches:
					deliver(batch)
					continue
				default:
				}
				return err
			}
		case <-ctx.Done():
			closeConn(websocket.StatusNormalClosure)
			return ctx.Err()
		}
	}
}

// readLoop reads messages into batches until the connection fails, and
// returns why; when ctx is done it stops waiting for room in batches. A
// message that is not a valid event batch ends the connection: the
// catch-up after the reconnect recovers what it held.
func readLoop(ctx context.Context, conn *websocket.Conn, batches chan<- []Event) error {
	// The socket is read under a context that is never done: for one that
	// can be, coder/websocket registers and removes a context.AfterFunc
	// around every frame it reads, a cost paid for each event, while only
	// the closing of conn ever ends these reads (see session).
	frames := context.WithoutCancel(ctx)
	// One buffer for the socket's messages (conn.Read would allocate one
	// per message); parseMessage copies what it keeps.
	var buf bytes.Buffer
	for {
		typ, r, err := conn.Reader(frames)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			return fmt.Errorf("client: websocket: %w", err)
		}
		if typ != websocket.MessageText {
			continue
		}
		events, err := parseMessage(buf.Bytes())
		if buf.Cap() > 64<<10 {
			buf = bytes.Buffer{} // a rare large message is not kept per socket
		}
		if err != nil {
			_ = conn.Close(websocket.StatusUnsupportedData, "invalid message")
			return err
		}
		if len(events) == 0 {
			continue
		}
		select {
		case batches <- events:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
