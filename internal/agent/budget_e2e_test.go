package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestRequestsPerCommand sends 50 print commands at 40 per second to two
// raw printers that finish at once, through a hub with its default limits
// (200 per 30 s), and counts the agent's requests: the fetches are shared
// by the commands that arrive together, a quick action reports no
// Processing, so each command costs little more than its outcome.
func TestRequestsPerCommand(t *testing.T) {
	t.Parallel()
	perCommand, byStatus := requestsPerCommand(t, 50, 40)
	if byStatus["429"] > 0 {
		t.Errorf("%v answers 429", byStatus["429"])
	}
	if perCommand > 1.3 {
		t.Errorf("%.2f requests per command, want at most 1.3", perCommand)
	}
}

// requestsPerCommand runs n print commands at perSecond to two printers
// that print at once, through a hub with its default limits, and returns
// the agent's requests per command (without the connection's own WebSocket
// and first catch-up) and its requests by status.
func requestsPerCommand(tb testing.TB, n, perSecond int) (float64, map[string]float64) {
	tb.Helper()
	e := newLimitedEnv(tb, 0, 0)
	devs, cfg := printers(tb, e, 2)
	cfg.PollInterval = time.Minute // the safety net is not what is measured
	a, _ := startAgent(tb, cfg)
	hubtest.Eventually(tb, 10*time.Second, func() (bool, string) {
		return agentRequests(tb, a)["commands/getAllActive 200"] == 1, "the agent has not caught up yet"
	})
	ids := make([]string, 0, n)
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		ids = append(ids, e.command(devs[i%2], printJob(fmt.Sprintf("receipt %d", i))))
	}
	processed(tb, e, 60*time.Second, ids)
	counts := agentRequests(tb, a)
	byStatus, total := requestTotals(counts)
	perCommand := (total - counts["websocket 101"] - counts["commands/getAllActive 200"]) / float64(n)
	tb.Logf("%d commands at %d/s: %v requests (%v); %.2f per command", n, perSecond, total, counts, perCommand)
	return perCommand, byStatus
}

// TestBurstWithinBudget queues 120 commands at once for a token whose hub
// allows 40 requests per 5 s, with the agent told that budget: every
// command is Processed and the hub never answers 429, because the agent
// paces itself instead of spending the limit and waiting.
func TestBurstWithinBudget(t *testing.T) {
	t.Parallel()
	const limit, window = 40, 5 * time.Second
	e := newLimitedEnv(t, limit, window)
	devs, cfg := printers(t, e, 1)
	cfg.RateLimit, cfg.RateWindow = limit, window
	cfg.PollInterval = time.Minute
	a, _ := startAgent(t, cfg)

	const n = 120
	ids := make([]string, 0, n)
	for i := range n {
		ids = append(ids, e.command(devs[0], printJob(fmt.Sprintf("burst %d", i))))
	}
	// 120 updates at (40-4)/5 = 7.2 per second: about 17 s.
	processed(t, e, 60*time.Second, ids)
	counts := agentRequests(t, a)
	byStatus, total := requestTotals(counts)
	t.Logf("%d commands: %v requests (%v)", n, total, counts)
	if byStatus["429"] > 0 {
		t.Errorf("%v answers 429, want none", byStatus["429"])
	}
}
