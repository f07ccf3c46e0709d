// Package storetest is the conformance suite every store.Store runs: the
// SQLite and PostgreSQL backends call Run from their own tests, on real
// databases, so that both behave the same where the interface speaks and where
// it is silent.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store"
)

// Option changes what the suite expects of a backend.
type Option func(*options)

type options struct {
	exclusiveLocks bool
}

// ExclusiveLocks says that the backend is shared by several hub nodes, so
// TryLock must refuse a name that is held until it is released. Without it the
// suite expects TryLock to always succeed, as a single-node store does.
func ExclusiveLocks() Option { return func(o *options) { o.exclusiveLocks = true } }

// Run runs the suite. open must return a fresh, empty store for each call and
// close it when the test ends (closing twice must be harmless). The subtests
// run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Enterprises", testEnterprises},
		{"Integrations", testIntegrations},
		{"Subscriptions", testSubscriptions},
		{"RevokeSubscription", testRevokeSubscription},
		{"Authenticate", testAuthenticate},
		{"AdminTokens", testAdminTokens},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"Audit", testAudit},
		{"Devices", testDevices},
		{"DeleteDevice", testDeleteDevice},
		{"Connections", testConnections},
		{"Reservations", testReservations},
		{"Customers", testCustomers},
		{"CreateCommand", testCreateCommand},
		{"Idempotency", testIdempotency},
		{"GetCommands", testGetCommands},
		{"ListCommands", testListCommands},
		{"Paging", testPaging},
		{"UpdateCommands", testUpdateCommands},
		{"UpdateCommandsRollback", testUpdateCommandsRollback},
		{"UpdateCommandsConcurrent", testUpdateCommandsConcurrent},
		{"FetchCommands", testFetchCommands},
		{"FetchCommandsRollback", testFetchCommandsRollback},
		{"FetchCommandsConcurrent", testFetchCommandsConcurrent},
		{"ConcurrentWritesSomeFail", testConcurrentWritesSomeFail},
		{"ReadDuringWrite", testReadDuringWrite},
		{"Stats", testStats},
		{"Purge", testPurge},
		{"Payments", testPayments},
		{"ExternalID", testExternalID},
		{"AgeCommands", testAgeCommands},
		{"GenericTypes", testGenericTypes},
		{"Presence", testPresence},
		{"TryLock", func(t *testing.T, s store.Store) { testTryLock(t, s, o.exclusiveLocks) }},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// t0 is the suite's clock: a fixed UTC time with millisecond precision, the
// precision every store keeps.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus n milliseconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func testEnterprises(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := bellhop.Enterprise{ID: bellhop.NewID(), Name: "B hotel", CreatedUtc: at(1).In(time.FixedZone("CET", 3600))}
	a := bellhop.Enterprise{ID: bellhop.NewID(), Name: "A hotel", CreatedUtc: at(2)}
	must(t, s.CreateEnterprise(ctx, &b))
	must(t, s.CreateEnterprise(ctx, &a))
	b.CreatedUtc = b.CreatedUtc.UTC()

	got, err := s.GetEnterprise(ctx, b.ID)
	must(t, err)
	equal(t, "enterprise (times come back in UTC)", *got, b)
	list, err := s.ListEnterprises(ctx)
	must(t, err)
	equal(t, "enterprises by name", list, []bellhop.Enterprise{a, b})

	_, err = s.GetEnterprise(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	wantCode(t, s.CreateEnterprise(ctx, &bellhop.Enterprise{ID: a.ID, Name: "again", CreatedUtc: t0}), bellhop.ECONFLICT)

	must(t, s.SetEnterpriseTimeZone(ctx, a.ID, "Europe/Prague"))
	got, err = s.GetEnterprise(ctx, a.ID)
	must(t, err)
	equal(t, "time zone", got.TimeZone, "Europe/Prague")
	c := bellhop.Enterprise{ID: bellhop.NewID(), Name: "C hotel", CreatedUtc: at(3), TimeZone: "America/New_York"}
	must(t, s.CreateEnterprise(ctx, &c))
	list, err = s.ListEnterprises(ctx)
	must(t, err)
	a.TimeZone = "Europe/Prague"
	equal(t, "enterprises with their zones", list, []bellhop.Enterprise{a, b, c})
	wantCode(t, s.SetEnterpriseTimeZone(ctx, bellhop.NewID(), "UTC"), bellhop.ENOTFOUND, "zone of an unknown enterprise")
}

func testIntegrations(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.ListIntegrations(ctx)
	must(t, err)
	equal(t, "integrations of an empty store", list, []bellhop.Integration{})

	b := bellhop.Integration{ID: bellhop.NewID(), Name: "B locks", CreatedUtc: at(1)}
	a := bellhop.Integration{ID: bellhop.NewID(), Name: "A printers", CreatedUtc: at(2)}
	must(t, s.CreateIntegration(ctx, &b, "hash-b"))
	must(t, s.CreateIntegration(ctx, &a, "hash-a"))

	got, err := s.GetIntegration(ctx, a.ID)
	must(t, err)
	equal(t, "integration", *got, a)
	list, err = s.ListIntegrations(ctx)
	must(t, err)
	equal(t, "integrations by name", list, []bellhop.Integration{a, b})

	_, err = s.GetIntegration(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	wantCode(t, s.CreateIntegration(ctx, &bellhop.Integration{ID: a.ID, Name: "x", CreatedUtc: t0}, "hash-x"), bellhop.ECONFLICT)
	c := bellhop.Integration{ID: bellhop.NewID(), Name: "same token", CreatedUtc: t0}
	wantCode(t, s.CreateIntegration(ctx, &c, "hash-a"), bellhop.ECONFLICT)
	_, err = s.GetIntegration(ctx, c.ID)
	wantCode(t, err, bellhop.ENOTFOUND)
}

func testSubscriptions(t *testing.T, s store.Store) {
	ctx := t.Context()
	e1, e2 := createEnterprise(t, s), createEnterprise(t, s)
	i1, _ := createIntegration(t, s)
	i2, _ := createIntegration(t, s)

	portfolio := bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: i1.ID, EnterpriseIDs: []string{e2.ID, e1.ID}, CreatedUtc: at(20)}
	must(t, s.CreateSubscription(ctx, &portfolio, "access-portfolio"))
	older := bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: i1.ID, EnterpriseIDs: []string{e1.ID}, CreatedUtc: at(10),
		GenericDevices: true}
	must(t, s.CreateSubscription(ctx, &older, "access-older"))
	other := bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: i2.ID, EnterpriseIDs: []string{e2.ID}, CreatedUtc: at(15)}
	must(t, s.CreateSubscription(ctx, &other, "access-other"))

	got, err := s.GetSubscription(ctx, portfolio.ID)
	must(t, err)
	equal(t, "portfolio subscription (enterprise order kept)", *got, portfolio)
	if !got.Portfolio() {
		t.Errorf("subscription over two enterprises is not a portfolio")
	}
	list, err := s.ListSubscriptions(ctx, i1.ID)
	must(t, err)
	equal(t, "subscriptions of integration 1, oldest first", list, []bellhop.Subscription{older, portfolio})
	list, err = s.ListSubscriptions(ctx, "")
	must(t, err)
	equal(t, "all subscriptions, oldest first", list, []bellhop.Subscription{older, other, portfolio})
	list, err = s.ListSubscriptions(ctx, bellhop.NewID())
	must(t, err)
	equal(t, "subscriptions of an unknown integration", list, []bellhop.Subscription{})

	_, err = s.GetSubscription(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	for name, sub := range map[string]bellhop.Subscription{
		"missing enterprise":  {ID: bellhop.NewID(), IntegrationID: i1.ID, EnterpriseIDs: []string{e1.ID, bellhop.NewID()}, CreatedUtc: t0},
		"missing integration": {ID: bellhop.NewID(), IntegrationID: bellhop.NewID(), EnterpriseIDs: []string{e1.ID}, CreatedUtc: t0},
	} {
		wantCode(t, s.CreateSubscription(ctx, &sub, "access-"+name), bellhop.ENOTFOUND)
		_, err := s.GetSubscription(ctx, sub.ID)
		wantCode(t, err, bellhop.ENOTFOUND) // nothing of it was written
	}
	dup := bellhop.Subscription{ID: bellhop.NewID(), IntegrationID: i1.ID, EnterpriseIDs: []string{e1.ID}, CreatedUtc: t0}
	wantCode(t, s.CreateSubscription(ctx, &dup, "access-older"), bellhop.ECONFLICT)

	// Generic devices: set and cleared, and what authentication returns.
	must(t, s.SetSubscriptionGenericDevices(ctx, portfolio.ID, true))
	must(t, s.SetSubscriptionGenericDevices(ctx, older.ID, false))
	got, err = s.GetSubscription(ctx, portfolio.ID)
	must(t, err)
	equal(t, "generic devices set", got.GenericDevices, true)
	got, err = s.GetSubscription(ctx, older.ID)
	must(t, err)
	equal(t, "generic devices cleared", got.GenericDevices, false)
	wantCode(t, s.SetSubscriptionGenericDevices(ctx, bellhop.NewID(), true), bellhop.ENOTFOUND)
	dup.ID = older.ID
	wantCode(t, s.CreateSubscription(ctx, &dup, "access-new"), bellhop.ECONFLICT)
}

func testRevokeSubscription(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createEnterprise(t, s)
	i, _ := createIntegration(t, s)
	sub, _ := createSubscription(t, s, i.ID, e.ID)

	must(t, s.RevokeSubscription(ctx, sub.ID))
	must(t, s.RevokeSubscription(ctx, sub.ID)) // again: not an error
	got, err := s.GetSubscription(ctx, sub.ID)
	must(t, err)
	sub.Revoked = true
	equal(t, "revoked subscription", *got, sub)
	list, err := s.ListSubscriptions(ctx, i.ID)
	must(t, err)
	equal(t, "subscriptions, revoked included", list, []bellhop.Subscription{sub})
	wantCode(t, s.RevokeSubscription(ctx, bellhop.NewID()), bellhop.ENOTFOUND)
}

func testAuthenticate(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createEnterprise(t, s)
	ia, clientA := createIntegration(t, s)
	ib, clientB := createIntegration(t, s)
	sa, accessA := createSubscription(t, s, ia.ID, e.ID)
	_, accessB := createSubscription(t, s, ib.ID, e.ID)

	c, err := s.Authenticate(ctx, clientA, accessA)
	must(t, err)
	equal(t, "caller", *c, bellhop.Caller{Integration: ia, Subscription: sa})

	for name, tokens := range map[string][2]string{
		"wrong client token":   {"nope", accessA},
		"wrong access token":   {clientA, "nope"},
		"mismatched tokens":    {clientA, accessB},
		"mismatched tokens 2":  {clientB, accessA},
		"swapped tokens":       {accessA, clientA},
		"empty tokens":         {"", ""},
		"client token only":    {clientA, ""},
		"access token only":    {"", accessA},
		"two client tokens":    {clientA, clientA},
		"another client token": {clientB, accessA},
	} {
		_, err := s.Authenticate(ctx, tokens[0], tokens[1])
		wantCode(t, err, bellhop.ENOTFOUND, name)
	}

	must(t, s.RevokeSubscription(ctx, sa.ID))
	_, err = s.Authenticate(ctx, clientA, accessA)
	wantCode(t, err, bellhop.ENOTFOUND, "revoked subscription")
	_, err = s.Authenticate(ctx, clientB, accessB)
	must(t, err)
}

func testAdminTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateAdminToken(ctx, "ops", "hash-ops"))
	must(t, s.CreateAdminToken(ctx, "ci", "hash-ci"))
	name, err := s.AdminTokenName(ctx, "hash-ops")
	must(t, err)
	equal(t, "admin token name", name, "ops")

	_, err = s.AdminTokenName(ctx, "hash-nope")
	wantCode(t, err, bellhop.ENOTFOUND)
	wantCode(t, s.CreateAdminToken(ctx, "other", "hash-ops"), bellhop.ECONFLICT, "same hash")
	wantCode(t, s.CreateAdminToken(ctx, "ops", "hash-other"), bellhop.ECONFLICT, "same name")
}

func testDevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	e1, e2 := createEnterprise(t, s), createEnterprise(t, s)
	printer := bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e1.ID, Type: bellhop.Printer, Name: "Reception printer",
		Identifier: "PRN-1", CreatedUtc: at(1),
		Config: bellhop.DeviceConfig{PrinterName: "HP", PrinterDriverName: "hpcups", PrinterPortName: "9100"}}
	cutter := bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e1.ID, Type: bellhop.KeyCutter, Name: "Key cutter",
		CreatedUtc: at(2), Config: bellhop.DeviceConfig{KeyCutterID: "KC", KeyCutterData: `{"a":1}`, ApiUrl: "https://locks.example/api"}}
	fiscal := bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e2.ID, Type: bellhop.FiscalMachine, Name: "Fiscal", CreatedUtc: at(3),
		Config: bellhop.DeviceConfig{FiscalMachineID: "FM", TaxIdentifier: "IT123"}}
	for _, d := range []*bellhop.Device{&printer, &cutter, &fiscal} {
		must(t, s.CreateDevice(ctx, d))
	}

	got, err := s.GetDevice(ctx, printer.ID)
	must(t, err)
	equal(t, "printer", *got, printer)
	got, err = s.GetDevice(ctx, cutter.ID)
	must(t, err)
	equal(t, "key cutter", *got, cutter)

	list, err := s.ListDevices(ctx, e1.ID)
	must(t, err)
	equal(t, "devices of enterprise 1 by name", list, []bellhop.Device{cutter, printer})
	list, err = s.ListDevices(ctx, "")
	must(t, err)
	equal(t, "all devices by name", list, []bellhop.Device{fiscal, cutter, printer})
	list, err = s.ListDevices(ctx, bellhop.NewID())
	must(t, err)
	equal(t, "devices of an unknown enterprise", list, []bellhop.Device{})

	_, err = s.GetDevice(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	orphan := bellhop.Device{ID: bellhop.NewID(), EnterpriseID: bellhop.NewID(), Type: bellhop.Printer, Name: "x", CreatedUtc: t0}
	wantCode(t, s.CreateDevice(ctx, &orphan), bellhop.ENOTFOUND, "device of a missing enterprise")
	dup := printer
	dup.Name = "again"
	wantCode(t, s.CreateDevice(ctx, &dup), bellhop.ECONFLICT)
}

func testDeleteDevice(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	must(t, s.Connect(ctx, w.sub1.ID, w.d1.ID))
	c := w.command(w.d1, bellhop.Pending, 1)

	must(t, s.DeleteDevice(ctx, w.d1.ID))
	_, err := s.GetDevice(ctx, w.d1.ID)
	wantCode(t, err, bellhop.ENOTFOUND)
	devices, err := s.ConnectedDevices(ctx, w.sub1.ID)
	must(t, err)
	equal(t, "devices connected after the delete", devices, []bellhop.Device{})
	subs, err := s.DeviceSubscriptions(ctx, w.d1.ID)
	must(t, err)
	equal(t, "subscriptions of the deleted device", subs, []string{})
	got, err := s.GetCommand(ctx, c.ID)
	must(t, err)
	equal(t, "command of the deleted device", *got, c)

	wantCode(t, s.DeleteDevice(ctx, w.d1.ID), bellhop.ENOTFOUND, "second delete")
	// The id is free again.
	must(t, s.CreateDevice(ctx, &w.d1))
}

func testConnections(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)

	must(t, s.Connect(ctx, w.sub1.ID, w.d1.ID))
	must(t, s.Connect(ctx, w.sub1.ID, w.d1.ID)) // again: not an error
	must(t, s.Connect(ctx, w.sub1.ID, w.d2.ID))
	wantCode(t, s.Connect(ctx, w.sub1.ID, w.d3.ID), bellhop.EINVALID, "device of an enterprise out of scope")
	must(t, s.Connect(ctx, w.portfolio.ID, w.d1.ID))
	must(t, s.Connect(ctx, w.portfolio.ID, w.d3.ID))
	must(t, s.Connect(ctx, w.other.ID, w.d1.ID))
	wantCode(t, s.Connect(ctx, bellhop.NewID(), w.d1.ID), bellhop.ENOTFOUND, "missing subscription")
	wantCode(t, s.Connect(ctx, w.sub1.ID, bellhop.NewID()), bellhop.ENOTFOUND, "missing device")

	devices, err := s.ConnectedDevices(ctx, w.sub1.ID)
	must(t, err)
	equal(t, "devices of subscription 1, by name", devices, []bellhop.Device{w.d2, w.d1})
	devices, err = s.ConnectedDevices(ctx, w.portfolio.ID)
	must(t, err)
	equal(t, "devices of the portfolio", devices, []bellhop.Device{w.d1, w.d3})
	devices, err = s.ConnectedDevices(ctx, bellhop.NewID())
	must(t, err)
	equal(t, "devices of an unknown subscription", devices, []bellhop.Device{})

	subs, err := s.DeviceSubscriptions(ctx, w.d1.ID)
	must(t, err)
	equal(t, "subscriptions of d1", sorted(subs), sorted([]string{w.sub1.ID, w.portfolio.ID, w.other.ID}))
	must(t, s.RevokeSubscription(ctx, w.other.ID))
	subs, err = s.DeviceSubscriptions(ctx, w.d1.ID)
	must(t, err)
	equal(t, "unrevoked subscriptions of d1", sorted(subs), sorted([]string{w.sub1.ID, w.portfolio.ID}))

	must(t, s.Disconnect(ctx, w.sub1.ID, w.d1.ID))
	must(t, s.Disconnect(ctx, w.sub1.ID, w.d1.ID)) // again: not an error
	must(t, s.Disconnect(ctx, bellhop.NewID(), bellhop.NewID()))
	devices, err = s.ConnectedDevices(ctx, w.sub1.ID)
	must(t, err)
	equal(t, "devices of subscription 1 after a disconnect", devices, []bellhop.Device{w.d2})
	subs, err = s.DeviceSubscriptions(ctx, w.d1.ID)
	must(t, err)
	equal(t, "subscriptions of d1 after a disconnect", subs, []string{w.portfolio.ID})
}

func testReservations(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createEnterprise(t, s)
	r := bellhop.Reservation{ID: bellhop.NewID(), EnterpriseID: e.ID, Number: "1234", StartUtc: at(0), EndUtc: at(86_400_000),
		FirstName: "Jiří", LastName: "Novák", Email: "j@example.com", Telephone: "+420 123", LockIDs: []string{"101", "102"}}
	must(t, s.CreateReservation(ctx, &r))
	got, err := s.GetReservation(ctx, r.ID)
	must(t, err)
	equal(t, "reservation", *got, r)

	_, err = s.GetReservation(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	wantCode(t, s.CreateReservation(ctx, &r), bellhop.ECONFLICT)
	r.ID, r.EnterpriseID = bellhop.NewID(), bellhop.NewID()
	wantCode(t, s.CreateReservation(ctx, &r), bellhop.ENOTFOUND, "reservation of a missing enterprise")
}

func testCustomers(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createEnterprise(t, s)
	person := bellhop.Customer{ID: bellhop.NewID(), EnterpriseID: e.ID, FirstName: "Ann", LastName: "Lee", Email: "ann@example.com"}
	company := bellhop.Customer{ID: bellhop.NewID(), EnterpriseID: e.ID, CompanyName: "ACME s.r.o."}
	must(t, s.CreateCustomer(ctx, &person))
	must(t, s.CreateCustomer(ctx, &company))
	got, err := s.GetCustomer(ctx, person.ID)
	must(t, err)
	equal(t, "customer", *got, person)
	got, err = s.GetCustomer(ctx, company.ID)
	must(t, err)
	equal(t, "company", *got, company)

	_, err = s.GetCustomer(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	wantCode(t, s.CreateCustomer(ctx, &person), bellhop.ECONFLICT)
	person.ID, person.EnterpriseID = bellhop.NewID(), bellhop.NewID()
	wantCode(t, s.CreateCustomer(ctx, &person), bellhop.ENOTFOUND, "customer of a missing enterprise")
}

func testCreateCommand(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	half := 0.5
	c1 := newCommand(w.d1, bellhop.Pending, at(1))
	c1.Data = json.RawMessage(`{"CopyCount": 2,  "FileData":"JVBERi0=", "Nested": {"A": [1, 2.50, null]}}`) // kept verbatim
	c2 := newCommand(w.d2, bellhop.Processing, at(2))
	c2.Progress, c2.Notes = &half, "warming up"
	c2.Creator = bellhop.Creator{IntegrationID: w.i1.ID}
	h1 := bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(1), Actor: "admin:ops"}
	h2 := bellhop.HistoryEntry{State: bellhop.Processing, Utc: at(2), Actor: "integration", Progress: &half, Notes: "n"}

	created, err := s.CreateCommand(ctx, &c1, h1, nil)
	must(t, err)
	if !created {
		t.Errorf("CreateCommand without idempotency: created = false")
	}
	created, err = s.CreateCommand(ctx, &c2, h2, nil)
	must(t, err)
	if !created || c1.Seq <= 0 || c2.Seq <= c1.Seq {
		t.Errorf("created = %v, Seq %d then %d: want created and increasing positive Seq", created, c1.Seq, c2.Seq)
	}

	for _, want := range []bellhop.Command{c1, c2} {
		got, err := s.GetCommand(ctx, want.ID)
		must(t, err)
		equal(t, "command", *got, want)
	}
	history, err := s.History(ctx, c2.ID)
	must(t, err)
	equal(t, "history of a new command", history, []bellhop.HistoryEntry{h2})

	dup := newCommand(w.d1, bellhop.Pending, at(3))
	dup.ID = c1.ID
	_, err = s.CreateCommand(ctx, &dup, h1, nil)
	wantCode(t, err, bellhop.ECONFLICT, "duplicate command id")
	history, err = s.History(ctx, c1.ID)
	must(t, err)
	equal(t, "history after a failed duplicate", history, []bellhop.HistoryEntry{h1})

	_, err = s.GetCommand(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
	_, err = s.History(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND)
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	idem := &bellhop.Idempotency{Scope: w.sub1.ID, Key: "key-1", RequestHash: "hash-1"}
	h := bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(1), Actor: "integration"}

	first := newCommand(w.d1, bellhop.Pending, at(1))
	created, err := s.CreateCommand(ctx, &first, h, idem)
	must(t, err)
	if !created {
		t.Fatalf("first create: created = false")
	}

	again := newCommand(w.d1, bellhop.Pending, at(2))
	againID := again.ID
	created, err = s.CreateCommand(ctx, &again, h, idem)
	must(t, err)
	if created {
		t.Errorf("repeated create: created = true")
	}
	equal(t, "repeated create returns the first command", again, first)
	_, err = s.GetCommand(ctx, againID)
	wantCode(t, err, bellhop.ENOTFOUND, "the repeat was not stored")

	changed := newCommand(w.d1, bellhop.Pending, at(3))
	_, err = s.CreateCommand(ctx, &changed, h, &bellhop.Idempotency{Scope: w.sub1.ID, Key: "key-1", RequestHash: "hash-2"})
	wantCode(t, err, bellhop.ECONFLICT, "same key, different request")
	_, err = s.GetCommand(ctx, changed.ID)
	wantCode(t, err, bellhop.ENOTFOUND, "the conflicting create was not stored")

	otherScope := newCommand(w.d1, bellhop.Pending, at(4))
	created, err = s.CreateCommand(ctx, &otherScope, h, &bellhop.Idempotency{Scope: "admin", Key: "key-1", RequestHash: "hash-1"})
	must(t, err)
	if !created || otherScope.ID == first.ID {
		t.Errorf("same key in another scope: created = %v, id %s (first %s)", created, otherScope.ID, first.ID)
	}

	history, err := s.History(ctx, first.ID)
	must(t, err)
	equal(t, "history of the first command", history, []bellhop.HistoryEntry{h})
}

func testGetCommands(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c1, c2, c3 := w.command(w.d1, bellhop.Pending, 1), w.command(w.d2, bellhop.Processed, 2), w.command(w.d3, bellhop.Pending, 3)

	got, err := s.GetCommands(ctx, []string{c3.ID, bellhop.NewID(), c1.ID, c1.ID, c2.ID})
	must(t, err)
	equal(t, "commands in Seq order, unknown left out", got, []bellhop.Command{c1, c2, c3})
	got, err = s.GetCommands(ctx, []string{bellhop.NewID()})
	must(t, err)
	equal(t, "unknown commands", got, []bellhop.Command{})
	got, err = s.GetCommands(ctx, nil)
	must(t, err)
	equal(t, "no ids", got, []bellhop.Command{})
}

func testListCommands(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	// c1..c6 created at 10, 20, ... 60 ms; updated 5 ms later, c6 at 100.
	c1 := w.command(w.d1, bellhop.Pending, 10)
	c2 := w.command(w.d1, bellhop.Received, 20)
	c3 := w.command(w.d2, bellhop.Processing, 30)
	c4 := w.command(w.d3, bellhop.Pending, 40) // enterprise 2, fiscal machine
	c5 := w.byIntegration(w.d1, bellhop.Processed, 50)
	c6 := w.byIntegration(w.d2, bellhop.Failed, 60)
	_, err := s.UpdateCommands(ctx, []string{c6.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.UpdatedUtc = at(100)
		return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc}, nil
	})
	must(t, err)
	c6.UpdatedUtc = at(100)
	_, err = s.UpdateCommands(ctx, []string{c3.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.Notes = "Paper jam: 100% of tray_2"
		return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc, Notes: c.Notes}, nil
	})
	must(t, err)
	c3.Notes = "Paper jam: 100% of tray_2"
	all := []bellhop.Command{c1, c2, c3, c4, c5, c6}

	tests := []struct {
		name string
		f    bellhop.CommandFilter
		want []bellhop.Command
	}{
		{"zero filter", bellhop.CommandFilter{}, all},
		{"ids", bellhop.CommandFilter{IDs: []string{c5.ID, c2.ID, bellhop.NewID()}}, []bellhop.Command{c2, c5}},
		{"no ids", bellhop.CommandFilter{IDs: []string{}}, nil},
		{"enterprise", bellhop.CommandFilter{EnterpriseIDs: []string{w.e2.ID}}, []bellhop.Command{c4}},
		{"enterprises", bellhop.CommandFilter{EnterpriseIDs: []string{w.e1.ID, w.e2.ID}}, all},
		{"no enterprises", bellhop.CommandFilter{EnterpriseIDs: []string{}}, nil},
		{"devices", bellhop.CommandFilter{DeviceIDs: []string{w.d2.ID, w.d3.ID}}, []bellhop.Command{c3, c4, c6}},
		{"no devices", bellhop.CommandFilter{DeviceIDs: []string{}}, nil},
		{"active states", bellhop.CommandFilter{States: []bellhop.State{bellhop.Pending, bellhop.Received}}, []bellhop.Command{c1, c2, c4}},
		{"final states", bellhop.CommandFilter{States: []bellhop.State{bellhop.Processed, bellhop.Cancelled, bellhop.Failed}}, []bellhop.Command{c5, c6}},
		{"no states", bellhop.CommandFilter{States: []bellhop.State{}}, nil},
		{"device type", bellhop.CommandFilter{DeviceType: bellhop.FiscalMachine}, []bellhop.Command{c4}},
		{"creator", bellhop.CommandFilter{CreatorIntegrationID: w.i1.ID}, []bellhop.Command{c5, c6}},
		{"created from (inclusive)", bellhop.CommandFilter{CreatedFrom: at(40)}, []bellhop.Command{c4, c5, c6}},
		{"created to (exclusive)", bellhop.CommandFilter{CreatedTo: at(40)}, []bellhop.Command{c1, c2, c3}},
		{"created interval", bellhop.CommandFilter{CreatedFrom: at(20), CreatedTo: at(50)}, []bellhop.Command{c2, c3, c4}},
		{"created interval, one ms", bellhop.CommandFilter{CreatedFrom: at(20), CreatedTo: at(21)}, []bellhop.Command{c2}},
		{"empty created interval", bellhop.CommandFilter{CreatedFrom: at(20), CreatedTo: at(20)}, []bellhop.Command{}},
		{"updated from (inclusive)", bellhop.CommandFilter{UpdatedFrom: at(55)}, []bellhop.Command{c5, c6}},
		{"updated to (exclusive)", bellhop.CommandFilter{UpdatedTo: at(55)}, []bellhop.Command{c1, c2, c3, c4}},
		{"updated interval", bellhop.CommandFilter{UpdatedFrom: at(35), UpdatedTo: at(100)}, []bellhop.Command{c3, c4, c5}},
		{"after seq", bellhop.CommandFilter{AfterSeq: c4.Seq}, []bellhop.Command{c5, c6}},
		{"before seq, descending", bellhop.CommandFilter{BeforeSeq: c3.Seq, Descending: true}, []bellhop.Command{c2, c1}},
		{"both seq bounds", bellhop.CommandFilter{AfterSeq: c1.Seq, BeforeSeq: c4.Seq}, []bellhop.Command{c2, c3}},
		{"descending", bellhop.CommandFilter{Descending: true}, []bellhop.Command{c6, c5, c4, c3, c2, c1}},
		{"limit", bellhop.CommandFilter{Limit: 2}, []bellhop.Command{c1, c2}},
		{"limit, descending", bellhop.CommandFilter{Limit: 2, Descending: true}, []bellhop.Command{c6, c5}},
		{"everything at once", bellhop.CommandFilter{
			IDs: []string{c1.ID, c2.ID, c3.ID, c5.ID}, EnterpriseIDs: []string{w.e1.ID}, DeviceIDs: []string{w.d1.ID, w.d2.ID},
			States: []bellhop.State{bellhop.Pending, bellhop.Received, bellhop.Processed}, DeviceType: bellhop.Printer,
			CreatedFrom: at(10), CreatedTo: at(60), UpdatedFrom: at(15), UpdatedTo: at(60),
			AfterSeq: c1.Seq, BeforeSeq: c6.Seq, Descending: true, Limit: 1,
		}, []bellhop.Command{c5}},
		{"nothing matches", bellhop.CommandFilter{DeviceIDs: []string{w.d3.ID}, States: []bellhop.State{bellhop.Processed}}, []bellhop.Command{}},
		{"search an id's end, any case", bellhop.CommandFilter{Search: strings.ToUpper(c2.ID[len(c2.ID)-6:])}, []bellhop.Command{c2}},
		{"search a whole id", bellhop.CommandFilter{Search: c5.ID}, []bellhop.Command{c5}},
		{"search notes, any case", bellhop.CommandFilter{Search: "JAM"}, []bellhop.Command{c3}},
		{"search a % literally", bellhop.CommandFilter{Search: "%"}, []bellhop.Command{c3}},
		{"search a _ literally", bellhop.CommandFilter{Search: "y_2"}, []bellhop.Command{c3}},
		{"search devices", bellhop.CommandFilter{Search: "front desk", SearchDeviceIDs: []string{w.d3.ID}}, []bellhop.Command{c4}},
		{"search with states", bellhop.CommandFilter{Search: "jam", States: []bellhop.State{bellhop.Pending}}, []bellhop.Command{}},
		{"search nothing", bellhop.CommandFilter{Search: "no such text"}, []bellhop.Command{}},
	}
	for _, tt := range tests {
		got, err := s.ListCommands(ctx, tt.f)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		want := tt.want
		if want == nil {
			want = []bellhop.Command{}
		}
		if !reflect.DeepEqual(ids(got), ids(want)) {
			t.Errorf("%s: got %v, want %v", tt.name, names(got, all), names(want, all))
		} else {
			equal(t, tt.name, got, want)
		}
	}
}

func testPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	var all []bellhop.Command
	for i := range 8 {
		all = append(all, w.command(w.d1, bellhop.Pending, i))
	}
	w.command(w.d2, bellhop.Pending, 100) // filtered out by device

	var pages [][]bellhop.Command
	var got []bellhop.Command
	f := bellhop.CommandFilter{DeviceIDs: []string{w.d1.ID}, Limit: 3}
	for {
		page, err := s.ListCommands(ctx, f)
		must(t, err)
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		got = append(got, page...)
		f.AfterSeq = page[len(page)-1].Seq
		if len(pages) > 10 {
			t.Fatalf("paging does not end")
		}
	}
	if len(pages) != 3 || len(pages[2]) != 2 {
		t.Errorf("ascending pages of 3: got %d pages", len(pages))
	}
	equal(t, "ascending pages", got, all)

	got, pages = nil, nil
	f = bellhop.CommandFilter{DeviceIDs: []string{w.d1.ID}, Limit: 3, Descending: true}
	for {
		page, err := s.ListCommands(ctx, f)
		must(t, err)
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		got = append(got, page...)
		f.BeforeSeq = page[len(page)-1].Seq
		if len(pages) > 10 {
			t.Fatalf("paging does not end")
		}
	}
	reversed := make([]bellhop.Command, len(all))
	for i, c := range all {
		reversed[len(all)-1-i] = c
	}
	if len(pages) != 3 {
		t.Errorf("descending pages of 3: got %d pages", len(pages))
	}
	equal(t, "descending pages", got, reversed)
}

// receiveAllBut is an update function for UpdateCommands and FetchCommands:
// it notes each command it runs on in *seen, checks that none comes with its
// payload, marks each Received with h, and changes keep in place without
// asking for it to be written.
func receiveAllBut(t *testing.T, seen *[]string, keep string, h *bellhop.HistoryEntry) func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
	return func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		*seen = append(*seen, c.ID)
		if c.Data != nil {
			t.Errorf("fn sees the payload of %s: %s", c.ID, c.Data)
		}
		if c.ID == keep {
			c.Notes = "changed in place but not written"
			return nil, nil
		}
		if _, _, err := c.Apply(bellhop.Update{State: bellhop.Received}, at(10)); err != nil {
			return nil, err
		}
		return h, nil
	}
}

func testUpdateCommands(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c1, c2, c3 := w.command(w.d1, bellhop.Pending, 1), w.command(w.d1, bellhop.Pending, 2), w.command(w.d2, bellhop.Pending, 3)
	hReceived := bellhop.HistoryEntry{State: bellhop.Received, Utc: at(10), Actor: "hub"}

	var seen []string
	got, err := s.UpdateCommands(ctx, []string{c3.ID, bellhop.NewID(), c2.ID, c1.ID}, receiveAllBut(t, &seen, c2.ID, &hReceived))
	must(t, err)
	equal(t, "fn runs in Seq order on the commands that exist", seen, []string{c1.ID, c2.ID, c3.ID})
	c1.State, c1.UpdatedUtc = bellhop.Received, at(10)
	c3.State, c3.UpdatedUtc = bellhop.Received, at(10)
	head1, head3 := c1, c3
	head1.Data, head3.Data = nil, nil
	equal(t, "the changed commands, without their payload", got, []bellhop.Command{head1, head3})
	stored, err := s.GetCommands(ctx, []string{c1.ID, c2.ID, c3.ID})
	must(t, err)
	equal(t, "stored commands (nil entry wrote nothing)", stored, []bellhop.Command{c1, c2, c3})
	history, err := s.History(ctx, c2.ID)
	must(t, err)
	equal(t, "history of the command left alone", len(history), 1)

	// Every field UpdateCommands writes, step by step; history in order.
	half, one := 0.5, 1.0
	steps := []struct {
		u    bellhop.Update
		at   int
		data string
	}{
		{bellhop.Update{State: bellhop.Processing, Progress: &half, Actor: "agent"}, 20, ""},
		{bellhop.Update{State: bellhop.Processed, Notes: "Receipt 42", Actor: "agent"}, 30, `{"Receipt": 42}`},
	}
	want := []bellhop.HistoryEntry{{State: bellhop.Pending, Utc: at(1), Actor: "admin"}, hReceived}
	for _, step := range steps {
		got, err := s.UpdateCommands(ctx, []string{c1.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
			if _, _, err := c.Apply(step.u, at(step.at)); err != nil {
				return nil, err
			}
			if step.data != "" {
				c.Data = json.RawMessage(step.data)
			}
			return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc, Actor: step.u.Actor, Progress: c.Progress, Notes: c.Notes}, nil
		})
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("update %s: %d commands changed, want 1", step.u.State, len(got))
		}
		stored, err := s.GetCommand(ctx, c1.ID)
		must(t, err)
		equal(t, "the payload is kept", string(stored.Data), `{"CopyCount":1}`)
		stored.Data = nil
		equal(t, "returned command is the stored one but its payload", got[0], *stored)
		want = append(want, bellhop.HistoryEntry{State: got[0].State, Utc: at(step.at), Actor: step.u.Actor, Progress: got[0].Progress, Notes: got[0].Notes})
	}
	final, err := s.GetCommand(ctx, c1.ID)
	must(t, err)
	c1.State, c1.UpdatedUtc, c1.Progress, c1.Notes = bellhop.Processed, at(30), &one, "Receipt 42"
	equal(t, "processed command", *final, c1)
	history, err = s.History(ctx, c1.ID)
	must(t, err)
	equal(t, "history, oldest first", history, want)

	got, err = s.UpdateCommands(ctx, []string{bellhop.NewID()}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		t.Errorf("fn called for an unknown id")
		return nil, nil
	})
	must(t, err)
	equal(t, "update of unknown ids", got, []bellhop.Command{})
}

func testUpdateCommandsRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c1, c2 := w.command(w.d1, bellhop.Pending, 1), w.command(w.d1, bellhop.Processed, 2)

	_, err := s.UpdateCommands(ctx, []string{c1.ID, c2.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		if _, _, err := c.Apply(bellhop.Update{State: bellhop.Received}, at(10)); err != nil {
			return nil, err // c2 is final: Invalid State
		}
		return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc}, nil
	})
	wantCode(t, err, bellhop.EINVALID, "error of fn")
	if bellhop.ErrorMessage(err) != "Invalid State" {
		t.Errorf("error of fn: message %q, want it returned as is", bellhop.ErrorMessage(err))
	}
	sentinel := errors.New("sentinel")
	_, err = s.UpdateCommands(ctx, []string{c1.ID, c2.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		if c.ID == c2.ID {
			return nil, sentinel
		}
		c.State = bellhop.Received
		return &bellhop.HistoryEntry{State: c.State, Utc: at(10)}, nil
	})
	if !errors.Is(err, sentinel) {
		t.Errorf("error of fn: got %v, want the sentinel", err)
	}

	stored, err := s.GetCommands(ctx, []string{c1.ID, c2.ID})
	must(t, err)
	equal(t, "commands after the rollbacks", stored, []bellhop.Command{c1, c2})
	history, err := s.History(ctx, c1.ID)
	must(t, err)
	equal(t, "history entries after the rollbacks", len(history), 1)
}

func testUpdateCommandsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c := w.command(w.d1, bellhop.Processing, 1)
	const n = 20

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateCommands(ctx, []string{c.ID}, increment)
			errs <- err
		})
	}
	mustAll(t, &wg, errs)
	got, err := s.GetCommand(ctx, c.ID)
	must(t, err)
	equal(t, "counter after concurrent increments (no lost update)", got.Notes, strconv.Itoa(n))
	history, err := s.History(ctx, c.ID)
	must(t, err)
	if len(history) != n+1 {
		t.Fatalf("history: %d entries, want %d", len(history), n+1)
	}
	for i, h := range history[1:] {
		equal(t, "history entry "+strconv.Itoa(i+1), h.Notes, strconv.Itoa(i+1))
	}
}

// only returns a pick function that chooses ids, whatever it is shown.
func only(ids ...string) func([]bellhop.Command) []string {
	return func([]bellhop.Command) []string { return ids }
}

func testFetchCommands(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c1, c2, c3, c4 := w.command(w.d1, bellhop.Pending, 1), w.command(w.d1, bellhop.Pending, 2), w.command(w.d2, bellhop.Processed, 3),
		w.command(w.d2, bellhop.Pending, 4)
	hReceived := bellhop.HistoryEntry{State: bellhop.Received, Utc: at(10), Actor: "hub"}

	var seen []string
	all, changed, err := s.FetchCommands(ctx, []string{c4.ID, bellhop.NewID(), c3.ID, c1.ID, c1.ID, c2.ID},
		func(cs []bellhop.Command) []string {
			equal(t, "pick sees the commands that exist, in Seq order, each once, with their payload", cs, []bellhop.Command{c1, c2, c3, c4})
			seen = nil
			return []string{c4.ID, c2.ID, c1.ID, bellhop.NewID()}
		}, receiveAllBut(t, &seen, c2.ID, &hReceived))
	must(t, err)
	equal(t, "fn runs on the chosen commands that exist, in Seq order", seen, []string{c1.ID, c2.ID, c4.ID})
	c1.State, c1.UpdatedUtc = bellhop.Received, at(10)
	c4.State, c4.UpdatedUtc = bellhop.Received, at(10)
	equal(t, "every command read, the changed ones as written, with their payload", all, []bellhop.Command{c1, c2, c3, c4})
	equal(t, "the changed commands", changed, []bellhop.Command{c1, c4})
	stored, err := s.GetCommands(ctx, []string{c1.ID, c2.ID, c3.ID, c4.ID})
	must(t, err)
	equal(t, "stored commands (nil entry wrote nothing)", stored, []bellhop.Command{c1, c2, c3, c4})
	for _, c := range []struct {
		cmd  bellhop.Command
		want []bellhop.HistoryEntry
	}{
		{c1, []bellhop.HistoryEntry{{State: bellhop.Pending, Utc: at(1), Actor: "admin"}, hReceived}},
		{c2, []bellhop.HistoryEntry{{State: bellhop.Pending, Utc: at(2), Actor: "admin"}}},
		{c4, []bellhop.HistoryEntry{{State: bellhop.Pending, Utc: at(4), Actor: "admin"}, hReceived}},
	} {
		history, err := s.History(ctx, c.cmd.ID)
		must(t, err)
		equal(t, "history of "+c.cmd.ID, history, c.want)
	}

	// Every field an update writes; the payload stays as created.
	half := 0.5
	all, changed, err = s.FetchCommands(ctx, []string{c1.ID}, only(c1.ID), func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		if _, _, err := c.Apply(bellhop.Update{State: bellhop.Processing, Progress: &half, Notes: "half", ExternalID: "x-1"}, at(20)); err != nil {
			return nil, err
		}
		return &bellhop.HistoryEntry{State: c.State, Utc: at(20), Progress: c.Progress, Notes: c.Notes, ExternalID: "x-1"}, nil
	})
	must(t, err)
	c1.State, c1.UpdatedUtc, c1.Progress, c1.Notes, c1.ExternalID = bellhop.Processing, at(20), &half, "half", "x-1"
	equal(t, "fetch that writes every field", all, []bellhop.Command{c1})
	equal(t, "its change", changed, []bellhop.Command{c1})
	got, err := s.GetCommand(ctx, c1.ID)
	must(t, err)
	equal(t, "stored after every field", *got, c1)

	// Nothing chosen: the commands as stored.
	all, changed, err = s.FetchCommands(ctx, []string{c2.ID, c3.ID}, only(), func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		t.Errorf("fn called for %s, which pick did not choose", c.ID)
		return nil, nil
	})
	must(t, err)
	equal(t, "fetch that changes nothing", all, []bellhop.Command{c2, c3})
	equal(t, "no change", changed, []bellhop.Command{})

	for _, ids := range [][]string{{bellhop.NewID()}, nil} {
		all, changed, err = s.FetchCommands(ctx, ids, func(cs []bellhop.Command) []string {
			if len(cs) > 0 {
				t.Errorf("pick sees %d commands of unknown ids", len(cs))
			}
			return ids
		}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
			t.Errorf("fn called for an unknown id")
			return nil, nil
		})
		must(t, err)
		equal(t, "fetch of unknown ids", all, []bellhop.Command{})
		equal(t, "fetch of unknown ids: changed", changed, []bellhop.Command{})
	}
}

func testFetchCommandsRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c1, c2 := w.command(w.d1, bellhop.Pending, 1), w.command(w.d1, bellhop.Processed, 2)

	sentinel := errors.New("sentinel")
	_, _, err := s.FetchCommands(ctx, []string{c1.ID, c2.ID}, only(c1.ID, c2.ID), func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		if c.ID == c2.ID {
			return nil, sentinel
		}
		c.State = bellhop.Received
		return &bellhop.HistoryEntry{State: c.State, Utc: at(10)}, nil
	})
	if !errors.Is(err, sentinel) {
		t.Errorf("error of fn: got %v, want the sentinel", err)
	}
	_, _, err = s.FetchCommands(ctx, []string{c1.ID, c2.ID}, only(c1.ID, c2.ID), func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		if _, _, err := c.Apply(bellhop.Update{State: bellhop.Received}, at(10)); err != nil {
			return nil, err // c2 is final: Invalid State
		}
		return &bellhop.HistoryEntry{State: c.State, Utc: c.UpdatedUtc}, nil
	})
	wantCode(t, err, bellhop.EINVALID, "error of fn")
	if bellhop.ErrorMessage(err) != "Invalid State" {
		t.Errorf("error of fn: message %q, want it returned as is", bellhop.ErrorMessage(err))
	}

	stored, err := s.GetCommands(ctx, []string{c1.ID, c2.ID})
	must(t, err)
	equal(t, "commands after the rollbacks", stored, []bellhop.Command{c1, c2})
	history, err := s.History(ctx, c1.ID)
	must(t, err)
	equal(t, "history entries after the rollbacks", len(history), 1)
}

// mustAll waits for wg's goroutines, then fails the test on any error they
// sent to errs.
func mustAll(t *testing.T, wg *sync.WaitGroup, errs chan error) {
	t.Helper()
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
}

// increment counts in a command's Notes.
func increment(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
	count, _ := strconv.Atoi(c.Notes)
	c.Notes = strconv.Itoa(count + 1)
	return &bellhop.HistoryEntry{State: c.State, Utc: at(2), Notes: c.Notes}, nil
}

// testFetchCommandsConcurrent runs fetches and updates of one command at
// once: fn sees what the ones before it wrote, so none is lost.
func testFetchCommandsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c := w.command(w.d1, bellhop.Processing, 1)
	other := w.command(w.d2, bellhop.Pending, 2)
	const n = 20

	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range 2 * n {
		wg.Go(func() {
			if i%2 == 0 {
				_, err := s.UpdateCommands(ctx, []string{c.ID}, increment)
				errs <- err
				return
			}
			all, changed, err := s.FetchCommands(ctx, []string{c.ID, other.ID}, only(c.ID), increment)
			if err == nil && (len(all) != 2 || string(all[0].Data) != `{"CopyCount":1}` || len(changed) != 1 ||
				changed[0].Notes != all[0].Notes || string(changed[0].Data) != `{"CopyCount":1}`) {
				err = fmt.Errorf("fetch returned %s, changed %s", show(all), show(changed))
			}
			errs <- err
		})
	}
	mustAll(t, &wg, errs)
	got, err := s.GetCommand(ctx, c.ID)
	must(t, err)
	equal(t, "counter after concurrent fetches and updates (no lost update)", got.Notes, strconv.Itoa(2*n))
	history, err := s.History(ctx, c.ID)
	must(t, err)
	equal(t, "history entries", len(history), 2*n+1)
}

// testConcurrentWritesSomeFail runs many writes at once, a third of which
// fail: failing updates change a command and then return an error, failing
// creates reuse a taken id. Whatever writes share a transaction, each failing
// write changes nothing and each other write is applied exactly once.
func testConcurrentWritesSomeFail(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	counter := w.command(w.d1, bellhop.Processing, 1)
	spoiled := w.command(w.d2, bellhop.Processing, 1)
	fetched := w.command(w.d2, bellhop.Processing, 1)
	sentinel := errors.New("sentinel")
	// spoil changes a command, then fails its write.
	spoil := func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.Notes = "spoiled"
		return nil, sentinel
	}
	const rounds = 30

	var wg sync.WaitGroup
	var mu sync.Mutex
	var fresh []string
	errs := make(chan error, 5*rounds)
	for range rounds {
		wg.Go(func() {
			all, _, err := s.FetchCommands(ctx, []string{fetched.ID}, only(fetched.ID), increment)
			if err == nil && (len(all) != 1 || all[0].Data == nil) {
				err = fmt.Errorf("fetch returned %s", show(all))
			}
			errs <- err
		})
		wg.Go(func() {
			_, _, err := s.FetchCommands(ctx, []string{spoiled.ID}, only(spoiled.ID), spoil)
			if !errors.Is(err, sentinel) {
				errs <- fmt.Errorf("failing fetch: got %v, want the sentinel", err)
			}
		})
		wg.Go(func() {
			_, err := s.UpdateCommands(ctx, []string{counter.ID}, increment)
			errs <- err
		})
		wg.Go(func() {
			_, err := s.UpdateCommands(ctx, []string{spoiled.ID}, spoil)
			if !errors.Is(err, sentinel) {
				errs <- fmt.Errorf("failing update: got %v, want the sentinel", err)
			}
		})
		wg.Go(func() {
			// The key is stored before the id turns out taken: it must go too.
			dup := newCommand(w.d1, bellhop.Pending, at(3))
			dup.ID = counter.ID
			idem := &bellhop.Idempotency{Scope: "failing", Key: bellhop.NewID(), RequestHash: "h"}
			if _, err := s.CreateCommand(ctx, &dup, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(3)}, idem); bellhop.ErrorCode(err) != bellhop.ECONFLICT {
				errs <- fmt.Errorf("create with a taken id: got %v, want ECONFLICT", err)
			}
			again := newCommand(w.d1, bellhop.Pending, at(3))
			if created, err := s.CreateCommand(ctx, &again, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(3)}, idem); err != nil || !created {
				errs <- fmt.Errorf("create with the key of a failed create: created=%v, %v; want a new command", created, err)
			}
			c := newCommand(w.d2, bellhop.Pending, at(3))
			created, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(3)}, nil)
			if err == nil && !created {
				err = errors.New("a fresh create reported created=false")
			}
			mu.Lock()
			fresh = append(fresh, c.ID)
			mu.Unlock()
			errs <- err
		})
	}
	mustAll(t, &wg, errs)
	got, err := s.GetCommands(ctx, []string{counter.ID, spoiled.ID})
	must(t, err)
	equal(t, "counter after concurrent increments", got[0].Notes, strconv.Itoa(rounds))
	equal(t, "command whose updates all failed", got[1], spoiled)
	history, err := s.History(ctx, counter.ID)
	must(t, err)
	equal(t, "history entries of the counter", len(history), rounds+1)
	got, err = s.GetCommands(ctx, []string{fetched.ID})
	must(t, err)
	equal(t, "counter after concurrent fetches", got[0].Notes, strconv.Itoa(rounds))
	history, err = s.History(ctx, fetched.ID)
	must(t, err)
	equal(t, "history entries of the fetched counter", len(history), rounds+1)
	stored, err := s.GetCommands(ctx, fresh)
	must(t, err)
	equal(t, "fresh creates stored", len(stored), rounds)
}

// testReadDuringWrite reads while a write transaction is open: the read must
// see the last committed state and not wait for the write.
func testReadDuringWrite(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c := w.command(w.d1, bellhop.Pending, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	_, err := s.UpdateCommands(ctx, []string{c.ID}, func(u *bellhop.Command) (*bellhop.HistoryEntry, error) {
		u.State = bellhop.Received
		got, err := s.GetCommand(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("read during a write: %w", err)
		}
		equal(t, "command read during a write", *got, c)
		list, err := s.ListCommands(ctx, bellhop.CommandFilter{DeviceIDs: []string{w.d1.ID}})
		if err != nil {
			return nil, fmt.Errorf("list during a write: %w", err)
		}
		equal(t, "commands listed during a write", list, []bellhop.Command{c})
		return &bellhop.HistoryEntry{State: u.State, Utc: at(2)}, nil
	})
	must(t, err)
}

func testStats(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	w.command(w.d1, bellhop.Processed, 5) // updated at 10
	w.command(w.d1, bellhop.Pending, 20)
	w.command(w.d1, bellhop.Received, 10)
	w.command(w.d1, bellhop.Processing, 1)
	w.command(w.d1, bellhop.Processing, 2)
	w.command(w.d1, bellhop.Processed, 40)  // updated at 45
	w.command(w.d1, bellhop.Cancelled, 100) // not "processed"
	w.command(w.d1, bellhop.Failed, 100)
	w.command(w.d3, bellhop.Pending, 7)

	stats, err := s.Stats(ctx, w.e1.ID)
	must(t, err)
	d1 := bellhop.DeviceStats{Waiting: 2, Processing: 2, OldestWaitingUtc: at(10), LastProcessedUtc: at(45)}
	equal(t, "stats of enterprise 1", stats, map[string]bellhop.DeviceStats{w.d1.ID: d1, w.d2.ID: {}})
	stats, err = s.Stats(ctx, "")
	must(t, err)
	equal(t, "stats of all", stats, map[string]bellhop.DeviceStats{w.d1.ID: d1, w.d2.ID: {},
		w.d3.ID: {Waiting: 1, OldestWaitingUtc: at(7)}})
	stats, err = s.Stats(ctx, bellhop.NewID())
	must(t, err)
	equal(t, "stats of an unknown enterprise", stats, map[string]bellhop.DeviceStats{})
}

func testPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	cut := at(1000) // updated = created + 5
	oldKey := &bellhop.Idempotency{Scope: "admin", Key: "old", RequestHash: "h"}
	newKey := &bellhop.Idempotency{Scope: "admin", Key: "new", RequestHash: "h"}

	oldProcessed := newCommand(w.d1, bellhop.Processed, at(100))
	oldProcessed.UpdatedUtc = at(105)
	_, err := s.CreateCommand(ctx, &oldProcessed, bellhop.HistoryEntry{State: bellhop.Processed, Utc: at(100)}, oldKey)
	must(t, err)
	purged := []bellhop.Command{
		oldProcessed,
		w.command(w.d1, bellhop.Cancelled, 200),
		w.command(w.d2, bellhop.Failed, 994), // updated at 999
	}
	kept := []bellhop.Command{
		w.command(w.d1, bellhop.Pending, 100),    // not final
		w.command(w.d1, bellhop.Processing, 100), // not final
		w.command(w.d1, bellhop.Processed, 995),  // updated exactly at the cut
		w.command(w.d1, bellhop.Processed, 2000),
	}
	recent := newCommand(w.d1, bellhop.Pending, at(2000))
	_, err = s.CreateCommand(ctx, &recent, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(2000)}, newKey)
	must(t, err)
	kept = append(kept, recent)

	n, err := s.Purge(ctx, cut)
	must(t, err)
	equal(t, "commands purged", n, len(purged))
	for _, c := range purged {
		_, err := s.GetCommand(ctx, c.ID)
		wantCode(t, err, bellhop.ENOTFOUND, "purged command")
		_, err = s.History(ctx, c.ID)
		wantCode(t, err, bellhop.ENOTFOUND, "history of a purged command")
	}
	list, err := s.ListCommands(ctx, bellhop.CommandFilter{})
	must(t, err)
	equal(t, "commands kept", ids(list), ids(kept))

	again := newCommand(w.d1, bellhop.Pending, at(3000))
	created, err := s.CreateCommand(ctx, &again, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(3000)}, oldKey)
	must(t, err)
	if !created {
		t.Errorf("create with a purged idempotency key: created = false")
	}
	dup := newCommand(w.d1, bellhop.Pending, at(3000))
	created, err = s.CreateCommand(ctx, &dup, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(3000)}, newKey)
	must(t, err)
	if created || dup.ID != recent.ID {
		t.Errorf("create with a kept idempotency key: created = %v, id %s, want %s", created, dup.ID, recent.ID)
	}

	n, err = s.Purge(ctx, cut)
	must(t, err)
	equal(t, "commands purged the second time", n, 0)
}

// testAgeCommands: every time of one enterprise's commands moves back, and
// what the moved times decide (expiry's filters, the purge of old commands
// and of their idempotency keys) follows; another enterprise's stay.
func testAgeCommands(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	key := &bellhop.Idempotency{Scope: "admin", Key: "aged", RequestHash: "h"}
	aged := newCommand(w.d1, bellhop.Pending, at(1000))
	_, err := s.CreateCommand(ctx, &aged, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(1000), Actor: "a"}, key)
	must(t, err)
	done := w.command(w.d2, bellhop.Processed, 1000)
	other := w.command(w.d3, bellhop.Pending, 1000) // enterprise 2

	n, err := s.AgeCommands(ctx, w.e1.ID, 900*time.Millisecond)
	must(t, err)
	equal(t, "commands aged", n, 2)
	got, err := s.GetCommand(ctx, aged.ID)
	must(t, err)
	equal(t, "aged times", []time.Time{got.CreatedUtc, got.UpdatedUtc}, []time.Time{at(100), at(105)})
	h, err := s.History(ctx, aged.ID)
	must(t, err)
	equal(t, "aged history", h[0].Utc, at(100))
	got, err = s.GetCommand(ctx, other.ID)
	must(t, err)
	equal(t, "the other enterprise's times", got.UpdatedUtc, other.UpdatedUtc)
	list, err := s.ListCommands(ctx, bellhop.CommandFilter{States: []bellhop.State{bellhop.Pending}, UpdatedTo: at(500)})
	must(t, err)
	equal(t, "waiting since before 500 ms", ids(list), []string{aged.ID})

	// Purge by the moved times: the Processed one and the aged key go.
	n, err = s.Purge(ctx, at(500))
	must(t, err)
	equal(t, "purged", n, 1)
	_, err = s.GetCommand(ctx, done.ID)
	wantCode(t, err, bellhop.ENOTFOUND, "aged and purged")
	again := newCommand(w.d1, bellhop.Pending, at(2000))
	created, err := s.CreateCommand(ctx, &again, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(2000)}, key)
	must(t, err)
	if !created {
		t.Errorf("the aged idempotency key was not purged")
	}
	n, err = s.AgeCommands(ctx, bellhop.NewID(), time.Hour)
	must(t, err)
	equal(t, "commands of an unknown enterprise", n, 0)
}

// testGenericTypes: devices with a Type label of their own keep it, and
// their commands can be listed apart from the Mews types' (for expiry).
func testGenericTypes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	pbx := w.device(w.e1, "Pbx", "Lobby PBX")
	tv := w.device(w.e2, "Tv", "Room 101 TV")
	got, err := s.GetDevice(ctx, pbx.ID)
	must(t, err)
	equal(t, "generic device", got.Type, bellhop.DeviceType("Pbx"))
	w.command(w.d1, bellhop.Pending, 10)
	call := w.command(pbx, bellhop.Pending, 20)
	off := w.command(tv, bellhop.Processing, 30)
	w.command(tv, bellhop.Processed, 40)
	list, err := s.ListCommands(ctx, bellhop.CommandFilter{GenericTypes: true, States: []bellhop.State{bellhop.Pending, bellhop.Received, bellhop.Processing}})
	must(t, err)
	equal(t, "unfinished commands of generic devices", ids(list), ids([]bellhop.Command{call, off}))
	list, err = s.ListCommands(ctx, bellhop.CommandFilter{DeviceType: "Tv", States: []bellhop.State{bellhop.Processing}})
	must(t, err)
	equal(t, "a generic type", ids(list), ids([]bellhop.Command{off}))
}

func testTryLock(t *testing.T, s store.Store, exclusive bool) {
	ctx := t.Context()
	name := "sweeper-" + bellhop.NewID()
	release, ok, err := s.TryLock(ctx, name)
	must(t, err)
	if !ok {
		t.Fatalf("TryLock of a free name: not ok")
	}
	release2, ok, err := s.TryLock(ctx, name)
	must(t, err)
	if ok != !exclusive {
		t.Fatalf("second TryLock of a held name: ok = %v, want %v", ok, !exclusive)
	}
	if ok {
		release2()
	}
	other, ok, err := s.TryLock(ctx, name+"-other")
	must(t, err)
	if !ok {
		t.Fatalf("TryLock of another name: not ok")
	}
	other()

	release()
	release() // twice: harmless
	release, ok, err = s.TryLock(ctx, name)
	must(t, err)
	if !ok {
		t.Fatalf("TryLock after release: not ok")
	}
	release()
}

func testClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createEnterprise(t, s)
	must(t, s.Close())
	must(t, s.Close())
	if _, err := s.GetEnterprise(ctx, e.ID); err == nil {
		t.Errorf("GetEnterprise after Close: no error")
	}
	if err := s.CreateEnterprise(ctx, &bellhop.Enterprise{ID: bellhop.NewID(), Name: "late", CreatedUtc: t0}); err == nil {
		t.Errorf("CreateEnterprise after Close: no error")
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.ListUsers(ctx)
	must(t, err)
	equal(t, "no users yet", list, []bellhop.User{})

	bob := bellhop.User{ID: bellhop.NewID(), Name: "bob", Role: bellhop.Viewer, CreatedUtc: at(1).In(time.FixedZone("CET", 3600))}
	anna := bellhop.User{ID: bellhop.NewID(), Name: "anna", Role: bellhop.Admin, CreatedUtc: at(2)}
	must(t, s.CreateUser(ctx, &bob, "hash-bob"))
	must(t, s.CreateUser(ctx, &anna, "hash-anna"))
	bob.CreatedUtc = bob.CreatedUtc.UTC()
	wantCode(t, s.CreateUser(ctx, &bellhop.User{ID: bellhop.NewID(), Name: "bob", Role: bellhop.Admin, CreatedUtc: t0}, "h"),
		bellhop.ECONFLICT, "a taken name")

	got, err := s.GetUser(ctx, bob.ID)
	must(t, err)
	equal(t, "user", *got, bob)
	got, hash, err := s.UserByName(ctx, "bob")
	must(t, err)
	equal(t, "user by name", *got, bob)
	equal(t, "password hash", hash, "hash-bob")
	list, err = s.ListUsers(ctx)
	must(t, err)
	equal(t, "users by name", list, []bellhop.User{anna, bob})

	must(t, s.SetUserRole(ctx, bob.ID, bellhop.Operator))
	got, err = s.GetUser(ctx, bob.ID)
	must(t, err)
	equal(t, "role after change", got.Role, bellhop.Operator)

	_, _, err = s.UserByName(ctx, "nobody")
	wantCode(t, err, bellhop.ENOTFOUND, "unknown name")
	_, err = s.GetUser(ctx, bellhop.NewID())
	wantCode(t, err, bellhop.ENOTFOUND, "unknown id")
	wantCode(t, s.SetUserRole(ctx, bellhop.NewID(), bellhop.Admin), bellhop.ENOTFOUND, "role of an unknown user")
	wantCode(t, s.SetUserPassword(ctx, bellhop.NewID(), "h", ""), bellhop.ENOTFOUND, "password of an unknown user")
	wantCode(t, s.DeleteUser(ctx, bellhop.NewID()), bellhop.ENOTFOUND, "delete an unknown user")

	must(t, s.DeleteUser(ctx, anna.ID))
	_, err = s.GetUser(ctx, anna.ID)
	wantCode(t, err, bellhop.ENOTFOUND, "deleted user")
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := bellhop.User{ID: bellhop.NewID(), Name: "clara", Role: bellhop.Viewer, CreatedUtc: t0}
	must(t, s.CreateUser(ctx, &u, "hash-1"))
	session := func(name, user string, role bellhop.Role, expires int) bellhop.Session {
		se := bellhop.Session{IDHash: "session-" + name, UserID: user, Name: name, Role: role, CSRF: "csrf-" + name,
			CreatedUtc: at(0), ExpiresUtc: at(expires)}
		must(t, s.CreateSession(ctx, &se))
		return se
	}
	a := session("clara", u.ID, bellhop.Viewer, 1000)
	b2 := bellhop.Session{IDHash: "session-clara-2", UserID: u.ID, Name: "clara", Role: bellhop.Viewer, CSRF: "c2", CreatedUtc: at(0), ExpiresUtc: at(3000)}
	must(t, s.CreateSession(ctx, &b2))
	tok := session("ops", "", bellhop.Admin, 500)

	got, err := s.GetSession(ctx, a.IDHash)
	must(t, err)
	equal(t, "session", *got, a)
	got, err = s.GetSession(ctx, tok.IDHash)
	must(t, err)
	equal(t, "admin token session", *got, tok)

	// A role change applies to open sessions at once.
	must(t, s.SetUserRole(ctx, u.ID, bellhop.Operator))
	got, err = s.GetSession(ctx, a.IDHash)
	must(t, err)
	equal(t, "session role after the user's role changed", got.Role, bellhop.Operator)

	must(t, s.ExtendSession(ctx, a.IDHash, at(5000)))
	got, err = s.GetSession(ctx, a.IDHash)
	must(t, err)
	equal(t, "extended", got.ExpiresUtc, at(5000))
	must(t, s.ExtendSession(ctx, "session-nope", at(5000)))

	// A new password ends every other session of the user.
	must(t, s.SetUserPassword(ctx, u.ID, "hash-2", a.IDHash))
	_, err = s.GetSession(ctx, b2.IDHash)
	wantCode(t, err, bellhop.ENOTFOUND, "another session after a password change")
	_, err = s.GetSession(ctx, a.IDHash)
	must(t, err)
	_, hash, err := s.UserByName(ctx, "clara")
	must(t, err)
	equal(t, "new hash", hash, "hash-2")

	n, err := s.PurgeSessions(ctx, at(600))
	must(t, err)
	equal(t, "purged (the token session expired at 500)", n, 1)
	_, err = s.GetSession(ctx, tok.IDHash)
	wantCode(t, err, bellhop.ENOTFOUND, "purged session")

	must(t, s.DeleteSession(ctx, "session-nope"))
	other := session("dan", u.ID, bellhop.Viewer, 9000)
	must(t, s.DeleteSession(ctx, other.IDHash))
	_, err = s.GetSession(ctx, other.IDHash)
	wantCode(t, err, bellhop.ENOTFOUND, "deleted session")

	// Removing the user ends its sessions.
	must(t, s.DeleteUser(ctx, u.ID))
	_, err = s.GetSession(ctx, a.IDHash)
	wantCode(t, err, bellhop.ENOTFOUND, "session of a removed user")
	wantCode(t, s.CreateSession(ctx, &bellhop.Session{IDHash: "x", UserID: u.ID, Name: "clara", Role: bellhop.Viewer,
		CSRF: "c", CreatedUtc: t0, ExpiresUtc: at(1)}), bellhop.ENOTFOUND, "session of a missing user")
	again := session("ops2", "", bellhop.Admin, 9000)
	wantCode(t, s.CreateSession(ctx, &again), bellhop.ECONFLICT, "a session id hash twice")
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.ListAudit(ctx, 0, 10)
	must(t, err)
	equal(t, "empty audit", list, []bellhop.AuditEntry{})
	var all []bellhop.AuditEntry
	for i := range 5 {
		e := bellhop.AuditEntry{Utc: at(i), Actor: "anna", Action: bellhop.AuditSignIn, Subject: fmt.Sprint("s", i),
			Detail: "d", Remote: "127.0.0.1"}
		must(t, s.AddAudit(ctx, &e))
		if len(all) > 0 && e.Seq <= all[len(all)-1].Seq {
			t.Fatalf("seq %d after %d: want increasing", e.Seq, all[len(all)-1].Seq)
		}
		all = append(all, e)
	}
	page, err := s.ListAudit(ctx, 0, 3)
	must(t, err)
	equal(t, "newest first", page, []bellhop.AuditEntry{all[4], all[3], all[2]})
	page, err = s.ListAudit(ctx, all[2].Seq, 3)
	must(t, err)
	equal(t, "the next page", page, []bellhop.AuditEntry{all[1], all[0]})
}

// testPayments: a payment record is written with its command, in the same
// transaction: a repeated idempotent create or an id already recorded writes
// neither; it is read by id and listed; it goes when its command is purged.
func testPayments(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	terminal := w.device(w.e1, bellhop.PaymentTerminal, "Terminal")
	amount := bellhop.ExtendedAmount{Currency: "EUR", NetValue: 100, GrossValue: 121, TaxValues: []bellhop.TaxValue{{Value: 21}},
		Breakdown: bellhop.Breakdown{Items: []bellhop.BreakdownItem{{NetValue: 100, TaxValue: 21}}}, TaxRate: ptr(0.21)}
	payment := func(c *bellhop.Command, kind bellhop.PaymentKind) *bellhop.Payment {
		return &bellhop.Payment{ID: bellhop.NewID(), Kind: kind, EnterpriseID: c.EnterpriseID, CommandID: c.ID,
			AccountID: bellhop.NewID(), Amount: amount, BillID: bellhop.NewID(), ReservationID: bellhop.NewID(), CreatedUtc: c.CreatedUtc}
	}
	idem := &bellhop.Idempotency{Scope: "admin", Key: "pay", RequestHash: "h"}
	first := newCommand(terminal, bellhop.Pending, at(1))
	first.Payment = payment(&first, bellhop.PaymentKindPayment)
	created, err := s.CreateCommand(ctx, &first, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(1)}, idem)
	must(t, err)
	equal(t, "created", created, true)
	got, err := s.GetPayment(ctx, first.Payment.ID)
	must(t, err)
	equal(t, "payment", *got, *first.Payment)

	again := newCommand(terminal, bellhop.Pending, at(2))
	again.Payment = payment(&again, bellhop.PaymentKindPayment)
	againID := again.Payment.ID
	created, err = s.CreateCommand(ctx, &again, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(2)}, idem)
	must(t, err)
	equal(t, "repeated create", created, false)
	_, err = s.GetPayment(ctx, againID)
	wantCode(t, err, bellhop.ENOTFOUND, "payment of a repeated create")

	dup := newCommand(terminal, bellhop.Pending, at(3))
	dup.Payment = payment(&dup, bellhop.PaymentKindPayment)
	dup.Payment.ID = first.Payment.ID
	_, err = s.CreateCommand(ctx, &dup, bellhop.HistoryEntry{State: bellhop.Pending, Utc: at(3)}, nil)
	if !errors.Is(err, bellhop.ErrPaymentExists) {
		t.Fatalf("payment id recorded twice: %v, want ErrPaymentExists", err)
	}
	_, err = s.GetCommand(ctx, dup.ID)
	wantCode(t, err, bellhop.ENOTFOUND, "command whose payment was refused")

	pre := newCommand(terminal, bellhop.Processed, at(4))
	pre.Payment = payment(&pre, bellhop.Preauthorization)
	pre.Payment.EnterpriseID = w.e2.ID // as if in another enterprise, for the filter
	_, err = s.CreateCommand(ctx, &pre, bellhop.HistoryEntry{State: bellhop.Processed, Utc: at(4)}, nil)
	must(t, err)

	all, err := s.ListPayments(ctx, bellhop.PaymentFilter{})
	must(t, err)
	equal(t, "all payments, newest first", []string{all[0].ID, all[1].ID}, []string{pre.Payment.ID, first.Payment.ID})
	byCommand, err := s.ListPayments(ctx, bellhop.PaymentFilter{CommandID: first.ID})
	must(t, err)
	equal(t, "payments of a command", len(byCommand), 1)
	byEnterprise, err := s.ListPayments(ctx, bellhop.PaymentFilter{EnterpriseID: w.e2.ID})
	must(t, err)
	equal(t, "payments of an enterprise", len(byEnterprise), 1)
	limited, err := s.ListPayments(ctx, bellhop.PaymentFilter{Limit: 1})
	must(t, err)
	equal(t, "limited", len(limited), 1)

	_, err = s.Purge(ctx, at(100))
	must(t, err)
	_, err = s.GetPayment(ctx, pre.Payment.ID)
	wantCode(t, err, bellhop.ENOTFOUND, "payment of a purged command")
	_, err = s.GetPayment(ctx, first.Payment.ID)
	must(t, err)
}

// testExternalID: an update's external id is kept with the command and with
// its history entry.
func testExternalID(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	c := w.command(w.d1, bellhop.Processing, 1)
	_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
		c.State, c.ExternalID, c.UpdatedUtc = bellhop.Processed, "TX-1", at(2)
		return &bellhop.HistoryEntry{State: bellhop.Processed, Utc: at(2), ExternalID: "TX-1"}, nil
	})
	must(t, err)
	got, err := s.GetCommand(ctx, c.ID)
	must(t, err)
	equal(t, "command's external id", got.ExternalID, "TX-1")
	h, err := s.History(ctx, c.ID)
	must(t, err)
	equal(t, "history's external ids", []string{h[0].ExternalID, h[1].ExternalID}, []string{"", "TX-1"})
}

func ptr[T any](v T) *T { return &v }

func testPresence(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createEnterprise(t, s)
	i, _ := createIntegration(t, s)
	a, _ := createSubscription(t, s, i.ID, e.ID)
	b, _ := createSubscription(t, s, i.ID, e.ID)

	list, err := s.ListPresence(ctx)
	must(t, err)
	equal(t, "no presence yet (never nil)", list, []bellhop.Presence{})
	must(t, s.SavePresence(ctx, nil))

	a1 := bellhop.Presence{SubscriptionID: a.ID, Node: "node-1", Client: "bellhop-agent/1.0 (desk)", Address: "10.0.0.7",
		FirstUtc: at(10), LastUtc: at(20), Sockets: 1, ConnectedUtc: at(11), UpdatedUtc: at(21)}
	a2 := bellhop.Presence{SubscriptionID: a.ID, Node: "node-2", Client: "bellhop-agent/1.0 (desk)", Address: "10.0.0.7",
		FirstUtc: at(15), LastUtc: at(30), UpdatedUtc: at(31)}
	b1 := bellhop.Presence{SubscriptionID: b.ID, Node: "node-1", Client: "curl", Address: "::1", FirstUtc: at(5), LastUtc: at(5), UpdatedUtc: at(21)}
	must(t, s.SavePresence(ctx, []bellhop.Presence{a1, a2, b1}))
	list, err = s.ListPresence(ctx)
	must(t, err)
	want := []bellhop.Presence{a1, a2, b1}
	if a.ID > b.ID {
		want = []bellhop.Presence{b1, a1, a2}
	}
	equal(t, "presence by subscription and node (a zero ConnectedUtc stays zero)", list, want)

	// A node's later write replaces its row, except that the first request
	// stays the earliest and the last the latest (two writers may race).
	a1b := a1
	a1b.Client, a1b.Address, a1b.FirstUtc, a1b.LastUtc = "bellhop-agent/1.1 (desk)", "10.0.0.8", at(12), at(19)
	a1b.Sockets, a1b.ConnectedUtc, a1b.UpdatedUtc = 0, time.Time{}, at(40)
	must(t, s.SavePresence(ctx, []bellhop.Presence{a1b}))
	list, err = s.ListPresence(ctx)
	must(t, err)
	a1b.FirstUtc, a1b.LastUtc = at(10), at(20)
	for _, p := range list {
		if p.SubscriptionID == a.ID && p.Node == "node-1" {
			equal(t, "rewritten row", p, a1b)
		}
	}
	equal(t, "rows after a rewrite", len(list), 3)

	wantCode(t, s.SavePresence(ctx, []bellhop.Presence{{SubscriptionID: bellhop.NewID(), Node: "n", FirstUtc: at(1), LastUtc: at(1), UpdatedUtc: at(1)}}),
		bellhop.ENOTFOUND)

	n, err := s.PurgePresence(ctx, at(31))
	must(t, err)
	equal(t, "purged rows written before", n, 1)
	list, err = s.ListPresence(ctx)
	must(t, err)
	equal(t, "rows after purge", len(list), 2)

	// Two rows of one subscription and node in one call are written as one
	// after the other would be.
	b1c, b1d := b1, b1
	b1c.FirstUtc, b1c.LastUtc, b1c.Client, b1c.UpdatedUtc = at(3), at(8), "curl/8", at(41)
	b1d.FirstUtc, b1d.LastUtc, b1d.Client, b1d.UpdatedUtc = at(4), at(6), "curl/9", at(42)
	must(t, s.SavePresence(ctx, []bellhop.Presence{b1c, b1d}))
	list, err = s.ListPresence(ctx)
	must(t, err)
	b1d.FirstUtc, b1d.LastUtc = at(3), at(8)
	for _, p := range list {
		if p.SubscriptionID == b.ID {
			equal(t, "row written twice in one call", p, b1d)
		}
	}
	equal(t, "rows after a double write", len(list), 3)
}
