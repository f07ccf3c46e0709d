package console

import (
	"net/http"
	"strconv"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

// usersView is the content of the users page.
type usersView struct {
	Users []bellhop.User
	Roles []bellhop.Role
	Self  string // the signed-in user's id, whose role and account are not offered for change
	CSRF  string
	// Password is a generated password, shown once right after it was made.
	Password *createdPassword
}

type createdPassword struct{ For, Password string }

func (s *server) usersPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderUsers(w, r, sess, nil)
}

// renderUsers renders the users page; a generated password is rendered in
// the POST's answer, never redirected to, so it is in no URL or history.
func (s *server) renderUsers(w http.ResponseWriter, r *http.Request, sess *session, pw *createdPassword) {
	users, err := s.svc.Users(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v := usersView{Users: users, Roles: bellhop.Roles, Self: sess.UserID, CSRF: sess.CSRF, Password: pw}
	s.render(w, r, sess, http.StatusOK, "users", page{Title: "Users", Nav: "users", Content: v})
}

func actor(r *http.Request, sess *session) hub.Actor { return hub.SessionActor(sess, clientIP(r)) }

func (s *server) addUser(w http.ResponseWriter, r *http.Request, sess *session) {
	u, generated, err := s.svc.AddUser(r.Context(), actor(r, sess), r.PostFormValue("name"), bellhop.Role(r.PostFormValue("role")),
		r.PostFormValue("password"))
	if err != nil {
		s.back(w, r, sess, "/users", err, "")
		return
	}
	if generated == "" {
		s.back(w, r, sess, "/users", nil, "User "+u.Name+" is added as "+string(u.Role)+".")
		return
	}
	s.renderUsers(w, r, sess, &createdPassword{For: u.Name, Password: generated})
}

func (s *server) setRole(w http.ResponseWriter, r *http.Request, sess *session) {
	u, err := s.svc.SetRole(r.Context(), actor(r, sess), r.PathValue("id"), bellhop.Role(r.PostFormValue("role")))
	msg := ""
	if err == nil {
		msg = u.Name + " is now " + string(u.Role) + ", from their next click on."
	}
	s.back(w, r, sess, "/users", err, msg)
}

func (s *server) resetPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	generated, err := s.svc.SetPassword(ctx, actor(r, sess), r.PathValue("id"), "")
	if err != nil {
		s.back(w, r, sess, "/users", err, "")
		return
	}
	name := ""
	if users, err := s.svc.Users(ctx); err == nil {
		for _, u := range users {
			if u.ID == r.PathValue("id") {
				name = u.Name
			}
		}
	}
	s.renderUsers(w, r, sess, &createdPassword{For: name, Password: generated})
}

func (s *server) removeUser(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.svc.RemoveUser(r.Context(), actor(r, sess), r.PathValue("id"))
	s.back(w, r, sess, "/users", err, "The user is removed and signed out everywhere.")
}

// accountView is the content of the account page.
type accountView struct {
	Name  string
	Role  bellhop.Role
	Token bool
	CSRF  string
}

func (s *server) accountPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v := accountView{Name: sess.Name, Role: sess.Role, Token: sess.UserID == "", CSRF: sess.CSRF}
	s.render(w, r, sess, http.StatusOK, "account", page{Title: "Your account", Nav: "account", Content: v})
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request, sess *session) {
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("again") {
		s.back(w, r, sess, "/account", bellhop.Errorf(bellhop.EINVALID, "The new password and its repetition differ."), "")
		return
	}
	err := s.svc.ChangeOwnPassword(r.Context(), actor(r, sess), r.PostFormValue("current"), pw)
	s.back(w, r, sess, "/account", err, "Your password is changed; your other sessions are signed out.")
}

// auditView is the content of the audit page.
type auditView struct {
	Entries []bellhop.AuditEntry
	Next    int64
}

func (s *server) auditPage(w http.ResponseWriter, r *http.Request, sess *session) {
	cursor, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	list, next, err := s.svc.Audit(r.Context(), cursor, s.cfg.PageSize)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "audit", page{Title: "Audit", Nav: "audit", Content: auditView{Entries: list, Next: next}})
}
