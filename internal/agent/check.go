package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent/driver"
)

// CheckTimeout bounds each probe of Check.
const CheckTimeout = 10 * time.Second

// CheckResult is one line of Check's report.
type CheckResult struct {
	What   string // "hub", or the device as configured
	Target string // the platform address, or the driver target
	Err    error  // nil when it works
	Detail string // what was found when it works
}

// Check validates cfg, then reaches the hub (devices/getAll) and every
// device (its driver's Check, or Describe where the driver can say more: a
// printer's state, reasons and capabilities), in parallel, each within CheckTimeout. It
// also reports configured devices the hub does not connect to this
// integration. It returns the validation error alone when cfg is invalid,
// else one result per probe: the hub first, then the devices in
// configuration order.
func Check(ctx context.Context, cfg Config) ([]CheckResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	results := make([]CheckResult, 1+len(cfg.Devices))
	var hubDevices []client.Device
	var hubErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		r := CheckResult{What: "hub", Target: cfg.PlatformAddress}
		hc, err := cfg.httpClient()
		var c *client.Client
		if err == nil {
			c, err = client.New(client.Config{PlatformAddress: cfg.PlatformAddress, WebSocketAddress: cfg.WebSocketAddress,
				ClientToken: cfg.ClientToken, AccessToken: cfg.AccessToken, Client: cfg.Client, MaxRetries: -1, HTTPClient: hc})
		}
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			hubDevices, err = c.Devices(cctx)
			cancel()
		}
		hubErr, r.Err = err, err
		r.Detail = fmt.Sprintf("%d devices connected", len(hubDevices))
		results[0] = r
	})
	for i, d := range cfg.Devices {
		wg.Go(func() {
			r := CheckResult{What: "device " + d.label(), Target: d.Driver}
			r.Detail = "reachable"
			opts, err := cfg.options(d)
			var drv driver.Driver
			if err == nil {
				drv, err = cfg.Drivers.Open(d.Driver, opts)
			}
			if err == nil {
				cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
				if desc, ok := drv.(driver.Describer); ok {
					r.Detail, err = desc.Describe(cctx)
				} else {
					err = drv.Check(cctx)
				}
				cancel()
				drv.Close()
			}
			r.Err = err
			if drv != nil && drv.Repeatable() {
				r.Detail += ", repeatable"
			}
			results[1+i] = r
		})
	}
	wg.Wait()
	if hubErr == nil {
		for _, m := range missingDevices(cfg.Devices, hubDevices) {
			i := slices.IndexFunc(cfg.Devices, func(d DeviceConfig) bool { return d.key() == m.dev.key() })
			r := &results[1+i]
			if r.Err == nil {
				r.Err = errors.New(m.String())
			} else {
				r.Err = fmt.Errorf("%w; and %s", r.Err, m)
			}
		}
	}
	return results, nil
}

// PrintCheck writes results as a table and returns how many failed.
func PrintCheck(w io.Writer, results []CheckResult) (failed int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHAT\tTARGET\tSTATUS")
	for _, r := range results {
		status := "ok: " + r.Detail
		if r.Err != nil {
			failed++
			status = "FAIL: " + r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.What, r.Target, status)
	}
	tw.Flush()
	return failed
}
