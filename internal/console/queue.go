package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

// timeInput is the layout of <input type="datetime-local">: a wall time,
// read in the browser's zone (the form's tz field, which the script fills)
// or, without it, in UTC.
const timeInput = "2006-01-02T15:04"

// maxSearch bounds the queue's search text.
const maxSearch = 100

// queueFilter is the queue's filter form, as read from the query string.
type queueFilter struct {
	States   map[bellhop.State]bool
	DeviceID string
	Type     bellhop.DeviceType
	From, To string // as typed, to refill the form
	TZ       string // the zone From and To are in; "" is UTC
	Search   string
	Cursor   string
}

// parseFilter reads the filter form. Unknown values are dropped rather than
// refused, so an old bookmark still opens.
func parseFilter(q url.Values) (queueFilter, bellhop.CommandFilter, error) {
	var qf queueFilter
	var f bellhop.CommandFilter
	qf.States = map[bellhop.State]bool{}
	for _, v := range q["state"] {
		if st := bellhop.State(v); st.Valid() && !qf.States[st] {
			qf.States[st] = true
			f.States = append(f.States, st)
		}
	}
	if d, ok := bellhop.ParseID(q.Get("device")); ok {
		qf.DeviceID = d
		f.DeviceIDs = []string{d}
	}
	if t := bellhop.DeviceType(q.Get("type")); t.Valid() {
		qf.Type, f.DeviceType = t, t
	}
	if s := strings.TrimSpace(q.Get("q")); s != "" {
		if len(s) > maxSearch {
			s = s[:maxSearch]
		}
		qf.Search, f.Search = s, s
	}
	loc := time.UTC
	if tz := q.Get("tz"); tz != "" && tz != "UTC" && len(tz) < 64 {
		if l, err := time.LoadLocation(tz); err == nil {
			qf.TZ, loc = tz, l
		}
	}
	var err error
	parse := func(field, v string) time.Time {
		if v == "" || err != nil {
			return time.Time{}
		}
		t, e := time.ParseInLocation(timeInput, v, loc)
		if e != nil {
			if t, e = time.ParseInLocation(timeInput+":05", v, loc); e != nil {
				err = bellhop.Errorf(bellhop.EINVALID, "Invalid %s: use the form 2026-01-31T14:30", field)
			}
		}
		return t.UTC()
	}
	qf.From, qf.To = q.Get("from"), q.Get("to")
	f.CreatedFrom, f.CreatedTo = parse("From", qf.From), parse("To", qf.To)
	if c := q.Get("cursor"); bellhop.ValidID(c) {
		qf.Cursor = c
	}
	if ids := q["id"]; len(ids) > 0 {
		for _, id := range ids {
			if id, ok := bellhop.ParseID(id); ok {
				f.IDs = append(f.IDs, id)
			}
		}
		if f.IDs == nil {
			f.IDs = []string{} // only bad ids: match nothing
		}
	}
	return qf, f, err
}

// query renders the filter back into a query string (without the cursor).
func (qf queueFilter) query() url.Values {
	v := url.Values{}
	for _, st := range bellhop.States {
		if qf.States[st] {
			v.Add("state", string(st))
		}
	}
	if qf.DeviceID != "" {
		v.Set("device", qf.DeviceID)
	}
	if qf.Type != "" {
		v.Set("type", string(qf.Type))
	}
	if qf.Search != "" {
		v.Set("q", qf.Search)
	}
	if qf.From != "" {
		v.Set("from", qf.From)
	}
	if qf.To != "" {
		v.Set("to", qf.To)
	}
	if qf.TZ != "" && (qf.From != "" || qf.To != "") {
		v.Set("tz", qf.TZ)
	}
	return v
}

// row is one command in the queue table.
type row struct {
	hub.CommandView
	Summary string
}

// rowsView is what the rows template receives.
type rowsView struct {
	Rows  []row
	CSRF  string
	Role  bellhop.Role
	Zones map[string]string // enterprise id → the zone its times are shown in

	Now  time.Time
	Back string // where a row's cancel button returns to
}

// queueView is the content of the queue page.
type queueView struct {
	Filter    queueFilter
	Error     string
	Devices   []bellhop.Device
	States    []bellhop.State
	Types     []bellhop.DeviceType
	Rows      rowsView
	Next      string // query of the next (older) page, "" when none
	Query     string // the filter, for the script's row requests
	Filtered  bool
	FirstPage bool
}

func (s *server) queuePage(w http.ResponseWriter, r *http.Request, sess *session) {
	qf, f, ferr := parseFilter(r.URL.Query())
	v := queueView{Filter: qf, States: bellhop.States, Types: bellhop.DeviceTypes, FirstPage: qf.Cursor == ""}
	devs, err := s.svc.ListDevices(r.Context(), "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v.Devices = devs
	v.Query = qf.query().Encode()
	v.Filtered = v.Query != ""
	back := "/"
	if r.URL.RawQuery != "" {
		back = "/?" + r.URL.RawQuery
	}
	zones, err := s.zones(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v.Rows = rowsView{CSRF: sess.CSRF, Role: sess.Role, Zones: zones, Now: s.cfg.Now().UTC(), Back: back}
	if ferr != nil {
		v.Error = bellhop.ErrorText(ferr)
	} else {
		f.IDs = nil // ids are for the script's row requests only
		cmds, cursor, err := s.svc.ListCommands(r.Context(), f, &hub.Page{Count: s.cfg.PageSize, Cursor: qf.Cursor})
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		v.Rows.Rows = rowsOf(cmds)
		if cursor != "" {
			next := qf.query()
			next.Set("cursor", cursor)
			v.Next = next.Encode()
		}
	}
	s.render(w, r, sess, http.StatusOK, "queue", page{Title: "Queue", Nav: "queue", Live: "queue", Content: v})
}

// queueRows serves table rows as an HTML fragment for the script: the rows
// of the given ids that match the filter (how live updates fetch new and
// changed commands), or the first page when no id is given.
func (s *server) queueRows(w http.ResponseWriter, r *http.Request, sess *session) {
	_, f, err := parseFilter(r.URL.Query())
	if err != nil {
		http.Error(w, bellhop.ErrorText(err), http.StatusBadRequest)
		return
	}
	if len(f.IDs) > hub.MaxPage {
		http.Error(w, "Too many ids.", http.StatusBadRequest)
		return
	}
	cmds, _, err := s.svc.ListCommands(r.Context(), f, &hub.Page{Count: s.cfg.PageSize})
	if err != nil {
		s.log.Error("console: rows", "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	zones, err := s.zones(r.Context())
	if err != nil {
		s.log.Error("console: rows", "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	back := localPath(r.URL.Query().Get("back"), "/")
	s.renderFragment(w, "queue", "rows", rowsView{Rows: rowsOf(cmds), CSRF: sess.CSRF, Role: sess.Role, Zones: zones, Now: s.cfg.Now().UTC(), Back: back})
}

// zones maps each enterprise with a time zone to it.
func (s *server) zones(ctx context.Context) (map[string]string, error) {
	ents, err := s.svc.Enterprises(ctx)
	if err != nil {
		return nil, err
	}
	zones := map[string]string{}
	for _, e := range ents {
		if e.TimeZone != "" {
			zones[e.ID] = e.TimeZone
		}
	}
	return zones, nil
}

func rowsOf(cmds []hub.CommandView) []row {
	rows := make([]row, len(cmds))
	for i, c := range cmds {
		rows[i] = row{CommandView: c, Summary: summary(&c.Command)}
	}
	return rows
}

// localPath returns p when it is a path on this site, else def: a form's
// "back" field must not turn the console into an open redirect.
func localPath(p, def string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return def
	}
	return p
}

// shortID is the last 8 characters of an id: the random part. The first
// ones of the hub's ids are a timestamp that all ids of the same minute
// share.
func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}
