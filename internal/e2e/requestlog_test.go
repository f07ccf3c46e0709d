package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestRequestLog: what an integration's test asserts on, through the admin
// SDK and a raw request: the updates of a command in order with their
// bodies, refusals, WebSocket sessions, filters and paging.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	tn, other := e.tenant("Logged"), e.tenant("Other")
	sdk := e.SDK(tn)
	began := time.Now()
	id := e.addPrinter(tn)
	ws := e.dial(tn)
	for _, u := range []client.UpdateRequest{
		{CommandId: id, State: client.StateProcessing, Progress: ptr(0.5)},
		{CommandId: id, State: client.StateProcessed, Notes: ptr("2 copies printed")},
	} {
		if err := sdk.UpdateCommand(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	ws.expect(t, id, bellhop.Processing)
	ws.expect(t, id, bellhop.Processed)
	if r := e.post("commands/update", reqBody(tn, "CommandId", id, "State", "Processing")); r.Status != 400 {
		t.Fatalf("a backward move: %d", r.Status)
	}
	e.post("devices/getAll", map[string]any{"ClientToken": tn.ClientToken, "AccessToken": "WRONG-" + tn.AccessToken[6:]})
	e.post("devices/getAll", reqBody(other))

	// "Processing before Processed, with these Notes": the updates of the
	// command, in the order they came, with their bodies.
	reqs, err := e.Admin.AllRequests(ctx, admin.RequestFilter{CommandId: id, Operation: "commands/update"})
	if err != nil || len(reqs) != 3 {
		t.Fatalf("updates of %s: %+v %v", id, reqs, err)
	}
	var bodies []struct {
		State, Notes string
		Progress     *float64
	}
	for _, r := range reqs {
		var b struct {
			State, Notes string
			Progress     *float64
		}
		if err := r.DecodeBody(&b); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
		if strings.Contains(r.Body, tn.AccessToken) || strings.Contains(r.Body, tn.ClientToken) || !strings.Contains(r.Body, `"AccessToken":"***"`) {
			t.Fatalf("tokens not masked: %s", r.Body)
		}
		if r.IntegrationId != tn.Integration.Id || r.SubscriptionId != tn.Subscription.Id || r.RequestId == "" || r.Client == "" {
			t.Fatalf("entry %+v", r)
		}
	}
	if bodies[0].State != "Processing" || *bodies[0].Progress != 0.5 || bodies[1].State != "Processed" || bodies[1].Notes != "2 copies printed" ||
		reqs[0].Status != 200 || reqs[1].Status != 200 || reqs[2].Status != 400 || reqs[2].Error != "Invalid State" {
		t.Fatalf("the story: %+v %+v", bodies, reqs)
	}
	// Refused tokens are logged without an integration.
	refused, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{Status: 401})
	if len(refused) != 1 || refused[0].IntegrationId != "" || strings.Contains(refused[0].Body, tn.AccessToken[6:]) {
		t.Fatalf("refused tokens: %+v", refused)
	}
	// The socket's session, open, with what it was sent.
	sessions, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{Kind: "websocket", SubscriptionId: tn.Subscription.Id})
	if len(sessions) != 1 || !sessions[0].Open || sessions[0].Status != 101 || sessions[0].Events != 2 { // Processing and Processed
		t.Fatalf("sessions: %+v", sessions)
	}
	// Scoped by subscription, by time, newest first, in pages.
	mine, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{SubscriptionId: tn.Subscription.Id, Kind: "request"})
	if len(mine) != 4 { // addPrinter, two updates, the backward move
		t.Fatalf("the tenant's requests: %d", len(mine))
	}
	if later, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{Since: time.Now().Add(time.Minute)}); len(later) != 0 {
		t.Fatalf("since a minute from now: %d", len(later))
	}
	if since, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{Since: began, SubscriptionId: other.Subscription.Id}); len(since) != 1 {
		t.Fatalf("the other tenant's since the start: %d", len(since))
	}
	var paged []admin.Request
	f := admin.RequestFilter{Newest: true, Limit: 2}
	for {
		page, err := e.Admin.Requests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page.Requests...)
		if page.Cursor == nil {
			break
		}
		f.Cursor = *page.Cursor
	}
	all, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{})
	if len(paged) != len(all) || paged[0].Seq != all[len(all)-1].Seq || paged[len(paged)-1].Seq != all[0].Seq {
		t.Fatalf("newest first in pages of 2: %d entries, want %d reversed", len(paged), len(all))
	}

	// A raw client reads the same.
	r := e.do(http.MethodGet, "/api/admin/v1/requests?commandId="+strings.ToUpper(id)+"&status=4", nil, "Authorization", "Bearer "+e.AdminToken)
	var raw struct {
		Requests []map[string]any
		Cursor   *string
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &raw) != nil || len(raw.Requests) != 1 || raw.Requests[0]["Status"] != 400.0 || raw.Cursor != nil {
		t.Fatalf("raw: %d %s", r.Status, r.Body)
	}
	for _, q := range []string{"status=7", "operation=commands/delete", "kind=socket", "limit=5000", "order=random", "cursor=x", "since=yesterday",
		"integrationId=nope"} {
		if r := e.do(http.MethodGet, "/api/admin/v1/requests?"+q, nil, "Authorization", "Bearer "+e.AdminToken); r.Status != 400 {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
	if r := e.do(http.MethodGet, "/api/admin/v1/requests", nil); r.Status != 401 {
		t.Fatalf("without the admin token: %d", r.Status)
	}
	// Closing the socket ends its session in the log.
	ws.conn.CloseNow()
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		s, _ := e.Admin.AllRequests(ctx, admin.RequestFilter{Kind: "websocket", SubscriptionId: tn.Subscription.Id})
		return len(s) == 1 && !s[0].Open && s[0].ClosedUtc != "", "the session is still open"
	})
}
