package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/node"
)

// TestAdvanceTime tests the 24 h and 15 min expiry paths and retention in
// seconds, through the admin client and a raw request, as an integration
// sees them: the SDK reads the states, a raw socket gets the events.
func TestAdvanceTime(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *node.Config) { c.DevTime = true })
	ctx := context.Background()
	tn, other := e.tenant("Moved"), e.tenant("Still")
	sdk := e.SDK(tn)
	waiting, working, done := e.addPrinter(tn), e.addPrinter(tn), e.addPrinter(tn)
	untouched := e.addPrinter(other)
	if err := sdk.UpdateCommand(ctx, client.UpdateRequest{CommandId: working, State: client.StateProcessing}); err != nil {
		t.Fatal(err)
	}
	if err := sdk.UpdateCommand(ctx, client.UpdateRequest{CommandId: done, State: client.StateProcessed}); err != nil {
		t.Fatal(err)
	}
	ws := e.dial(tn)

	// 15 minutes and a second: the Processing command fails, nothing else.
	adv, err := e.Admin.AdvanceTime(ctx, tn.Enterprise.Id, 15*time.Minute+time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if adv.Commands != 3 || adv.Swept.Failed != 1 || adv.Swept.Cancelled != 0 {
		t.Fatalf("after 15 min: %+v", adv)
	}
	ws.expect(t, working, bellhop.Failed)
	// (Reading marks the waiting one Received: still waiting.)
	cmds, err := sdk.CommandsByIds(ctx, []string{waiting, working})
	if err != nil || len(cmds) != 2 || cmds[0].State != client.StateReceived || cmds[1].State != client.StateError {
		t.Fatalf("states %v (%v)", states(cmds), err)
	}
	ws.expect(t, waiting, bellhop.Received)
	got, _ := e.Admin.Command(ctx, working)
	if !strings.HasPrefix(got.Notes, "Expired: no progress reported for 15m0s") {
		t.Fatalf("notes %q", got.Notes)
	}

	// A day, by a raw request: the waiting one is Cancelled; the other
	// enterprise's waits on.
	r := e.do(http.MethodPost, "/api/admin/v1/enterprises/"+tn.Enterprise.Id+"/time", []byte(`{"Advance":"24h"}`),
		"Authorization", "Bearer "+e.AdminToken)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"Cancelled":1`) {
		t.Fatalf("advance a day: %d %s", r.Status, r.Body)
	}
	ws.expect(t, waiting, bellhop.Cancelled)
	if st := e.commandState(untouched); st != client.StatePending {
		t.Fatalf("the other enterprise's command: %s", st)
	}
	// Past the retention (30 days), every final command of the enterprise
	// is deleted; the other's stays.
	adv, err = e.Admin.AdvanceTime(ctx, tn.Enterprise.Id, 31*24*time.Hour)
	if err != nil || adv.Swept.Purged != 3 {
		t.Fatalf("a month: %+v %v", adv, err)
	}
	if cmds, err := sdk.CommandsByIds(ctx, []string{waiting, working, done}); err != nil || len(cmds) != 0 {
		t.Fatalf("after retention: %v %v", states(cmds), err)
	}
	if st := e.commandState(untouched); st != client.StatePending {
		t.Fatalf("the other enterprise's command after a month: %s", st)
	}
	// Bad moves change nothing.
	for _, body := range []string{`{"Advance":"-1h"}`, `{"Advance":"soon"}`, `{"Advance":"100000h"}`} {
		if r := e.do(http.MethodPost, "/api/admin/v1/enterprises/"+tn.Enterprise.Id+"/time", []byte(body),
			"Authorization", "Bearer "+e.AdminToken); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	if _, err := e.Admin.AdvanceTime(ctx, bellhop.NewID(), time.Hour); client.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("unknown enterprise: %v", err)
	}
	audit, _ := e.Admin.Audit(ctx, "", 1)
	if len(audit.Entries) != 1 || audit.Entries[0].Action != bellhop.AuditTimeMoved {
		t.Fatalf("audit %+v", audit.Entries)
	}
}

// TestTimeStandsStillOutsideDev: a hub not started with --dev refuses.
func TestTimeStandsStillOutsideDev(t *testing.T) {
	t.Parallel()
	e := start(t)
	tn := e.tenant("Prod")
	id := e.addPrinter(tn)
	_, err := e.Admin.AdvanceTime(context.Background(), tn.Enterprise.Id, 48*time.Hour)
	if client.StatusCode(err) != http.StatusForbidden || !strings.Contains(err.Error(), "serve --dev") {
		t.Fatalf("advance on a production hub: %v", err)
	}
	if r := e.Sweep(t); r.Cancelled != 0 || e.commandState(id) != client.StatePending {
		t.Fatalf("a refused move changed something: %+v", r)
	}
}

func states(cmds []client.Command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Id+" "+string(c.State))
	}
	return out
}
