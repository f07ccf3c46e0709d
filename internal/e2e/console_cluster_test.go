package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

func withConsole(c *node.Config) { c.Console = true }

// TestClusterConsoleSession: a person signs in to the console through one
// node and goes on through the other, as a load balancer without sticky
// sessions would send them; a role change and a sign-out made through one
// node apply on the other at once.
func TestClusterConsoleSession(t *testing.T) {
	dbURL, _ := hubtest.PostgresSchema(t)
	a, b := start(t, onDatabase(dbURL), withConsole), start(t, onDatabase(dbURL), withConsole)
	tn := a.tenant("Cluster")
	ctx := context.Background()
	id := a.addPrinter(tn)
	const pw = "front desk password"
	u, _, err := a.Service.AddUser(ctx, hub.TokenActor("test", ""), "Vera", bellhop.Viewer, pw)
	if err != nil {
		t.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The jar keys cookies by host: both nodes are 127.0.0.1, so the
	// cookie set by a goes to b as a browser's would behind one address.
	do := func(base, method, path string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}

	status, loc, _ := do(a.PlatformAddress(), "POST", "/signin", url.Values{"name": {"vera"}, "password": {pw}})
	if status != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign in on node a: %d %q", status, loc)
	}
	status, _, page := do(b.PlatformAddress(), "GET", "/commands/"+id, nil)
	if status != http.StatusOK || !strings.Contains(page, "vera · viewer") {
		t.Fatalf("the session on node b: %d, want the command page for vera", status)
	}
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on node b's page")
	}
	csrf := m[1]
	cancel := url.Values{"csrf": {csrf}, "notes": {"wrong guest"}}
	if status, _, _ := do(b.PlatformAddress(), "POST", "/commands/"+id+"/cancel", cancel); status != http.StatusForbidden {
		t.Fatalf("a viewer cancels on node b: %d, want 403", status)
	}
	if _, err := a.Service.SetRole(ctx, hub.TokenActor("test", ""), u.ID, bellhop.Operator); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := do(b.PlatformAddress(), "POST", "/commands/"+id+"/cancel", cancel); status != http.StatusSeeOther {
		t.Fatalf("an operator (role changed through node a) cancels on node b: %d", status)
	}
	v, _, err := a.Service.Command(ctx, id)
	if err != nil || v.State != bellhop.Cancelled {
		t.Fatalf("after the cancel through node b: %v %v", v.State, err)
	}
	base, _ := url.Parse(a.PlatformAddress())
	kept := jar.Cookies(base)
	if status, _, _ := do(b.PlatformAddress(), "POST", "/signout", url.Values{"csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("sign out on node b: %d", status)
	}
	// The browser forgets its cookie on sign-out; a copy kept by a thief
	// must not work on the other node either.
	if len(kept) == 0 {
		t.Fatal("no session cookie")
	}
	jar.SetCookies(base, kept)
	if status, loc, _ := do(a.PlatformAddress(), "GET", "/", nil); status != http.StatusSeeOther || loc != "/signin" {
		t.Fatalf("node a after signing out on node b: %d %q, want a redirect to sign in", status, loc)
	}
}
