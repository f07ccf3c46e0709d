package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/hub"
)

// The faults page: what is set, what it did, and a form to set more. Only
// admins see it; every page tells everyone when faults are set.

// faultsView is the content of the faults page.
type faultsView struct {
	CSRF     string
	Faults   []faultRow
	Firings  []firingRow
	Kinds    []kindOption
	Scopes   []scopeOption
	Ops      []string
	Statuses []int
}

type faultRow struct {
	fault.State
	Scope   string // in words
	Compact string // the form that replays it
}

type firingRow struct {
	fault.Firing
	Scope string
}

type kindOption struct {
	Kind  fault.Kind
	Event bool
	Help  string
}

type scopeOption struct {
	Value, Label string
}

// kindHelp says what each kind does, for the form.
var kindHelp = map[fault.Kind]string{
	fault.Refuse:         "answer a status (503, 429 with Retry-After, 500...) without carrying the request out",
	fault.AppliedError:   "carry the request out, then answer a status (500): the change is made",
	fault.Timeout:        "hold the request without carrying it out, then drop the connection unanswered",
	fault.Slow:           "wait, then carry the request out",
	fault.DropEvent:      "do not send the event",
	fault.DelayEvent:     "send the event late",
	fault.DuplicateEvent: "send the event twice",
	fault.ReorderEvent:   "send the event after the next one",
	fault.CloseSocket:    "close the socket with a code instead of sending the event",
}

func (s *server) faultsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	names, scopes, err := s.scopeNames(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	v := faultsView{CSRF: sess.CSRF, Scopes: scopes, Ops: append(append([]string{}, bellhop.Operations...), bellhop.OperationWebSocket),
		Statuses: fault.Statuses}
	for _, k := range fault.Kinds {
		v.Kinds = append(v.Kinds, kindOption{Kind: k, Event: k.Event(), Help: kindHelp[k]})
	}
	for _, st := range s.svc.Faults() {
		v.Faults = append(v.Faults, faultRow{State: st, Scope: scopeName(names, st.IntegrationID, st.SubscriptionID), Compact: st.Spec.String()})
	}
	firings, err := s.svc.FaultFirings("", 100)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	for _, f := range firings {
		v.Firings = append(v.Firings, firingRow{Firing: f, Scope: scopeName(names, f.IntegrationID, f.SubscriptionID)})
	}
	s.render(w, r, sess, http.StatusOK, "faults", page{Title: "Faults", Nav: "faults", Content: v})
}

// scopeNames returns names for integration and subscription ids, and the
// scopes a fault may have.
func (s *server) scopeNames(ctx context.Context) (map[string]string, []scopeOption, error) {
	integs, err := s.svc.Integrations(ctx)
	if err != nil {
		return nil, nil, err
	}
	subs, err := s.svc.Subscriptions(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	scopes := []scopeOption{{"", "Every integration"}}
	for _, i := range integs {
		names[i.ID] = i.Name
		scopes = append(scopes, scopeOption{"integration:" + i.ID, "Integration " + i.Name})
	}
	for _, sub := range subs {
		if sub.Revoked {
			continue
		}
		names[sub.ID] = names[sub.IntegrationID] + " · subscription " + shortID(sub.ID)
		scopes = append(scopes, scopeOption{"subscription:" + sub.ID, "Subscription " + shortID(sub.ID) + " of " + names[sub.IntegrationID]})
	}
	return names, scopes, nil
}

func scopeName(names map[string]string, integrationID, subscriptionID string) string {
	switch {
	case subscriptionID != "":
		return orID(names[subscriptionID], subscriptionID)
	case integrationID != "":
		return orID(names[integrationID], integrationID)
	}
	return "every integration"
}

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

// setFault reads the form of the faults page.
func (s *server) setFault(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := r.ParseForm(); err != nil {
		s.back(w, r, sess, "/faults", bellhop.Invalid("form"), "")
		return
	}
	f := r.PostForm
	spec := fault.Spec{Kind: fault.Kind(f.Get("kind")), Operations: f["op"]}
	scope, id, _ := strings.Cut(f.Get("scope"), ":")
	switch scope {
	case "integration":
		spec.IntegrationID = id
	case "subscription":
		spec.SubscriptionID = id
	}
	var err error
	num := func(field string, parse func(string) error) {
		if v := strings.TrimSpace(f.Get(field)); v != "" && err == nil {
			if parse(v) != nil {
				err = bellhop.Invalid(strings.ToUpper(field[:1]) + field[1:])
			}
		}
	}
	num("rate", func(v string) (e error) { spec.Rate, e = strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64); return })
	if strings.HasSuffix(strings.TrimSpace(f.Get("rate")), "%") {
		spec.Rate /= 100
	}
	num("seed", func(v string) (e error) { spec.Seed, e = strconv.ParseUint(v, 10, 64); return })
	num("delay", func(v string) (e error) { spec.Delay, e = time.ParseDuration(v); return })
	num("times", func(v string) (e error) { spec.Times, e = strconv.ParseInt(v, 10, 64); return })
	if spec.Kind == fault.Refuse || spec.Kind == fault.AppliedError {
		num("status", func(v string) (e error) { spec.Status, e = strconv.Atoi(v); return })
	}
	if spec.Kind == fault.CloseSocket {
		num("code", func(v string) (e error) { spec.CloseCode, e = strconv.Atoi(v); return })
	}
	if spec.Kind.Event() {
		spec.Operations = nil
	}
	if err != nil {
		s.back(w, r, sess, "/faults", err, "")
		return
	}
	set, err := s.svc.SetFault(r.Context(), actor(r, sess), spec)
	msg := ""
	if err == nil {
		msg = "Fault set: " + hub.DescribeFault(set) + ". To replay it: " + set.String()
	}
	s.back(w, r, sess, "/faults", err, msg)
}

func (s *server) clearFault(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.svc.ClearFault(r.Context(), actor(r, sess), r.PathValue("id"))
	s.back(w, r, sess, "/faults", err, "Fault cleared.")
}

func (s *server) clearFaults(w http.ResponseWriter, r *http.Request, sess *session) {
	n := s.svc.ClearFaults(r.Context(), actor(r, sess))
	s.back(w, r, sess, "/faults", nil, strconv.Itoa(n)+" faults cleared.")
}

// activeFaults counts the faults that may still fire, for the banner every
// page shows.
func (s *server) activeFaults() int {
	n := 0
	for _, f := range s.svc.Faults() {
		if !f.Spent {
			n++
		}
	}
	return n
}
