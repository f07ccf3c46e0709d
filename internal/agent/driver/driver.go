// Package driver defines what the agent asks of a device driver: run one
// command (Job) and report a short Result, check that the device is reachable,
// and say whether an interrupted action may be run again.
//
// Each technology lives in its own subpackage (ipp, socket, httpdrv, execdrv,
// folder, epson); they never import each other. The one list that maps a
// target's scheme to a driver is in package drivers, which imports them all,
// because this package cannot import its own adapters without a cycle.
package driver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Job is one command for a driver to run.
type Job struct {
	CommandID  string
	DeviceID   string
	DeviceName string
	// DeviceType is Printer, KeyCutter, FiscalMachine, PaymentTerminal or
	// PassportScanner, or the label of a generic device (Pbx, Tv).
	DeviceType string
	// Data is the command's Data exactly as the hub sent it.
	Data json.RawMessage
	// Progress, when not nil, is called with a fraction from 0 to 1 while the
	// driver works. It must not block: drivers call it inline.
	Progress func(fraction float64)
	// Note, when not nil, is called with what the device says while the job
	// cannot go on (a paused queue, no paper), in the device's own words; ""
	// once it goes on again. It must not block.
	Note func(text string)
	// GiveUpAt is when a job that cannot go on (stopped, held, a printer
	// that takes no jobs) is abandoned and Run returns its last reason as
	// an error. A job that progresses is never abandoned for it. Zero means
	// DefaultGiveUpAfter from the start of Run.
	GiveUpAt time.Time
}

// DefaultGiveUpAfter bounds the wait on a device that cannot take or finish
// a job.
const DefaultGiveUpAfter = 2 * time.Minute

// Say calls j.Note when it is set, with text bounded to MaxNotes.
func (j Job) Say(text string) {
	if j.Note != nil {
		j.Note(Bound(text))
	}
}

// GiveUp returns j.GiveUpAt, or DefaultGiveUpAfter from now when it is zero.
func (j Job) GiveUp() time.Time {
	if j.GiveUpAt.IsZero() {
		return time.Now().Add(DefaultGiveUpAfter)
	}
	return j.GiveUpAt
}

// notDone marks an error after which the device surely did not act.
type notDone struct{ err error }

func (e notDone) Error() string { return e.err.Error() }
func (e notDone) Unwrap() error { return e.err }

// NotDone wraps err to say that the device surely did not act on the job
// (the connection was refused, the queue is paused or takes no jobs), so
// the agent may run it again until the job's GiveUpAt. A driver must not
// use it where the device may have acted: a job is never sent twice. The
// error text is unchanged. NotDone(nil) is nil.
func NotDone(err error) error {
	if err == nil {
		return nil
	}
	return notDone{err}
}

// IsNotDone reports whether err, or an error it wraps, was marked NotDone.
func IsNotDone(err error) bool {
	_, ok := errors.AsType[notDone](err)
	return ok
}

// Report calls j.Progress when it is set, clamping f to 0..1 because the hub
// rejects anything else.
func (j Job) Report(f float64) {
	if j.Progress == nil {
		return
	}
	j.Progress(min(max(f, 0), 1))
}

// Result is what a finished action reports. Notes becomes the command's Notes;
// drivers keep it under MaxNotes bytes with Bound.
type Result struct{ Notes string }

// Driver runs commands on one device. A Driver is used by one agent worker at
// a time, but Close may be called from another goroutine.
type Driver interface {
	// Run performs the job. An error makes the command Error with err.Error()
	// as its note, so errors say what failed in words staff understand.
	// Cancelling ctx aborts the action where the device allows it (IPP
	// Cancel-Job, killing a program, closing a socket) and Run then returns an
	// error that wraps ctx.Err().
	Run(ctx context.Context, job Job) (Result, error)
	// Check reaches the device without acting on it: an IPP
	// Get-Printer-Attributes, a TCP connect, an HTTP OPTIONS, a writable
	// directory, an executable file.
	Check(ctx context.Context) error
	// Repeatable reports whether running an interrupted action again is safe.
	// The agent marks an interrupted command Error instead of re-running it
	// when this is false.
	Repeatable() bool
	// Close releases idle connections and other resources. Close is idempotent.
	Close() error
}

// Factory builds a Driver for a target such as "ipp://printer:631/ipp/print".
// It validates the target and options but does not contact the device.
type Factory func(target string, opts Options) (Driver, error)

// Defaults applied by Options.WithDefaults.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultRetries      = 3
	DefaultRetryDelay   = 250 * time.Millisecond
	DefaultPollInterval = 500 * time.Millisecond
	DefaultUserName     = "bellhop"
)

// MaxNotes bounds Result.Notes and the device text quoted in errors, in bytes:
// the hub stores notes per state change and the console shows them in a row.
const MaxNotes = 1024

// Options configure a driver. The zero value is usable: WithDefaults fills in
// every field left at zero.
type Options struct {
	// Timeout bounds one attempt at the device (one HTTP request, one program
	// run, one IPP job from submission to completion, the wait for a folder
	// answer). Zero means the driver's default: DefaultTimeout (30 s), except
	// folder, which waits 60 s.
	Timeout time.Duration
	// Logger receives debug and warning lines; nil discards them.
	Logger *slog.Logger
	// Retries is how many times the http driver repeats an attempt that failed
	// in a way worth retrying. Zero means DefaultRetries (3); a negative
	// value disables retries.
	Retries int
	// RetryDelay is the base of the exponential backoff between retries
	// (full jitter, capped at 32 times the base). Zero means DefaultRetryDelay.
	RetryDelay time.Duration
	// PollInterval is how often the ipp driver asks for the job state and the
	// folder driver looks for an answer file. Zero means DefaultPollInterval
	// for ipp and 100 ms for folder.
	PollInterval time.Duration
	// UserName is sent as IPP requesting-user-name. Empty means DefaultUserName.
	UserName string
	// TLSConfig is used for ipps:// and https:// targets. Nil verifies the
	// peer with the system roots; printers with self-signed certificates need
	// a config with their certificate in RootCAs.
	TLSConfig *tls.Config
	// Format is what a printer is sent (see the Format constants); empty
	// means FormatPDF. Drivers that do not print ignore it.
	Format string
	// Dots is the width of a receipt printer in dots, for FormatESCPOS;
	// zero means DefaultDots.
	Dots int
	// CacheDir is a directory the driver may keep caches in (the PDF
	// renderer's compiled code); empty keeps none.
	CacheDir string
	// Print are the device's print options; a command's own win.
	Print PrintOptions
}

// Describer is implemented by drivers that can say more about a device than
// Check: its state, what it says, what it can do. agent check prints it.
type Describer interface {
	// Describe reaches the device without acting on it and returns a short
	// description, or the error Check would return.
	Describe(ctx context.Context) (string, error)
}

// Printer formats, for Options.Format.
const (
	// FormatPDF sends the command's document as it is (the printer, or
	// CUPS, reads PDF).
	FormatPDF = "pdf"
	// FormatRaw sends the command's bytes untouched and untyped: ZPL,
	// ESC/POS or PCL produced upstream.
	FormatRaw = "raw"
	// FormatESCPOS draws the PDF's pages as 1-bit raster at Options.Dots
	// and sends them as ESC/POS with a cut: receipt printers.
	FormatESCPOS = "escpos"
	// FormatRaster draws the PDF's pages and sends PWG raster or Apple
	// raster (URF), whichever the printer takes: IPP Everywhere printers
	// that take no PDF. The ipp driver chooses it by itself for them.
	FormatRaster = "raster"
)

// Formats lists the printer formats.
var Formats = []string{FormatPDF, FormatRaw, FormatESCPOS, FormatRaster}

// DefaultDots is the width of an 80 mm receipt printer at 203 dpi.
const DefaultDots = 576

// WithDefaults returns o with every zero field set to its documented default.
// Fields whose default depends on the driver (Timeout, PollInterval) are set
// by the driver through Or.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.UserName == "" {
		o.UserName = DefaultUserName
	}
	if o.Format == "" {
		o.Format = FormatPDF
	}
	if o.Dots == 0 {
		o.Dots = DefaultDots
	}
	return o
}

// Validate reports options that no default can repair.
func (o Options) Validate() error {
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("driver options: negative Timeout %v", o.Timeout)
	case o.RetryDelay < 0:
		return fmt.Errorf("driver options: negative RetryDelay %v", o.RetryDelay)
	case o.PollInterval < 0:
		return fmt.Errorf("driver options: negative PollInterval %v", o.PollInterval)
	case o.Format != "" && !slices.Contains(Formats, o.Format):
		return fmt.Errorf("driver options: format %q is not one of %s", o.Format, strings.Join(Formats, ", "))
	case o.Dots < 0 || o.Dots%8 != 0 || o.Dots > 4096:
		return fmt.Errorf("driver options: dots %d must be a multiple of 8 up to 4096", o.Dots)
	}
	if err := o.Print.Validate(); err != nil {
		return fmt.Errorf("driver options: %w", err)
	}
	return nil
}

// Or returns d when d is positive, else def: the idiom for per-driver defaults.
func Or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ErrUnknownScheme is wrapped by Registry.Open when no factory serves a target.
var ErrUnknownScheme = errors.New("unknown driver scheme")

// Registry maps a scheme ("ipp", "exec", "apiurl") to its Factory.
type Registry map[string]Factory

// Open picks the factory for target's scheme and builds the driver. A target
// is "scheme://...", "scheme:..." or a bare scheme name such as "apiurl".
// An unknown scheme returns an error wrapping ErrUnknownScheme that lists the
// known ones.
func (r Registry) Open(target string, opts Options) (Driver, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	scheme := Scheme(target)
	f, ok := r[scheme]
	if !ok {
		return nil, fmt.Errorf("driver target %q: %w %q (known: %s)", target, ErrUnknownScheme, scheme, strings.Join(r.Schemes(), ", "))
	}
	d, err := f(target, opts.WithDefaults())
	if err != nil {
		return nil, fmt.Errorf("driver target %q: %w", target, err)
	}
	return d, nil
}

// Schemes lists the registered schemes in sorted order.
func (r Registry) Schemes() []string {
	s := make([]string, 0, len(r))
	for k := range r {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Scheme returns the lower-cased scheme of a target: the part before the
// first colon, or the whole target when it has no colon ("apiurl").
func Scheme(target string) string {
	target = strings.TrimSpace(target)
	if i := strings.IndexByte(target, ':'); i > 0 {
		target = target[:i]
	}
	return strings.ToLower(target)
}
