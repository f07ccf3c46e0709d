package hub_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
	"github.com/bellhop/bellhop/internal/store"
)

// The business rules of the service, called directly (no HTTP), on a real
// store: hubtest starts a whole hub node so that the tenants are made as an
// operator makes them, through the admin API.

var pdf = base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n%%EOF\n"))

// caller authenticates a tenant as the Connector API does.
func caller(t *testing.T, h *hubtest.Hub, tn *hubtest.Tenant) *bellhop.Caller {
	t.Helper()
	c, err := h.Service.Authenticate(t.Context(), tn.ClientToken, tn.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addPrinter(t *testing.T, h *hubtest.Hub, c *bellhop.Caller, printerID string) string {
	t.Helper()
	id, err := h.Service.AddPrinterCommand(t.Context(), c, hub.AddPrinter{PrinterID: printerID, Data: pdf, CopyCount: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// adminCommand queues a command the way a PMS does, with explicit Data that
// the device's type accepts.
func adminCommand(t *testing.T, h *hubtest.Hub, deviceID string) string {
	t.Helper()
	d, err := h.Service.Device(t.Context(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	account := bellhop.NewID()
	data := map[bellhop.DeviceType]string{
		bellhop.Printer: `{"CopyCount":1,"FileType":"application/pdf","FileData":"` + pdf + `"}`,
		bellhop.KeyCutter: `{"KeyCount":1,"LockIds":["101"],"LastName":"Novák",` +
			`"StartUtc":"2026-01-01T14:00:00Z","EndUtc":"2026-01-02T10:00:00Z"}`,
		bellhop.PaymentTerminal: `{"AccountId":"` + account + `","AccountData":{"Discriminator":"Company","Company":{"Name":"ACME"}},` +
			`"Amount":{"Currency":"EUR","NetValue":10,"GrossValue":10,"TaxValues":[],"Breakdown":{"Items":[]}}}`,
		bellhop.FiscalMachine: `{"Bill":{"Id":"` + bellhop.NewID() + `","EnterpriseId":"` + d.EnterpriseID + `","AccountId":"` + account +
			`","AccountType":"Customer","State":"Closed","Type":"Receipt","CreatedUtc":"2026-01-01T10:00:00Z",` +
			`"UpdatedUtc":"2026-01-01T10:00:00Z","CorrectionState":"Bill"}}`,
		bellhop.PassportScanner: `{}`,
	}[d.Type]
	c, err := h.Service.CreateCommand(t.Context(), deviceID, []byte(data), "pms", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func state(t *testing.T, h *hubtest.Hub, id string) bellhop.State {
	t.Helper()
	v, _, err := h.Service.Command(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v.State
}

func ids(vs []hub.CommandView) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// TestVisibility: a caller reads and changes the commands of the devices
// connected to its subscription, and reads those its integration created;
// every other command is invisible: left out of reads, "Invalid CommandId"
// for changes, whatever the case of its id.
func TestVisibility(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	ctx := t.Context()
	a := h.Tenant(t, "A", bellhop.Printer, bellhop.KeyCutter)
	b := h.Tenant(t, "B", bellhop.Printer)
	ca, cb := caller(t, h, a), caller(t, h, b)

	ownA := addPrinter(t, h, ca, a.Devices[bellhop.Printer].Id)
	pmsA := adminCommand(t, h, a.Devices[bellhop.KeyCutter].Id)
	ownB := addPrinter(t, h, cb, b.Devices[bellhop.Printer].Id)
	unknown := bellhop.NewID()

	got, _, err := h.Service.CommandsByIDs(ctx, ca, []string{strings.ToUpper(ownA), pmsA, ownB, unknown}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{ownA, pmsA}) {
		t.Fatalf("A reads %v, want its own %s and the PMS's %s, in creation order", ids(got), ownA, pmsA)
	}
	// Reading marks the reader's Pending commands Received; B's stays Pending.
	for id, want := range map[string]bellhop.State{ownA: bellhop.Received, pmsA: bellhop.Received, ownB: bellhop.Pending} {
		if st := state(t, h, id); st != want {
			t.Errorf("%s is %s, want %s", id, st, want)
		}
	}
	active, _, err := h.Service.ActiveCommands(ctx, cb, nil)
	if err != nil || !slices.Equal(ids(active), []string{ownB}) {
		t.Fatalf("B's active commands %v (%v), want only %s", ids(active), err, ownB)
	}
	for _, id := range []string{ownA, strings.ToUpper(pmsA), unknown} {
		err := h.Service.UpdateCommand(ctx, cb, id, bellhop.Update{State: bellhop.Processing})
		if bellhop.ErrorCode(err) != bellhop.EINVALID || bellhop.ErrorMessage(err) != "Invalid CommandId" {
			t.Errorf("B updates A's %s: %v, want Invalid CommandId", id, err)
		}
	}
	if err := h.Service.UpdateCommand(ctx, ca, strings.ToUpper(pmsA), bellhop.Update{State: bellhop.Processing}); err != nil {
		t.Fatalf("A updates the PMS's command on its device: %v", err)
	}
	if st := state(t, h, pmsA); st != bellhop.Processing {
		t.Fatalf("after A's update %s is %s", pmsA, st)
	}
}

// TestCreatorMayOnlyCancel: once its printer is disconnected, the
// integration that created a command still reads it and may cancel it,
// but not report progress; an integration of the same enterprise that is
// neither connected nor the creator sees nothing.
func TestCreatorMayOnlyCancel(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	ctx := t.Context()
	tn := h.Tenant(t, "Creator", bellhop.Printer)
	c := caller(t, h, tn)
	printer := tn.Devices[bellhop.Printer].Id
	id := addPrinter(t, h, c, printer)
	if err := h.Admin.Disconnect(ctx, tn.Subscription.Id, printer); err != nil {
		t.Fatal(err)
	}

	if got, _, err := h.Service.CommandsByIDs(ctx, c, []string{id}, nil); err != nil || !slices.Equal(ids(got), []string{id}) {
		t.Fatalf("the creator reads %v (%v) after the disconnect", ids(got), err)
	}
	if st := state(t, h, id); st != bellhop.Pending {
		t.Fatalf("a creator that is not connected marked it %s", st)
	}
	err := h.Service.UpdateCommand(ctx, c, id, bellhop.Update{State: bellhop.Processing})
	if bellhop.ErrorCode(err) != bellhop.EFORBIDDEN {
		t.Fatalf("the creator reports progress: %v, want EFORBIDDEN", err)
	}

	// Another integration subscribed to the same enterprise.
	other := caller(t, h, tn.NewIntegration(t, "POS"))
	if err := h.Service.UpdateCommand(ctx, other, id, bellhop.Update{State: bellhop.Cancelled}); bellhop.ErrorMessage(err) != "Invalid CommandId" {
		t.Fatalf("a stranger cancels: %v, want Invalid CommandId", err)
	}
	if got, _, err := h.Service.CommandsByIDs(ctx, other, []string{id}, nil); err != nil || len(got) != 0 {
		t.Fatalf("a stranger reads %v (%v)", ids(got), err)
	}

	if err := h.Service.UpdateCommand(ctx, c, id, bellhop.Update{State: bellhop.Cancelled, Notes: "guest left"}); err != nil {
		t.Fatalf("the creator cancels: %v", err)
	}
	if st := state(t, h, id); st != bellhop.Cancelled {
		t.Fatalf("after the creator's cancel: %s", st)
	}
}

// TestFiscalMerged: fiscalMachineCommands/getAll by CommandIds merges the
// commands of the caller's connected fiscal devices with those its
// integration created elsewhere, newest first, paged across both; by
// DeviceIds it keeps to connected devices.
func TestFiscalMerged(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	ctx := t.Context()
	tn := h.Tenant(t, "Fiscal", bellhop.FiscalMachine)
	c := caller(t, h, tn)
	connected := tn.Devices[bellhop.FiscalMachine].Id
	// A fiscal device of the enterprise that the integration is not
	// connected to. The Connector API has no operation that creates fiscal
	// commands, so the ones "created by the integration" are written to the
	// store as such, the way a command created before a disconnect would be.
	elsewhere := tn.AddDevice(t, bellhop.FiscalMachine, "Back office fiscal printer").Id
	if err := h.Admin.Disconnect(ctx, tn.Subscription.Id, elsewhere); err != nil {
		t.Fatal(err)
	}
	own := func() string {
		now := h.Service.Now()
		cmd := &bellhop.Command{ID: bellhop.NewID(), EnterpriseID: tn.Enterprise.Id, DeviceID: elsewhere,
			DeviceType: bellhop.FiscalMachine, State: bellhop.Pending, CreatedUtc: now, UpdatedUtc: now, Data: []byte(`{}`),
			Creator: bellhop.Creator{IntegrationID: tn.Integration.Id, LastName: tn.Integration.Name}}
		if _, err := h.Store.CreateCommand(ctx, cmd, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now}, nil); err != nil {
			t.Fatal(err)
		}
		return cmd.ID
	}
	c1 := adminCommand(t, h, connected)
	o1 := own()
	c2 := adminCommand(t, h, connected)
	hidden := adminCommand(t, h, elsewhere) // neither connected nor own
	o2 := own()
	all := []string{c1, o1, c2, hidden, o2}

	page := &hub.Page{Count: 2}
	first, cursor, err := h.Service.FiscalCommands(ctx, c, hub.FiscalQuery{CommandIDs: all, Page: page})
	if err != nil || !slices.Equal(ids(first), []string{o2, c2}) || cursor != c2 {
		t.Fatalf("first page %v, cursor %q (%v); want [%s %s], cursor %s", ids(first), cursor, err, o2, c2, c2)
	}
	second, _, err := h.Service.FiscalCommands(ctx, c, hub.FiscalQuery{CommandIDs: all, Page: &hub.Page{Count: 2, Cursor: cursor}})
	if err != nil || !slices.Equal(ids(second), []string{o1, c1}) {
		t.Fatalf("second page %v (%v), want [%s %s]", ids(second), err, o1, c1)
	}
	byDevice, _, err := h.Service.FiscalCommands(ctx, c, hub.FiscalQuery{DeviceIDs: []string{connected, elsewhere},
		States: []bellhop.State{bellhop.Pending}, Page: &hub.Page{Count: 10}})
	if err != nil || !slices.Equal(ids(byDevice), []string{c2, c1}) {
		t.Fatalf("by device %v (%v), want only the connected device's [%s %s]", ids(byDevice), err, c2, c1)
	}
}

// TestExpiry: each device type expires on its own clock; a Processing
// command with no news becomes Error, a waiting one Cancelled, each with a
// note and an event; an update restarts the clock; retention purges what
// is final.
func TestExpiry(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, func(c *node.Config) {
		c.Hub.Expiry = map[bellhop.DeviceType]hub.Expiry{bellhop.KeyCutter: {Waiting: 30 * time.Minute, Processing: 2 * time.Minute}}
		c.Hub.SweepInterval = time.Hour // only this test's sweeps
	})
	ctx := t.Context()
	tn := h.Tenant(t, "Expiry", bellhop.Printer, bellhop.KeyCutter)
	c := caller(t, h, tn)
	keys, printer := tn.Devices[bellhop.KeyCutter].Id, tn.Devices[bellhop.Printer].Id
	keysWaiting, keysBusy := adminCommand(t, h, keys), adminCommand(t, h, keys)
	printWaiting, printBusy := adminCommand(t, h, printer), adminCommand(t, h, printer)
	for _, id := range []string{keysBusy, printBusy} {
		if err := h.Service.UpdateCommand(ctx, c, id, bellhop.Update{State: bellhop.Processing}); err != nil {
			t.Fatal(err)
		}
	}
	events, stop := h.Broker.Listen(100)
	defer stop()
	expect := func(id string, st bellhop.State) {
		t.Helper()
		select {
		case batch := <-events.C:
			if len(batch) != 1 || batch[0].CommandID != id || batch[0].State != st {
				t.Fatalf("events %+v, want %s %s", batch, id, st)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event for %s", id)
		}
	}

	h.Clock.Advance(3 * time.Minute) // past the key cutter's 2 min
	if r := h.Sweep(t); r.Failed != 1 || r.Cancelled != 0 {
		t.Fatalf("after 3 min: %+v", r)
	}
	expect(keysBusy, bellhop.Failed)
	v, hist, err := h.Service.Command(ctx, keysBusy)
	if err != nil || !strings.HasPrefix(v.Notes, "Expired: no progress reported for 2m0s") || hist[len(hist)-1].Actor != "hub:expiry" {
		t.Fatalf("expired command %+v, history %+v (%v)", v, hist, err)
	}

	// News restarts the clock: progress on the printer now keeps it 15 min more.
	if err := h.Service.UpdateCommand(ctx, c, printBusy, bellhop.Update{State: bellhop.Processing, Progress: new(0.5)}); err != nil {
		t.Fatal(err)
	}
	expect(printBusy, bellhop.Processing)
	h.Clock.Advance(28 * time.Minute) // 31 min: the key cutter's waiting one expires, the printer's busy one too
	if r := h.Sweep(t); r.Cancelled != 1 || r.Failed != 1 {
		t.Fatalf("after 31 min: %+v", r)
	}
	got := map[string]bellhop.State{}
	for range 2 {
		batch := <-events.C
		got[batch[0].CommandID] = batch[0].State
	}
	if got[keysWaiting] != bellhop.Cancelled || got[printBusy] != bellhop.Failed {
		t.Fatalf("events after 31 min %v", got)
	}
	if st := state(t, h, printWaiting); st != bellhop.Pending {
		t.Fatalf("the printer's waiting command is %s after 31 min, its expiry is 24 h", st)
	}
	h.Clock.Advance(24 * time.Hour)
	if r := h.Sweep(t); r.Cancelled != 1 || r.Failed != 0 {
		t.Fatalf("after a day: %+v", r)
	}
	h.Clock.Advance(hub.DefaultRetention + time.Minute)
	if r := h.Sweep(t); r.Purged != 4 {
		t.Fatalf("after the retention: %+v, want the 4 final commands purged", r)
	}
	if _, _, err := h.Service.Command(ctx, printWaiting); bellhop.ErrorCode(err) != bellhop.ENOTFOUND {
		t.Fatalf("purged command: %v", err)
	}
}

// TestReadKeepsPayload: the store's updates leave the payload alone and
// return none, so a read that marks its commands Received, and a cancel,
// still answer with every command's Data.
func TestReadKeepsPayload(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	ctx := t.Context()
	a := h.Tenant(t, "A", bellhop.Printer)
	c := caller(t, h, a)
	printer := a.Devices[bellhop.Printer].Id
	first, second, third := addPrinter(t, h, c, printer), addPrinter(t, h, c, printer), addPrinter(t, h, c, printer)
	hasPDF := func(what string, v hub.CommandView, want bellhop.State) {
		t.Helper()
		if v.State != want || !strings.Contains(string(v.Data), pdf) {
			t.Errorf("%s: %s is %s with Data %q, want %s with the PDF", what, v.ID, v.State, v.Data, want)
		}
	}

	got, _, err := h.Service.CommandsByIDs(ctx, c, []string{first}, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("getAllByIds: %v (%v)", ids(got), err)
	}
	hasPDF("getAllByIds", got[0], bellhop.Received)
	active, _, err := h.Service.ActiveCommands(ctx, c, nil)
	if err != nil || !slices.Equal(ids(active), []string{first, second, third}) {
		t.Fatalf("getAllActive: %v (%v)", ids(active), err)
	}
	for _, v := range active {
		hasPDF("getAllActive", v, bellhop.Received)
	}
	cancelled, err := h.Service.CancelCommand(ctx, third, "staff", "")
	if err != nil {
		t.Fatal(err)
	}
	hasPDF("cancel", hub.CommandView{Command: *cancelled}, bellhop.Cancelled)
	v, _, err := h.Service.Command(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	hasPDF("stored", *v, bellhop.Received)
}

// countingStore counts the store calls of command reads and writes.
type countingStore struct {
	store.Store
	reads, fetches, updates atomic.Int32
}

func (s *countingStore) GetCommands(ctx context.Context, ids []string) ([]bellhop.Command, error) {
	s.reads.Add(1)
	return s.Store.GetCommands(ctx, ids)
}

func (s *countingStore) FetchCommands(ctx context.Context, ids []string, pick func([]bellhop.Command) []string,
	fn func(*bellhop.Command) (*bellhop.HistoryEntry, error)) ([]bellhop.Command, []bellhop.Command, error) {
	s.fetches.Add(1)
	return s.Store.FetchCommands(ctx, ids, pick, fn)
}

func (s *countingStore) UpdateCommands(ctx context.Context, ids []string, fn func(*bellhop.Command) (*bellhop.HistoryEntry, error)) ([]bellhop.Command, error) {
	s.updates.Add(1)
	return s.Store.UpdateCommands(ctx, ids, fn)
}

// calls returns and resets the counts: reads, fetches, updates.
func (s *countingStore) calls() [3]int32 {
	return [3]int32{s.reads.Swap(0), s.fetches.Swap(0), s.updates.Swap(0)}
}

// recorder is a Publisher that keeps the command events.
type recorder struct {
	mu     sync.Mutex
	events []bellhop.Event
}

func (r *recorder) Publish(events []bellhop.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
}
func (r *recorder) DevicesChanged(string) {}
func (r *recorder) Revoked(string)        {}

// take returns and forgets the events, as "id State".
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.CommandID+" "+string(e.State))
	}
	r.events = nil
	return out
}

// TestCommandsByIDsWrites: getAllByIds of a command this node saw created
// reads and marks it in one write; a re-fetch only reads; a Pending command
// the node never saw (created through another node, or before it started)
// is read, then marked. Each mark is one Received event, published after
// the write, and the answer carries the Data whatever the path.
func TestCommandsByIDsWrites(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t)
	ctx := t.Context()
	tn := h.Tenant(t, "A", bellhop.Printer)
	printer := tn.Devices[bellhop.Printer].Id
	st := &countingStore{Store: h.Store}
	rec := &recorder{}
	svc, err := hub.New(hub.Config{Now: h.Clock.Now, Logger: hubtest.Logger()}, st, rec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.Authenticate(ctx, tn.ClientToken, tn.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	add := func() string {
		t.Helper()
		id, err := svc.AddPrinterCommand(ctx, c, hub.AddPrinter{PrinterID: printer, Data: pdf, CopyCount: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	fetch := func(what string, idList []string, p *hub.Page, want []string, calls [3]int32, events ...string) string {
		t.Helper()
		st.calls()
		rec.take()
		got, cursor, err := svc.CommandsByIDs(ctx, c, idList, p)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(ids(got), want) {
			t.Errorf("%s: commands %v, want %v", what, ids(got), want)
		}
		for _, v := range got {
			if v.State != bellhop.Received || !strings.Contains(string(v.Data), pdf) {
				t.Errorf("%s: %s is %s with Data %q, want Received with the PDF", what, v.ID, v.State, v.Data)
			}
		}
		if got := st.calls(); got != calls {
			t.Errorf("%s: store calls (reads, fetches, updates) %v, want %v", what, got, calls)
		}
		if got := rec.take(); !slices.Equal(got, events) {
			t.Errorf("%s: events %v, want %v", what, got, events)
		}
		return cursor
	}

	id := add()
	fetch("first fetch", []string{id}, nil, []string{id}, [3]int32{0, 1, 0}, id+" Received")
	fetch("re-fetch", []string{id}, nil, []string{id}, [3]int32{1, 0, 0})

	other := adminCommand(t, h, printer) // through the node's own service
	fetch("fetch of a command this service never saw", []string{other, id}, nil, []string{id, other}, [3]int32{1, 0, 1}, other+" Received")

	// A page marks only what it answers.
	p1, p2, p3 := add(), add(), add()
	cursor := fetch("first page", []string{p1, p2, p3}, &hub.Page{Count: 2}, []string{p3, p2}, [3]int32{0, 1, 0}, p2+" Received", p3+" Received")
	if state(t, h, p1) != bellhop.Pending {
		t.Errorf("the command past the first page is %s, want Pending", state(t, h, p1))
	}
	fetch("second page", []string{p1, p2, p3}, &hub.Page{Count: 2, Cursor: cursor}, []string{p1}, [3]int32{0, 1, 0}, p1+" Received")
	fetch("re-fetch of the pages", []string{p1, p2, p3}, &hub.Page{Count: 2, Cursor: cursor}, []string{p1}, [3]int32{1, 0, 0})
}
