package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestPrinterCertificates reaches ippeveprinter over ipps; it makes its own
// self-signed certificate. agent check refuses it with the system's roots,
// accepts it with that certificate as ca_file, refuses another CA, and
// with trust on first use pins it, then refuses another printer on the
// same address and says how to accept it.
func TestPrinterCertificates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{TLS: true})
	otherCA, _ := hubtest.SelfSigned(t)
	state := t.TempDir()
	printer := e.device(bellhop.Printer, "Office printer")
	check := func(d agent.DeviceConfig) error {
		t.Helper()
		d.Name, d.Driver = printer.Name, p.URI
		results, err := agent.Check(context.Background(), e.config(state, d))
		must(t, err)
		return results[1].Err
	}
	if err := check(agent.DeviceConfig{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("system roots: %v, want a certificate error", err)
	}
	if err := check(agent.DeviceConfig{CAFile: p.CertFile}); err != nil {
		t.Errorf("ca_file: %v", err)
	}
	if err := check(agent.DeviceConfig{CAFile: otherCA}); err == nil || !strings.Contains(err.Error(), "not signed by ca_file") {
		t.Errorf("another CA: %v", err)
	}
	tofu := agent.DeviceConfig{TrustOnFirstUse: true}
	for range 2 {
		if err := check(tofu); err != nil {
			t.Fatalf("trust on first use: %v", err)
		}
	}
	pins, err := os.ReadFile(filepath.Join(state, agent.PinsFile))
	if err != nil || !strings.Contains(string(pins), "sha256:") {
		t.Fatalf("pins %q, %v", pins, err)
	}
	// Another printer (another certificate) on the same address.
	p.Stop()
	drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{TLS: true, Port: p.Port})
	err = check(tofu)
	if err == nil || !strings.Contains(err.Error(), "changed") || !strings.Contains(err.Error(), agent.PinsFile) {
		t.Errorf("changed certificate: %v, want a refusal naming %s", err, agent.PinsFile)
	}
}
