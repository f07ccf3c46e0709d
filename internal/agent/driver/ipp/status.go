package ipp

import (
	"fmt"
	"strings"
)

// Operation is an IPP operation-id (RFC 8011 section 5.4.15).
type Operation uint16

// Operations the driver uses.
const (
	OpPrintJob             Operation = 0x0002
	OpCancelJob            Operation = 0x0008
	OpGetJobAttributes     Operation = 0x0009
	OpGetPrinterAttributes Operation = 0x000B
	OpCUPSGetPrinters      Operation = 0x4002
)

var operationNames = map[Operation]string{
	OpPrintJob:             "Print-Job",
	OpCancelJob:            "Cancel-Job",
	OpGetJobAttributes:     "Get-Job-Attributes",
	OpGetPrinterAttributes: "Get-Printer-Attributes",
	OpCUPSGetPrinters:      "CUPS-Get-Printers",
}

// String names the operation as RFC 8011 does, e.g. "Print-Job".
func (o Operation) String() string {
	if s, ok := operationNames[o]; ok {
		return s
	}
	return fmt.Sprintf("operation-0x%04X", uint16(o))
}

// Status is an IPP status-code (RFC 8011 section B).
type Status uint16

// Success reports whether s is in the successful range 0x0000..0x00FF.
func (s Status) Success() bool { return s < 0x0100 }

// String names the status as RFC 8011 does, e.g. "client-error-not-found".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "status"
}

var statusNames = map[Status]string{
	0x0000: "successful-ok",
	0x0001: "successful-ok-ignored-or-substituted-attributes",
	0x0002: "successful-ok-conflicting-attributes",
	0x0400: "client-error-bad-request",
	0x0401: "client-error-forbidden",
	0x0402: "client-error-not-authenticated",
	0x0403: "client-error-not-authorized",
	0x0404: "client-error-not-possible",
	0x0405: "client-error-timeout",
	0x0406: "client-error-not-found",
	0x0407: "client-error-gone",
	0x0408: "client-error-request-entity-too-large",
	0x0409: "client-error-request-value-too-long",
	0x040A: "client-error-document-format-not-supported",
	0x040B: "client-error-attributes-or-values-not-supported",
	0x040C: "client-error-uri-scheme-not-supported",
	0x040D: "client-error-charset-not-supported",
	0x040E: "client-error-conflicting-attributes",
	0x040F: "client-error-compression-not-supported",
	0x0410: "client-error-compression-error",
	0x0411: "client-error-document-format-error",
	0x0412: "client-error-document-access-error",
	0x0500: "server-error-internal-error",
	0x0501: "server-error-operation-not-supported",
	0x0502: "server-error-service-unavailable",
	0x0503: "server-error-version-not-supported",
	0x0504: "server-error-device-error",
	0x0505: "server-error-temporary-error",
	0x0506: "server-error-not-accepting-jobs",
	0x0507: "server-error-busy",
	0x0508: "server-error-job-canceled",
	0x0509: "server-error-multiple-document-jobs-not-supported",
}

// StatusError is returned when a printer answers an operation with a status
// outside the successful range.
type StatusError struct {
	Op      Operation
	Status  Status
	Message string // the printer's status-message, if any
	// Unsupported lists the attributes the printer refused, as name=value,
	// from the unsupported-attributes group.
	Unsupported []string
}

// Error reads like "ipp: Print-Job: printer answered
// client-error-document-format-not-supported (0x040A): <status-message>".
func (e *StatusError) Error() string {
	s := fmt.Sprintf("ipp: %s: printer answered %s (0x%04X)", e.Op, e.Status, uint16(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if len(e.Unsupported) > 0 {
		s += " (unsupported: " + strings.Join(e.Unsupported, ", ") + ")"
	}
	return s
}

// Statuses after which the printer surely holds no job of ours.
const (
	statusServiceUnavailable Status = 0x0502
	statusTemporaryError     Status = 0x0505
	statusNotAcceptingJobs   Status = 0x0506
	statusBusy               Status = 0x0507
)

// Job states (RFC 8011 section 5.3.7).
const (
	jobPending    = 3
	jobHeld       = 4
	jobProcessing = 5
	jobStopped    = 6
	jobCanceled   = 7
	jobAborted    = 8
	jobCompleted  = 9
)

var jobStateNames = map[int32]string{
	jobPending: "pending", jobHeld: "pending-held", jobProcessing: "processing",
	jobStopped: "processing-stopped", jobCanceled: "canceled", jobAborted: "aborted", jobCompleted: "completed",
}

// Printer states (RFC 8011 section 5.4.11).
const printerStopped = 5
