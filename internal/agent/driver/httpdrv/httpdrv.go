// Package httpdrv hands a command to a web service: it POSTs the command as
// JSON, {"Id", "Device": {"Id", "Name", "Type"}, "Data"}, the way lock
// systems and fiscal middleware take work.
//
// Targets are an http:// or https:// URL, or the word apiurl, which posts to
// the ApiUrl inside the command's Data (KeyCutter and FiscalMachine commands
// carry one). A 2xx answer finishes the command with the answer's text
// (bounded to 1 KiB) as its note; any other 4xx fails it at once; a 5xx, a 408,
// a 429, a network error or an attempt running past Options.Timeout (default
// 30 s) is retried up to Options.Retries times (default 3) with exponential
// backoff and jitter. Every attempt carries an Idempotency-Key header with the
// command id so that the service can drop a retried duplicate. The action is
// still not Repeatable: a service that ignores the key would act twice.
package httpdrv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// Driver posts commands to one URL, or to each command's ApiUrl.
type Driver struct {
	url     string // empty for apiurl
	client  *http.Client
	timeout time.Duration
	retries int
	delay   time.Duration
	log     *slog.Logger
}

// New is the Factory for http:// and https:// targets.
func New(target string, opts driver.Options) (driver.Driver, error) {
	if err := checkURL(target); err != nil {
		return nil, err
	}
	return newDriver(target, opts), nil
}

// NewAPIURL is the Factory for the apiurl target: each command goes to the
// ApiUrl field of its own Data.
func NewAPIURL(target string, opts driver.Options) (driver.Driver, error) {
	if target != "apiurl" {
		return nil, fmt.Errorf("http: target %q: the apiurl target takes no arguments", target)
	}
	return newDriver("", opts), nil
}

func newDriver(u string, opts driver.Options) *Driver {
	opts = opts.WithDefaults()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = opts.TLSConfig
	return &Driver{
		url:     u,
		client:  &http.Client{Transport: transport},
		timeout: driver.Or(opts.Timeout, driver.DefaultTimeout),
		retries: opts.Retries,
		delay:   opts.RetryDelay,
		log:     opts.Logger,
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("http: bad URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("http: %q is not an absolute http:// or https:// URL", s)
	}
	return nil
}

// Repeatable is false; see the package documentation.
func (d *Driver) Repeatable() bool { return false }

// Close drops idle connections.
func (d *Driver) Close() error {
	d.client.CloseIdleConnections()
	return nil
}

// Check sends OPTIONS to the URL; any answer below 500 shows the service is
// there. An apiurl driver has no URL before it sees a command, so its Check
// always succeeds.
func (d *Driver) Check(ctx context.Context) error {
	if d.url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, d.url, nil)
	if err != nil {
		return fmt.Errorf("http: OPTIONS %s: %w", d.url, err)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("http: OPTIONS %s: %w", d.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		text, _ := driver.ReadBounded(resp.Body)
		return fmt.Errorf("http: OPTIONS %s: HTTP %s: %s", d.url, resp.Status, text)
	}
	return nil
}

// Run posts the job; see the package documentation.
func (d *Driver) Run(ctx context.Context, job driver.Job) (driver.Result, error) {
	target, err := d.target(job)
	if err != nil {
		return driver.Result{}, err
	}
	body, err := driver.RequestBody(job)
	if err != nil {
		return driver.Result{}, fmt.Errorf("http: %w", err)
	}
	job.Report(0)
	for attempt := 1; ; attempt++ {
		notes, retry, err := d.post(ctx, target, job.CommandID, body)
		if err == nil {
			job.Report(1)
			return driver.Result{Notes: notes}, nil
		}
		if ctx.Err() != nil { // cancelled while the request failed: say so, as the wait below does
			return driver.Result{}, fmt.Errorf("http: POST %s (attempt %d of %d): %w: %w", target, attempt, d.retries+1, err, ctx.Err())
		}
		if !retry || attempt > d.retries {
			return driver.Result{}, fmt.Errorf("http: POST %s (attempt %d of %d): %w", target, attempt, d.retries+1, err)
		}
		wait := d.backoff(attempt)
		d.log.Warn("http post failed, retrying", "url", target, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return driver.Result{}, fmt.Errorf("http: POST %s: waiting to retry after %v: %w", target, err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// target is the fixed URL, or the ApiUrl of the job's Data.
func (d *Driver) target(job driver.Job) (string, error) {
	if d.url != "" {
		return d.url, nil
	}
	var data struct{ ApiUrl *string }
	if err := json.Unmarshal(job.Data, &data); err != nil {
		return "", fmt.Errorf("http: %w: %v", driver.ErrBadData, err)
	}
	if data.ApiUrl == nil || *data.ApiUrl == "" {
		return "", fmt.Errorf("http: %w: the command's Data has no ApiUrl", driver.ErrBadData)
	}
	if err := checkURL(*data.ApiUrl); err != nil {
		return "", fmt.Errorf("%w (ApiUrl of the command)", err)
	}
	return *data.ApiUrl, nil
}

// post makes one attempt. retry tells whether a failure is worth another.
func (d *Driver) post(ctx context.Context, target, id string, body []byte) (notes string, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := d.client.Do(req)
	if err != nil {
		return "", ctx.Err() == nil, err // network failure or attempt timeout
	}
	defer resp.Body.Close()
	text, rerr := driver.ReadBounded(resp.Body)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if text == "" {
			text = "HTTP " + resp.Status
		}
		return text, false, nil
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return "", true, fmt.Errorf("HTTP %s: %s", resp.Status, text)
	case rerr != nil:
		return "", true, fmt.Errorf("HTTP %s: reading the answer: %w", resp.Status, rerr)
	default:
		return "", false, fmt.Errorf("HTTP %s: %s", resp.Status, text)
	}
}

// backoff doubles the delay per attempt up to 32 times the base and keeps
// half of it random, so that agents restarted together do not retry in step.
func (d *Driver) backoff(attempt int) time.Duration {
	full := d.delay << min(attempt-1, 5)
	return full/2 + rand.N(full/2+1)
}
