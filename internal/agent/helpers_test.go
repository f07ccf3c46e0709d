package agent_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

func TestMain(m *testing.M) { hubtest.Main(m) }

// testLog is the logger of the agents under test (quiet by default).
func testLog() *slog.Logger { return hubtest.Logger() }

// env is a real hub on a loopback port with one enterprise and one
// integration subscribed to it: the agent's integration.
type env struct {
	t           testing.TB
	hub         *hubtest.Hub
	tn          *hubtest.Tenant
	addr        string
	enterprise  string
	sub         string
	clientToken string
	accessToken string
	sdk         *client.Client
}

func newEnv(t testing.TB) *env { return newLimitedEnv(t, -1, 0) }

// newLimitedEnv is newEnv with the hub's rate limit per AccessToken: limit
// 0 is the hub's default (200 per 30 s), -1 none.
func newLimitedEnv(t testing.TB, limit int, window time.Duration) *env {
	t.Helper()
	h := hubtest.Start(t, func(c *node.Config) { c.RateLimit, c.RateWindow = limit, window })
	tn := h.Tenant(t, "Agent")
	return &env{t: t, hub: h, tn: tn, addr: h.Addr(), enterprise: tn.Enterprise.Id, sub: tn.Subscription.Id,
		clientToken: tn.ClientToken, accessToken: tn.AccessToken, sdk: h.SDK(tn)}
}

// stopHub stops the hub; startHub starts it again on the same address and
// data.
func (e *env) stopHub()  { e.hub.Stop() }
func (e *env) startHub() { e.hub.Restart() }

// device creates a device of type typ named name and connects it to the
// agent's subscription.
func (e *env) device(typ bellhop.DeviceType, name string) *admin.Device {
	e.t.Helper()
	return e.tn.AddDevice(e.t, typ, name)
}

// command queues a command with Data through the admin path.
func (e *env) command(d *admin.Device, data any) string {
	e.t.Helper()
	c, err := e.hub.Service.CreateCommand(context.Background(), d.Id, bellhop.MarshalData(data), "test", nil)
	must(e.t, err)
	return c.ID
}

// keyJob is KeyCutter Data for one key to room n.
func keyJob(n int) bellhop.KeyCutterData {
	now := time.Now().UTC()
	return bellhop.KeyCutterData{KeyCount: 1, LockIds: []string{strconv.Itoa(n)}, LastName: "Guest " + strconv.Itoa(n),
		StartUtc: bellhop.FormatTime(now), EndUtc: bellhop.FormatTime(now.Add(24 * time.Hour))}
}

// printJob is Printer Data whose document is text, so a peer can tell jobs apart.
func printJob(text string) bellhop.PrinterData {
	return bellhop.PrinterData{CopyCount: 1, FileType: "application/pdf",
		FileData: base64.StdEncoding.EncodeToString([]byte(text)), PrinterName: "test"}
}

// config is an agent configuration for this hub.
func (e *env) config(stateDir string, devices ...agent.DeviceConfig) agent.Config {
	return agent.Config{PlatformAddress: "http://" + e.addr, ClientToken: e.clientToken, AccessToken: e.accessToken,
		Client: "bellhop agent test", StateDir: stateDir, Listen: "127.0.0.1:0", PollInterval: time.Second,
		ShutdownGrace: 500 * time.Millisecond, Devices: devices, Logger: testLog()}
}

// startAgent creates and runs an agent; stop (also run at cleanup) closes it.
func startAgent(t testing.TB, cfg agent.Config) (a *agent.Agent, stop func()) {
	t.Helper()
	a, err := agent.New(cfg)
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		must(t, a.Close())
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return a, stop
}

// view returns the hub's view of a command.
func (e *env) view(id string) *hub.CommandView {
	e.t.Helper()
	v, _, err := e.hub.Service.Command(context.Background(), id)
	must(e.t, err)
	return v
}

// waitFinal waits until every command is final at the hub and returns them.
func (e *env) waitFinal(within time.Duration, ids ...string) map[string]*hub.CommandView {
	e.t.Helper()
	out := map[string]*hub.CommandView{}
	hubtest.Eventually(e.t, within, func() (bool, string) {
		for _, id := range ids {
			if out[id] != nil {
				continue
			}
			if v := e.view(id); v.State.Final() {
				out[id] = v
			} else {
				return false, fmt.Sprintf("command %s is %s", id, v.State)
			}
		}
		return true, ""
	})
	return out
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// writeScript writes an executable shell script into dir and returns its path.
func writeScript(tb testing.TB, dir, name, body string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	must(tb, os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755))
	return p
}

// agentRequests scrapes the agent's /metrics and returns
// bellhop_agent_requests_total by "operation status".
func agentRequests(tb testing.TB, a *agent.Agent) map[string]float64 {
	tb.Helper()
	resp, err := http.Get("http://" + a.HealthAddr() + "/metrics")
	must(tb, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "bellhop_agent_requests_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(line, "} ")
		var op, status string
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "operation":
				op = v
			case "status":
				status = v
			}
		}
		n, err := strconv.ParseFloat(value, 64)
		must(tb, err)
		out[op+" "+status] = n
	}
	must(tb, sc.Err())
	return out
}

// requestTotals sums counts by status ("200", "429", "error"...) and in all.
func requestTotals(counts map[string]float64) (byStatus map[string]float64, total float64) {
	byStatus = map[string]float64{}
	for k, n := range counts {
		_, status, _ := strings.Cut(k, " ")
		byStatus[status] += n
		total += n
	}
	return byStatus, total
}
