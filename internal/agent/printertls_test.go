package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

// TestPrinterCertificates prints over ipps to ippeveprinter, which makes
// its own self-signed certificate: refused with the system's roots,
// accepted with that certificate as ca_file, and with trust on first use,
// which then refuses a printer on the same address with another
// certificate and says how to accept it.
func TestPrinterCertificates(t *testing.T) {
	t.Parallel()
	p := drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{TLS: true})
	state := t.TempDir()
	cfg := Config{StateDir: state}.WithDefaults()
	run := func(d DeviceConfig) error {
		t.Helper()
		opts, err := cfg.options(d)
		if err != nil {
			return err
		}
		drv, err := cfg.Drivers.Open(d.Driver, opts)
		if err != nil {
			return err
		}
		defer drv.Close()
		_, err = drv.Run(context.Background(), drivertest.PrinterJob("cmd-tls", drivertest.PDF, 1))
		return err
	}
	if err := run(DeviceConfig{Name: "P", Driver: p.URI}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("system roots: %v, want a certificate error", err)
	}
	if err := run(DeviceConfig{Name: "P", Driver: p.URI, CAFile: p.CertFile}); err != nil {
		t.Errorf("ca_file: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(other, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(DeviceConfig{Name: "P", Driver: p.URI, CAFile: other}); err == nil || !strings.Contains(err.Error(), "not signed by ca_file") {
		t.Errorf("another CA: %v", err)
	}
	tofu := DeviceConfig{Name: "P", Driver: p.URI, TrustOnFirstUse: true}
	for range 2 {
		if err := run(tofu); err != nil {
			t.Fatalf("trust on first use: %v", err)
		}
	}
	pins, err := os.ReadFile(filepath.Join(state, PinsFile))
	if err != nil || !strings.Contains(string(pins), "sha256:") {
		t.Fatalf("pins %q, %v", pins, err)
	}
	// Another printer (another certificate) on the same address.
	p.Stop()
	drivertest.StartIPPEverywhere(t, drivertest.IPPOptions{TLS: true, Port: p.Port})
	err = run(tofu)
	if err == nil || !strings.Contains(err.Error(), "changed") || !strings.Contains(err.Error(), PinsFile) {
		t.Errorf("changed certificate: %v, want a refusal naming %s", err, PinsFile)
	}
}

// selfSignedPEM is a CA certificate that signed nothing the printer has.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
