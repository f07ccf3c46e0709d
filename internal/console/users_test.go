package console

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

// as returns a second browser on the same console, signed in as a new user
// with this role.
func (e *env) as(name string, role bellhop.Role) *env {
	e.t.Helper()
	const pw = "a long enough password"
	if _, _, err := e.svc.AddUser(context.Background(), hub.TokenActor("test", ""), name, role, pw); err != nil {
		e.t.Fatal(err)
	}
	return e.browser(name, pw)
}

// browser signs in with a name and password in a fresh cookie jar.
func (e *env) browser(name, password string) *env {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	u := *e
	u.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	u.csrf = ""
	r := u.post("/signin", url.Values{"name": {name}, "password": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		e.t.Fatalf("sign in as %s: %d %s", name, r.status, r.body)
	}
	m := csrfRe.FindStringSubmatch(u.get("/").body)
	if m == nil {
		e.t.Fatalf("no CSRF token on the queue page of %s", name)
	}
	u.csrf = m[1]
	return &u
}

// snapshot is everything a console form can change, as JSON.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var parts []any
	add := func(v any, err error) {
		if err != nil {
			e.t.Fatal(err)
		}
		parts = append(parts, v)
	}
	cmds, _, err := e.svc.ListCommands(ctx, bellhop.CommandFilter{}, nil)
	add(cmds, err)
	add(e.svc.ListDevices(ctx, ""))
	add(e.svc.Enterprises(ctx))
	add(e.svc.Integrations(ctx))
	subs, err := e.svc.Subscriptions(ctx, "")
	add(subs, err)
	for _, s := range subs {
		add(e.svc.ConnectedDevices(ctx, s.ID))
	}
	add(e.svc.Users(ctx))
	b, _ := json.Marshal(parts)
	return string(b)
}

// TestRoles tries every page and form of the console with every role that
// is below what it needs: each must answer 403 and change nothing. Hiding a
// button is not the rule; the server is.
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ctx := context.Background()
	ent := e.enterprise("Hotel")
	dev := e.device(ent, bellhop.Printer, "Printer")
	integ, _, err := e.svc.CreateIntegration(ctx, "Vendor")
	if err != nil {
		t.Fatal(err)
	}
	sub, _, err := e.svc.CreateSubscription(ctx, integ.ID, []string{ent})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Connect(ctx, sub.ID, dev.ID); err != nil {
		t.Fatal(err)
	}
	cmd := e.sendTest(dev.ID, nil)
	victim, _, err := e.svc.AddUser(ctx, hub.TokenActor("test", ""), "victim", bellhop.Viewer, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	browsers := map[bellhop.Role]*env{bellhop.Viewer: e.as("vera", bellhop.Viewer), bellhop.Operator: e.as("otto", bellhop.Operator)}
	// A form as a browser would fill it, so that only the role stops it.
	form := url.Values{"device": {dev.ID}, "name": {"New thing"}, "enterprise": {ent}, "integration": {integ.ID}, "type": {"Printer"},
		"role": {"admin"}, "password": {"another long password"}, "again": {"another long password"}, "current": {"a long enough password"},
		"notes": {"no"}, "kind": {"refuse"}, "rate": {"1"}}
	before := e.snapshot()
	tried := 0
	for _, rt := range routes(&server{}) {
		method, pattern, _ := strings.Cut(rt.pattern, " ")
		path := strings.ReplaceAll(pattern, "{$}", "")
		for prefix, id := range map[string]string{"/commands/": cmd, "/devices/": dev.ID, "/subscriptions/": sub.ID, "/users/": victim.ID} {
			if strings.HasPrefix(path, prefix) {
				path = strings.ReplaceAll(path, "{id}", id)
			}
		}
		for role, b := range browsers {
			if role.Allows(rt.role) {
				continue
			}
			tried++
			var r response
			if method == "POST" {
				r = b.post(path, maps.Clone(form))
			} else {
				r = b.get(path)
			}
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "does not allow") {
				t.Errorf("%s %s as %s: %d, want 403 saying the role does not allow it: %.300s", method, path, role, r.status, r.body[strings.Index(r.body, "<main"):])
			}
		}
	}
	if tried < 20 {
		t.Fatalf("only %d refusals tried", tried)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("refused requests changed the hub:\nbefore %s\nafter  %s", before, after)
	}
	if fs := e.svc.Faults(); len(fs) != 0 {
		t.Fatalf("a viewer or operator set a fault: %+v", fs)
	}

	// What a viewer may see, without the buttons it may not use.
	v := browsers[bellhop.Viewer]
	for _, p := range []string{"/", "/commands/" + cmd, "/devices", "/health", "/account"} {
		if r := v.get(p); r.status != http.StatusOK {
			t.Fatalf("viewer GET %s: %d", p, r.status)
		}
	}
	for _, p := range []string{"/", "/commands/" + cmd, "/devices"} {
		body := v.get(p).body
		for _, action := range []string{"/cancel", "/resend", "/delete", `action="/devices"`, `href="/test`, `href="/integrations"`, `href="/users"`} {
			if strings.Contains(body, action) {
				t.Errorf("viewer's %s shows %s", p, action)
			}
		}
	}
	o := browsers[bellhop.Operator]
	if body := o.get("/commands/" + cmd).body; !strings.Contains(body, "/cancel") || !strings.Contains(body, "/resend") {
		t.Error("the operator's command page has no cancel or resend")
	}
	if r := o.post("/commands/"+cmd+"/cancel", url.Values{"notes": {"by the operator"}}); r.status != http.StatusSeeOther {
		t.Fatalf("operator cancels: %d %s", r.status, r.body)
	}
	got, _, _ := e.svc.Command(ctx, cmd)
	if got.State != bellhop.Cancelled {
		t.Fatalf("after the operator's cancel: %s", got.State)
	}
}

var passwordRe = regexp.MustCompile(`id="new-password" class="mono token" readonly value="([0-9a-f]{32})"`)

// TestUsers is an admin's day: add a user without typing a password, see it
// once, the user signs in; a role change applies to the open session; a
// removed user is signed out; the audit page lists it all.
func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	if r := e.get("/users"); r.status != http.StatusOK || !strings.Contains(r.body, "No users yet") {
		t.Fatalf("users page: %d", r.status)
	}
	r := e.post("/users", url.Values{"name": {"Anna"}, "role": {"viewer"}})
	m := passwordRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("add a user: %d, want the generated password on the page: %s", r.status, r.body)
	}
	if strings.Contains(r.header.Get("Location"), m[1]) || strings.Contains(e.logs.String(), m[1]) {
		t.Fatal("the generated password left the page")
	}
	if r := e.get("/users"); strings.Contains(r.body, m[1]) {
		t.Fatal("the password is shown again")
	}
	if r := e.post("/users", url.Values{"name": {"anna"}, "role": {"admin"}, "password": {"something long enough"}}); !strings.Contains(e.get("/users").body, "exists already") && r.status != http.StatusSeeOther {
		t.Fatalf("a taken name: %d", r.status)
	}
	if r := e.post("/users", url.Values{"name": {"bob"}, "role": {"admin"}, "password": {"short"}}); r.status != http.StatusSeeOther {
		t.Fatalf("a short password: %d", r.status)
	} else if body := e.get("/users").body; !strings.Contains(body, "Invalid Password") || strings.Contains(body, ">bob<") {
		t.Fatal("a short password: no error shown, or the user was added")
	}

	anna := e.browser("anna", m[1])
	if r := anna.get("/test"); r.status != http.StatusForbidden {
		t.Fatalf("viewer GET /test: %d", r.status)
	}
	users, _ := e.svc.Users(context.Background())
	var id string
	for _, u := range users {
		if u.Name == "anna" {
			id = u.ID
		}
	}
	if r := e.post("/users/"+id+"/role", url.Values{"role": {"operator"}}); r.status != http.StatusSeeOther {
		t.Fatalf("change role: %d", r.status)
	}
	if r := anna.get("/test"); r.status != http.StatusOK {
		t.Fatalf("operator GET /test after the role change: %d", r.status)
	}
	// Her own password, with a wrong current one first.
	if r := anna.post("/account/password", url.Values{"current": {"nope"}, "password": {"the new password"}, "again": {"the new password"}}); r.status != http.StatusSeeOther {
		t.Fatalf("change password: %d", r.status)
	} else if !strings.Contains(anna.get("/account").body, "Invalid current password") {
		t.Fatal("a wrong current password: no error")
	}
	if r := anna.post("/account/password", url.Values{"current": {m[1]}, "password": {"the new password"}, "again": {"the new password"}}); r.status != http.StatusSeeOther {
		t.Fatalf("change password: %d", r.status)
	}
	e.browser("anna", "the new password")

	if r := e.post("/users/"+id+"/remove", nil); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if r := anna.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("a removed user's browser: %d %q, want a redirect to sign in", r.status, r.header.Get("Location"))
	}
	if r := anna.post("/signin", url.Values{"name": {"anna"}, "password": {"the new password"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("a removed user signs in: %d", r.status)
	}

	audit := e.get("/audit").body
	for _, want := range []string{"user added", "role changed", "viewer → operator", "password changed", "user removed", "sign-in refused", "admin token tester"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit page lacks %q", want)
		}
	}
}
