package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
)

// hubNode is a `bellhop serve` process.
type hubNode struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	done chan struct{}

	mu  sync.Mutex
	log []string // its last log lines, for failures
}

// startNode starts `bin serve` on port 0 and reads its address from its
// log; ready receives it (or an error).
func startNode(t *testing.T, bin, dbURL, adminToken string) (*hubNode, chan error) {
	t.Helper()
	n := &hubNode{done: make(chan struct{})}
	n.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database", dbURL, "--admin-token", adminToken,
		"--log-format", "json")
	n.cmd.Dir = t.TempDir()
	n.cmd.Env = append(n.cmd.Environ(), "BELLHOP_DATABASE_URL=") // only the flag
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 2)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.log = append(n.log, line)
			if len(n.log) > 50 {
				n.log = n.log[1:]
			}
			n.mu.Unlock()
			var rec struct {
				Msg             string `json:"msg"`
				PlatformAddress string `json:"platform_address"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bellhop hub listening" {
				n.base = rec.PlatformAddress
				ready <- nil
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		err := n.cmd.Wait()
		close(n.done)
		ready <- fmt.Errorf("exited: %v", err)
	}()
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			n.mu.Lock()
			t.Logf("log of %s:\n%s", n.base, strings.Join(n.log, "\n"))
			n.mu.Unlock()
		}
	})
	return n, ready
}

// admin calls the node's admin API and decodes its answer into out.
func (n *hubNode) admin(t *testing.T, token, method, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, n.base+"/api/admin/v1/"+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, rb, err)
		}
	}
}

func (n *hubNode) sdk(t *testing.T, clientToken, accessToken string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{PlatformAddress: n.base, WebSocketAddress: n.base, ClientToken: clientToken,
		AccessToken: accessToken, Client: "e2e 1.0", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClusterProcesses starts two hub processes at the same time on one
// fresh PostgreSQL schema: both migrate safely and serve. A command created
// through one reaches a socket held by the other and back; after the first is
// killed (SIGKILL), the second serves everything it created.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL, schema := pgSchema(t)
	admin := pgAdmin(t)
	bin := filepath.Join(t.TempDir(), "bellhop")
	build := exec.Command("go", "build", "-o", bin, "github.com/bellhop/bellhop/cmd/bellhop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	token := bellhop.NewToken()
	a, readyA := startNode(t, bin, dbURL, token)
	b, readyB := startNode(t, bin, dbURL, token)
	for _, ready := range []chan error{readyA, readyB} {
		select {
		case err := <-ready:
			if err != nil {
				t.Fatalf("a node did not start: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a node did not start within 30 s")
		}
	}
	ctx := context.Background()
	var migrations int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../store/postgres/migrations/*.sql")
	if migrations != len(files) {
		t.Fatalf("%d migrations applied, want %d once each", migrations, len(files))
	}

	// The tenant, through node a's admin API.
	var ent, dev struct{ Id string }
	var integ struct{ Id, ClientToken string }
	var sub struct{ Id, AccessToken string }
	a.admin(t, token, "POST", "enterprises", map[string]any{"Name": "Group Hotel"}, &ent)
	a.admin(t, token, "POST", "integrations", map[string]any{"Name": "Printer vendor"}, &integ)
	a.admin(t, token, "POST", "subscriptions", map[string]any{"IntegrationId": integ.Id, "EnterpriseIds": []string{ent.Id}}, &sub)
	a.admin(t, token, "POST", "devices", map[string]any{"EnterpriseId": ent.Id, "Type": "Printer", "Name": "Lobby",
		"Identifier": "P1", "Configuration": map[string]any{"PrinterName": "P1"}}, &dev)
	a.admin(t, token, "PUT", "subscriptions/"+sub.Id+"/devices/"+dev.Id, nil, nil)

	wsA, _, err := dialAt(t, a.base, integ.ClientToken, sub.AccessToken, false)
	if err != nil {
		t.Fatal(err)
	}
	wsB, _, err := dialAt(t, b.base, integ.ClientToken, sub.AccessToken, false)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := a.sdk(t, integ.ClientToken, sub.AccessToken), b.sdk(t, integ.ClientToken, sub.AccessToken)
	add := func(c *client.Client) string {
		t.Helper()
		id, err := c.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: dev.Id, Data: pdf, CopyCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	// Created through a, heard on b; updated through b, heard on a.
	first := add(ca)
	wsB.expect(t, first, bellhop.Pending)
	wsA.expect(t, first, bellhop.Pending)
	if err := cb.UpdateCommand(ctx, client.UpdateRequest{CommandId: first, State: client.StateProcessing}); err != nil {
		t.Fatal(err)
	}
	wsA.expect(t, first, bellhop.Processing)
	wsB.expect(t, first, bellhop.Processing)
	pending := []string{add(ca), add(ca)}

	// Kill a: b serves what a created.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	active, err := cb.AllActiveCommands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range active {
		got[c.Id] = true
	}
	if len(active) != 2 || !got[pending[0]] || !got[pending[1]] {
		t.Fatalf("getAllActive on b after a died: %v, want %v", got, pending)
	}
	for _, id := range append(pending, first) {
		if err := cb.UpdateCommand(ctx, client.UpdateRequest{CommandId: id, State: client.StateProcessed}); err != nil {
			t.Fatal(err)
		}
	}
	// b's socket heard every change, a's commands included.
	for _, id := range pending {
		wsB.expect(t, id, bellhop.Pending)
	}
	for _, id := range pending {
		wsB.expect(t, id, bellhop.Received)
	}
	for _, id := range append(pending, first) {
		wsB.expect(t, id, bellhop.Processed)
	}
	select {
	case code := <-wsA.closed:
		t.Logf("a's socket ended (%d), as a died", code)
	case <-time.After(5 * time.Second):
		t.Error("a's socket still open after a was killed")
	}
}
