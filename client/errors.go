package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a non-2xx answer of the API (or of the WebSocket handshake).
// Every operation returns it wrapped, so use [errors.As] or the Is*
// helpers to inspect it:
//
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden {
//		show(apiErr.Message) // 403 messages are meant for the end user
//	}
type Error struct {
	// StatusCode is the HTTP status, e.g. 400.
	StatusCode int
	// Message is the error body's Message (e.g. "Invalid CommandId"), or,
	// when the body is not the documented JSON, the start of the body or
	// the status text.
	Message string
	// Details is the error body's Details: what more the server has to say
	// (bellhop: why an `Invalid Amount` is invalid; Mews: debugging detail
	// in development environments). Empty when absent; JSON text when the
	// server sent something other than a string.
	Details string
	// RequestId is the error body's RequestId, or else the Request-Id
	// header; empty when the server sent neither.
	RequestId string
	// RetryAfter is the Retry-After header as a duration (zero when
	// absent or unparsable); set on 429 and sometimes on 503.
	RetryAfter time.Duration
	// Operation is the "resource/action" that failed, e.g.
	// "commands/update", or "websocket" for the handshake.
	Operation string
}

// Error returns e.g. `client: commands/update: 400 Bad Request: Invalid State (Request-Id 5c1e…)`,
// with the Details after the Message when there are any.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	if e.RequestId != "" {
		b.WriteString(" (Request-Id " + e.RequestId + ")")
	}
	return b.String()
}

// Temporary reports whether the request may succeed when repeated
// unchanged: true for 408, 429 and 5xx. The SDK retries exactly these.
func (e *Error) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode >= 500
}

// StatusCode returns the HTTP status of the first [*Error] in err's chain,
// or 0 when there is none (nil, network errors, context errors...).
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsInvalid reports a 400 Bad Request: a malformed request or a reference
// to something that does not exist or may not be used (e.g. "Invalid
// PrinterId", "Invalid State").
func IsInvalid(err error) bool { return StatusCode(err) == http.StatusBadRequest }

// IsUnauthorized reports a 401: bad, expired or revoked tokens, or an
// operation the integration may not use.
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsForbidden reports a 403: a business rule refused the request; the
// message is meant for the end user.
func IsForbidden(err error) bool { return StatusCode(err) == http.StatusForbidden }

// IsNotFound reports a 404: the URL matches no operation.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports a 409: the data changed underneath the request;
// refresh and resubmit.
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsRateLimited reports a 429 that was still answered after the retries.
func IsRateLimited(err error) bool { return StatusCode(err) == http.StatusTooManyRequests }

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// ParseError turns a non-2xx answer of a bellhop API into an [*Error] for
// the operation op (the admin client's). It reads a bounded part of the
// body but does not close it.
func ParseError(op string, resp *http.Response) *Error { return parseError(op, resp, time.Now()) }

// parseError turns a non-2xx response into an *Error. It reads (a bounded
// part of) the body but does not close it.
func parseError(op string, resp *http.Response, now time.Time) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		RequestId:  resp.Header.Get("Request-Id"),
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now),
		Operation:  op,
	}
	var raw []byte
	if resp.Body != nil {
		raw, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	}
	var body struct {
		Message   *string
		RequestId *string
		Details   json.RawMessage
	}
	if json.Unmarshal(raw, &body) == nil && body.Message != nil {
		e.Message = *body.Message
		if len(body.Details) > 0 && string(body.Details) != "null" {
			if json.Unmarshal(body.Details, &e.Details) != nil {
				e.Details = string(body.Details)
			}
		}
		if body.RequestId != nil && *body.RequestId != "" {
			e.RequestId = *body.RequestId
		}
		return e
	}
	if msg := strings.TrimSpace(string(raw)); msg != "" {
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		e.Message = msg
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// ParseRetryAfter reads a Retry-After header given in seconds or as an
// HTTP date (now is the current time); it returns 0 when the header is
// absent, unparsable or in the past, and caps it at 24 hours.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// opError wraps a transport or decoding error with the operation name.
func opError(op string, err error) error {
	return fmt.Errorf("client: %s: %w", op, err)
}
