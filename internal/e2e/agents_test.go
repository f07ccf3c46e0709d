package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// quickPresence writes what a node saw every 20 ms instead of every 5 s.
func quickPresence(c *node.Config) { c.Hub.PresenceFlush = 20 * time.Millisecond }

// agentOf returns the listing of one subscription, failing when it is not
// listed.
func agentOf(t testing.TB, a *admin.Client, sub string) admin.Agent {
	t.Helper()
	list, err := a.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ag := range list {
		if ag.SubscriptionId == sub {
			return ag
		}
	}
	t.Fatalf("subscription %s is not among the agents %+v", sub, list)
	return admin.Agent{}
}

// TestAgentsListing runs an agent process with its default Client against a
// hub on SQLite and on PostgreSQL: the admin API lists it with its version and
// host, the address it came from, its open socket and the devices it serves;
// what the node saw reaches the store without a write per request; a
// subscription never seen is listed as such; the socket's end shows.
func TestAgentsListing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, st := range []string{"sqlite", "postgres"} {
		t.Run(st, func(t *testing.T) {
			t.Parallel()
			opts := []hubtest.Option{quickPresence}
			if st == "postgres" {
				dbURL, _ := hubtest.PostgresSchema(t)
				opts = append(opts, onDatabase(dbURL))
			}
			e := start(t, opts...)
			tn := e.Tenant(t, "Front desk", bellhop.Printer)
			idle := e.Tenant(t, "Idle", bellhop.Printer)
			printer := tn.Devices[bellhop.Printer]

			out, err := exec.Command(hubtest.Binary(t), "version").Output()
			if err != nil {
				t.Fatal(err)
			}
			version := strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "bellhop ")
			host, _ := os.Hostname()
			wantClient := fmt.Sprintf("bellhop-agent/%s (%s)", version, host)

			ag := hubtest.StartAgent(t, hubtest.AgentConfig{PlatformAddress: e.PlatformAddress(), ClientToken: tn.ClientToken,
				AccessToken: tn.AccessToken, OwnClient: true,
				Devices: []hubtest.AgentDevice{{ID: printer.Id, Driver: "folder:" + t.TempDir()}}})
			var got admin.Agent
			hubtest.Eventually(t, 30*time.Second, func() (bool, string) {
				got = agentOf(t, e.Admin, tn.Subscription.Id)
				return got.Sockets == 1 && got.Client == wantClient, fmt.Sprintf("agent listed as %+v, want Client %q and 1 socket", got, wantClient)
			})
			if got.Version != version || got.Host != host || got.Address != "127.0.0.1" || got.IntegrationName != tn.Integration.Name ||
				got.FirstSeenUtc == "" || got.LastSeenUtc < got.FirstSeenUtc || got.ConnectedUtc == "" {
				t.Errorf("agent listed as %+v", got)
			}
			if len(got.Devices) != 1 || got.Devices[0].Id != printer.Id {
				t.Errorf("devices %+v, want the printer %s", got.Devices, printer.Id)
			}
			if never := agentOf(t, e.Admin, idle.Subscription.Id); never.LastSeenUtc != "" || never.Client != "" || never.Sockets != 0 {
				t.Errorf("a subscription never seen is listed as %+v", never)
			}

			// The node wrote what it saw to the store: one row, the agent's.
			hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
				rows, err := e.Store.ListPresence(context.Background())
				if err != nil {
					return false, err.Error()
				}
				ok := slices.ContainsFunc(rows, func(p bellhop.Presence) bool {
					return p.SubscriptionID == tn.Subscription.Id && p.Client == wantClient && p.Sockets == 1
				})
				return ok, fmt.Sprintf("presence rows %+v", rows)
			})

			ag.Stop(syscall.SIGTERM)
			hubtest.Eventually(t, 15*time.Second, func() (bool, string) {
				got = agentOf(t, e.Admin, tn.Subscription.Id)
				return got.Sockets == 0 && got.ConnectedUtc == "", fmt.Sprintf("after the agent stopped: %+v", got)
			})
			if got.Client != wantClient || got.LastSeenUtc == "" {
				t.Errorf("a stopped agent is still listed with its last sight, got %+v", got)
			}
		})
	}
}

// TestAgentsCluster: two nodes on one PostgreSQL each write what they saw;
// either node's listing merges them: the socket held by node b, the Client
// of the latest request, made through node a and then through node b.
func TestAgentsCluster(t *testing.T) {
	dbURL, _ := hubtest.PostgresSchema(t)
	a, b := start(t, onDatabase(dbURL), quickPresence), start(t, onDatabase(dbURL), quickPresence)
	tn := a.tenant("Cluster")
	b.dial(tn)
	if _, err := a.SDK(tn).Devices(context.Background()); err != nil {
		t.Fatal(err)
	}
	listed := func(client string) {
		t.Helper()
		for _, n := range []*env{a, b} {
			hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
				got := agentOf(t, n.Admin, tn.Subscription.Id)
				return got.Sockets == 1 && got.Client == client && got.ConnectedUtc != "",
					fmt.Sprintf("node %s lists %+v, want Client %q and node b's socket", n.Addr(), got, client)
			})
		}
	}
	listed("bellhop tests 1.0")
	if r := b.post("devices/getAll", map[string]string{"ClientToken": tn.ClientToken, "AccessToken": tn.AccessToken, "Client": "POS 2.0"}); r.Status != 200 {
		t.Fatalf("getAll through node b: %d %s", r.Status, r.Body)
	}
	listed("POS 2.0")
}
