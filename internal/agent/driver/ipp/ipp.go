// Package ipp prints over the Internet Printing Protocol, the language of
// CUPS and of every network printer sold for a decade (IPP Everywhere).
//
// Targets are ipp://host[:port]/path and ipps://host[:port]/path; the port
// defaults to 631 and an empty path to /ipp/print. The package carries its own
// small IPP/1.1 codec (RFC 8010 encoding, the RFC 8011 operations Print-Job,
// Get-Job-Attributes, Cancel-Job and Get-Printer-Attributes) because no Go IPP
// library is available from the module proxy here.
//
// A CUPS queue is ipp://host:631/printers/<queue>.
//
// Run asks the printer what it supports, sends the PDF (or
// application/octet-stream when the printer lacks the command's FileType),
// with the copies attribute when the printer supports that many copies and
// as CopyCount one-copy jobs otherwise, then follows each job with
// Get-Job-Attributes until it is completed, aborted or canceled.
//
// A printer that is paused, stopped or not accepting jobs gets no job: Run
// returns an error marked driver.NotDone, so that the agent tries again
// until the device's give_up_after, and so does a refused connection. A job
// that cannot go on (held, stopped, on a stopped printer or one reporting
// an error, or unchanged while the printer has something to say, as when
// CUPS cannot reach the printer behind a queue) is reported through
// Job.Say in the printer's words (job-state-reasons, job-state-message,
// printer-state-message) and, past Job.GiveUpAt, cancelled with those words
// as the error. Each request is bounded by Options.Timeout (default 30 s);
// following a job is bounded by ten times that, after which the job is
// cancelled. Cancelling the context sends Cancel-Job and waits (up to 10 s)
// for the printer to confirm: a job it reports canceled before any
// impression completed is marked driver.NotDone, so the agent runs it again
// after a restart instead of calling it interrupted. Printing is not
// repeatable: a re-run prints again.
package ipp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/render"
)

// DefaultPath is the printer path used when a target has none: the one IPP
// Everywhere printers serve.
const DefaultPath = "/ipp/print"

// maxResponse bounds a decoded response; a full Get-Printer-Attributes of a
// real printer is tens of kilobytes.
const maxResponse = 4 << 20

// Driver prints on one IPP printer.
type Driver struct {
	printerURI string // as sent in printer-uri: ipp://host:port/path
	httpURL    string // where requests are POSTed
	client     *http.Client
	opts       driver.Options
	poll       time.Duration
	lastID     atomic.Uint32
}

// New is the Factory for ipp:// and ipps:// targets. It fails on a target
// without a host or with another scheme; it does not contact the printer.
func New(target string, opts driver.Options) (driver.Driver, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("ipp: bad target: %w", err)
	}
	httpScheme := map[string]string{"ipp": "http", "ipps": "https"}[strings.ToLower(u.Scheme)]
	if httpScheme == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("ipp: target %q must be ipp://host[:port]/path or ipps://host[:port]/path", target)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "631")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = DefaultPath
	}
	u.Scheme = strings.ToLower(u.Scheme)
	printerURI := u.String()
	u.Scheme = httpScheme
	opts = opts.WithDefaults()
	opts.Timeout = driver.Or(opts.Timeout, driver.DefaultTimeout)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = opts.TLSConfig
	return &Driver{
		printerURI: printerURI,
		httpURL:    u.String(),
		client:     &http.Client{Transport: transport, Timeout: opts.Timeout},
		opts:       opts,
		poll:       driver.Or(opts.PollInterval, driver.DefaultPollInterval),
	}, nil
}

// Repeatable is false: a re-run prints the document again.
func (d *Driver) Repeatable() bool { return false }

// Close drops idle connections to the printer.
func (d *Driver) Close() error {
	d.client.CloseIdleConnections()
	return nil
}

// Check asks the printer for its attributes and fails when it is stopped or
// not accepting jobs, quoting printer-state-reasons.
func (d *Driver) Check(ctx context.Context) error {
	attrs, err := d.printerAttributes(ctx)
	if err != nil {
		return err
	}
	return attrs.ready()
}

// Run prints the job's document; see the package documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	doc, err := driver.PrinterDocument(job)
	if err != nil {
		return driver.Result{}, fmt.Errorf("ipp: %w", err)
	}
	attrs, err := d.printerAttributes(ctx)
	if err != nil {
		return driver.Result{}, untouched(err)
	}
	if err := attrs.ready(); err != nil {
		return driver.Result{}, driver.NotDone(err)
	}
	opts := d.opts.Print.Over(doc.Options)
	jobAttrs, err := attrs.jobAttributes(opts)
	if err != nil {
		return driver.Result{}, err
	}
	format, body := attrs.format(doc.Format), doc.Bytes
	switch {
	case d.opts.Format == driver.FormatRaw:
		format = attrs.rawFormat()
	case d.opts.Format == driver.FormatRaster || attrs.wantsRaster(doc.Format):
		if format, body, err = d.raster(ctx, attrs, doc.Bytes, opts); err != nil {
			return driver.Result{}, err
		}
	}
	jobs, perJob := doc.Copies, 1
	if attrs.supportsCopies(doc.Copies) {
		jobs, perJob = 1, doc.Copies
	}
	ids := make([]string, 0, jobs)
	for i := range jobs {
		progress := func(f float64) { job.Report((float64(i) + f) / float64(jobs)) }
		id, err := d.printOne(ctx, job, format, perJob, body, jobAttrs, progress)
		if err != nil {
			if i > 0 {
				// Earlier copies printed: running the command again would
				// print them twice.
				err = fmt.Errorf("%w (after %d of %d copies printed)", stripNotDone(err), i, jobs)
			}
			return driver.Result{}, err
		}
		ids = append(ids, strconv.Itoa(int(id)))
	}
	noun := "job"
	if jobs > 1 {
		noun = "jobs"
	}
	return driver.Result{Notes: driver.Bound(fmt.Sprintf("printed %d copies (%s), IPP %s %s", doc.Copies, format, noun, strings.Join(ids, ",")))}, nil
}

// untouched marks the failures after which the printer surely has no job:
// it could not be reached (nothing was sent), or it said it takes none now.
func untouched(err error) error {
	if se, ok := errors.AsType[*StatusError](err); ok {
		switch se.Status {
		case statusNotAcceptingJobs, statusBusy, statusServiceUnavailable, statusTemporaryError:
			return driver.NotDone(err)
		}
		return err
	}
	if _, ok := errors.AsType[*net.OpError](err); ok && isDialError(err) {
		return driver.NotDone(err)
	}
	return err
}

// isDialError reports a failure to connect, before any byte was sent.
func isDialError(err error) bool {
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "dial"
}

func stripNotDone(err error) error {
	if driver.IsNotDone(err) {
		return errors.New(err.Error())
	}
	return err
}

// printOne submits one Print-Job and follows it to its end.
func (d *Driver) printOne(ctx context.Context, job driver.Job, format string, copies int, doc []byte, attrs []Attribute, progress func(float64)) (int32, error) {
	progress(0)
	resp, err := d.do(ctx, printJobRequest(d.nextID(), d.printerURI, d.opts.UserName, job.CommandID, format, copies, doc, attrs...))
	if err != nil {
		return 0, untouched(err)
	}
	id, ok := resp.Int(TagJob, "job-id")
	if !ok {
		return 0, errors.New("ipp: Print-Job: the printer answered without a job-id")
	}
	d.opts.Logger.Debug("ipp job submitted", "printer", d.printerURI, "job", id, "copies", copies)
	return id, d.follow(ctx, id, job, progress)
}

// Following a job: a job that cannot go on is one held or stopped, on a
// printer that is stopped or reports an error, or one in which nothing
// changed for a while although the printer has something to say (CUPS
// keeps a job "processing" while its backend cannot reach the printer).
const (
	// stallNote is how long a job may show no change before the printer's
	// message is reported as a note.
	stallNote = 3 * time.Second
	// troubleGrace is how long trouble must last before it can end a job
	// past its GiveUpAt, so that a passing state does not.
	troubleGrace = 5 * time.Second
)

// follow polls the job (and the printer) until it ends. It reports what the
// printer says while the job cannot go on through job.Say; past
// job.GiveUpAt such a job is cancelled and its last reason returned. On ctx
// cancellation, or when the wait exceeds ten times the timeout, it sends
// Cancel-Job so that the printer does not print what nobody waits for any
// more.
func (d *Driver) follow(ctx context.Context, id int32, job driver.Job, progress func(float64)) error {
	wait, cancel := context.WithTimeout(ctx, 10*d.opts.Timeout)
	defer cancel()
	tick := time.NewTicker(d.poll)
	defer tick.Stop()
	start, giveUp := time.Now(), job.GiveUp()
	stallGiveUp := max(giveUp.Sub(start), troubleGrace)
	var (
		last         string // what was seen, to tell a change
		lastChange   = start
		troubleSince time.Time
		said         string
	)
	for {
		st, err := d.jobState(wait, id)
		if err == nil {
			if done, err := st.outcome(id); done {
				if err == nil {
					progress(1)
				}
				return err
			}
			progress(st.fraction())
			if !st.hasPrinterState {
				// The printer does not report its state with the job: ask it.
				if pa, perr := d.printerAttributes(wait); perr == nil {
					st.printerState, st.printerReasons, st.printerMessage = pa.state, pa.reasons, pa.message
				}
			}
			now := time.Now()
			if seen := st.signature(); seen != last {
				last, lastChange = seen, now
			}
			trouble := st.trouble()
			switch {
			case trouble == "":
				troubleSince = time.Time{}
			case troubleSince.IsZero():
				troubleSince = now
			}
			note := trouble
			if note == "" && now.Sub(lastChange) >= stallNote {
				note = st.anyMessage()
			}
			if note != said {
				job.Say(note)
				said = note
			}
			stuck := trouble != "" && now.Sub(troubleSince) >= troubleGrace && !now.Before(giveUp)
			stalled := note != "" && now.Sub(lastChange) >= stallGiveUp
			if stuck || stalled {
				return d.cancel(ctx, id, fmt.Errorf("gave up after %v: %s", now.Sub(start).Round(time.Second), note))
			}
		} else if wait.Err() == nil {
			return err
		}
		select {
		case <-wait.Done():
			return d.cancel(ctx, id, wait.Err())
		case <-tick.C:
		}
	}
}

// cancelConfirmWait bounds how long cancel waits (within Options.Timeout)
// for the printer to say how a cancelled job ended: a printer keeps a job
// it is printing until it reaches a point where it can stop.
const cancelConfirmWait = 10 * time.Second

// cancel sends Cancel-Job on a context of its own, because the one that
// asked for the cancellation may be done. When the caller cancelled ctx
// (the agent stops, or the hub cancelled the command), it then waits for
// the printer to confirm how the job ended: a job the printer reports
// canceled with no impression completed surely did not print, and the
// error is marked driver.NotDone so that the agent may run the command
// again; a job that completed meanwhile printed, and cancel returns nil;
// anything else (no answer in time, aborted, pages out) may have printed.
// A job the driver gave up on ends as Error either way.
func (d *Driver) cancel(ctx context.Context, id int32, cause error) error {
	if errors.Is(cause, context.DeadlineExceeded) && ctx.Err() == nil {
		cause = fmt.Errorf("job did not finish within %v: %w", 10*d.opts.Timeout, cause)
	}
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), d.opts.Timeout)
	defer stop()
	if _, err := d.do(cctx, cancelJobRequest(d.nextID(), d.printerURI, d.opts.UserName, id)); err != nil {
		return fmt.Errorf("ipp: job %d aborted (%w) but Cancel-Job failed: %v", id, cause, err)
	}
	if ctx.Err() == nil {
		return fmt.Errorf("ipp: job %d cancelled: %w", id, cause)
	}
	wait, stopWait := context.WithTimeout(cctx, min(d.opts.Timeout, cancelConfirmWait))
	defer stopWait()
	tick := time.NewTicker(d.poll)
	defer tick.Stop()
	for {
		st, err := d.jobState(wait, id)
		switch {
		case err != nil:
		case st.state == jobCanceled && st.complete == 0:
			return driver.NotDone(fmt.Errorf("ipp: job %d cancelled at the printer before it printed: %w", id, cause))
		case st.state == jobCompleted:
			d.opts.Logger.Debug("ipp job completed before the cancellation reached it", "printer", d.printerURI, "job", id)
			return nil
		case st.state == jobCanceled || st.state == jobAborted:
			return fmt.Errorf("ipp: job %d cancelled after %d impressions: %w", id, st.complete, cause)
		}
		select {
		case <-wait.Done():
			return fmt.Errorf("ipp: job %d cancelled, but the printer did not confirm within %v that it stopped: %w",
				id, min(d.opts.Timeout, cancelConfirmWait), cause)
		case <-tick.C:
		}
	}
}

type jobStatus struct {
	state                 int32
	reasons               []string
	message               string
	impressions, complete int32
	// The printer's state as of this job: CUPS sends it with the job
	// (job-printer-state-*); otherwise follow asks the printer.
	hasPrinterState bool
	printerState    int32
	printerReasons  []string
	printerMessage  string
}

func (d *Driver) jobState(ctx context.Context, id int32) (jobStatus, error) {
	m, err := d.do(ctx, getJobAttributesRequest(d.nextID(), d.printerURI, d.opts.UserName, id))
	if err != nil {
		return jobStatus{}, err
	}
	st := jobStatus{reasons: m.Strings(TagJob, "job-state-reasons")}
	st.state, _ = m.Int(TagJob, "job-state")
	st.impressions, _ = m.Int(TagJob, "job-impressions")
	st.complete, _ = m.Int(TagJob, "job-impressions-completed")
	st.message = first(m.Strings(TagJob, "job-state-message"))
	if _, ok := m.Lookup(TagJob, "job-printer-state-reasons"); ok {
		st.hasPrinterState = true
		st.printerReasons = m.Strings(TagJob, "job-printer-state-reasons")
		st.printerMessage = first(m.Strings(TagJob, "job-printer-state-message"))
	}
	return st, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// outcome reports whether the job reached a final state, and its error.
func (s jobStatus) outcome(id int32) (bool, error) {
	switch s.state {
	case jobCompleted:
		return true, nil
	case jobAborted, jobCanceled:
		return true, fmt.Errorf("ipp: job %d %s by the printer (%s)", id, jobStateNames[s.state], s.why())
	}
	return false, nil
}

func (s jobStatus) why() string {
	why := "job-state-reasons: " + strings.Join(s.reasons, ",")
	if msg := s.anyMessage(); msg != "" {
		why += "; " + msg
	}
	return why
}

// anyMessage is what the printer says about the job: the job's own
// message, else the printer's.
func (s jobStatus) anyMessage() string {
	if s.message != "" {
		return s.message
	}
	return s.printerMessage
}

// trouble says why the job cannot go on, in the printer's words, or "".
func (s jobStatus) trouble() string {
	var what string
	switch {
	case s.state == jobHeld:
		what = "job held"
	case s.state == jobStopped:
		what = "job stopped"
	case s.printerState == printerStopped:
		what = "printer stopped"
	case slices.ContainsFunc(s.printerReasons, troubleReason):
		what = "printer reports " + strings.Join(slices.DeleteFunc(slices.Clone(s.printerReasons), func(r string) bool { return !troubleReason(r) }), ",")
	default:
		return ""
	}
	var detail []string
	if r := strings.Join(slices.DeleteFunc(slices.Clone(s.reasons), func(r string) bool { return r == "none" || r == "job-printing" }), ","); r != "" {
		detail = append(detail, r)
	}
	if msg := s.anyMessage(); msg != "" {
		detail = append(detail, msg)
	}
	if len(detail) > 0 {
		what += ": " + strings.Join(detail, "; ")
	}
	return what
}

// troubleReason tells the printer-state-reasons that stop printing (RFC
// 8011 5.4.12: the -error suffix, and the plain keywords that mean it).
func troubleReason(r string) bool {
	r = strings.TrimSuffix(r, "-report")
	switch r {
	case "paused", "offline", "shutdown", "stopped-partly", "stopping", "moving-to-paused":
		return true
	}
	return strings.HasSuffix(r, "-error")
}

// signature is what changes while a job makes headway.
func (s jobStatus) signature() string {
	return fmt.Sprint(s.state, s.reasons, s.message, s.complete, s.printerState, s.printerReasons, s.printerMessage)
}

// fraction estimates progress from impressions when the printer counts them,
// else from the state: a job being processed is about half done.
func (s jobStatus) fraction() float64 {
	switch {
	case s.state == jobProcessing && s.impressions > 0:
		return 0.1 + 0.8*min(float64(s.complete)/float64(s.impressions), 1)
	case s.state == jobProcessing:
		return 0.5
	}
	return 0
}

// printerAttrs are the answers of Get-Printer-Attributes Run decides on.
type printerAttrs struct {
	uri       string
	model     string
	state     int32
	reasons   []string
	message   string
	accepting bool
	formats   []string
	copiesMax int32
	// What the printer can do, for print options and raster.
	media, sources, sides, colorModes, scaling []string
	mediaDefault                               string
	pwgResolutions                             []int // dpi
	pwgTypes                                   []string
	urf                                        []string
}

func (d *Driver) printerAttributes(ctx context.Context) (printerAttrs, error) {
	m, err := d.do(ctx, getPrinterAttributesRequest(d.nextID(), d.printerURI, d.opts.UserName))
	if err != nil {
		return printerAttrs{}, err
	}
	a := printerAttrs{uri: d.printerURI, reasons: m.Strings(TagPrinter, "printer-state-reasons"), accepting: true}
	a.state, _ = m.Int(TagPrinter, "printer-state")
	a.formats = m.Strings(TagPrinter, "document-format-supported")
	a.message = first(m.Strings(TagPrinter, "printer-state-message"))
	a.model = first(m.Strings(TagPrinter, "printer-make-and-model"))
	if acc, ok := m.Lookup(TagPrinter, "printer-is-accepting-jobs"); ok && len(acc.Values) > 0 {
		a.accepting = !bytes.Equal(acc.Values[0].Bytes, []byte{0})
	}
	if c, ok := m.Lookup(TagPrinter, "copies-supported"); ok && len(c.Values) > 0 {
		_, a.copiesMax, _ = c.Values[0].Range()
	}
	a.media = m.Strings(TagPrinter, "media-supported")
	a.mediaDefault = first(m.Strings(TagPrinter, "media-default"))
	a.sources = m.Strings(TagPrinter, "media-source-supported")
	a.sides = m.Strings(TagPrinter, "sides-supported")
	a.colorModes = m.Strings(TagPrinter, "print-color-mode-supported")
	a.scaling = m.Strings(TagPrinter, "print-scaling-supported")
	a.pwgTypes = m.Strings(TagPrinter, "pwg-raster-document-type-supported")
	a.urf = m.Strings(TagPrinter, "urf-supported")
	if r, ok := m.Lookup(TagPrinter, "pwg-raster-document-resolution-supported"); ok {
		for _, v := range r.Values {
			// resolution: x (4 bytes), y (4 bytes), units (3 = dots per inch)
			if v.Tag == TagResolution && len(v.Bytes) == 9 && v.Bytes[8] == 3 {
				a.pwgResolutions = append(a.pwgResolutions, int(binary.BigEndian.Uint32(v.Bytes)))
			}
		}
	}
	return a, nil
}

// jobAttributes maps print options to IPP job attributes, refusing a value
// the printer does not list, with what it does list.
func (a printerAttrs) jobAttributes(o driver.PrintOptions) ([]Attribute, error) {
	var attrs []Attribute
	var errs []error
	check := func(what, val string, supported []string) bool {
		if slices.Contains(supported, val) {
			return true
		}
		list := strings.Join(supported[:min(len(supported), 12)], ", ")
		if len(supported) > 12 {
			list += fmt.Sprintf(" and %d more", len(supported)-12)
		}
		if list == "" {
			list = "none listed"
		}
		errs = append(errs, fmt.Errorf("%s %q (supported: %s)", what, val, list))
		return false
	}
	if o.Tray != "" {
		if check("tray", o.Tray, a.sources) {
			members := []Attribute{{Name: "media-source", Values: []Value{String(TagKeyword, o.Tray)}}}
			if o.Media != "" && check("media", o.Media, a.media) {
				if size, ok := mediaSize(o.Media); ok {
					members = append(members, size)
				}
			}
			attrs = append(attrs, Attribute{Name: "media-col", Values: []Value{{Tag: TagBeginCollection, Members: members}}})
		}
	} else if o.Media != "" && check("media", o.Media, a.media) {
		attrs = append(attrs, keywords("media", o.Media))
	}
	if o.Sides != "" && check("sides", o.Sides, a.sides) {
		attrs = append(attrs, keywords("sides", o.Sides))
	}
	if o.ColorMode != "" && check("color_mode", o.ColorMode, a.colorModes) {
		attrs = append(attrs, keywords("print-color-mode", o.ColorMode))
	}
	if o.Fit && check("fit (print-scaling)", "fit", a.scaling) {
		attrs = append(attrs, keywords("print-scaling", "fit"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ipp: printer %s does not support %w", a.uri, errors.Join(errs...))
	}
	return attrs, nil
}

// mediaSize turns a PWG self-describing media name (iso_a4_210x297mm,
// na_letter_8.5x11in) into a media-size collection in hundredths of mm.
func mediaSize(name string) (Attribute, bool) {
	dims := name[strings.LastIndexByte(name, '_')+1:]
	unit := 100.0 // mm
	if strings.HasSuffix(dims, "in") {
		unit = 2540
	}
	x, y, ok := strings.Cut(strings.TrimSuffix(strings.TrimSuffix(dims, "mm"), "in"), "x")
	w, errW := strconv.ParseFloat(x, 64)
	h, errH := strconv.ParseFloat(y, 64)
	if !ok || errW != nil || errH != nil {
		return Attribute{}, false
	}
	return Attribute{Name: "media-size", Values: []Value{{Tag: TagBeginCollection, Members: []Attribute{
		{Name: "x-dimension", Values: []Value{Integer(TagInteger, int32(w*unit+0.5))}},
		{Name: "y-dimension", Values: []Value{Integer(TagInteger, int32(h*unit+0.5))}},
	}}}}, true
}

// wantsRaster reports a printer that takes no PDF but PWG or Apple raster.
func (a printerAttrs) wantsRaster(format string) bool {
	return format == "application/pdf" && len(a.formats) > 0 && !slices.Contains(a.formats, "application/pdf") &&
		(slices.Contains(a.formats, formatPWG) || slices.Contains(a.formats, formatURF))
}

// rawFormat is how raw bytes are typed: CUPS' raw type when the printer is
// a CUPS queue, else octet-stream (the printer sniffs them).
func (a printerAttrs) rawFormat() string {
	if slices.Contains(a.formats, "application/vnd.cups-raw") {
		return "application/vnd.cups-raw"
	}
	return "application/octet-stream"
}

// raster draws doc for a printer that takes PWG raster (preferred) or
// Apple raster, in 8-bit grey at the lowest resolution it takes from 150
// dpi up.
func (d *Driver) raster(ctx context.Context, a printerAttrs, doc []byte, o driver.PrintOptions) (string, []byte, error) {
	format, dpis := formatPWG, a.pwgResolutions
	gray := slices.Contains(a.pwgTypes, "sgray_8")
	if !slices.Contains(a.formats, formatPWG) && slices.Contains(a.formats, formatURF) {
		format, dpis, gray = formatURF, urfResolutions(a.urf), slices.Contains(a.urf, "W8")
	}
	if !gray {
		return "", nil, fmt.Errorf("ipp: printer %s takes %s but not in 8-bit grey (sgray_8 / W8), which is all the agent draws", a.uri, format)
	}
	dpi := 0
	for _, r := range slices.Sorted(slices.Values(dpis)) {
		if dpi == 0 || (dpi < 150 && r > dpi) {
			dpi = r
		}
	}
	if dpi == 0 {
		dpi = 300
	}
	pages, err := render.Pages(ctx, doc, render.Size{DPI: dpi}, d.opts.CacheDir)
	if err != nil {
		return "", nil, fmt.Errorf("ipp: drawing the document for a printer that takes no PDF: %w", err)
	}
	rp := make([]rasterPage, len(pages))
	for i, p := range pages {
		rp[i] = rasterPage{img: p, dpi: dpi, duplex: strings.HasPrefix(o.Sides, "two-sided"), tumble: o.Sides == "two-sided-short-edge"}
	}
	if format == formatURF {
		return format, encodeURF(rp), nil
	}
	return format, encodePWG(rp), nil
}

// urfResolutions reads the RS entry of urf-supported ("RS300" or
// "RS150-300") as dpi values.
func urfResolutions(urf []string) []int {
	var out []int
	for _, v := range urf {
		if rest, ok := strings.CutPrefix(v, "RS"); ok {
			for _, r := range strings.Split(rest, "-") {
				if n, err := strconv.Atoi(r); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// Describe reports the printer's state, what it says, and what it can do,
// for agent check. It fails as Check does.
func (d *Driver) Describe(ctx context.Context) (string, error) {
	a, err := d.printerAttributes(ctx)
	if err != nil {
		return "", err
	}
	if err := a.ready(); err != nil {
		return "", err
	}
	state := map[int32]string{3: "idle", 4: "processing", 5: "stopped"}[a.state]
	parts := []string{state}
	if r := strings.Join(slices.DeleteFunc(slices.Clone(a.reasons), func(r string) bool { return r == "none" }), ","); r != "" {
		parts = append(parts, r)
	}
	if a.message != "" {
		parts = append(parts, strconv.Quote(a.message))
	}
	if a.model != "" {
		parts = append(parts, a.model)
	}
	sends := "PDF"
	switch {
	case d.opts.Format == driver.FormatRaw:
		sends = "raw bytes as " + a.rawFormat()
	case d.opts.Format == driver.FormatRaster || a.wantsRaster("application/pdf"):
		sends = "raster (takes no PDF)"
	}
	parts = append(parts, "sends "+sends)
	for _, c := range []struct {
		name string
		vals []string
	}{{"media", a.media}, {"trays", a.sources}, {"sides", a.sides}, {"color", a.colorModes}} {
		if len(c.vals) == 0 {
			continue
		}
		v := strings.Join(c.vals[:min(len(c.vals), 6)], ",")
		if len(c.vals) > 6 {
			v += fmt.Sprintf(" (+%d)", len(c.vals)-6)
		}
		parts = append(parts, c.name+" "+v)
	}
	return strings.Join(parts, "; "), nil
}

func (a printerAttrs) ready() error {
	detail := strings.Join(a.reasons, ",")
	if a.message != "" {
		detail += "; " + a.message
	}
	switch {
	case a.state == printerStopped && slices.Contains(a.reasons, "paused"):
		return fmt.Errorf("ipp: printer %s is paused (printer-state-reasons: %s)", a.uri, detail)
	case a.state == printerStopped:
		return fmt.Errorf("ipp: printer %s is stopped (printer-state-reasons: %s)", a.uri, detail)
	case !a.accepting:
		return fmt.Errorf("ipp: printer %s is not accepting jobs (printer-state-reasons: %s)", a.uri, detail)
	}
	return nil
}

// format picks the document-format: the command's own when the printer
// supports it, else application/octet-stream (the printer sniffs the data),
// else the command's anyway so that the printer's refusal names the problem.
func (a printerAttrs) format(want string) string {
	if len(a.formats) == 0 || slices.Contains(a.formats, want) {
		return want
	}
	if slices.Contains(a.formats, "application/octet-stream") {
		return "application/octet-stream"
	}
	return want
}

func (a printerAttrs) supportsCopies(n int) bool { return n == 1 || int32(n) <= a.copiesMax }

func (d *Driver) nextID() uint32 { return d.lastID.Add(1) }

// do sends one request and decodes the answer. A transport failure, an HTTP
// status other than 200, a malformed answer or an unsuccessful IPP status is
// an error that names the operation.
func (d *Driver) do(ctx context.Context, req *Message) (*Message, error) {
	op := Operation(req.Code)
	body, err := req.Encode()
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, d.httpURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ipp: %s: %w", op, err)
	}
	hreq.Header.Set("Content-Type", "application/ipp")
	resp, err := d.client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("ipp: %s %s: %w", op, d.printerURI, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		text, _ := driver.ReadBounded(resp.Body)
		return nil, fmt.Errorf("ipp: %s %s: HTTP %s: %s", op, d.printerURI, resp.Status, text)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("ipp: %s %s: reading the answer: %w", op, d.printerURI, err)
	}
	m, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("ipp: %s %s: %w", op, d.printerURI, err)
	}
	if st := Status(m.Code); !st.Success() {
		msg := m.Strings(TagOperation, "status-message")
		e := &StatusError{Op: op, Status: st, Unsupported: unsupported(m)}
		if len(msg) > 0 {
			e.Message = driver.Bound(msg[0])
		}
		return nil, e
	}
	return m, nil
}

// unsupported lists the unsupported-attributes group as name=value, at most
// eight, so that an error names what the printer refused.
func unsupported(m *Message) []string {
	var out []string
	for _, g := range m.Groups {
		if g.Tag != TagUnsupported {
			continue
		}
		for _, a := range g.Attrs {
			if len(out) == 8 {
				return out
			}
			vals := make([]string, 0, len(a.Values))
			for _, v := range a.Values {
				vals = append(vals, v.display())
			}
			out = append(out, a.Name+"="+strings.Join(vals, ","))
		}
	}
	return out
}
