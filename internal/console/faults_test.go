package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/reqlog"
)

// TestFaultsPage is an admin setting a fault from the console: the form,
// the banner every page then shows (to every role), what fired, clearing.
func TestFaultsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ctx := context.Background()
	ent := e.enterprise("Hotel")
	integ, _, err := e.svc.CreateIntegration(ctx, "Lock <vendor>")
	if err != nil {
		t.Fatal(err)
	}
	sub, _, err := e.svc.CreateSubscription(ctx, integ.ID, []string{ent})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.get("/faults"); r.status != http.StatusOK || !strings.Contains(r.body, "No fault is set") || strings.Contains(r.body, "fault-banner") {
		t.Fatalf("faults page with none: %d", r.status)
	}
	// The scope choices name integrations, escaped.
	if body := e.get("/faults").body; !strings.Contains(body, "Integration Lock &lt;vendor&gt;") || !strings.Contains(body, `value="subscription:`+sub.ID+`"`) {
		t.Fatalf("scopes missing from the form")
	}
	bad := e.post("/faults", url.Values{"kind": {"refuse"}, "rate": {"150%"}})
	if bad.status != http.StatusSeeOther || !strings.Contains(e.get("/faults").body, "Invalid Rate") || len(e.svc.Faults()) != 0 {
		t.Fatalf("a rate of 150%%: %d, faults %v", bad.status, e.svc.Faults())
	}
	r := e.post("/faults", url.Values{"kind": {"refuse"}, "scope": {"subscription:" + sub.ID}, "rate": {"25%"}, "seed": {"7"},
		"op": {"commands/update", "commands/getAllActive"}, "status": {"429"}, "delay": {"3s"}, "times": {"2"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("set: %d %s", r.status, r.body)
	}
	fs := e.svc.Faults()
	if len(fs) != 1 {
		t.Fatalf("faults %+v", fs)
	}
	f := fs[0]
	if f.SubscriptionID != sub.ID || f.Rate != 0.25 || f.Seed != 7 || f.Status != 429 || f.Times != 2 || len(f.Operations) != 2 {
		t.Fatalf("set %+v", f)
	}
	page := e.get("/faults").body
	for _, want := range []string{"Fault set: refuse at rate 0.25, seed 7", "To replay it: refuse,rate=0.25,seed=7,subscription=" + sub.ID + ",ops=commands/update", "Nothing fired yet", "1 fault set:"} {
		if !strings.Contains(page, want) {
			t.Errorf("faults page lacks %q", want)
		}
	}
	// Every page, for every role, says that the hub fails on purpose; only
	// admins get the link.
	viewer := e.as("vera", bellhop.Viewer)
	if body := viewer.get("/").body; !strings.Contains(body, "1 fault set:") || strings.Contains(body, `href="/faults"`) {
		t.Fatalf("viewer's queue: banner or link wrong")
	}
	if r := viewer.get("/faults"); r.status != http.StatusForbidden {
		t.Fatalf("viewer on /faults: %d", r.status)
	}
	// It fires; the page shows what it did.
	for range 20 {
		e.svc.Faults() // keep the race detector honest about readers
		if d, ok := faultsOf(e).ForRequest(fault.Request{SubscriptionID: sub.ID, IntegrationID: integ.ID, Operation: "commands/update", RequestID: "req-1"}); ok && d.Status != 429 {
			t.Fatalf("decision %+v", d)
		}
	}
	page = e.get("/faults").body
	if !strings.Contains(page, "answered 429 without carrying it out") || !strings.Contains(page, "req-1") || !strings.Contains(page, "spent") {
		t.Fatalf("what fired is not shown")
	}
	if r := e.post("/faults/"+f.ID+"/clear", nil); r.status != http.StatusSeeOther || len(e.svc.Faults()) != 0 {
		t.Fatalf("clear: %d %v", r.status, e.svc.Faults())
	}
	if strings.Contains(e.get("/").body, "fault-banner") {
		t.Fatal("the banner stays after the fault is cleared")
	}
	// The audit page lists both.
	audit := e.get("/audit").body
	if !strings.Contains(audit, "fault set") || !strings.Contains(audit, "fault cleared") {
		t.Fatal("the audit page does not list the fault")
	}
}

// faultsOf reaches the injector behind the service, as the adapters would.
func faultsOf(e *env) *fault.Injector { return e.faults }

var tokenLike = regexp.MustCompile(`[0-9A-F]{32}-[0-9A-F]{31}`)

// TestRequestsPage shows the request log, filtered, with masked bodies.
func TestRequestsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{PageSize: 2})
	e.signIn()
	ctx := context.Background()
	ent := e.enterprise("Hotel")
	integ, ct, _ := e.svc.CreateIntegration(ctx, "Vendor")
	sub, at, _ := e.svc.CreateSubscription(ctx, integ.ID, []string{ent})
	cmd := bellhop.NewID()
	body := []byte(`{"ClientToken":"` + ct + `","AccessToken":"` + at + `","CommandId":"` + cmd + `","State":"Processed","Notes":"<b>done</b>"}`)
	for i, op := range []string{"commands/update", "devices/getAll", "commands/update"} {
		e.requests.Add(&reqlog.Entry{Kind: reqlog.KindRequest, Utc: e.requests.Now(), Operation: op, IntegrationID: integ.ID,
			SubscriptionID: sub.ID, Status: []int{200, 200, 400}[i], RequestID: "req-" + op, CommandIDs: []string{cmd},
			Body: e.requests.Body(body, ct, at), BodySize: len(body)})
	}
	viewer := e.as("vera", bellhop.Viewer)
	page := viewer.get("/requests?operation=commands/update&status=4xx")
	if page.status != http.StatusOK {
		t.Fatalf("requests page: %d", page.status)
	}
	if !strings.Contains(page.body, "Vendor") || !strings.Contains(page.body, `"State":"Processed"`) && !strings.Contains(page.body, `&#34;State&#34;:&#34;Processed&#34;`) {
		t.Fatalf("the entry is not shown: %s", page.body[strings.Index(page.body, "<main"):])
	}
	if strings.Contains(page.body, "<b>done</b>") || tokenLike.MatchString(page.body) || strings.Contains(page.body, ct) {
		t.Fatal("the body is not escaped or a token shows")
	}
	if strings.Count(page.body, "<tr><td data-label=\"When\">") != 1 {
		t.Fatal("the filter did not apply")
	}
	// Two per page: the older page continues.
	all := viewer.get("/requests").body
	if !strings.Contains(all, "Older requests") {
		t.Fatal("no pager")
	}
	if r := viewer.get("/requests?command=" + cmd); r.status != http.StatusOK || !strings.Contains(r.body, "/commands/"+cmd) {
		t.Fatal("the command filter")
	}
}

// TestGenericDevicePages: an admin adds a PBX from the devices page, lets a
// subscription see generic devices, connects it and sends it a test
// command with Data of its own.
func TestGenericDevicePages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ctx := context.Background()
	ent := e.enterprise("Hotel")
	integ, _, _ := e.svc.CreateIntegration(ctx, "PBX vendor")
	sub, _, _ := e.svc.CreateSubscription(ctx, integ.ID, []string{ent})
	if r := e.post("/devices", url.Values{"enterprise": {ent}, "type": {"Other"}, "type_label": {"pbx-2"}, "name": {"Bad"}}); r.status != http.StatusSeeOther ||
		!strings.Contains(e.get("/devices").body, "Invalid Type") {
		t.Fatalf("a bad label: %d", r.status)
	}
	if r := e.post("/devices", url.Values{"enterprise": {ent}, "type": {"Other"}, "type_label": {"Pbx"}, "name": {"Lobby PBX"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add a Pbx: %d %s", r.status, r.body)
	}
	devs, _ := e.svc.ListDevices(ctx, ent)
	if len(devs) != 1 || devs[0].Type != "Pbx" {
		t.Fatalf("devices %+v", devs)
	}
	pbx := devs[0]
	// Not offered to a subscription that does not see generic devices.
	if body := e.get("/integrations").body; strings.Contains(body, `<option value="`+pbx.ID+`">`) {
		t.Fatal("the Pbx is offered to a Mews-only subscription")
	}
	if r := e.post("/subscriptions/"+sub.ID+"/generic", url.Values{"on": {"true"}}); r.status != http.StatusSeeOther {
		t.Fatalf("see generic devices: %d", r.status)
	}
	if body := e.get("/integrations").body; !strings.Contains(body, `<option value="`+pbx.ID+`">`) || !strings.Contains(body, "sees generic devices") {
		t.Fatal("the Pbx is not offered once the subscription sees generic devices")
	}
	if r := e.post("/subscriptions/"+sub.ID+"/connect", url.Values{"device": {pbx.ID}}); r.status != http.StatusSeeOther {
		t.Fatalf("connect: %d", r.status)
	}
	if r := e.post("/subscriptions/"+sub.ID+"/generic", url.Values{"on": {"false"}}); r.status != http.StatusSeeOther ||
		!strings.Contains(e.get("/integrations").body, "disconnect Lobby PBX") {
		t.Fatalf("opting out with a Pbx connected was not refused: %d", r.status)
	}
	id := e.sendTest(pbx.ID, url.Values{"data": {`{"Extension":"101","Action":"WakeUpCall"}`}})
	v, _, err := e.svc.Command(ctx, id)
	if err != nil || string(v.Data) != `{"Extension":"101","Action":"WakeUpCall"}` {
		t.Fatalf("test command %s: %v", v.Data, err)
	}
	if r := e.post("/test", url.Values{"device": {pbx.ID}, "data": {"[1,2]"}}); r.status != http.StatusSeeOther ||
		!strings.Contains(e.get("/test?device="+pbx.ID).body, "Invalid Data") {
		t.Fatal("Data that is no JSON object was not refused")
	}
	if body := e.get("/commands/" + id).body; !strings.Contains(body, "Pbx") || !strings.Contains(body, "WakeUpCall") {
		t.Fatal("the command page does not show the Pbx command")
	}
}
