package bellhop

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one Mews-style message in the
// HTTP adapters (see internal/httperr); the SDK maps them back.
const (
	EINVALID      = "invalid"      // 400: malformed input or an unknown/invisible reference
	EUNAUTHORIZED = "unauthorized" // 401: bad or revoked tokens
	EFORBIDDEN    = "forbidden"    // 403: a business rule refused the action
	ENOTFOUND     = "not_found"    // 404: no such operation or resource (admin API)
	ECONFLICT     = "conflict"     // 409: the data changed underneath the request
	ETOOLARGE     = "too_large"    // 413: body over the limit
	ERATELIMIT    = "rate_limited" // 429: too many requests
	EUNAVAILABLE  = "unavailable"  // 503: shutting down or not ready
	EINTERNAL     = "internal"     // 500: a fault of ours; details are logged, not sent
)

// Error is a domain error: a code that decides the status on the wire and a
// message that is safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Details says more when Message alone (`Invalid Amount`) would leave
	// the caller guessing; it is sent as the error body's Details.
	Details string
}

func (e *Error) Error() string {
	if e.Details != "" {
		return fmt.Sprintf("bellhop: %s: %s: %s", e.Code, e.Message, e.Details)
	}
	return fmt.Sprintf("bellhop: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic text for any other error so internal details never leave the process.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Internal error."
	}
}

// ErrorDetails returns the Details of the first *Error in err's chain, or "".
func ErrorDetails(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return ""
}

// ErrorText is the message with its details, for people to read
// ("Invalid Amount: Net without Tax or TaxRate ...").
func ErrorText(err error) string {
	if d := ErrorDetails(err); d != "" {
		return ErrorMessage(err) + ": " + d
	}
	return ErrorMessage(err)
}

// InvalidBecause returns the Mews-style "Invalid <Field>" error with Details
// that say why.
func InvalidBecause(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: "Invalid " + field, Details: fmt.Sprintf(format, args...)}
}

// Invalid returns the Mews-style "Invalid <Field>" error.
func Invalid(field string) *Error { return &Error{Code: EINVALID, Message: "Invalid " + field} }

// ErrNotFound reports that a stored entity does not exist. Stores return it
// wrapped with what was looked up; the hub turns it into the caller's view.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "Not found."}
