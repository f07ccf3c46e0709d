package adminapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hub"
)

// Console users and the audit list. The admin token acts here as an admin
// would in the console, and each change is in the audit list under the
// token's name.

func userJSON(u *bellhop.User) admin.User {
	return admin.User{Id: u.ID, Name: u.Name, Role: string(u.Role), CreatedUtc: bellhop.FormatTime(u.CreatedUtc)}
}

func tokenActor(r *http.Request, who string) hub.Actor { return hub.TokenActor(who, clientAddr(r)) }

func (s *Server) addUser(ctx context.Context, r *http.Request, who string) (int, any, error) {
	req, err := body[admin.User](s, r)
	if err != nil {
		return 0, nil, err
	}
	u, generated, err := s.hub.AddUser(ctx, tokenActor(r, who), req.Name, bellhop.Role(req.Role), req.Password)
	return created(u, err, func(u *bellhop.User) admin.User {
		out := userJSON(u)
		out.Password = generated // shown this once
		return out
	})
}

func (s *Server) listUsers(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	users, err := s.hub.Users(ctx)
	return listed(users, err, "Users", userJSON)
}

func (s *Server) setRole(ctx context.Context, r *http.Request, who string) (int, any, error) {
	var req struct{ Role bellhop.Role }
	if err := s.decode(r, &req); err != nil {
		return 0, nil, err
	}
	u, err := s.hub.SetRole(ctx, tokenActor(r, who), r.PathValue("id"), req.Role)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userJSON(u), nil
}

func (s *Server) setPassword(ctx context.Context, r *http.Request, who string) (int, any, error) {
	var req struct{ Password string }
	if r.ContentLength != 0 {
		if err := s.decode(r, &req); err != nil {
			return 0, nil, err
		}
	}
	generated, err := s.hub.SetPassword(ctx, tokenActor(r, who), r.PathValue("id"), req.Password)
	if err != nil {
		return 0, nil, err
	}
	if generated == "" {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, struct{ Password string }{generated}, nil
}

func (s *Server) removeUser(ctx context.Context, r *http.Request, who string) (int, any, error) {
	if err := s.hub.RemoveUser(ctx, tokenActor(r, who), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) listAudit(ctx context.Context, r *http.Request, _ string) (int, any, error) {
	q := r.URL.Query()
	n, cursor := 100, int64(0)
	if l := q.Get("limit"); l != "" {
		v, err := strconv.Atoi(l)
		if err != nil || v < 1 || v > hub.MaxPage {
			return 0, nil, bellhop.Invalid("limit")
		}
		n = v
	}
	if c := q.Get("cursor"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil || v < 1 {
			return 0, nil, bellhop.Invalid("cursor")
		}
		cursor = v
	}
	list, next, err := s.hub.Audit(ctx, cursor, n)
	if err != nil {
		return 0, nil, err
	}
	out := admin.AuditPage{Entries: []admin.AuditEntry{}}
	for _, e := range list {
		out.Entries = append(out.Entries, admin.AuditEntry{Utc: bellhop.FormatTime(e.Utc), Actor: e.Actor, Action: e.Action,
			Subject: e.Subject, Detail: e.Detail, Remote: e.Remote})
	}
	if next != 0 {
		c := strconv.FormatInt(next, 10)
		out.Cursor = &c
	}
	return http.StatusOK, out, nil
}
