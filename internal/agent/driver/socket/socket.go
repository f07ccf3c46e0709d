// Package socket prints by sending the document's bytes over a raw TCP
// connection (HP JetDirect, "AppSocket", port 9100), the one protocol nearly
// every network printer and label printer speaks.
//
// A target is socket://host[:port] (port 9100 by default). Run writes the
// document CopyCount times on one connection, half-closes it and waits for
// the printer to close its side, which tells that the printer read all of
// it. Options.Timeout (default 30 s) bounds the whole exchange. Printing is
// not repeatable.
package socket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// DefaultPort is the raw printing port.
const DefaultPort = "9100"

// Driver prints on one raw-socket printer.
type Driver struct {
	addr    string
	timeout time.Duration
	log     *slog.Logger
}

// New is the Factory for socket:// targets. It fails on a target without a
// host; it does not connect.
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
	opts = opts.WithDefaults()
	return &Driver{
		addr:    net.JoinHostPort(u.Hostname(), port),
		timeout: driver.Or(opts.Timeout, driver.DefaultTimeout),
		log:     opts.Logger,
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
		return nil, fmt.Errorf("socket: connecting to %s: %w", d.addr, err)
	}
	return c.(*net.TCPConn), nil
}

// Run sends the Printer job's document; see the package documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	doc, err := driver.PrinterDocument(job)
	if err != nil {
		return driver.Result{}, fmt.Errorf("socket: %w", err)
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
	for i := range doc.Copies {
		if _, err := c.Write(doc.Bytes); err != nil {
			return driver.Result{}, d.failed(ctx, fmt.Sprintf("sending copy %d of %d", i+1, doc.Copies), err)
		}
		job.Report(float64(i+1) / float64(doc.Copies) * 0.9)
	}
	if err := d.finish(c); err != nil {
		return driver.Result{}, d.failed(ctx, "waiting for the printer to close", err)
	}
	job.Report(1)
	total := len(doc.Bytes) * doc.Copies
	d.log.Debug("socket job sent", "addr", d.addr, "bytes", total)
	return driver.Result{Notes: fmt.Sprintf("sent %d bytes (%d copies) to %s", total, doc.Copies, d.addr)}, nil
}

// finish half-closes the connection and drains what the printer says until
// it closes: its EOF is the acknowledgement that it read everything.
func (d *Driver) finish(c *net.TCPConn) error {
	if err := c.CloseWrite(); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, io.LimitReader(c, 1<<20))
	return err
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
