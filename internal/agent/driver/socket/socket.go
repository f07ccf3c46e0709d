// Package socket prints by sending bytes over a raw TCP connection (HP
// JetDirect, "AppSocket", port 9100), the one protocol nearly every network
// printer, receipt printer and label printer speaks.
//
// A target is socket://host[:port][?waiteof=false] (port 9100 by default).
// What is sent depends on the device's format: pdf and raw send the
// command's document as it is (PDF for printers that read it; ZPL, ESC/POS
// or PCL produced upstream), escpos draws the PDF's pages as 1-bit raster
// at the printer's width in dots (576 for 80 mm by default) and sends
// ESC/POS raster with a cut. Run writes the job CopyCount times on one
// connection, half-closes it and, with waiteof (the default, as in CUPS),
// waits for the printer to close its side, which tells that it read
// everything. A printer that took every byte but keeps the connection open
// ends Processed with a note after eofWait; waiteof=false does not wait.
// Options.Timeout (default 30 s) bounds connecting and sending. A
// connection that cannot be made is marked driver.NotDone (nothing was
// sent). Printing is not repeatable.
package socket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/render"
)

// DefaultPort is the raw printing port.
const DefaultPort = "9100"

// eofWait bounds the wait for the printer to close its side once it has
// every byte: some printers never do, and the job is printed all the same.
const eofWait = 5 * time.Second

// Driver prints on one raw-socket printer.
type Driver struct {
	addr     string
	timeout  time.Duration
	waitEOF  bool
	format   string
	dots     int
	cacheDir string
	log      *slog.Logger
}

// New is the Factory for socket:// targets. It fails on a target without a
// host, an unknown query parameter, or a format it cannot send; it does
// not connect.
func New(target string, opts driver.Options) (driver.Driver, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("socket: bad target: %w", err)
	}
	if u.Scheme != "socket" || u.Hostname() == "" {
		return nil, fmt.Errorf("socket: target %q must be socket://host[:port]", target)
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort
	}
	waitEOF := true
	for k, v := range u.Query() {
		switch k {
		case "waiteof":
			if waitEOF, err = strconv.ParseBool(v[len(v)-1]); err != nil {
				return nil, fmt.Errorf("socket: waiteof=%q: want true or false", v[len(v)-1])
			}
		default:
			return nil, fmt.Errorf("socket: unknown option %q in %q (known: waiteof)", k, target)
		}
	}
	opts = opts.WithDefaults()
	if opts.Format == driver.FormatRaster {
		return nil, fmt.Errorf("socket: format %q needs an IPP printer; use pdf, raw or escpos", opts.Format)
	}
	return &Driver{
		addr:     net.JoinHostPort(u.Hostname(), port),
		timeout:  driver.Or(opts.Timeout, driver.DefaultTimeout),
		waitEOF:  waitEOF,
		format:   opts.Format,
		dots:     opts.Dots,
		cacheDir: opts.CacheDir,
		log:      opts.Logger,
	}, nil
}

// Repeatable is false: a re-run prints the document again.
func (d *Driver) Repeatable() bool { return false }

// Close has nothing to release: every Run uses its own connection.
func (d *Driver) Close() error { return nil }

// Check opens and closes a connection. Printers do not print an empty job.
func (d *Driver) Check(ctx context.Context) error {
	c, err := d.dial(ctx)
	if err != nil {
		return err
	}
	return c.Close()
}

func (d *Driver) dial(ctx context.Context) (*net.TCPConn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		// Refused, unreachable or timed out: nothing was sent.
		return nil, driver.NotDone(fmt.Errorf("socket: connecting to %s: %w", d.addr, err))
	}
	return c.(*net.TCPConn), nil
}

// Run sends the Printer job's document; see the package documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	doc, err := driver.PrinterDocument(job)
	if err != nil {
		return driver.Result{}, fmt.Errorf("socket: %w", err)
	}
	payload, copies, what := doc.Bytes, doc.Copies, ""
	if d.format == driver.FormatESCPOS {
		pages, err := render.Pages(ctx, doc.Bytes, render.Size{Width: d.dots}, d.cacheDir)
		if err != nil {
			return driver.Result{}, fmt.Errorf("socket: drawing the document for a receipt printer: %w", err)
		}
		payload, copies = escposDocument(pages, doc.Copies), 1
		what = fmt.Sprintf(" as ESC/POS raster (%d pages at %d dots)", len(pages), d.dots)
	}
	c, err := d.dial(ctx)
	if err != nil {
		return driver.Result{}, err
	}
	defer c.Close()
	// Closing the connection is the only way to interrupt a blocked write.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.SetDeadline(time.Now().Add(d.timeout)); err != nil {
		return driver.Result{}, fmt.Errorf("socket: %s: %w", d.addr, err)
	}
	job.Report(0)
	for i := range copies {
		if _, err := c.Write(payload); err != nil {
			return driver.Result{}, d.failed(ctx, fmt.Sprintf("sending copy %d of %d", i+1, copies), err)
		}
		job.Report(float64(i+1) / float64(copies) * 0.9)
	}
	total := len(payload) * copies
	notes := fmt.Sprintf("sent %d bytes (%d copies)%s to %s", total, doc.Copies, what, d.addr)
	if err := c.CloseWrite(); err != nil {
		return driver.Result{}, d.failed(ctx, "finishing the job", err)
	}
	if d.waitEOF {
		kept, err := d.awaitClose(c)
		switch {
		case err != nil:
			return driver.Result{}, d.failed(ctx, "waiting for the printer to close", err)
		case kept:
			notes += fmt.Sprintf("; the printer took every byte but kept the connection open, closed after %v", eofWait)
		}
	}
	job.Report(1)
	d.log.Debug("socket job sent", "addr", d.addr, "bytes", total)
	return driver.Result{Notes: notes}, nil
}

// awaitClose drains what the printer says until it closes its side: its
// EOF is the acknowledgement that it read everything. It reports kept
// when the printer still holds the connection open after eofWait.
func (d *Driver) awaitClose(c *net.TCPConn) (kept bool, err error) {
	if err := c.SetReadDeadline(time.Now().Add(eofWait)); err != nil {
		return false, err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true, nil
	}
	return false, err
}

func (d *Driver) failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("socket: %s to %s: %w", what, d.addr, ctx.Err())
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return fmt.Errorf("socket: %s to %s: not done within %v: %w", what, d.addr, d.timeout, err)
	}
	return fmt.Errorf("socket: %s to %s: %w", what, d.addr, err)
}
