package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Client calls the Connector device operations and subscribes to their
// WebSocket. It is safe for concurrent use; create it with [New].
type Client struct {
	cfg Config
	log *slog.Logger

	// Hooks for tests: the clock and the wait between attempts.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Client for cfg, with the defaults of [Config] applied.
// It returns the error of [Config.Validate] when cfg is invalid.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{cfg: cfg, log: cfg.Logger, now: time.Now, sleep: sleepCtx}, nil
}

// Config returns the configuration in use, defaults included. Useful to log
// the derived WebSocketAddress.
func (c *Client) Config() Config { return c.cfg }

type idempotencyKey struct{}

// WithIdempotencyKey returns a context that makes the next add-operation
// (AddPrinterCommand, AddKeyCutterCommand, AddPaymentTerminalCommand) send
// key as its Idempotency-Key header. bellhop answers a repeated key with
// the same body with the CommandId of the first call, so a caller that
// persists the key before calling can safely repeat the call after a crash.
// Without it, the SDK generates a random key per call, which protects the
// automatic retries of that one call only. Other operations ignore it.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// newIdempotencyKey returns 128 random bits in hex.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand doc)
	return hex.EncodeToString(b[:])
}

// base is the part of every request body that identifies the caller.
type base struct {
	ClientToken string
	AccessToken string
	Client      string
}

func (c *Client) base() base {
	return base{ClientToken: c.cfg.ClientToken, AccessToken: c.cfg.AccessToken, Client: c.cfg.Client}
}

// callOptions tune one call.
type callOptions struct {
	idempotent bool // an add-operation: send an Idempotency-Key
}

// call POSTs body as JSON to the operation op ("resource/action") and
// decodes a 2xx answer into out (unless out is nil or the body is empty,
// as with 204). It retries temporary failures (see retryable).
func (c *Client) call(ctx context.Context, op string, body, out any, opts callOptions) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return opError(op, err)
	}
	url := c.cfg.PlatformAddress + "/api/connector/v1/" + op
	var key string
	if opts.idempotent {
		key, _ = ctx.Value(idempotencyKey{}).(string)
		if key == "" {
			key = newIdempotencyKey()
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, op, url, payload, key, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return opError(op, errors.Join(ctx.Err(), err))
		}
		if !retryable(err) || attempt >= c.cfg.MaxRetries {
			return wrapOnce(op, err)
		}
		wait := c.backoff(attempt)
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			// Waiting would outlive the caller; answer now with what we know.
			return wrapOnce(op, err)
		}
		c.log.DebugContext(ctx, "client: retrying", "operation", op, "attempt", attempt+1, "wait", wait, "error", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return opError(op, errors.Join(serr, err))
		}
	}
}

// wrapOnce adds the operation to transport errors; an *Error already names it.
func wrapOnce(op string, err error) error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return err
	}
	return opError(op, err)
}

// attempt sends one request. It returns an *Error for non-2xx answers,
// a *transportError for failures to send or to read the answer, and a plain
// error for an answer that does not decode.
func (c *Client) attempt(ctx context.Context, op, url string, payload []byte, key string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = jsonType // shared: the transport only reads them
	req.Header["Accept"] = jsonType
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return &transportError{err}
	}
	drained := false
	defer func() {
		if !drained { // what is left of an error body, so the connection is reused
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		}
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(op, resp, c.now())
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	if n := resp.ContentLength; n > 0 && n <= maxPooledBody {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free before each read
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return &transportError{fmt.Errorf("reading the response: %w", err)}
	}
	drained = true
	raw := buf.Bytes()
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	// Unmarshal copies what it keeps (strings, RawMessage), so the buffer
	// goes back to the pool after it.
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the response (status %d, Request-Id %q): %w",
			resp.StatusCode, resp.Header.Get("Request-Id"), err)
	}
	return nil
}

// jsonType is the value of a request's Content-Type and Accept headers; a
// full slice, so that an Add copies it.
var jsonType = []string{"application/json"}

// bodies holds the buffers that answers are read into.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for another answer: a page of
// large payloads is not held for the life of the process.
const maxPooledBody = 256 << 10

func putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodies.Put(b)
}

// transportError is a failure to exchange a request and its answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable reports whether err is worth another attempt: 408, 429 and 5xx
// answers, and network failures other than certificate errors.
func retryable(err error) bool {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var te *transportError
	if !errors.As(err, &te) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	return !errors.As(err, &certErr)
}

// backoff returns the wait before retry number attempt+1: a random
// duration in [0, min(MaxBackoff, MinBackoff*2^attempt)).
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.cfg.MaxBackoff
	if attempt < 62 {
		if d := c.cfg.MinBackoff << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// sleepCtx waits for d or until ctx is done, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
