package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

// timeInput is the layout of <input type="datetime-local">, read as UTC
// because the console shows every time in UTC.
const timeInput = "2006-01-02T15:04"

// queueFilter is the queue's filter form, as read from the query string.
type queueFilter struct {
	States   map[bellhop.State]bool
	DeviceID string
	Type     bellhop.DeviceType
	From, To string // as typed, to refill the form
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
	var err error
	parse := func(field, v string) time.Time {
		if v == "" || err != nil {
			return time.Time{}
		}
		t, e := time.Parse(timeInput, v)
		if e != nil {
			if t, e = time.Parse(timeInput+":05", v); e != nil {
				err = bellhop.Errorf(bellhop.EINVALID, "Invalid %s: use the form 2026-01-31T14:30 (UTC)", field)
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
	if qf.From != "" {
		v.Set("from", qf.From)
	}
	if qf.To != "" {
		v.Set("to", qf.To)
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
	Rows []row
	CSRF string
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
	v.Rows = rowsView{CSRF: sess.csrf, Now: s.cfg.Now().UTC(), Back: back}
	if ferr != nil {
		v.Error = bellhop.ErrorMessage(ferr)
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
		http.Error(w, bellhop.ErrorMessage(err), http.StatusBadRequest)
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
	back := localPath(r.URL.Query().Get("back"), "/")
	s.renderFragment(w, "queue", "rows", rowsView{Rows: rowsOf(cmds), CSRF: sess.csrf, Now: s.cfg.Now().UTC(), Back: back})
}

func rowsOf(cmds []hub.CommandView) []row {
	rows := make([]row, len(cmds))
	for i, c := range cmds {
		rows[i] = row{CommandView: c, Summary: summary(&c.Command)}
	}
	return rows
}

// liveEvent is what the event stream sends per changed command: just enough
// for the script to know which row to fetch again.
type liveEvent struct {
	Id       string
	State    bellhop.State
	Progress *float64
}

// maxLiveBatch is the largest batch the stream forwards event by event; a
// bigger one (a burst of load) tells the page to reload its rows instead.
const maxLiveBatch = 200

// events is the Server-Sent Events stream of command changes.
func (s *server) events(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.live == nil {
		http.Error(w, "Live updates are not available.", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	events, lagged, stop := s.live.Listen(64)
	defer stop()
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func() bool {
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	buf.WriteString("retry: 2000\n: connected\n\n")
	if !send() {
		return
	}
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case batch, ok := <-events:
			if !ok {
				return // the hub is shutting down
			}
			if lagged() || len(batch) > maxLiveBatch {
				buf.WriteString("event: reload\ndata: {}\n\n")
			} else {
				for _, e := range batch {
					b, _ := json.Marshal(liveEvent{Id: e.CommandID, State: e.State, Progress: e.Progress})
					buf.WriteString("data: ")
					buf.Write(b)
					buf.WriteString("\n\n")
				}
			}
		case <-beat.C:
			if lagged() {
				buf.WriteString("event: reload\ndata: {}\n\n")
			}
			buf.WriteString(": ping\n\n")
		}
		if !send() {
			return
		}
	}
}

// commandView is the content of a command's page.
type commandView struct {
	Cmd      hub.CommandView
	History  []bellhop.HistoryEntry
	Summary  string
	Printer  *printerView
	Key      *bellhop.KeyCutterData
	Payment  *bellhop.PaymentTerminalData
	Bill     *billView
	DataJSON string
	CSRF     string
}

type printerView struct {
	bellhop.PrinterData
	Bytes  int
	HasPDF bool
}

func (s *server) commandPage(w http.ResponseWriter, r *http.Request, sess *session) {
	cmd, hist, err := s.svc.Command(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v := commandView{Cmd: *cmd, History: hist, Summary: summary(&cmd.Command), CSRF: sess.csrf, DataJSON: prettyData(cmd.Data)}
	switch cmd.DeviceType {
	case bellhop.Printer:
		var d bellhop.PrinterData
		if json.Unmarshal(cmd.Data, &d) == nil {
			pdf := decodePDF(&d)
			v.Printer = &printerView{PrinterData: d, Bytes: len(pdf), HasPDF: pdf != nil}
		}
	case bellhop.KeyCutter:
		var d bellhop.KeyCutterData
		if json.Unmarshal(cmd.Data, &d) == nil {
			v.Key = &d
		}
	case bellhop.PaymentTerminal:
		var d bellhop.PaymentTerminalData
		if json.Unmarshal(cmd.Data, &d) == nil {
			v.Payment = &d
		}
	case bellhop.FiscalMachine:
		v.Bill = billOf(cmd.Data)
	}
	s.render(w, r, sess, http.StatusOK, "command", page{Title: "Command " + shortID(cmd.ID), Nav: "queue",
		Live: "command", LiveID: cmd.ID, Content: v})
}

// decodePDF returns the printer file when it is a PDF, else nil.
func decodePDF(d *bellhop.PrinterData) []byte {
	if d.FileType != "" && d.FileType != "application/pdf" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.FileData))
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		return nil
	}
	return b
}

// commandPDF serves a printer command's file so staff can see what is being
// printed. Only bytes that are a PDF are served, and only as a PDF, so a
// command's data can never be made to render as HTML on the console's origin.
func (s *server) commandPDF(w http.ResponseWriter, r *http.Request, sess *session) {
	cmd, _, err := s.svc.Command(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	var d bellhop.PrinterData
	var pdf []byte
	if cmd.DeviceType == bellhop.Printer && json.Unmarshal(cmd.Data, &d) == nil {
		pdf = decodePDF(&d)
	}
	if pdf == nil {
		s.renderError(w, r, sess, http.StatusNotFound, "This command carries no PDF.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="command-%s.pdf"`, cmd.ID))
	h.Set("Cache-Control", "no-store")
	w.Write(pdf)
}

func (s *server) cancelCommand(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	notes := strings.TrimSpace(r.PostFormValue("notes"))
	if len(notes) > 1000 {
		notes = notes[:1000]
	}
	cmd, err := s.svc.CancelCommand(r.Context(), id, sess.admin, notes)
	msg := ""
	if err == nil {
		msg = "Command " + shortID(cmd.ID) + " is cancelled."
	}
	s.back(w, r, sess, localPath(r.PostFormValue("back"), "/commands/"+url.PathEscape(id)), err, msg)
}

func (s *server) resendCommand(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	cmd, err := s.svc.Resend(r.Context(), id, sess.admin)
	if err != nil {
		s.back(w, r, sess, "/commands/"+url.PathEscape(id), err, "")
		return
	}
	s.back(w, r, sess, "/commands/"+cmd.ID, nil, "Sent again as this new command.")
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

// prettyData indents a command's Data for display, with long base64 file
// contents cut short so the page stays small.
func prettyData(raw json.RawMessage) string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return string(raw)
	}
	for k, v := range m {
		if s, ok := v.(string); ok && len(s) > 160 {
			m[k] = fmt.Sprintf("%s… (%d characters)", s[:48], len(s))
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// summary is the one-line description of what a command asks for.
func summary(c *bellhop.Command) string {
	switch c.DeviceType {
	case bellhop.Printer:
		var d bellhop.PrinterData
		if json.Unmarshal(c.Data, &d) == nil {
			n := base64.StdEncoding.DecodedLen(len(d.FileData))
			kind := "PDF"
			if d.FileType != "" && d.FileType != "application/pdf" {
				kind = d.FileType
			}
			return fmt.Sprintf("%s × %d · %s", kind, max(d.CopyCount, 1), sizeText(n))
		}
	case bellhop.KeyCutter:
		var d bellhop.KeyCutterData
		if json.Unmarshal(c.Data, &d) == nil {
			who := d.LastName
			if d.FirstName != nil && *d.FirstName != "" {
				who = *d.FirstName + " " + who
			}
			return fmt.Sprintf("%d key(s) · %s · %s", d.KeyCount, strings.Join(d.LockIds, ", "), who)
		}
	case bellhop.PaymentTerminal:
		var d bellhop.PaymentTerminalData
		if json.Unmarshal(c.Data, &d) == nil {
			who := ""
			if d.AccountData.Customer != nil {
				who = d.AccountData.Customer.FullName
			} else if d.AccountData.Company != nil {
				who = d.AccountData.Company.Name
			}
			typ := d.Type
			if typ == "" {
				typ = "Payment"
			}
			return fmt.Sprintf("%s %.2f %s · %s", typ, d.Amount.GrossValue, d.Amount.Currency, who)
		}
	case bellhop.FiscalMachine:
		if b := billOf(c.Data); b != nil {
			return fmt.Sprintf("Bill %s · %s", orText(b.Number, shortID(b.Id)), b.TotalText)
		}
	}
	return ""
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// billView is the summary of a FiscalMachine command's bill.
type billView struct {
	Id, Name, Number, State, Type, AccountId, AccountType string
	FiscalMachineId, TaxIdentifier, ApiUrl                string
	Items                                                 []billItem
	Payments                                              []billItem
	TotalText, PaidText                                   string
}

type billItem struct {
	Name, Type string
	Amount     string
}

// billOf reads the legacy FiscalMachine Data shape leniently: staff should
// see what is there even when a producer left fields out.
func billOf(raw json.RawMessage) *billView {
	type amount struct {
		Currency          string
		GrossValue, Value *float64
	}
	type item struct {
		Name, Type, SubType string
		Amount              *amount
	}
	var d struct {
		FiscalMachineId, ApiUrl, TaxIdentifier *string
		Bill                                   *struct {
			Id, Name, Number, State, Type, AccountId, AccountType *string
			Revenue, Payments, OrderItems, PaymentItems           []item
		}
	}
	if json.Unmarshal(raw, &d) != nil || d.Bill == nil {
		return nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	b := d.Bill
	v := &billView{Id: str(b.Id), Name: str(b.Name), Number: str(b.Number), State: str(b.State), Type: str(b.Type),
		AccountId: str(b.AccountId), AccountType: str(b.AccountType), FiscalMachineId: str(d.FiscalMachineId),
		TaxIdentifier: str(d.TaxIdentifier), ApiUrl: str(d.ApiUrl)}
	list := func(items []item) ([]billItem, string) {
		sums := map[string]float64{}
		var out []billItem
		for _, it := range items {
			bi := billItem{Name: it.Name, Type: strings.Trim(it.Type+" / "+it.SubType, " /")}
			if a := it.Amount; a != nil {
				val := a.GrossValue
				if val == nil {
					val = a.Value
				}
				if val != nil {
					bi.Amount = fmt.Sprintf("%.2f %s", *val, a.Currency)
					sums[a.Currency] += *val
				}
			}
			out = append(out, bi)
		}
		cur := make([]string, 0, len(sums))
		for c := range sums {
			cur = append(cur, c)
		}
		sort.Strings(cur)
		var parts []string
		for _, c := range cur {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%.2f %s", sums[c], c)))
		}
		return out, strings.Join(parts, " + ")
	}
	v.Items, v.TotalText = list(append(b.Revenue, b.OrderItems...))
	v.Payments, v.PaidText = list(append(b.Payments, b.PaymentItems...))
	if v.TotalText == "" {
		v.TotalText = "no items"
	}
	return v
}
