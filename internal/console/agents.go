package console

import (
	"net/http"

	"github.com/bellhop/bellhop/internal/hub"
)

// agentsView is the content of the agents page.
type agentsView struct {
	Agents []hub.Agent
}

// agentsPage lists each subscription's client: version, address, sockets,
// last seen and the devices it serves (every hub node's view, merged).
func (s *server) agentsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	agents, err := s.svc.Agents(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "agents", page{Title: "Agents", Nav: "agents", Content: agentsView{Agents: agents}})
}
