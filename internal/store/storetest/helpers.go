package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err carries the domain error code; a not-found error
// must also match bellhop.ErrNotFound with errors.Is.
func wantCode(t testing.TB, err error, code string, context ...string) {
	t.Helper()
	what := strings.Join(context, " ")
	if got := bellhop.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v: code %q, want %q", what, err, got, code)
	}
	if code == bellhop.ENOTFOUND && !errors.Is(err, bellhop.ErrNotFound) {
		t.Fatalf("%s: error %v is not bellhop.ErrNotFound", what, err)
	}
}

// equal fails unless got and want are deeply equal; times must match to the
// location, so a time returned in another zone than UTC fails.
func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, w := show(got), show(want)
	if g == w {
		g += " (equal as JSON: look at time zones, and nil versus empty)"
	}
	t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func ids(cs []bellhop.Command) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// names names each command of cs c1, c2... by its place in all.
func names(cs, all []bellhop.Command) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = "?"
		for j, a := range all {
			if a.ID == c.ID {
				out[i] = fmt.Sprintf("c%d", j+1)
			}
		}
	}
	return out
}

func createEnterprise(t testing.TB, s store.Store) bellhop.Enterprise {
	t.Helper()
	e := bellhop.Enterprise{ID: bellhop.NewID(), Name: "Hotel " + bellhop.NewID()[:8], CreatedUtc: t0}
	must(t, s.CreateEnterprise(t.Context(), &e))
	return e
}

// createIntegration returns a new integration and the hash of its token.
func createIntegration(t testing.TB, s store.Store) (bellhop.Integration, string) {
	t.Helper()
	i := bellhop.Integration{ID: bellhop.NewID(), Name: "Integration " + bellhop.NewID()[:8], CreatedUtc: t0}
	hash := bellhop.HashToken(bellhop.NewToken())
	must(t, s.CreateIntegration(t.Context(), &i, hash))
	return i, hash
}

// createSubscription returns a new subscription and the hash of its token.
func createSubscription(t testing.TB, s store.Store, integrationID string, enterpriseIDs ...string) (bellhop.Subscription, string) {
	t.Helper()
	sub := bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: integrationID, EnterpriseIDs: enterpriseIDs, CreatedUtc: t0}
	hash := bellhop.HashToken(bellhop.NewToken())
	must(t, s.CreateSubscription(t.Context(), &sub, hash))
	return sub, hash
}

// world is a small property group: enterprise 1 with two printers, enterprise
// 2 with a fiscal machine, integration 1 with a subscription to enterprise 1
// and a portfolio subscription to both, integration 2 with a subscription to
// enterprise 1.
type world struct {
	t                      testing.TB
	s                      store.Store
	e1, e2                 bellhop.Enterprise
	i1, i2                 bellhop.Integration
	sub1, portfolio, other bellhop.Subscription
	d1, d2, d3             bellhop.Device
}

func newWorld(t testing.TB, s store.Store) *world {
	t.Helper()
	w := &world{t: t, s: s, e1: createEnterprise(t, s), e2: createEnterprise(t, s)}
	w.i1, _ = createIntegration(t, s)
	w.i2, _ = createIntegration(t, s)
	w.sub1, _ = createSubscription(t, s, w.i1.ID, w.e1.ID)
	w.portfolio, _ = createSubscription(t, s, w.i1.ID, w.e1.ID, w.e2.ID)
	w.other, _ = createSubscription(t, s, w.i2.ID, w.e1.ID)
	w.d1 = w.device(w.e1, bellhop.Printer, "Printer B")
	w.d2 = w.device(w.e1, bellhop.Printer, "Printer A")
	w.d3 = w.device(w.e2, bellhop.FiscalMachine, "Z fiscal")
	return w
}

func (w *world) device(e bellhop.Enterprise, typ bellhop.DeviceType, name string) bellhop.Device {
	w.t.Helper()
	d := bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e.ID, Type: typ, Name: name, CreatedUtc: t0}
	must(w.t, w.s.CreateDevice(w.t.Context(), &d))
	return d
}

// newCommand returns a command for d, created at the time and updated 5 ms
// later, created by a person.
func newCommand(d bellhop.Device, state bellhop.State, created time.Time) bellhop.Command {
	return bellhop.Command{
		ID: bellhop.NewID(), EnterpriseID: d.EnterpriseID, DeviceID: d.ID, DeviceType: d.Type, State: state,
		CreatedUtc: created, UpdatedUtc: created.Add(5 * time.Millisecond),
		Creator: bellhop.Creator{FirstName: "Ann", LastName: "Lee"},
		Data:    json.RawMessage(`{"CopyCount":1}`),
	}
}

// command stores a command for d created at(n), with its first history entry.
func (w *world) command(d bellhop.Device, state bellhop.State, n int) bellhop.Command {
	w.t.Helper()
	c := newCommand(d, state, at(n))
	return w.create(c)
}

// byIntegration stores a command for d created at(n) by integration 1.
func (w *world) byIntegration(d bellhop.Device, state bellhop.State, n int) bellhop.Command {
	w.t.Helper()
	c := newCommand(d, state, at(n))
	c.Creator = bellhop.Creator{IntegrationID: w.i1.ID}
	return w.create(c)
}

func (w *world) create(c bellhop.Command) bellhop.Command {
	w.t.Helper()
	created, err := w.s.CreateCommand(w.t.Context(), &c, bellhop.HistoryEntry{State: c.State, Utc: c.CreatedUtc, Actor: "admin"}, nil)
	must(w.t, err)
	if !created || c.Seq == 0 {
		w.t.Fatalf("CreateCommand: created = %v, Seq = %d", created, c.Seq)
	}
	return c
}
