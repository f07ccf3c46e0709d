package console

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/pdf"
	"github.com/bellhop/bellhop/internal/reqlog"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// fakeLive is a Live whose events the test pushes.
type fakeLive struct {
	mu        sync.Mutex
	listeners []chan []bellhop.Event
	lag       bool
	sockets   map[string]int
	listening chan struct{}
}

func (f *fakeLive) Listen(n int) (<-chan []bellhop.Event, func() bool, func()) {
	c := make(chan []bellhop.Event, n)
	f.mu.Lock()
	f.listeners = append(f.listeners, c)
	f.mu.Unlock()
	if f.listening != nil {
		f.listening <- struct{}{}
	}
	lagged := func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		l := f.lag
		f.lag = false
		return l
	}
	return c, lagged, func() {}
}

func (f *fakeLive) publish(lagged bool, events ...bellhop.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lag = lagged
	for _, c := range f.listeners {
		c <- events
	}
}

func (f *fakeLive) SocketsBySubscription() map[string]int { return f.sockets }

// env is a console over a real SQLite store, served by httptest, and a
// browser-like client with a cookie jar.
type env struct {
	t      testing.TB
	svc    *hub.Service
	live   *fakeLive
	srv    *httptest.Server
	client *http.Client
	token  string
	logs   *syncBuffer
	csrf   string
	// faults and requests are the service's, for tests that act as the
	// adapters would.
	faults   *fault.Injector
	requests *reqlog.Log
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "bellhop.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	faults, requests := fault.New(nil), reqlog.New(reqlog.Config{})
	svc, err := hub.New(hub.Config{Faults: faults, Requests: requests}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := bellhop.NewToken()
	if err := st.CreateAdminToken(ctx, "tester", bellhop.HashToken(token)); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	live := &fakeLive{sockets: map[string]int{}}
	srv := httptest.NewServer(New(cfg, svc, live))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{t: t, svc: svc, live: live, srv: srv, client: client, token: token, logs: logs, faults: faults, requests: requests}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (e *env) get(path string) response {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.do(req)
}

// post submits a form as a same-origin browser would: with the session's
// CSRF token (unless form sets its own) and an Origin header.
func (e *env) post(path string, form url.Values) response {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && e.csrf != "" {
		form.Set("csrf", e.csrf)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	return e.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

func (e *env) signIn() {
	e.t.Helper()
	r := e.post("/signin", url.Values{"token": {e.token}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		e.t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	page := e.get("/")
	m := csrfRe.FindStringSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("no CSRF token on the queue page: %s", page.body)
	}
	e.csrf = m[1]
}

func (e *env) enterprise(name string) string {
	e.t.Helper()
	ent, err := e.svc.CreateEnterprise(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return ent.ID
}

func (e *env) device(entID string, typ bellhop.DeviceType, name string) *bellhop.Device {
	e.t.Helper()
	d := &bellhop.Device{EnterpriseID: entID, Type: typ, Name: name, Config: bellhop.DeviceConfig{
		FiscalMachineID: "FM-1", TaxIdentifier: "123", ApiUrl: "http://127.0.0.1:1/fiscal"}}
	if typ != bellhop.FiscalMachine {
		d.Config = bellhop.DeviceConfig{}
	}
	if err := e.svc.CreateDevice(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

var commandRe = regexp.MustCompile(`^/commands/([0-9a-f-]{36})$`)

// sendTest sends a test command through the form and returns its id.
func (e *env) sendTest(deviceID string, extra url.Values) string {
	e.t.Helper()
	form := url.Values{"device": {deviceID}}
	for k, v := range extra {
		form[k] = v
	}
	r := e.post("/test", form)
	m := commandRe.FindStringSubmatch(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || m == nil {
		e.t.Fatalf("send test: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	return m[1]
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{SignInFailures: 3, SignInWindow: time.Hour})

	r := e.get("/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("GET / signed out: %d %q, want a redirect to /signin", r.status, r.header.Get("Location"))
	}
	for i := 0; i < 3; i++ {
		r = e.post("/signin", url.Values{"token": {"WRONG-" + strconv.Itoa(i)}})
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "not valid") {
			t.Fatalf("wrong token %d: %d, want 401 with a message", i, r.status)
		}
		if r.header.Get("Set-Cookie") != "" {
			t.Fatalf("wrong token set a cookie: %q", r.header.Get("Set-Cookie"))
		}
	}
	// Throttled now, even with the right token: the attacker must not learn
	// from the answer whether a guess was right.
	r = e.post("/signin", url.Values{"token": {e.token}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: %d Retry-After=%q, want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if strings.Contains(e.logs.String(), "WRONG-") || strings.Contains(e.logs.String(), e.token) {
		t.Fatalf("a token reached the log:\n%s", e.logs.String())
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	r := e.post("/signin", url.Values{"token": {e.token}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.status)
	}
	c := parseCookie(t, r.header.Get("Set-Cookie"))
	if c.Name != cookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Fatalf("cookie %+v: want %s, HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c, cookieName)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(c.Value) || strings.Contains(c.Value, e.token) {
		t.Fatalf("cookie value %q: want 256 random bits in hex", c.Value)
	}
	if r := e.get("/"); r.status != http.StatusOK {
		t.Fatalf("GET / signed in: %d", r.status)
	}

	// Over TLS the cookie is Secure.
	h := New(Config{Logger: slog.New(slog.DiscardHandler)}, e.svc, nil)
	req := httptest.NewRequest("POST", "https://console.example/signin", strings.NewReader("token="+url.QueryEscape(e.token)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if c := parseCookie(t, w.Header().Get("Set-Cookie")); !c.Secure {
		t.Fatalf("cookie over TLS %+v: want Secure", c)
	}

	// Signing out ends the session on the server, not only in the browser.
	e.signIn()
	old := e.client.Jar.Cookies(mustURL(e.srv.URL))
	if r := e.post("/signout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/queue/rows", nil)
	req.Header.Set("X-Requested-With", "fetch")
	for _, c := range old {
		req.AddCookie(c)
	}
	if r := e.do(req); r.status != http.StatusUnauthorized {
		t.Fatalf("old cookie after sign-out: %d, want 401", r.status)
	}
}

func parseCookie(t *testing.T, header string) *http.Cookie {
	t.Helper()
	c, err := http.ParseSetCookie(header)
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", header, err)
	}
	return c
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	for _, path := range []string{"/signin", "/static/console.css"} {
		r := e.get(path)
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s %s = %q, want %q", path, k, got, want)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s CSP %q: want default-src 'self' and no unsafe-inline", path, csp)
		}
	}
	// No inline script anywhere, so the CSP can forbid it.
	e.signIn()
	for _, path := range []string{"/", "/devices", "/agents", "/integrations", "/test", "/health"} {
		r := e.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.status)
		}
		if n := strings.Count(r.body, "<script"); n != 1 || !strings.Contains(r.body, `<script src="/static/console.js" defer></script>`) {
			t.Errorf("%s: %d script tags, want only the static one", path, n)
		}
		if strings.Contains(r.body, " style=") || strings.Contains(r.body, " onclick=") {
			t.Errorf("%s: inline style or handler, which the CSP blocks", path)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, r.header.Get("Cache-Control"))
		}
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	form := func(csrf string) url.Values { return url.Values{"name": {"Hotel"}, "csrf": {csrf}} }

	if r := e.post("/enterprises", url.Values{"name": {"Hotel"}, "csrf": nil}); r.status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d, want 403", r.status)
	}
	if r := e.post("/enterprises", form(strings.Repeat("0", 64))); r.status != http.StatusForbidden {
		t.Errorf("wrong CSRF token: %d, want 403", r.status)
	}
	cross := func(header, value string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/enterprises", strings.NewReader(form(e.csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(header, value)
		return e.do(req).status
	}
	if s := cross("Origin", "https://evil.example"); s != http.StatusForbidden {
		t.Errorf("cross-origin Origin with the right token: %d, want 403", s)
	}
	if s := cross("Sec-Fetch-Site", "cross-site"); s != http.StatusForbidden {
		t.Errorf("Sec-Fetch-Site cross-site: %d, want 403", s)
	}
	if s := cross("Referer", "https://evil.example/page"); s != http.StatusForbidden {
		t.Errorf("cross-site Referer: %d, want 403", s)
	}
	if s := cross("Origin", "null"); s != http.StatusForbidden {
		t.Errorf("Origin null: %d, want 403", s)
	}
	if ents, _ := e.svc.Enterprises(context.Background()); len(ents) != 0 {
		t.Fatalf("a refused form created %d enterprises", len(ents))
	}
	if r := e.post("/enterprises", form(e.csrf)); r.status != http.StatusSeeOther {
		t.Fatalf("same-origin form with the token: %d, want 303", r.status)
	}
	if ents, _ := e.svc.Enterprises(context.Background()); len(ents) != 1 {
		t.Fatalf("enterprises: %d, want 1", len(ents))
	}
}

func TestEverythingEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	const evil = `<script>alert(1)</script>`
	const escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`
	if r := e.post("/enterprises", url.Values{"name": {evil + " Hotel"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create enterprise: %d", r.status)
	}
	ents, _ := e.svc.Enterprises(context.Background())
	r := e.post("/devices", url.Values{"enterprise": {ents[0].ID}, "type": {"Printer"}, "name": {evil},
		"identifier": {`"><img src=x onerror=alert(2)>`}, "printer_name": {evil}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create device: %d %s", r.status, r.body)
	}
	// The flash message on the next page carries the name too.
	devices := e.get("/devices")
	devs, _ := e.svc.ListDevices(context.Background(), "")
	if len(devs) != 1 || devs[0].Name != evil {
		t.Fatalf("devices %+v", devs)
	}
	id := e.sendTest(devs[0].ID, nil)
	integ := e.post("/integrations", url.Values{"name": {evil}})
	for name, body := range map[string]string{"devices": devices.body, "queue": e.get("/").body,
		"command": e.get("/commands/" + id).body, "test": e.get("/test").body, "health": e.get("/health").body, "integrations": integ.body} {
		if strings.Contains(body, evil) || strings.Contains(body, "<img src=x") {
			t.Errorf("%s page contains the raw markup", name)
		}
		if !strings.Contains(body, escaped) {
			t.Errorf("%s page lacks the escaped name %s", name, escaped)
		}
	}
}

func TestPDF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ent := e.enterprise("Hotel")
	printer := e.device(ent, bellhop.Printer, "Printer")
	fiscal := e.device(ent, bellhop.FiscalMachine, "Fiscal")

	id := e.sendTest(printer.ID, url.Values{"copies": {"2"}})
	page := e.get("/commands/" + id)
	if !strings.Contains(page.body, `href="/commands/`+id+`/pdf"`) {
		t.Fatalf("command page has no PDF link:\n%s", page.body)
	}
	r := e.get("/commands/" + id + "/pdf")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), "inline") {
		t.Fatalf("PDF: %d %q %q", r.status, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
	}
	checkPDF(t, []byte(r.body))

	// A command without a PDF answers 404, and HTML smuggled in as "PDF"
	// data is never served.
	if r := e.get("/commands/" + e.sendTest(fiscal.ID, nil) + "/pdf"); r.status != http.StatusNotFound {
		t.Errorf("PDF of a fiscal command: %d, want 404", r.status)
	}
	html := base64.StdEncoding.EncodeToString([]byte("<html><script>alert(1)</script>"))
	cmd, err := e.svc.CreateCommand(context.Background(), printer.ID,
		json.RawMessage(`{"CopyCount":1,"FileType":"application/pdf","FileData":"`+html+`"}`), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.get("/commands/" + cmd.ID + "/pdf"); r.status != http.StatusNotFound || strings.Contains(r.body, "alert(1)") {
		t.Errorf("non-PDF data: %d, want 404 without the data", r.status)
	}
	if r := e.get("/commands/not-an-id/pdf"); r.status != http.StatusNotFound {
		t.Errorf("unknown command: %d, want 404", r.status)
	}
}

// checkPDF checks the structure a PDF reader relies on: header, every xref
// offset pointing at its object, and startxref pointing at the xref.
func checkPDF(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("not a PDF: %q", b)
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	for i, off := range regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(b[xref:], -1) {
		n, _ := strconv.Atoi(string(off[1]))
		if want := fmt.Sprintf("%d 0 obj", i+1); !bytes.HasPrefix(b[n:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q, want %q", i+1, b[n:n+10], want)
		}
	}
}

func TestSamplePDFEscapesText(t *testing.T) {
	t.Parallel()
	b := pdf.Text(`a (b) \ c`, "Nováková")
	checkPDF(t, b)
	if !bytes.Contains(b, []byte(`(a \(b\) \\ c) Tj`)) || !bytes.Contains(b, []byte(`(Nov?kov?) Tj`)) {
		t.Fatalf("text not escaped:\n%s", b)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ent := e.enterprise("Hotel")
	printer := e.device(ent, bellhop.Printer, "Printer")
	keys := e.device(ent, bellhop.KeyCutter, "Keys")
	p1 := e.sendTest(printer.ID, nil)
	p2 := e.sendTest(printer.ID, nil)
	k1 := e.sendTest(keys.ID, url.Values{"keys": {"2"}, "room": {"204"}})
	if r := e.post("/commands/"+p2+"/cancel", url.Values{"back": {"/"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("cancel: %d %q", r.status, r.header.Get("Location"))
	}
	rowsIn := func(body string) []string {
		var ids []string
		for _, m := range regexp.MustCompile(`<tr id="c-([0-9a-f-]{36})"`).FindAllStringSubmatch(body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	future := time.Now().UTC().Add(time.Hour).Format(timeInput)
	past := time.Now().UTC().Add(-time.Hour).Format(timeInput)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{k1, p2, p1}},
		{"state=Cancelled", []string{p2}},
		{"state=Pending&state=Received", []string{k1, p1}},
		{"device=" + printer.ID, []string{p2, p1}},
		{"type=KeyCutter", []string{k1}},
		{"type=Printer&state=Pending", []string{p1}},
		{"from=" + future, nil},
		{"from=" + past + "&to=" + future, []string{k1, p2, p1}},
		{"to=" + past, nil},
		{"state=Bogus", []string{k1, p2, p1}}, // unknown values are ignored
		{"q=" + strings.ToUpper(p1[len(p1)-5:]), []string{p1}},
		{"q=" + p2, []string{p2}},
		{"q=keys", []string{k1}},                    // a device's name
		{"q=cancelled+by", []string{p2}},            // a note
		{"q=%25", nil},                              // a % is not a wildcard
		{"q=" + strings.Repeat("x", 500), nil},      // long text is cut, not refused
		{"q=printer&state=Cancelled", []string{p2}}, // with the other filters
		// Local times: an hour ahead in New York is hours ago in UTC.
		{"tz=America/New_York&from=" + time.Now().In(newYork(t)).Add(time.Hour).Format(timeInput), nil},
		{"tz=America/New_York&to=" + time.Now().In(newYork(t)).Add(time.Hour).Format(timeInput), []string{k1, p2, p1}},
		{"tz=Nowhere/City&from=" + future, nil}, // an unknown zone is UTC
	} {
		r := e.get("/?" + tc.query)
		if r.status != http.StatusOK {
			t.Fatalf("?%s: %d", tc.query, r.status)
		}
		if got := rowsIn(r.body); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("?%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
	if r := e.get("/?from=yesterday"); !strings.Contains(r.body, "Invalid From") {
		t.Errorf("bad time: no error message")
	}
	// The script's row requests: ids within the filter.
	r := e.get("/queue/rows?id=" + p1 + "&id=" + k1 + "&type=Printer")
	if got := rowsIn(r.body); len(got) != 1 || got[0] != p1 || strings.Contains(r.body, "<html") {
		t.Errorf("rows fragment: %v, want only %s and no page around it", got, p1)
	}
	// The key command shows its reservation fields; the cancelled one its history.
	if body := e.get("/commands/" + k1).body; !strings.Contains(body, "204") || !strings.Contains(body, "Test Guest") {
		t.Errorf("key command page lacks the reservation")
	}
	if body := e.get("/commands/" + p2).body; strings.Count(body, `class="badge st-cancelled"`) < 2 || !strings.Contains(body, "Cancelled by tester") {
		t.Errorf("cancelled command page lacks the history entry")
	}
}

func newYork(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestByteCount: the queue and the command page give one size for one file,
// the file's own.
func TestByteCount(t *testing.T) {
	for n := range 12 {
		b64 := base64.StdEncoding.EncodeToString(make([]byte, n))
		if got := fileSize(b64); got != n {
			t.Errorf("fileSize of %d bytes (%q): %d", n, b64, got)
		}
	}
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	printer := e.device(e.enterprise("Hotel"), bellhop.Printer, "Printer")
	id := e.sendTest(printer.ID, nil)
	cmd, _, err := e.svc.Command(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var d bellhop.PrinterData
	json.Unmarshal(cmd.Data, &d)
	raw, _ := base64.StdEncoding.DecodeString(d.FileData)
	want := strconv.Itoa(len(raw)) + " bytes"
	if row := e.get("/").body; !strings.Contains(row, "· "+want+"</td>") {
		t.Errorf("the queue does not say %q", want)
	}
	if page := e.get("/commands/" + id).body; !strings.Contains(page, "application/pdf · "+want+" ") {
		t.Errorf("the command page does not say %q", want)
	}
}

func TestTestCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ent := e.enterprise("Hotel")
	ctx := context.Background()
	for _, typ := range bellhop.DeviceTypes {
		d := e.device(ent, typ, string(typ))
		id := e.sendTest(d.ID, url.Values{"amount": {"12,50"}, "currency": {"czk"}})
		view, hist, err := e.svc.Command(ctx, id)
		if err != nil || len(hist) != 1 || view.State != bellhop.Pending || view.Creator.LastName != "tester" {
			t.Fatalf("%s: %+v %v %v", typ, view, hist, err)
		}
		page := e.get("/commands/" + id).body
		switch typ {
		case bellhop.FiscalMachine:
			b := billOf(view.Data)
			if b == nil || b.TotalText != "12.50 CZK" || b.PaidText != "12.50 CZK" || b.State != "Closed" || b.Type != "Receipt" ||
				b.FiscalMachineId != "FM-1" || b.TaxIdentifier != "123" || len(b.Items) != 2 {
				t.Errorf("sample bill: %+v", b)
			}
			if !strings.Contains(page, "Accommodation") {
				t.Errorf("fiscal command page lacks the bill items")
			}
		case bellhop.PaymentTerminal:
			var p bellhop.PaymentTerminalData
			json.Unmarshal(view.Data, &p)
			if p.Amount.GrossValue != 12.5 || p.Amount.Currency != "CZK" || p.AccountData.Customer == nil || p.PaymentId == nil {
				t.Fatalf("payment: %+v", p)
			}
			if view.Payment == nil || view.Payment.ID != *p.PaymentId || !strings.Contains(page, *p.PaymentId) {
				t.Errorf("payment record %+v not on the page", view.Payment)
			}
			// An integration's update with its external reference shows.
			integ, clientToken, err := e.svc.CreateIntegration(ctx, "POS")
			if err != nil {
				t.Fatal(err)
			}
			sub, accessToken, err := e.svc.CreateSubscription(ctx, integ.ID, []string{ent})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.Connect(ctx, sub.ID, d.ID); err != nil {
				t.Fatal(err)
			}
			caller, err := e.svc.Authenticate(ctx, clientToken, accessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.UpdateCommand(ctx, caller, id, bellhop.Update{State: bellhop.Processed, ExternalID: "TX-4711"}); err != nil {
				t.Fatal(err)
			}
			if page := e.get("/commands/" + id).body; strings.Count(page, "TX-<wbr>4711") != 2 {
				t.Errorf("external reference not on the command and in its history")
			}
			// The sample customer is offered next time.
			if !strings.Contains(e.get("/test").body, `<option value="`+p.AccountId+`">`) {
				t.Errorf("the sample customer is not offered again")
			}
		}
	}
	for _, bad := range []url.Values{{"copies": {"0"}}, {"copies": {"x"}}} {
		devs, _ := e.svc.ListDevices(ctx, "")
		form := url.Values{"device": {devs[len(devs)-1].ID}}
		for k, v := range bad {
			form[k] = v
		}
		for _, d := range devs {
			if d.Type == bellhop.Printer {
				form.Set("device", d.ID)
			}
		}
		if r := e.post("/test", form); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/test") {
			t.Errorf("bad form %v: %d %q, want back to /test", bad, r.status, r.header.Get("Location"))
		}
		if body := e.get("/test").body; !strings.Contains(body, "Invalid CopyCount") {
			t.Errorf("bad form %v: no error shown", bad)
		}
	}
}

func TestIntegrationsFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.signIn()
	ent := e.enterprise("Hotel")
	d := e.device(ent, bellhop.Printer, "Printer")

	r := e.post("/integrations", url.Values{"name": {"Lock vendor"}})
	tok := regexp.MustCompile(`value="([0-9A-F]{32}-[0-9A-F]{32})"`).FindStringSubmatch(r.body)
	if r.status != http.StatusOK || tok == nil {
		t.Fatalf("create integration: %d, no ClientToken on the page", r.status)
	}
	integs, _ := e.svc.Integrations(context.Background())
	r = e.post("/subscriptions", url.Values{"integration": {integs[0].ID}, "enterprise": {ent}})
	acc := regexp.MustCompile(`value="([0-9A-F]{32}-[0-9A-F]{32})"`).FindStringSubmatch(r.body)
	if r.status != http.StatusOK || acc == nil {
		t.Fatalf("create subscription: %d, no AccessToken on the page", r.status)
	}
	// Shown once: the page afterwards does not carry the tokens.
	page := e.get("/integrations").body
	if strings.Contains(page, tok[1]) || strings.Contains(page, acc[1]) {
		t.Fatal("a token is shown again after creation")
	}
	if strings.Contains(e.logs.String(), tok[1]) || strings.Contains(e.logs.String(), acc[1]) {
		t.Fatal("a token reached the log")
	}
	caller, err := e.svc.Authenticate(context.Background(), tok[1], acc[1])
	if err != nil {
		t.Fatalf("the shown tokens do not work: %v", err)
	}
	sub := caller.Subscription.ID

	if r := e.post("/subscriptions/"+sub+"/connect", url.Values{"device": {d.ID}}); r.status != http.StatusSeeOther {
		t.Fatalf("connect: %d", r.status)
	}
	if subs, _ := e.svc.DeviceSubscriptions(context.Background(), d.ID); len(subs) != 1 {
		t.Fatalf("connected subscriptions %v", subs)
	}
	e.live.sockets[sub] = 2
	if body := e.get("/health").body; !strings.Contains(body, "<strong>2</strong>") {
		t.Error("health page lacks the open sockets")
	}
	if body := e.get("/devices").body; !strings.Contains(body, "Lock vendor") {
		t.Error("devices page lacks the connected integration")
	}
	if r := e.post("/subscriptions/"+sub+"/disconnect", url.Values{"device": {d.ID}}); r.status != http.StatusSeeOther {
		t.Fatalf("disconnect: %d", r.status)
	}
	if subs, _ := e.svc.DeviceSubscriptions(context.Background(), d.ID); len(subs) != 0 {
		t.Fatalf("still connected: %v", subs)
	}
	if r := e.post("/subscriptions/"+sub+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	if _, err := e.svc.Authenticate(context.Background(), tok[1], acc[1]); err == nil {
		t.Fatal("revoked token still works")
	}
	// Resend makes a new command with the same data.
	id := e.sendTest(d.ID, nil)
	r = e.post("/commands/"+id+"/resend", nil)
	m := commandRe.FindStringSubmatch(r.header.Get("Location"))
	if m == nil || m[1] == id {
		t.Fatalf("resend: %d %q", r.status, r.header.Get("Location"))
	}
	a, _, _ := e.svc.Command(context.Background(), id)
	b, _, _ := e.svc.Command(context.Background(), m[1])
	if !bytes.Equal(a.Data, b.Data) || b.State != bellhop.Pending {
		t.Fatal("the copy differs from the original")
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Heartbeat: time.Hour})
	e.live.listening = make(chan struct{}, 1)
	e.signIn()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	<-e.live.listening
	p := 0.5
	sc := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: {\"Id\"") || strings.HasPrefix(l, "event:") {
				return l
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
	e.live.publish(false, bellhop.Event{CommandID: "c1", State: bellhop.Processing, Progress: &p})
	if got, want := next(), `data: {"Id":"c1","State":"Processing","Progress":0.5}`; got != want {
		t.Fatalf("stream: %s, want %s", got, want)
	}
	// After a gap the page is told to reload its rows rather than trust
	// a partial picture.
	e.live.publish(true, bellhop.Event{CommandID: "c2", State: bellhop.Processed})
	if got, want := next(), "event: reload"; got != want {
		t.Fatalf("stream after a gap: %s, want %s", got, want)
	}

	// Signed out, the stream answers 401 so the script can go to sign-in.
	req, _ = http.NewRequest("GET", e.srv.URL+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stream signed out: %v %v", r.StatusCode, err)
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/": "/", "/?state=Pending": "/?state=Pending", "//evil.example": "/d",
		"https://evil.example": "/d", "/\\evil": "/d", "": "/d", "/a\r\nSet-Cookie: x": "/d"} {
		if got := localPath(in, "/d"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestShortIDs checks that the short form of ids made in the same instant
// tells them apart: ids begin with their time, so it must not be their start.
func TestShortIDs(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		s := shortID(bellhop.NewID())
		if len(s) != 8 || seen[s] {
			t.Fatalf("short id %q is repeated or not 8 characters", s)
		}
		seen[s] = true
	}
}

// TestFailStatus: the console answers a domain error with the status the
// API gives it (httpapi's one table), and logs only what is internal.
func TestFailStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	s := New(Config{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}, e.svc, e.live).(*server)
	for code, want := range map[string]int{bellhop.EINVALID: 400, bellhop.EUNAUTHORIZED: 401, bellhop.EFORBIDDEN: 403,
		bellhop.ENOTFOUND: 404, bellhop.ECONFLICT: 409, bellhop.ETOOLARGE: 413, bellhop.ERATELIMIT: 429,
		bellhop.EUNAVAILABLE: 503, bellhop.EINTERNAL: 500} {
		w := httptest.NewRecorder()
		s.fail(w, httptest.NewRequest("GET", "/", nil), nil, bellhop.Errorf(code, "Said %s.", code))
		if w.Code != want || !strings.Contains(w.Body.String(), "Said "+code+".") {
			t.Errorf("%s: %d, want %d with its message", code, w.Code, want)
		}
	}
	w := httptest.NewRecorder()
	s.fail(w, httptest.NewRequest("GET", "/", nil), nil, fmt.Errorf("disk on fire"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk on fire") || !strings.Contains(e.logs.String(), "disk on fire") {
		t.Errorf("a plain error: %d %q, logged %q", w.Code, w.Body.String(), e.logs.String())
	}
}
