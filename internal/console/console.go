// Package console serves the hub's web console: the live device command
// queue, devices, integrations and their connected devices, test commands and
// a health overview. Pages are rendered on the server with html/template (so
// every value is escaped by context) and work without JavaScript; one small
// embedded script adds live updates over Server-Sent Events.
//
// Staff sign in with a name and password (or, for a first sign-in, an admin
// token). The session lives in the store, so every hub node knows it: the
// browser holds a random 256-bit id in an HttpOnly, SameSite=Strict cookie.
// Every POST must carry the session's CSRF token and come from this origin.
// Each page and form needs a role (viewer, operator, admin), checked on the
// server. No token or password goes into a URL or a log line.
//
// The console sees the hub only through *hub.Service and the Live interface it
// defines, so it does not depend on the realtime package; internal/node wires
// the broker in.
package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	// The zone database in the binary: filters read times in the browser's
	// zone, which must resolve on hosts without one (Windows, small images).
	_ "time/tzdata"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Live is what the console needs of the realtime broker.
type Live interface {
	// Listen subscribes to every command event (progress included) with a
	// buffer of n batches. lagged reports, and clears, whether batches were
	// dropped since the last call; stop unsubscribes and closes events.
	Listen(n int) (events <-chan []bellhop.Event, lagged func() bool, stop func())
	// SocketsBySubscription returns the open WebSockets per subscription id.
	SocketsBySubscription() map[string]int
}

// Config configures the console. Zero fields take their defaults.
type Config struct {
	// Logger receives the console's logs; default slog.Default(). Tokens and
	// session ids are never logged.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SessionTTL is how long a session lives without use (sliding); default 12 h.
	SessionTTL time.Duration
	// SignInFailures is how many failed sign-ins one client address may make
	// per SignInWindow before it is refused with 429; default 10 per minute.
	SignInFailures int
	SignInWindow   time.Duration
	// PageSize is how many commands the queue shows per page; default 100.
	PageSize int
	// Heartbeat is how often the event stream sends a comment so proxies keep
	// it open; default 20 s.
	Heartbeat time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.SignInFailures <= 0 {
		c.SignInFailures = 10
	}
	if c.SignInWindow <= 0 {
		c.SignInWindow = time.Minute
	}
	if c.PageSize <= 0 || c.PageSize > hub.MaxPage {
		c.PageSize = 100
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 20 * time.Second
	}
}

// server is the console's http.Handler.
type server struct {
	cfg      Config
	svc      *hub.Service
	live     Live
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	throttle *throttle
	samples  *samples
}

// New returns the console over the hub service. live may be nil: the pages
// then work without live updates and the health page shows no sockets.
func New(cfg Config, svc *hub.Service, live Live) http.Handler {
	cfg.setDefaults()
	s := &server{cfg: cfg, svc: svc, live: live, log: cfg.Logger, mux: http.NewServeMux(),
		pages:    parsePages(),
		throttle: newThrottle(cfg.SignInFailures, cfg.SignInWindow, cfg.Now),
		samples:  &samples{},
	}
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	s.mux.HandleFunc("GET /signin", s.signInPage)
	s.mux.HandleFunc("POST /signin", s.signIn)

	for _, rt := range routes(s) {
		s.mux.Handle(rt.pattern, s.authenticated(rt.role, rt.h))
	}
	s.mux.HandleFunc("/", s.notFound)
	return s
}

// route is one page or form of the console and the least role it needs.
type route struct {
	pattern string
	role    bellhop.Role
	h       func(w http.ResponseWriter, r *http.Request, sess *session)
}

// routes lists every page and form behind the sign-in, with its role: one
// table, so that a test can try each with each role.
func routes(s *server) []route {
	V, O, A := bellhop.Viewer, bellhop.Operator, bellhop.Admin
	return []route{
		{"POST /signout", V, s.signOut},
		{"GET /account", V, s.accountPage},
		{"POST /account/password", V, s.changePassword},
		{"GET /{$}", V, s.queuePage},
		{"GET /queue/rows", V, s.queueRows},
		{"GET /events", V, s.events},
		{"GET /commands/{id}", V, s.commandPage},
		{"GET /commands/{id}/pdf", V, s.commandPDF},
		{"GET /devices", V, s.devicesPage},
		{"GET /agents", V, s.agentsPage},
		{"GET /health", V, s.healthPage},
		{"POST /commands/{id}/cancel", O, s.cancelCommand},
		{"POST /commands/{id}/resend", O, s.resendCommand},
		{"GET /test", O, s.testPage},
		{"POST /test", O, s.sendTest},
		{"POST /devices", A, s.createDevice},
		{"POST /devices/{id}/delete", A, s.deleteDevice},
		{"POST /enterprises", A, s.createEnterprise},
		{"POST /enterprises/{id}/time-zone", A, s.setTimeZone},
		{"GET /integrations", A, s.integrationsPage},
		{"POST /integrations", A, s.createIntegration},
		{"POST /subscriptions", A, s.createSubscription},
		{"POST /subscriptions/{id}/connect", A, s.connect},
		{"POST /subscriptions/{id}/disconnect", A, s.disconnect},
		{"POST /subscriptions/{id}/revoke", A, s.revoke},
		{"POST /subscriptions/{id}/generic", A, s.setGeneric},
		{"GET /users", A, s.usersPage},
		{"POST /users", A, s.addUser},
		{"POST /users/{id}/role", A, s.setRole},
		{"POST /users/{id}/password", A, s.resetPassword},
		{"POST /users/{id}/remove", A, s.removeUser},
		{"GET /audit", A, s.auditPage},
		{"GET /requests", V, s.requestsPage},
		{"GET /faults", A, s.faultsPage},
		{"POST /faults", A, s.setFault},
		{"POST /faults/clear", A, s.clearFaults},
		{"POST /faults/{id}/clear", A, s.clearFault},
	}
}

// ServeHTTP sets the security headers every response carries, refuses
// cross-origin POSTs, and dispatches.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No inline script or style anywhere: the one script and the one style
	// sheet are files under /static/, so an injected <script> cannot run.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"object-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !sameOrigin(r) {
			s.log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path, "remote", clientIP(r))
			s.renderError(w, r, nil, http.StatusForbidden, "This form came from another site, so it was refused.")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func staticHandler(root fs.FS) http.Handler {
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The assets are embedded in the binary and change only with it;
		// an hour of caching keeps a new release's assets at most that late.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// page is what every full page template receives.
type page struct {
	Title string
	Nav   string // which navigation item is current
	User  string // who is signed in: a user's name, or the admin token's
	Token bool   // signed in with an admin token
	Role  bellhop.Role
	CSRF  string
	Flash *flash
	// Faults counts the faults that may still fire: every page says so.
	Faults  int
	Live    string // "queue" or "command": what the script listens for
	LiveID  string
	Now     time.Time
	Content any
}

// render writes a whole page. It renders into a buffer first so that a
// template error becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, sess *session, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	if sess != nil {
		p.User, p.Token, p.Role, p.CSRF = sess.Name, sess.UserID == "", sess.Role, sess.CSRF
		if p.Flash == nil {
			p.Flash = takeFlash(w, r)
		}
	}
	p.Now = s.cfg.Now().UTC()
	if sess != nil {
		p.Faults = s.activeFaults()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("console: render", "template", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	s.writeHTML(w, status, buf.Bytes())
}

// renderFragment writes a partial template (rows of the queue table).
func (s *server) renderFragment(w http.ResponseWriter, name, block string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, block, data); err != nil {
		s.log.Error("console: render", "template", name, "block", block, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	s.writeHTML(w, http.StatusOK, buf.Bytes())
}

func (s *server) writeHTML(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages can show a token once (right after creation) and always show
	// operational data: nothing of it belongs in a cache.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// errorPage is the content of the error template.
type errorPage struct {
	Status  int
	Message string
}

func (s *server) renderError(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	s.render(w, r, sess, status, "error", page{Title: http.StatusText(status), Content: errorPage{status, msg}})
}

// fail renders err with the status the API would answer: domain errors show
// their message (safe by contract), anything else is logged and shown as a
// generic text.
func (s *server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status := httpapi.Status(bellhop.ErrorCode(err)) // the one table of the HTTP adapters
	if status == http.StatusInternalServerError {
		s.log.Error("console: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.renderError(w, r, sess, status, bellhop.ErrorText(err))
}

// back redirects (303, Post/Redirect/Get) after a form, with a one-time
// message kept in the session so it never travels in a URL.
func (s *server) back(w http.ResponseWriter, r *http.Request, sess *session, to string, err error, ok string) {
	if err != nil {
		if bellhop.ErrorCode(err) == bellhop.EINTERNAL {
			s.log.Error("console: action failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		setFlash(w, r, flash{Error: true, Text: bellhop.ErrorText(err)})
	} else if ok != "" {
		setFlash(w, r, flash{Text: ok})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	sess := s.fromRequest(r)
	s.renderError(w, r, sess, http.StatusNotFound, "There is no page at this address.")
}
