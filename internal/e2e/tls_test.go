package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/node"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files
// and returns their paths and the certificate.
func selfSigned(t testing.TB) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bellhop test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestTLS serves the hub with --tls-cert/--tls-key and drives it through the
// SDK over HTTPS and WSS with an http.Client that trusts only that
// certificate: the Connector operations work, events arrive over wss, and
// plain HTTP or an untrusting client get nothing.
func TestTLS(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t)
	e := start(t, func(c *node.Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.Logger = slog.New(slog.DiscardHandler) // the refused handshakes below are logged
	})
	tn := e.tenant("TLS")
	if !strings.HasPrefix(e.base, "https://") || !strings.HasPrefix(e.hub.WebSocketAddress(), "wss://") {
		t.Fatalf("addresses %s %s", e.base, e.hub.WebSocketAddress())
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	c, err := client.New(client.Config{PlatformAddress: e.base, WebSocketAddress: e.hub.WebSocketAddress(),
		ClientToken: tn.ClientToken, AccessToken: tn.AccessToken, Client: "e2e tls 1.0", HTTPClient: hc, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connected := make(chan struct{}, 1)
	events := make(chan client.Event, 10)
	disconnects := make(chan error, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Subscribe(ctx, func(_ context.Context, ev client.Event) { events <- ev }, client.SubscribeOptions{
			OnConnect:    func(context.Context) error { connected <- struct{}{}; return nil },
			OnDisconnect: func(err error) { disconnects <- err },
		})
	}()
	select {
	case <-connected:
	case err := <-disconnects:
		t.Fatalf("wss: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no wss connection within 10 s")
	}
	id, err := c.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: tn.Devices["Printer"].ID, Data: pdf, CopyCount: 1})
	if err != nil {
		t.Fatalf("addPrinter over https: %v", err)
	}
	select {
	case ev := <-events:
		if ev.Id != id || ev.State != client.StatePending {
			t.Fatalf("event %+v, want %s Pending", ev, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event over wss within 10 s")
	}
	cancel()
	<-done

	// Plain HTTP on the TLS port is refused before any handler runs.
	plain := strings.Replace(e.base, "https://", "http://", 1)
	resp, err := http.Post(plain+"/api/connector/v1/devices/getAll", "application/json", strings.NewReader(`{}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
	}
	// A client that does not trust the certificate gets nowhere.
	untrusting, err := client.New(client.Config{PlatformAddress: e.base, ClientToken: tn.ClientToken, AccessToken: tn.AccessToken,
		Client: "e2e tls 1.0", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if _, err := untrusting.Devices(context.Background()); !errors.As(err, &unknown) {
		t.Fatalf("untrusting client: %v", err)
	}
}
