package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/reqlog"
)

// The request log: what integrations sent this node and what they were
// told, newest first, with the filters an integration developer needs.

// requestsView is the content of the requests page.
type requestsView struct {
	Filter   requestFilter
	Entries  []requestRow
	Next     int64 // the cursor of the next (older) page; 0 when none
	Scopes   []scopeOption
	Ops      []string
	Classes  []string
	Disabled bool
}

// requestFilter is the filter form as the page shows it back.
type requestFilter struct {
	Scope, Operation, Status, Command string
}

type requestRow struct {
	reqlog.Entry
	Who string
}

func (s *server) requestsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	names, scopes, err := s.scopeNames(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v := requestsView{Scopes: scopes, Classes: []string{"2xx", "4xx", "5xx"}, Ops: append(append([]string{}, bellhop.Operations...), bellhop.OperationWebSocket),
		Filter: requestFilter{Scope: q.Get("scope"), Operation: q.Get("operation"), Status: q.Get("status"), Command: strings.TrimSpace(q.Get("command"))}}
	f := reqlog.Filter{Newest: true, Limit: s.cfg.PageSize, Operation: v.Filter.Operation, CommandID: v.Filter.Command}
	if scope, id, ok := strings.Cut(v.Filter.Scope, ":"); ok {
		if scope == "integration" {
			f.IntegrationID = id
		} else {
			f.SubscriptionID = id
		}
	}
	if v.Filter.Status != "" {
		f.Status, _ = strconv.Atoi(strings.TrimSuffix(v.Filter.Status, "xx"))
	}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	if !s.svc.RequestLogOn() {
		v.Disabled = true
		s.render(w, r, sess, http.StatusOK, "requests", page{Title: "Requests", Nav: "requests", Content: v})
		return
	}
	entries, more, err := s.svc.Requests(f)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	for _, e := range entries {
		who := "(tokens refused)"
		if e.IntegrationID != "" {
			who = scopeName(names, "", e.SubscriptionID)
		}
		v.Entries = append(v.Entries, requestRow{Entry: e, Who: who})
	}
	if more && len(entries) > 0 {
		v.Next = entries[len(entries)-1].Seq
	}
	s.render(w, r, sess, http.StatusOK, "requests", page{Title: "Requests", Nav: "requests", Content: v})
}

// ms renders a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}
