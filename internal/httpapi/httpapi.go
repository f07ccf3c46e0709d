// Package httpapi holds what the hub's HTTP adapters share: the one table from
// domain error codes to HTTP statuses, the Mews error body, request ids,
// strict JSON decoding and body limits.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// statuses maps domain error codes to HTTP statuses, for every adapter.
var statuses = map[string]int{
	bellhop.EINVALID:      http.StatusBadRequest,
	bellhop.EUNAUTHORIZED: http.StatusUnauthorized,
	bellhop.EFORBIDDEN:    http.StatusForbidden,
	bellhop.ENOTFOUND:     http.StatusNotFound,
	bellhop.ECONFLICT:     http.StatusConflict,
	bellhop.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	bellhop.ERATELIMIT:    http.StatusTooManyRequests,
	bellhop.EUNAVAILABLE:  http.StatusServiceUnavailable,
	bellhop.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status of a domain error code (500 when unknown).
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// DefaultMaxBody is the largest request body the HTTP adapters read unless
// configured otherwise: 32 MiB, room for a print job's PDF in base64.
const DefaultMaxBody = 32 << 20

// ErrorBody is the Mews error body. Details is sent when the error has more
// to say than its Message (why an `Invalid Amount` is invalid).
type ErrorBody struct {
	Message   string
	RequestId string
	Details   string `json:",omitempty"`
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the id of the request in ctx ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithRequestID gives every request an id, sent back in the Request-Id header
// of every response, success or error.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := bellhop.NewID()
		w.Header().Set("Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// RateLimitError is returned when a caller is over its rate limit.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string { return "rate limited" }

// WriteError writes err as the Mews error body with its status. Errors that
// are not domain errors are logged with the request id and answered with a
// generic 500 message: internal details never leave the process.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		secs := int((rl.RetryAfter + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		err = bellhop.Errorf(bellhop.ERATELIMIT, "Too many requests; retry after %d seconds.", secs)
	}
	code := bellhop.ErrorCode(err)
	if code == bellhop.EINTERNAL {
		log.Error("request failed", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	WriteJSON(w, Status(code), ErrorBody{Message: bellhop.ErrorMessage(err), RequestId: RequestID(r.Context()),
		Details: bellhop.ErrorDetails(err)})
}

// WriteJSON writes v as JSON with status, with its Content-Length, in one
// Write: encoded into a pooled buffer, so an answer costs no buffer of its
// own nor the growing of one.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	e := encoders.Get().(*encoder)
	defer e.release()
	if err := e.enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		e.buf.Reset()
		e.buf.WriteString(`{"Message":"Internal error."}`)
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(e.buf.Len())}
	w.WriteHeader(status)
	w.Write(e.buf.Bytes())
}

// jsonContentType is the Content-Type of every JSON answer, shared by all
// (net/http only reads it; a full slice makes an Add copy it).
var jsonContentType = []string{"application/json; charset=utf-8"}

// encoder is a pooled buffer with its JSON encoder (HTML left unescaped).
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// maxPooled is the largest buffer kept for reuse: a rare large answer (a
// page of PDFs) is not held for the life of the process.
const maxPooled = 64 << 10

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

func (e *encoder) release() {
	if e.buf.Cap() > maxPooled {
		return
	}
	e.buf.Reset()
	encoders.Put(e)
}

// ErrInvalidJSON is the answer to a body that is not one strict JSON value.
var ErrInvalidJSON = &bellhop.Error{Code: bellhop.EINVALID, Message: "Invalid JSON"}

// ErrTooLarge is the answer to a body over the limit.
var ErrTooLarge = &bellhop.Error{Code: bellhop.ETOOLARGE, Message: "Request body too large."}

// ReadBody reads at most limit bytes of the request body; a larger body is
// ErrTooLarge.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	return ReadBodyInto(r, limit, nil)
}

// ReadBodyInto is ReadBody into buf's storage when the body has a length
// that fits it, such as a pooled buffer's; otherwise into a buffer of its own.
func ReadBodyInto(r *http.Request, limit int64, buf []byte) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrTooLarge
	}
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 {
		// Sized: one allocation, or none, instead of io.ReadAll's
		// doublings. One byte more tells a body longer than announced.
		if int64(cap(buf)) > n {
			body = buf[:n+1]
		} else {
			body = make([]byte, n+1)
		}
		var got int
		got, err = io.ReadFull(r.Body, body)
		body = body[:got]
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		} else if err == nil {
			// Longer than its Content-Length: net/http does not let a
			// handler read past it, so this is a body that lies.
			return nil, bellhop.Errorf(bellhop.EINVALID, "Could not read the request body.")
		}
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		return nil, bellhop.Errorf(bellhop.EINVALID, "Could not read the request body.")
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	return body, nil
}

// MaxDepth is the deepest nesting of JSON arrays and objects a request may
// have; deeper bodies are Invalid JSON.
const MaxDepth = 64

// Decode parses body as exactly one JSON object into v. Malformed JSON,
// trailing data or nesting deeper than MaxDepth is ErrInvalidJSON; a value of
// the wrong type is `Invalid <Field>`.
func Decode(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || tooDeep(trimmed) {
		return ErrInvalidJSON
	}
	// Unmarshal validates the whole input before it decodes, and anything
	// after the object is a syntax error; unlike a Decoder it copies
	// nothing into a buffer of its own.
	if err := json.Unmarshal(trimmed, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return bellhop.Invalid(fieldName(te.Field))
		}
		return ErrInvalidJSON
	}
	return nil
}

// fieldName turns encoding/json's dotted path ("Amount.Value") into the
// Mews-style name of the field ("Amount Value").
func fieldName(path string) string { return strings.ReplaceAll(path, ".", " ") }

func tooDeep(b []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxDepth {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// NotFound answers every URL that is not an operation.
func NotFound(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, log, NotOperation(r))
	})
}

// NotOperation is the error that NotFound answers.
func NotOperation(r *http.Request) error {
	return bellhop.Errorf(bellhop.ENOTFOUND, "Not found: %s %s is not an operation.", r.Method, r.URL.Path)
}

// Required reports a missing required field as `Invalid <Field>`.
func Required(present bool, field string) error {
	if !present {
		return bellhop.Invalid(field)
	}
	return nil
}

// Recover turns a panic in a handler into a logged 500, so no input can take
// the process down.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				WriteError(w, r, log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
