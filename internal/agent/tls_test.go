package agent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/node"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bellhop test hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	certFile, keyFile = filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile
}

// TestAgentTLS runs the agent against a hub that serves HTTPS and WSS with a
// self-signed certificate: with the certificate pinned as ca_file it works;
// without, the certificate is refused.
func TestAgentTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	h, err := node.New(ctx, node.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), TLSCert: certFile, TLSKey: keyFile,
		RateLimit: -1, Logger: testLog()})
	must(t, err)
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; h.Close() })
	if !strings.HasPrefix(h.PlatformAddress(), "https://") || !strings.HasPrefix(h.WebSocketAddress(), "wss://") {
		t.Fatalf("addresses %s %s", h.PlatformAddress(), h.WebSocketAddress())
	}

	svc := h.Service
	ent, err := svc.CreateEnterprise(ctx, "TLS Hotel")
	must(t, err)
	integ, ct, err := svc.CreateIntegration(ctx, "TLS agent")
	must(t, err)
	sub, at, err := svc.CreateSubscription(ctx, integ.ID, []string{ent.ID})
	must(t, err)
	d := &bellhop.Device{EnterpriseID: ent.ID, Type: bellhop.Printer, Name: "Printer"}
	must(t, svc.CreateDevice(ctx, d))
	must(t, svc.Connect(ctx, sub.ID, d.ID))
	sink := drivertest.StartTCPSink(t, false)
	cfg := agent.Config{PlatformAddress: h.PlatformAddress(), ClientToken: ct, AccessToken: at, StateDir: t.TempDir(),
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
	cmd, err := svc.CreateCommand(ctx, d.ID, bellhop.MarshalData(printJob("over TLS")), "test", nil)
	must(t, err)
	waitFor(t, 20*time.Second, func() (bool, string) {
		v, _, err := svc.Command(ctx, cmd.ID)
		if err != nil {
			return false, err.Error()
		}
		return v.State == bellhop.Processed, string(v.State)
	})

	cfg.CAFile = filepath.Join(dir, "hub.key")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("a key as ca_file: %v", err)
	}
}
