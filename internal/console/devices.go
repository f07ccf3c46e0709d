package console

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

// commonZones are suggested for an enterprise's time zone; any IANA name is
// accepted.
var commonZones = []string{"UTC", "Europe/London", "Europe/Lisbon", "Europe/Dublin", "Europe/Paris", "Europe/Berlin",
	"Europe/Prague", "Europe/Vienna", "Europe/Rome", "Europe/Madrid", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich",
	"Europe/Warsaw", "Europe/Budapest", "Europe/Stockholm", "Europe/Copenhagen", "Europe/Oslo", "Europe/Helsinki",
	"Europe/Athens", "Europe/Istanbul", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Toronto", "America/Mexico_City", "America/Sao_Paulo", "Asia/Dubai", "Asia/Singapore", "Asia/Tokyo",
	"Australia/Sydney"}

// configField is one entry of a device's configuration, for display.
type configField struct{ Name, Value string }

// deviceRow is one device on the devices page.
type deviceRow struct {
	bellhop.Device
	Config []configField
	Subs   []subRef
	Stats  bellhop.DeviceStats
}

// subRef names a subscription by its integration, which is what staff know.
type subRef struct{ ID, Integration string }

// enterpriseDevices groups the devices of one enterprise.
type enterpriseDevices struct {
	bellhop.Enterprise
	Devices []deviceRow
}

// devicesView is the content of the devices page.
type devicesView struct {
	Enterprises []enterpriseDevices
	Types       []bellhop.DeviceType
	CSRF        string
	Role        bellhop.Role
	Zones       []string // suggestions for an enterprise's time zone
}

func configFields(c bellhop.DeviceConfig) []configField {
	all := []configField{
		{"Printer name", c.PrinterName}, {"Printer driver", c.PrinterDriverName}, {"Printer port", c.PrinterPortName},
		{"Key cutter id", c.KeyCutterID}, {"Key cutter data", c.KeyCutterData},
		{"Fiscal machine id", c.FiscalMachineID}, {"Fiscal machine data", c.FiscalMachineData}, {"Tax identifier", c.TaxIdentifier},
		{"Payment terminal id", c.PaymentTerminalID}, {"Payment terminal data", c.PaymentTerminalData},
		{"Passport scanner id", c.PassportScannerID}, {"API URL", c.ApiUrl},
	}
	out := all[:0]
	for _, f := range all {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

// subscriptionNames maps subscription ids to their integration's name.
func (s *server) subscriptionNames(ctx context.Context) (map[string]string, error) {
	integs, err := s.svc.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, i := range integs {
		names[i.ID] = i.Name
	}
	subs, err := s.svc.Subscriptions(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, sub := range subs {
		out[sub.ID] = names[sub.IntegrationID]
	}
	return out, nil
}

func (s *server) devicesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	ents, err := s.svc.Enterprises(ctx)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	devs, err := s.svc.ListDevices(ctx, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	stats, err := s.svc.Stats(ctx, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	subNames, err := s.subscriptionNames(ctx)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	byEnt := map[string][]deviceRow{}
	for _, d := range devs {
		ids, err := s.svc.DeviceSubscriptions(ctx, d.ID)
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		row := deviceRow{Device: d, Config: configFields(d.Config), Stats: stats[d.ID]}
		for _, id := range ids {
			row.Subs = append(row.Subs, subRef{ID: id, Integration: subNames[id]})
		}
		byEnt[d.EnterpriseID] = append(byEnt[d.EnterpriseID], row)
	}
	v := devicesView{Types: bellhop.DeviceTypes, CSRF: sess.CSRF, Role: sess.Role, Zones: commonZones}
	for _, e := range ents {
		v.Enterprises = append(v.Enterprises, enterpriseDevices{Enterprise: e, Devices: byEnt[e.ID]})
	}
	s.render(w, r, sess, http.StatusOK, "devices", page{Title: "Devices", Nav: "devices", Content: v})
}

func (s *server) createEnterprise(w http.ResponseWriter, r *http.Request, sess *session) {
	e, err := s.svc.CreateEnterprise(r.Context(), r.PostFormValue("name"))
	msg := ""
	if err == nil {
		msg = "Enterprise " + e.Name + " is created."
	}
	s.back(w, r, sess, localPath(r.PostFormValue("back"), "/devices"), err, msg)
}

func (s *server) setTimeZone(w http.ResponseWriter, r *http.Request, sess *session) {
	e, err := s.svc.SetEnterpriseTimeZone(r.Context(), r.PathValue("id"), r.PostFormValue("zone"))
	msg := ""
	if err == nil {
		msg = e.Name + "'s times are shown in each browser's time zone."
		if e.TimeZone != "" {
			msg = e.Name + "'s times are shown in " + e.TimeZone + "."
		}
	}
	s.back(w, r, sess, "/devices", err, msg)
}

// deviceFromForm reads the create-device form. Only the configuration fields
// of the chosen type are taken: the form shows them all when scripts are off.
func deviceFromForm(r *http.Request) *bellhop.Device {
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	d := &bellhop.Device{EnterpriseID: f("enterprise"), Type: bellhop.DeviceType(f("type")), Name: f("name"), Identifier: f("identifier")}
	if d.Type == otherType {
		d.Type = bellhop.DeviceType(f("type_label"))
	}
	c := &d.Config
	switch d.Type {
	case bellhop.Printer:
		c.PrinterName, c.PrinterDriverName, c.PrinterPortName = f("printer_name"), f("printer_driver"), f("printer_port")
	case bellhop.KeyCutter:
		c.KeyCutterID, c.KeyCutterData, c.ApiUrl = f("key_cutter_id"), f("key_cutter_data"), f("key_cutter_api_url")
	case bellhop.FiscalMachine:
		c.FiscalMachineID, c.FiscalMachineData, c.TaxIdentifier, c.ApiUrl = f("fiscal_machine_id"), f("fiscal_machine_data"), f("tax_identifier"), f("fiscal_api_url")
	case bellhop.PaymentTerminal:
		c.PaymentTerminalID, c.PaymentTerminalData = f("payment_terminal_id"), f("payment_terminal_data")
	case bellhop.PassportScanner:
		c.PassportScannerID = f("passport_scanner_id")
	}
	return d
}

// otherType is the form's choice of a generic device, whose type is the
// label typed next to it.
const otherType = "Other"

func (s *server) createDevice(w http.ResponseWriter, r *http.Request, sess *session) {
	d := deviceFromForm(r)
	err := s.svc.CreateDevice(r.Context(), d)
	msg := ""
	if err == nil {
		msg = "Device " + d.Name + " is created. Connect it to an integration's subscription on the Integrations page."
	}
	s.back(w, r, sess, "/devices", err, msg)
}

func (s *server) deleteDevice(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.svc.DeleteDevice(r.Context(), r.PathValue("id"))
	s.back(w, r, sess, "/devices", err, "The device is deleted; its commands stay in the queue's history.")
}

// subRow is one subscription on the integrations page.
type subRow struct {
	bellhop.Subscription
	Enterprises []string
	Sockets     int
	Connected   []bellhop.Device
	Available   []bellhop.Device // devices in scope that are not connected
}

// integrationRow is one integration with its subscriptions.
type integrationRow struct {
	bellhop.Integration
	Subs []subRow
}

// createdToken is a token shown once, right after it was made.
type createdToken struct {
	Kind  string // ClientToken or AccessToken
	For   string
	ID    string
	Token string
}

// integrationsView is the content of the integrations page.
type integrationsView struct {
	Integrations []integrationRow
	Enterprises  []bellhop.Enterprise
	Created      *createdToken
	CSRF         string
}

func (s *server) integrationsView(ctx context.Context, csrf string) (*integrationsView, error) {
	integs, err := s.svc.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	ents, err := s.svc.Enterprises(ctx)
	if err != nil {
		return nil, err
	}
	entNames := map[string]string{}
	for _, e := range ents {
		entNames[e.ID] = e.Name
	}
	devs, err := s.svc.ListDevices(ctx, "")
	if err != nil {
		return nil, err
	}
	subs, err := s.svc.Subscriptions(ctx, "")
	if err != nil {
		return nil, err
	}
	var sockets map[string]int
	if s.live != nil {
		sockets = s.live.SocketsBySubscription()
	}
	bySub := map[string][]subRow{}
	for _, sub := range subs {
		row := subRow{Subscription: sub, Sockets: sockets[sub.ID]}
		for _, id := range sub.EnterpriseIDs {
			row.Enterprises = append(row.Enterprises, orText(entNames[id], id))
		}
		if !sub.Revoked {
			if row.Connected, err = s.svc.ConnectedDevices(ctx, sub.ID); err != nil {
				return nil, err
			}
			connected := map[string]bool{}
			for _, d := range row.Connected {
				connected[d.ID] = true
			}
			for _, d := range devs {
				if sub.Covers(d.EnterpriseID) && !connected[d.ID] && (sub.GenericDevices || !d.Type.Generic()) {
					row.Available = append(row.Available, d)
				}
			}
		}
		bySub[sub.IntegrationID] = append(bySub[sub.IntegrationID], row)
	}
	v := &integrationsView{Enterprises: ents, CSRF: csrf}
	for _, i := range integs {
		v.Integrations = append(v.Integrations, integrationRow{Integration: i, Subs: bySub[i.ID]})
	}
	sort.SliceStable(v.Integrations, func(a, b int) bool { return v.Integrations[a].Name < v.Integrations[b].Name })
	return v, nil
}

func (s *server) integrationsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v, err := s.integrationsView(r.Context(), sess.CSRF)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "integrations", page{Title: "Integrations", Nav: "integrations", Content: v})
}

// showToken renders the integrations page with a new token on it. It is
// rendered in the POST's response rather than redirected to, so the token
// never appears in a URL, a history entry or a server log.
func (s *server) showToken(w http.ResponseWriter, r *http.Request, sess *session, t *createdToken) {
	v, err := s.integrationsView(r.Context(), sess.CSRF)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v.Created = t
	s.render(w, r, sess, http.StatusOK, "integrations", page{Title: "Integrations", Nav: "integrations", Content: v})
}

func (s *server) createIntegration(w http.ResponseWriter, r *http.Request, sess *session) {
	integ, token, err := s.svc.CreateIntegration(r.Context(), r.PostFormValue("name"))
	if err != nil {
		s.back(w, r, sess, "/integrations", err, "")
		return
	}
	s.showToken(w, r, sess, &createdToken{Kind: "ClientToken", For: integ.Name, ID: integ.ID, Token: token})
}

// setGeneric lets a subscription see generic devices, or stop seeing them.
func (s *server) setGeneric(w http.ResponseWriter, r *http.Request, sess *session) {
	on := r.PostFormValue("on") == "true"
	_, err := s.svc.SetGenericDevices(r.Context(), r.PathValue("id"), on)
	msg := "The subscription sees generic devices now: connect them below."
	if !on {
		msg = "The subscription no longer sees generic devices."
	}
	s.back(w, r, sess, "/integrations", err, msg)
}

func (s *server) createSubscription(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := r.ParseForm(); err != nil {
		s.back(w, r, sess, "/integrations", bellhop.Invalid("form"), "")
		return
	}
	sub, token, err := s.svc.CreateSubscriptionWith(r.Context(), hub.NewSubscription{IntegrationID: r.PostForm.Get("integration"),
		EnterpriseIDs: r.PostForm["enterprise"], GenericDevices: r.PostForm.Get("generic") == "true"})
	if err != nil {
		s.back(w, r, sess, "/integrations", err, "")
		return
	}
	name := sub.IntegrationID
	if integs, err := s.svc.Integrations(r.Context()); err == nil {
		for _, i := range integs {
			if i.ID == sub.IntegrationID {
				name = i.Name
			}
		}
	}
	s.showToken(w, r, sess, &createdToken{Kind: "AccessToken", For: name, ID: sub.ID, Token: token})
}

func (s *server) connect(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.svc.Connect(r.Context(), r.PathValue("id"), r.PostFormValue("device"))
	s.back(w, r, sess, localPath(r.PostFormValue("back"), "/integrations"), err, "The device is connected; the integration's open sockets get its events now.")
}

func (s *server) disconnect(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.svc.Disconnect(r.Context(), r.PathValue("id"), r.PostFormValue("device"))
	s.back(w, r, sess, localPath(r.PostFormValue("back"), "/integrations"), err, "The device is disconnected.")
}

func (s *server) revoke(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.svc.RevokeSubscription(r.Context(), r.PathValue("id"))
	s.back(w, r, sess, "/integrations", err, "The subscription is revoked; its AccessToken stopped working and its sockets were closed.")
}
