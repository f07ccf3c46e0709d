package e2e

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// TestTLS serves the hub with --tls-cert/--tls-key and drives it through the
// SDK over HTTPS and WSS with an http.Client that trusts only that
// certificate: the Connector operations work, events arrive over wss, and
// plain HTTP or an untrusting client get nothing.
func TestTLS(t *testing.T) {
	certFile, keyFile := hubtest.SelfSigned(t)
	e := start(t, func(c *node.Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.Logger = slog.New(slog.DiscardHandler) // the refused handshakes below are logged
	})
	tn := e.tenant("TLS")
	if !strings.HasPrefix(e.PlatformAddress(), "https://") || !strings.HasPrefix(e.WebSocketAddress(), "wss://") {
		t.Fatalf("addresses %s %s", e.PlatformAddress(), e.WebSocketAddress())
	}
	c := e.SDK(tn) // trusts only the hub's certificate
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
	id, err := c.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: tn.Devices["Printer"].Id, Data: pdf, CopyCount: 1})
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
	plain := strings.Replace(e.PlatformAddress(), "https://", "http://", 1)
	resp, err := http.Post(plain+"/api/connector/v1/devices/getAll", "application/json", strings.NewReader(`{}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
	}
	// A client that does not trust the certificate gets nowhere.
	untrusting, err := client.New(client.Config{PlatformAddress: e.PlatformAddress(), ClientToken: tn.ClientToken, AccessToken: tn.AccessToken,
		Client: "e2e tls 1.0", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if _, err := untrusting.Devices(context.Background()); !errors.As(err, &unknown) {
		t.Fatalf("untrusting client: %v", err)
	}
}
