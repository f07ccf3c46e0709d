package agent_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/node"
)

// testLog returns a logger for the code under test: quiet unless
// BELLHOP_TEST_LOG is set, because the agent logs every reconnect.
func testLog() *slog.Logger {
	if os.Getenv("BELLHOP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is a real hub on a loopback port with one enterprise and one
// integration subscribed to it: the agent's integration.
type env struct {
	t           testing.TB
	dataDir     string
	addr        string // fixed after the first start, so restarts keep it
	hub         *node.Node
	stopHub     func()
	enterprise  string
	sub         string
	clientToken string
	accessToken string
	sdk         *client.Client
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dataDir: t.TempDir(), addr: "127.0.0.1:0"}
	e.startHub()
	t.Cleanup(func() {
		if e.stopHub != nil {
			e.stopHub()
		}
	})
	ctx := context.Background()
	ent, err := e.hub.Service.CreateEnterprise(ctx, "Hotel Test")
	must(t, err)
	integ, ct, err := e.hub.Service.CreateIntegration(ctx, "Agent integration")
	must(t, err)
	sub, at, err := e.hub.Service.CreateSubscription(ctx, integ.ID, []string{ent.ID})
	must(t, err)
	e.enterprise, e.sub, e.clientToken, e.accessToken = ent.ID, sub.ID, ct, at
	e.sdk, err = client.New(client.Config{PlatformAddress: e.hub.PlatformAddress(), ClientToken: ct, AccessToken: at,
		Client: "test producer 1.0"})
	must(t, err)
	return e
}

// startHub starts a hub node on e.addr with the data in e.dataDir.
func (e *env) startHub() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := node.New(ctx, node.Config{Addr: e.addr, DataDir: e.dataDir, Logger: testLog(), RateLimit: -1,
		Hub: hub.Config{}})
	if err != nil {
		cancel()
		e.t.Fatalf("starting the hub: %v", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	e.hub, e.addr = h, h.Addr()
	e.stopHub = func() {
		cancel()
		<-done
		_ = h.Close()
		e.stopHub = nil
	}
}

// device creates a device of type typ named name and connects it to the
// agent's subscription.
func (e *env) device(typ bellhop.DeviceType, name string) *bellhop.Device {
	e.t.Helper()
	d := &bellhop.Device{EnterpriseID: e.enterprise, Type: typ, Name: name}
	must(e.t, e.hub.Service.CreateDevice(context.Background(), d))
	must(e.t, e.hub.Service.Connect(context.Background(), e.sub, d.ID))
	return d
}

// command queues a command with Data through the admin path.
func (e *env) command(d *bellhop.Device, data any) string {
	e.t.Helper()
	c, err := e.hub.Service.CreateCommand(context.Background(), d.ID, bellhop.MarshalData(data), "test", nil)
	must(e.t, err)
	return c.ID
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
	waitFor(e.t, within, func() (bool, string) {
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

// waitFor polls cond every 10 ms until it holds, failing the test after
// within with cond's last explanation.
func waitFor(tb testing.TB, within time.Duration, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v: %s", within, why)
		}
		<-tick.C
	}
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
