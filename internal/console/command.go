package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

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
	Role     bellhop.Role
	Zone     string // of the command's enterprise, "" = the browser's
}

type printerView struct {
	bellhop.PrinterData
	Size   string
	HasPDF bool
}

func (s *server) commandPage(w http.ResponseWriter, r *http.Request, sess *session) {
	cmd, hist, err := s.svc.Command(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	zone := ""
	if e, err := s.svc.Enterprise(r.Context(), cmd.EnterpriseID); err == nil {
		zone = e.TimeZone
	}
	v := commandView{Zone: zone, Cmd: *cmd, History: hist, Summary: summary(&cmd.Command), CSRF: sess.CSRF, Role: sess.Role, DataJSON: prettyData(cmd.Data)}
	switch cmd.DeviceType {
	case bellhop.Printer:
		var d bellhop.PrinterData
		if json.Unmarshal(cmd.Data, &d) == nil {
			pdf := decodePDF(&d)
			v.Printer = &printerView{PrinterData: d, Size: sizeText(fileSize(d.FileData)), HasPDF: pdf != nil}
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
	cmd, err := s.svc.CancelCommand(r.Context(), id, sess.Name, notes)
	msg := ""
	if err == nil {
		msg = "Command " + shortID(cmd.ID) + " is cancelled."
	}
	s.back(w, r, sess, localPath(r.PostFormValue("back"), "/commands/"+url.PathEscape(id)), err, msg)
}

func (s *server) resendCommand(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	cmd, err := s.svc.Resend(r.Context(), id, sess.Name)
	if err != nil {
		s.back(w, r, sess, "/commands/"+url.PathEscape(id), err, "")
		return
	}
	s.back(w, r, sess, "/commands/"+cmd.ID, nil, "Sent again as this new command.")
}
