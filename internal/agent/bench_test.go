package agent_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hub"
)

// The request budget's bars, measured against a hub with its default
// limits (200 requests per AccessToken in 30 s, as Mews enforces) and an
// agent with its defaults. Each is a scenario run once per iteration:
//
//	go test -run XXX -bench FrontDesk -benchtime 1x ./internal/agent/
//
// The figures are counts (requests, 429 answers) and latencies taken from
// the hub's own timestamps; the README states them with the date.

// BenchmarkFrontDeskRequestsPerCommand: 200 print commands at 10 per
// second to two printers that print at once. Reports requests per command
// (without the connection's own WebSocket and first catch-up).
func BenchmarkFrontDeskRequestsPerCommand(b *testing.B) {
	for range b.N {
		perCommand, byStatus := requestsPerCommand(b, 200, 10)
		b.ReportMetric(perCommand, "requests/command")
		b.ReportMetric(byStatus["429"], "429s")
	}
}

// BenchmarkFrontDeskBurst500: 500 commands created at once for one token's
// four printers. Reports the seconds until the last is Processed and the
// 429 answers (the bar: none, at the budget's pace).
func BenchmarkFrontDeskBurst500(b *testing.B) {
	for range b.N {
		e := newLimitedEnv(b, 0, 0)
		devs, cfg := printers(b, e, 4)
		a, _ := startAgent(b, cfg)
		const n = 500
		start := time.Now()
		ids := make([]string, 0, n)
		for i := range n {
			ids = append(ids, e.command(devs[i%len(devs)], printJob(fmt.Sprintf("burst %d", i))))
		}
		processed(b, e, 5*time.Minute, ids)
		took := time.Since(start)
		counts := agentRequests(b, a)
		byStatus, total := requestTotals(counts)
		b.ReportMetric(took.Seconds(), "s/burst")
		b.ReportMetric(byStatus["429"], "429s")
		b.ReportMetric(total/n, "requests/command")
	}
}

// BenchmarkFrontDeskHealthyAmongOffline: six printers of the token are
// offline (connections refused), each with five commands waiting, while
// a healthy printer gets a command every 1.5 s for 30 s. Reports the
// slowest healthy command from creation to Processed (the bar: 3 s) and
// the 429 answers.
func BenchmarkFrontDeskHealthyAmongOffline(b *testing.B) {
	for range b.N {
		e := newLimitedEnv(b, 0, 0)
		healthy, cfg := printers(b, e, 1)
		var offline []*admin.Device
		for i := range 6 {
			d := e.device(bellhop.Printer, fmt.Sprintf("Offline %d", i))
			offline = append(offline, d)
			target := "ipp://" + closedAddr(b) + "/ipp/print"
			if i%2 == 1 {
				target = "socket://" + closedAddr(b)
			}
			cfg.Devices = append(cfg.Devices, agent.DeviceConfig{Name: d.Name, Driver: target})
		}
		a, _ := startAgent(b, cfg)
		for _, d := range offline {
			for j := range 5 {
				e.command(d, printJob(fmt.Sprintf("%s job %d", d.Name, j)))
			}
		}
		var ids []string
		tick := time.NewTicker(1500 * time.Millisecond)
		for i := range 20 {
			<-tick.C
			ids = append(ids, e.command(healthy[0], printJob(fmt.Sprintf("healthy %d", i))))
		}
		tick.Stop()
		final := processed(b, e, 30*time.Second, ids)
		var worst time.Duration
		for _, v := range final {
			worst = max(worst, v.UpdatedUtc.Sub(v.CreatedUtc))
		}
		byStatus, _ := requestTotals(agentRequests(b, a))
		b.ReportMetric(worst.Seconds(), "s/slowest-healthy")
		b.ReportMetric(byStatus["429"], "429s")
	}
}

// printers makes n healthy raw printers (TCP sinks that print at once) and
// an agent configuration for them with the agent's default budget.
func printers(tb testing.TB, e *env, n int) ([]*admin.Device, agent.Config) {
	tb.Helper()
	var devs []*admin.Device
	var confs []agent.DeviceConfig
	for i := range n {
		sink := drivertest.StartTCPSink(tb, false)
		d := e.device(bellhop.Printer, fmt.Sprintf("Printer %d", i))
		devs = append(devs, d)
		confs = append(confs, agent.DeviceConfig{Name: d.Name, Driver: "socket://" + sink.Addr()})
	}
	cfg := e.config(tb.TempDir(), confs...)
	cfg.PollInterval = 0 // the default, 30 s
	return devs, cfg
}

// processed waits for the commands to be final and fails unless every one
// is Processed.
func processed(tb testing.TB, e *env, within time.Duration, ids []string) map[string]*hub.CommandView {
	tb.Helper()
	final := e.waitFinal(within, ids...)
	for _, id := range ids {
		if v := final[id]; v.State != bellhop.Processed {
			tb.Errorf("command %s: %s %q", id, v.State, v.Notes)
		}
	}
	return final
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}
