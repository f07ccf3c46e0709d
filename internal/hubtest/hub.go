package hubtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/node"
)

// Hub is a hub node running in the test's process, with its service, store
// and broker at hand (through the embedded node) and an admin client.
type Hub struct {
	*node.Node
	// Clock is the hub's clock: move it with Advance to expire commands.
	Clock *Clock
	// AdminToken is a registered admin token; Admin calls the admin API with it.
	AdminToken string
	Admin      *admin.Client

	tb         testing.TB
	cfg        node.Config
	httpClient *http.Client
	stop       func()
}

// Option changes the configuration of a hub that Start builds.
type Option func(*node.Config)

// Start runs a whole hub in this process until the test ends: on
// 127.0.0.1:0, with a temporary SQLite database (a fresh schema of the test
// PostgreSQL when BELLHOP_TEST_STORE is "postgres"), rate limits off, a
// settable clock, a new admin token and a quiet logger. Options change any
// of it.
func Start(tb testing.TB, opts ...Option) *Hub {
	tb.Helper()
	clock := &Clock{}
	cfg := node.Config{Addr: "127.0.0.1:0", DataDir: tb.TempDir(), Now: clock.Now, AdminToken: bellhop.NewToken(),
		RateLimit: -1, Logger: Logger()}
	if os.Getenv("BELLHOP_TEST_STORE") == "postgres" {
		cfg.Database, _ = PostgresSchema(tb)
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Hub{Clock: clock, AdminToken: cfg.AdminToken, tb: tb, cfg: cfg, httpClient: httpClient(tb, cfg.TLSCert)}
	h.run()
	tb.Cleanup(h.Stop)
	a, err := admin.New(admin.Config{Address: h.PlatformAddress(), Token: h.AdminToken, HTTPClient: h.httpClient})
	if err != nil {
		tb.Fatal(err)
	}
	h.Admin = a
	return h
}

func (h *Hub) run() {
	h.tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.New(ctx, h.cfg)
	if err != nil {
		cancel()
		h.tb.Fatalf("start hub: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx)
	}()
	h.Node = n
	h.cfg.Addr = n.Addr() // a restart keeps the address
	h.stop = func() {
		cancel()
		<-done
		_ = n.Close()
	}
}

// Stop shuts the hub down (sockets close with 1001) and closes its store.
// It is safe to call more than once.
func (h *Hub) Stop() {
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// Restart stops the hub if it runs and starts it again on the same
// address, store and clock: what a hub restarted by its operator does.
func (h *Hub) Restart() {
	h.tb.Helper()
	h.Stop()
	h.run()
}

// httpClient returns the default HTTP client, or for a hub serving TLS with
// certFile one that trusts that certificate (the hub's own CA).
func httpClient(tb testing.TB, certFile string) *http.Client {
	tb.Helper()
	if certFile == "" {
		return http.DefaultClient
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("no certificate in %s", certFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// HTTPClient returns an HTTP client for this hub: the default one, or over
// TLS one that trusts the hub's certificate.
func (h *Hub) HTTPClient() *http.Client { return h.httpClient }

// Tenant creates a tenant through the admin API: see NewTenant.
func (h *Hub) Tenant(tb testing.TB, name string, types ...bellhop.DeviceType) *Tenant {
	tb.Helper()
	return NewTenant(tb, h.Admin, name, types...)
}

// SDK returns a Connector client for a tenant of this hub with retries off,
// so that errors surface as they are.
func (h *Hub) SDK(tn *Tenant) *client.Client {
	return sdk(client.Config{PlatformAddress: h.PlatformAddress(), WebSocketAddress: h.WebSocketAddress(),
		ClientToken: tn.ClientToken, AccessToken: tn.AccessToken, HTTPClient: h.httpClient})
}

// sdk returns a client for cfg with the tests' name and retries off. cfg
// comes from a running hub, so it is valid.
func sdk(cfg client.Config) *client.Client {
	cfg.Client, cfg.MaxRetries = "bellhop tests 1.0", -1
	c, err := client.New(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// Sweep runs expiry and retention once, waiting while the hub's own
// background sweep holds the lock.
func (h *Hub) Sweep(tb testing.TB) hub.SweepResult {
	tb.Helper()
	var r hub.SweepResult
	Eventually(tb, 10*time.Second, func() (bool, string) {
		var err error
		if r, err = h.Service.Sweep(context.Background()); err != nil {
			tb.Fatalf("sweep: %v", err)
		}
		return !r.Skipped, "another sweep holds the lock"
	})
	return r
}

// Clock is a hub's clock in tests: the real time plus an offset that
// Advance moves forward.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the time the hub sees.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
