package ipp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// Queue is a print queue of a CUPS server.
type Queue struct {
	Name      string
	URI       string // the ipp:// target for the agent: ipp://host:631/printers/<Name>
	Model     string
	Info      string // the queue's description
	State     string // idle, processing or stopped
	Message   string
	Accepting bool
	DeviceURI string // what CUPS prints to
}

// CUPSQueues lists the queues of the CUPS server at host ("localhost:631")
// with CUPS-Get-Printers. It returns the transport error when no CUPS
// answers there.
func CUPSQueues(ctx context.Context, host string) ([]Queue, error) {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "631")
	}
	server := "ipp://" + host + "/"
	drv, err := New(server, driver.Options{Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	d := drv.(*Driver)
	defer d.Close()
	d.httpURL = (&url.URL{Scheme: "http", Host: host, Path: "/"}).String()
	m, err := d.do(ctx, cupsGetPrintersRequest(d.nextID(), server))
	if se, ok := errors.AsType[*StatusError](err); ok && se.Status == 0x0406 {
		return nil, nil // client-error-not-found: no queues
	}
	if err != nil {
		return nil, err
	}
	var out []Queue
	for _, g := range m.Groups {
		if g.Tag != TagPrinter {
			continue
		}
		one := &Message{Groups: []Group{g}}
		q := Queue{Name: first(one.Strings(TagPrinter, "printer-name")), Accepting: true,
			Model: first(one.Strings(TagPrinter, "printer-make-and-model")), Info: first(one.Strings(TagPrinter, "printer-info")),
			Message: first(one.Strings(TagPrinter, "printer-state-message")), DeviceURI: first(one.Strings(TagPrinter, "device-uri"))}
		if q.Name == "" {
			continue
		}
		st, _ := one.Int(TagPrinter, "printer-state")
		q.State = map[int32]string{3: "idle", 4: "processing", 5: "stopped"}[st]
		if acc, ok := one.Lookup(TagPrinter, "printer-is-accepting-jobs"); ok && len(acc.Values) > 0 && len(acc.Values[0].Bytes) == 1 {
			q.Accepting = acc.Values[0].Bytes[0] != 0
		}
		q.URI = fmt.Sprintf("ipp://%s/printers/%s", host, url.PathEscape(q.Name))
		out = append(out, q)
	}
	return out, nil
}
