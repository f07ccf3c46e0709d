package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// cookieName is the session cookie. It holds only a random id; the admin's
// name and CSRF token stay on the server.
const cookieName = "bellhop_session"

// session is one signed-in browser.
type session struct {
	key     string // sha256 of the cookie value: the map key
	admin   string
	csrf    string
	expires time.Time
	flash   *flash
}

// flash is a one-time message shown on the next page.
type flash struct {
	Error bool
	Text  string
}

// sessions is the in-memory session table. A restart signs everybody out,
// which is acceptable for a staff console and keeps no secret on disk.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[string]*session
	last time.Time // last sweep of expired sessions
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, byID: map[string]*session{}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// keyOf hashes a cookie value, so the table holds no usable cookie and a
// lookup's timing says nothing about stored ids.
func keyOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session for admin and returns the cookie value.
func (ss *sessions) create(admin string) (id string, s *session) {
	id = randomHex(32) // 256 bits
	now := ss.now()
	s = &session{key: keyOf(id), admin: admin, csrf: randomHex(32), expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if now.Sub(ss.last) > time.Minute {
		ss.last = now
		for k, v := range ss.byID {
			if now.After(v.expires) {
				delete(ss.byID, k)
			}
		}
	}
	ss.byID[s.key] = s
	return id, s
}

// get returns the live session of a cookie value and extends it (sliding
// expiry), or nil.
func (ss *sessions) get(id string) *session {
	if len(id) != 64 {
		return nil
	}
	k := keyOf(id)
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[k]
	if s == nil {
		return nil
	}
	if now.After(s.expires) {
		delete(ss.byID, k)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	return s
}

func (ss *sessions) fromRequest(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return ss.get(c.Value)
}

func (ss *sessions) delete(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, s.key)
}

func (ss *sessions) setFlash(s *session, f *flash) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s.flash = f
}

func (ss *sessions) takeFlash(s *session) *flash {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
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

// authenticated runs h for a signed-in request; a POST must also carry the
// session's CSRF token. Pages redirect a stranger to the sign-in form; the
// script's requests get a 401 instead, so it can do the same.
func (s *server) authenticated(h func(w http.ResponseWriter, r *http.Request, sess *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.fromRequest(r)
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
			if subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
				s.log.Warn("console: CSRF token missing or wrong", "path", r.URL.Path, "remote", clientIP(r))
				s.renderError(w, r, sess, http.StatusForbidden, "This form has expired or did not come from the console. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, sess)
	})
}

// signInForm is the content of the sign-in page.
type signInForm struct{ Error string }

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	if s.sessions.fromRequest(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "signin", page{Title: "Sign in", Content: signInForm{}})
}

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
	token := r.PostFormValue("token")
	admin, err := s.svc.AuthenticateAdmin(r.Context(), token)
	if err != nil {
		s.throttle.fail(ip)
		s.log.Warn("console: sign-in failed", "remote", ip) // never the token
		s.render(w, r, nil, http.StatusUnauthorized, "signin", page{Title: "Sign in",
			Content: signInForm{Error: "That admin token is not valid."}})
		return
	}
	if old := s.sessions.fromRequest(r); old != nil {
		s.sessions.delete(old) // a fresh id at every sign-in: no session fixation
	}
	id, _ := s.sessions.create(admin)
	s.setCookie(w, r, id, int(s.cfg.SessionTTL/time.Second))
	s.log.Info("console: signed in", "admin", admin, "remote", ip)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.delete(sess)
	s.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// setCookie writes the session cookie: HttpOnly (no script reads it),
// SameSite=Strict (no other site's request carries it), Secure over TLS.
func (s *server) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}
