package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// TestAgentTLS runs the agent against a hub that serves HTTPS and WSS with a
// self-signed certificate: with the certificate pinned as ca_file it works;
// without, the certificate is refused.
func TestAgentTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile := hubtest.SelfSigned(t)
	h := hubtest.Start(t, func(c *node.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	ctx := context.Background()
	if !strings.HasPrefix(h.PlatformAddress(), "https://") || !strings.HasPrefix(h.WebSocketAddress(), "wss://") {
		t.Fatalf("addresses %s %s", h.PlatformAddress(), h.WebSocketAddress())
	}

	svc := h.Service
	tn := h.Tenant(t, "TLS")
	d := tn.AddDevice(t, bellhop.Printer, "Printer")
	sink := drivertest.StartTCPSink(t, false)
	cfg := agent.Config{PlatformAddress: h.PlatformAddress(), ClientToken: tn.ClientToken, AccessToken: tn.AccessToken, StateDir: t.TempDir(),
		Listen: "off", PollInterval: time.Second, Logger: testLog(),
		Devices: []agent.DeviceConfig{{Name: "Printer", Driver: "socket://" + sink.Addr()}}}

	// Unpinned: the system roots do not know the certificate.
	res, err := agent.Check(ctx, cfg)
	must(t, err)
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "certificate") {
		t.Fatalf("unpinned check of the hub: %v", res[0].Err)
	}

	cfg.CAFile = certFile
	res, err = agent.Check(ctx, cfg)
	must(t, err)
	if res[0].Err != nil {
		t.Fatalf("pinned check of the hub: %v", res[0].Err)
	}
	_, stop := startAgent(t, cfg)
	defer stop()
	cmd, err := svc.CreateCommand(ctx, d.Id, bellhop.MarshalData(printJob("over TLS")), "test", nil)
	must(t, err)
	hubtest.Eventually(t, 20*time.Second, func() (bool, string) {
		v, _, err := svc.Command(ctx, cmd.ID)
		if err != nil {
			return false, err.Error()
		}
		return v.State == bellhop.Processed, string(v.State)
	})

	cfg.CAFile = keyFile
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("a key as ca_file: %v", err)
	}
}
