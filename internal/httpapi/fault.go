package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bellhop/bellhop/internal/fault"
)

// FaultHeader names the fault that acted on an answer (its id and kind), so
// that a person reading a trace sees the failure was injected.
const FaultHeader = "Bellhop-Fault"

// faultMessages are the messages of the statuses a fault answers, as the hub
// words them when they happen for real.
var faultMessages = map[int]string{
	http.StatusRequestTimeout:      "Request timeout.",
	http.StatusInternalServerError: "Internal error.",
	http.StatusBadGateway:          "Bad gateway.",
	http.StatusServiceUnavailable:  "Service unavailable; try again later.",
	http.StatusGatewayTimeout:      "Gateway timeout.",
}

// ActOnFault does what a request fault decided before the request is
// carried out, and reports whether the request is done with (answered,
// or its client gone). Refuse answers at once; Slow waits; Timeout holds
// the request and then drops the connection without an answer (it does not
// return); AppliedError leaves the request to be carried out and answered
// by WriteFaultStatus.
func ActOnFault(w http.ResponseWriter, r *http.Request, d fault.Decision) (done bool) {
	w.Header().Set(FaultHeader, d.Header())
	switch d.Kind {
	case fault.Refuse:
		WriteFaultStatus(w, r, d)
		return true
	case fault.Slow:
		return !wait(r, d.Delay)
	case fault.Timeout:
		wait(r, d.Delay)
		panic(http.ErrAbortHandler) // net/http drops the connection, unanswered
	}
	return false
}

// wait waits d, or until the client goes away; it reports whether d passed.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// WriteFaultStatus answers the status a fault decided, with the Mews error
// body; a 429 carries Retry-After.
func WriteFaultStatus(w http.ResponseWriter, r *http.Request, d fault.Decision) {
	w.Header().Set(FaultHeader, d.Header())
	if d.Status == http.StatusTooManyRequests {
		secs := int((d.RetryAfter() + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		WriteJSON(w, d.Status, ErrorBody{Message: "Too many requests; retry after " + strconv.Itoa(secs) + " seconds.", RequestId: RequestID(r.Context())})
		return
	}
	WriteJSON(w, d.Status, ErrorBody{Message: faultMessages[d.Status], RequestId: RequestID(r.Context())})
}
