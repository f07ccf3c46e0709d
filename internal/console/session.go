package console

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// cookieName is the session cookie. It holds only a random id; the store
// keeps its hash, the user and the CSRF token.
const cookieName = "bellhop_session"

// flashCookie carries a one-time message to the next page (Post/Redirect/
// Get). It lives in the browser rather than in the session so that showing
// it costs no write to the store, whichever hub node serves the next page.
const flashCookie = "bellhop_flash"

// session is one signed-in browser, as the store keeps it.
type session = bellhop.Session

// flash is a one-time message shown on the next page.
type flash struct {
	Error bool
	Text  string
}

// setFlash stores a message for the next page.
func setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	b, _ := json.Marshal(f)
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 60})
}

// takeFlash returns the message left for this page, if any, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 2048 {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil || f.Text == "" {
		return nil
	}
	return &f
}

// fromRequest returns the live session of the request's cookie, or nil. A
// store failure is logged and treated as no session.
func (s *server) fromRequest(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	sess, err := s.svc.Session(r.Context(), c.Value, s.cfg.SessionTTL)
	if err != nil {
		if bellhop.ErrorCode(err) != bellhop.EUNAUTHORIZED {
			s.log.Error("console: read session", "err", err)
		}
		return nil
	}
	return sess
}

// throttle counts failed sign-ins per client address in fixed windows.
// Successful sign-ins are not counted, so staff behind one NAT are not locked
// out by each other's normal use.
type throttle struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

func newThrottle(limit int, window time.Duration, now func() time.Time) *throttle {
	return &throttle{limit: limit, window: window, now: now, fails: map[string]*failures{}}
}

// blocked reports whether ip has used up its failures, and for how long.
func (t *throttle) blocked(ip string) (bool, time.Duration) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.fails[ip]
	if f == nil || now.Sub(f.start) >= t.window {
		return false, 0
	}
	if f.n >= t.limit {
		return true, f.start.Add(t.window).Sub(now)
	}
	return false, 0
}

func (t *throttle) fail(ip string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 10000 { // bound memory under a spray from many addresses
		for k, f := range t.fails {
			if now.Sub(f.start) >= t.window {
				delete(t.fails, k)
			}
		}
	}
	f := t.fails[ip]
	if f == nil || now.Sub(f.start) >= t.window {
		f = &failures{start: now}
		t.fails[ip] = f
	}
	f.n++
}

// clientIP is the peer address. X-Forwarded-For is ignored on purpose: a
// client could set it to dodge the sign-in throttle.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sameOrigin refuses requests that a browser marks as coming from another
// site: Sec-Fetch-Site, else Origin, else Referer must name this host. A
// request with none of them is not from a modern browser form, and the CSRF
// token still guards it.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	check := func(raw string) bool {
		u, err := url.Parse(raw)
		return err == nil && u.Host != "" && u.Host == r.Host
	}
	if o := r.Header.Get("Origin"); o != "" {
		return o != "null" && check(o)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return check(ref)
	}
	return true
}

// authenticated runs h for a signed-in request whose role allows it; a POST
// must also carry the session's CSRF token. Pages redirect a stranger to the
// sign-in form; the script's requests get a 401 instead, so it can do the
// same. A role that does not allow the page or the form gets a 403 and
// nothing is done: hiding a button is for the eye, this is the rule.
func (s *server) authenticated(min bellhop.Role, h func(w http.ResponseWriter, r *http.Request, sess *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.fromRequest(r)
		if sess == nil {
			if r.Method == http.MethodGet && r.Header.Get("X-Requested-With") == "" && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet && r.Header.Get("X-Requested-With") == "" {
			// Renew the cookie with each page so its lifetime slides with
			// the server-side expiry instead of ending 12 h after sign-in.
			c, _ := r.Cookie(cookieName)
			s.setCookie(w, r, c.Value, int(s.cfg.SessionTTL/time.Second))
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			got := r.PostFormValue("csrf")
			if subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
				s.log.Warn("console: CSRF token missing or wrong", "path", r.URL.Path, "remote", clientIP(r))
				s.renderError(w, r, sess, http.StatusForbidden, "This form has expired or did not come from the console. Go back, reload the page and try again.")
				return
			}
		}
		if !sess.Role.Allows(min) {
			s.log.Warn("console: refused by role", "method", r.Method, "path", r.URL.Path, "user", sess.Name, "role", sess.Role)
			if r.Header.Get("X-Requested-With") != "" {
				http.Error(w, "Your role does not allow this.", http.StatusForbidden)
				return
			}
			s.renderError(w, r, sess, http.StatusForbidden, fmt.Sprintf("Your role (%s) does not allow this; it needs %s. Ask an admin.", sess.Role, min))
			return
		}
		h(w, r, sess)
	})
}

// signInForm is the content of the sign-in page.
type signInForm struct {
	Error string
	Name  string
	Token bool // the failed attempt used an admin token
}

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	if s.fromRequest(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "signin", page{Title: "Sign in", Content: signInForm{}})
}

// signIn takes a name and password, or an admin token (the form's second
// part): how the first admin signs in before there are users.
func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	if blocked, wait := s.throttle.blocked(ip); blocked {
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.render(w, r, nil, http.StatusTooManyRequests, "signin", page{Title: "Sign in",
			Content: signInForm{Error: "Too many failed attempts from this address. Wait " + strconv.Itoa(secs) + " seconds and try again."}})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var id string
	var sess *session
	var err error
	form := signInForm{}
	if token := r.PostFormValue("token"); token != "" {
		form.Token = true
		id, sess, err = s.svc.SignInWithToken(r.Context(), token, ip, s.cfg.SessionTTL)
	} else {
		form.Name = strings.TrimSpace(r.PostFormValue("name"))
		id, sess, err = s.svc.SignIn(r.Context(), form.Name, r.PostFormValue("password"), ip, s.cfg.SessionTTL)
	}
	if err != nil {
		if bellhop.ErrorCode(err) != bellhop.EUNAUTHORIZED {
			s.fail(w, r, nil, err)
			return
		}
		s.throttle.fail(ip)
		s.log.Warn("console: sign-in failed", "remote", ip) // never the token or password
		form.Error = "That name and password do not match."
		if form.Token {
			form.Error = "That admin token is not valid."
		}
		s.render(w, r, nil, http.StatusUnauthorized, "signin", page{Title: "Sign in", Content: form})
		return
	}
	if old := s.fromRequest(r); old != nil {
		s.svc.SignOut(r.Context(), old, ip) // a fresh id at every sign-in: no session fixation
	}
	s.setCookie(w, r, id, int(s.cfg.SessionTTL/time.Second))
	s.log.Info("console: signed in", "user", sess.Name, "role", sess.Role, "remote", ip)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.SignOut(r.Context(), sess, clientIP(r)); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// setCookie writes the session cookie: HttpOnly (no script reads it),
// SameSite=Strict (no other site's request carries it), Secure over TLS.
func (s *server) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}
