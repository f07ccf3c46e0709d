package agent

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/mdns"

	"github.com/bellhop/bellhop/internal/agent/driver/ipp"
)

// Found is a printer that Discover found, with a driver target ready to
// paste into agent.yaml.
type Found struct {
	Name   string
	Via    string // "dns-sd _ipp._tcp", "dns-sd _ipps._tcp" or "cups"
	Driver string
	Detail string
}

// DiscoverOptions tune Discover.
type DiscoverOptions struct {
	// Timeout bounds the DNS-SD browse; default 3 s.
	Timeout time.Duration
	// CUPS is the CUPS server whose queues are listed; default
	// localhost:631, "off" to skip.
	CUPS string
}

// Discover lists the IPP printers that announce themselves by DNS-SD
// (multicast DNS, _ipp._tcp and _ipps._tcp, as every IPP Everywhere
// printer does) and the queues of the local CUPS server, each with a
// driver target. It fails only when neither source could be asked.
func Discover(ctx context.Context, o DiscoverOptions) ([]Found, error) {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.CUPS == "" {
		o.CUPS = "localhost:631"
	}
	var (
		mu      sync.Mutex
		found   []Found
		errs    []error
		browsed int
		wg      sync.WaitGroup
	)
	for _, svc := range []string{"_ipp._tcp", "_ipps._tcp"} {
		wg.Go(func() {
			entries, err := browse(ctx, svc, o.Timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("dns-sd %s: %w", svc, err))
				return
			}
			browsed++
			found = append(found, entries...)
		})
	}
	queues := 0
	if o.CUPS != "off" {
		wg.Go(func() {
			qs, err := ipp.CUPSQueues(ctx, o.CUPS)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("cups at %s: %w", o.CUPS, err))
				return
			}
			queues++
			for _, q := range qs {
				detail := []string{q.State}
				if !q.Accepting {
					detail = append(detail, "not accepting jobs")
				}
				for _, s := range []string{q.Message, q.Model, q.DeviceURI} {
					if s != "" {
						detail = append(detail, s)
					}
				}
				found = append(found, Found{Name: q.Name, Via: "cups", Driver: q.URI, Detail: strings.Join(detail, "; ")})
			}
		})
	}
	wg.Wait()
	if browsed == 0 && queues == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("agent discover: %v", errs)
	}
	slices.SortFunc(found, func(a, b Found) int { return strings.Compare(a.Via+a.Name, b.Via+b.Name) })
	return found, nil
}

// browse asks DNS-SD for svc and returns what answered within timeout.
func browse(ctx context.Context, svc string, timeout time.Duration) ([]Found, error) {
	ch := make(chan *mdns.ServiceEntry, 64)
	var entries []*mdns.ServiceEntry
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The library keeps filling an entry after it sent it: read them
		// only once the query has returned.
		for e := range ch {
			entries = append(entries, e)
		}
	}()
	p := mdns.DefaultParams(svc)
	p.Entries, p.Timeout = ch, timeout
	p.Logger = log.New(io.Discard, "", 0) // the library logs every stray packet
	err := mdns.QueryContext(ctx, p)
	close(ch)
	<-done
	var out []Found
	seen := map[string]bool{}
	for _, e := range entries {
		if e.AddrV4 == nil && e.AddrV6 == nil || seen[e.Name] {
			continue
		}
		seen[e.Name] = true
		out = append(out, entryFound(svc, e))
	}
	return out, err
}

func entryFound(svc string, e *mdns.ServiceEntry) Found {
	txt := map[string]string{}
	for _, f := range e.InfoFields {
		k, v, _ := strings.Cut(f, "=")
		txt[strings.ToLower(k)] = v
	}
	scheme := "ipp"
	if svc == "_ipps._tcp" {
		scheme = "ipps"
	}
	host := e.AddrV4.String()
	if e.AddrV4 == nil {
		host = e.AddrV6.String()
	}
	name := strings.TrimSuffix(e.Name, "."+svc+".local.")
	name = strings.ReplaceAll(name, `\ `, " ")
	f := Found{Name: name, Via: "dns-sd " + svc,
		Driver: scheme + "://" + net.JoinHostPort(host, strconv.Itoa(e.Port)) + "/" + strings.TrimPrefix(txt["rp"], "/")}
	var detail []string
	for _, k := range []string{"ty", "pdl"} {
		if txt[k] != "" {
			detail = append(detail, txt[k])
		}
	}
	if e.Host != "" {
		detail = append(detail, "host "+strings.TrimSuffix(e.Host, "."))
	}
	f.Detail = strings.Join(detail, "; ")
	return f
}

// PrintFound writes found as a table.
func PrintFound(w io.Writer, found []Found) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFOUND BY\tDRIVER\tDETAIL")
	for _, f := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Via, f.Driver, f.Detail)
	}
	tw.Flush()
}
