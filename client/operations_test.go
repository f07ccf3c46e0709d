package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// activeQueue is a fake getAllActive that pages n commands oldest first
// with Limitation {Count, Cursor}, as bellhop does.
func activeQueue(t testing.TB, n int, ignoreLimitation bool) (*fake, []string) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("cmd-%05d", i)
	}
	f := newFake(t, func(_ int, req request, w http.ResponseWriter, _ *http.Request) {
		var body struct{ Limitation *Limitation }
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Error(err)
		}
		start, count := 0, len(ids)
		if body.Limitation != nil && !ignoreLimitation {
			count = body.Limitation.Count
			if c := body.Limitation.Cursor; c != nil {
				for i, id := range ids {
					if id == *c {
						start = i + 1
					}
				}
			}
		}
		end := min(start+count, len(ids))
		page := CommandPage{Commands: []Command{}}
		for _, id := range ids[start:end] {
			page.Commands = append(page.Commands, Command{Id: id, State: StatePending,
				Device: Device{Id: "d", Type: DeviceTypePrinter, Name: "P"}, Data: json.RawMessage(`{}`)})
		}
		if end > start {
			page.Cursor = &ids[end-1]
		}
		b, _ := json.Marshal(page)
		writeJSON(w, http.StatusOK, string(b))
	})
	return f, ids
}

func TestAllActiveCommandsPaging(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		n           int
		ignore      bool
		wantCursors []string // Cursor sent with each request; "" for none
	}{
		{"three pages", 2001, false, []string{"", "cmd-00999", "cmd-01999"}},
		{"exact multiple ends with an empty page", 2000, false, []string{"", "cmd-00999", "cmd-01999"}},
		{"one short page", 3, false, []string{""}},
		{"empty", 0, false, []string{""}},
		{"server ignores Limitation", 1500, true, []string{"", "cmd-01499"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, ids := activeQueue(t, tt.n, tt.ignore)
			c, _ := newTestClient(t, f.srv.URL)
			cmds, err := c.AllActiveCommands(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(cmds))
			for i, cmd := range cmds {
				got[i] = cmd.Id
			}
			if len(ids) == 0 {
				ids = nil
				if len(got) == 0 {
					got = nil
				}
			}
			if !reflect.DeepEqual(got, ids) {
				t.Errorf("got %d commands, want %d in order", len(got), len(ids))
			}
			var cursors []string
			for _, r := range f.requests() {
				var body struct{ Limitation *Limitation }
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatal(err)
				}
				if body.Limitation == nil || body.Limitation.Count != 1000 {
					t.Fatalf("Limitation = %+v, want Count 1000", body.Limitation)
				}
				cur := ""
				if body.Limitation.Cursor != nil {
					cur = *body.Limitation.Cursor
				}
				cursors = append(cursors, cur)
			}
			if !reflect.DeepEqual(cursors, tt.wantCursors) {
				t.Errorf("cursors sent = %q, want %q", cursors, tt.wantCursors)
			}
		})
	}
}

func TestAllActiveCommandsError(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, _ request, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusUnauthorized, `{"Message": "Invalid AccessToken"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	if cmds, err := c.AllActiveCommands(t.Context()); !IsUnauthorized(err) || cmds != nil {
		t.Errorf("AllActiveCommands = %v, %v", cmds, err)
	}
}

func TestCommandsByIdsBatches(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, req request, w http.ResponseWriter, _ *http.Request) {
		var body struct{ CommandIds []string }
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Error(err)
		}
		page := CommandPage{}
		for _, id := range body.CommandIds {
			page.Commands = append(page.Commands, Command{Id: id, State: StateProcessed})
		}
		b, _ := json.Marshal(page)
		writeJSON(w, http.StatusOK, string(b))
	})
	c, _ := newTestClient(t, f.srv.URL)

	if cmds, err := c.CommandsByIds(t.Context(), nil); err != nil || len(cmds) != 0 || len(f.requests()) != 0 {
		t.Fatalf("no ids: %v, %v, %d requests", cmds, err, len(f.requests()))
	}

	ids := make([]string, 2500)
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%04d", i)
	}
	cmds, err := c.CommandsByIds(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var sent []string
	for _, r := range f.requests() {
		var body struct {
			CommandIds []string
			Limitation any
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Limitation != nil {
			t.Errorf("Limitation sent: %v", body.Limitation)
		}
		sizes = append(sizes, len(body.CommandIds))
		sent = append(sent, body.CommandIds...)
	}
	if !reflect.DeepEqual(sizes, []int{1000, 1000, 500}) {
		t.Errorf("batch sizes = %v", sizes)
	}
	if !reflect.DeepEqual(sent, ids) {
		t.Error("ids sent differ from ids asked, or their order")
	}
	if len(cmds) != len(ids) || cmds[0].Id != ids[0] || cmds[2499].Id != ids[2499] {
		t.Errorf("got %d commands", len(cmds))
	}
}

func TestUpdateBody(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, `{}`) })
	c, _ := newTestClient(t, f.srv.URL)
	if err := c.UpdateCommand(t.Context(), UpdateRequest{CommandId: "c", State: StateProcessing, Progress: ptr(0.5)}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCommand(t.Context(), UpdateRequest{CommandId: "c", State: StateError, Notes: ptr("paper jam")}); err != nil {
		t.Fatal(err)
	}
	r := f.requests()
	sameJSON(t, "progress", r[0].Body, []byte(`{"ClientToken": "`+demoClientToken+`", "AccessToken": "`+demoAccessToken+
		`", "Client": "`+demoClient+`", "CommandId": "c", "State": "Processing", "Progress": 0.5}`))
	sameJSON(t, "notes", r[1].Body, []byte(`{"ClientToken": "`+demoClientToken+`", "AccessToken": "`+demoAccessToken+
		`", "Client": "`+demoClient+`", "CommandId": "c", "State": "Error", "Notes": "paper jam"}`))
}

func TestAddWithoutCommandId(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, _ request, w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, `{}`) })
	c, _ := newTestClient(t, f.srv.URL)
	if _, err := c.AddKeyCutterCommand(t.Context(), AddKeyCutterRequest{KeyCutterId: "k", ReservationId: "r", KeyCount: 1}); err == nil {
		t.Error("no error for a response without CommandId")
	}
}
