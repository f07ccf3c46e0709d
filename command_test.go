package bellhop

import (
	"strings"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	half, one := 0.5, 1.0
	tests := []struct {
		from         State
		notes        string
		u            Update
		stateChanged bool
		changed      bool
		err          bool
	}{
		{Pending, "", Update{State: Received}, true, true, false},
		{Pending, "", Update{State: Processed, Notes: "done"}, true, true, false},
		{Received, "", Update{State: Processing, Progress: &half}, true, true, false},
		{Processing, "", Update{State: Processing, Progress: &half}, false, true, false},
		{Processing, "", Update{State: Processing, Notes: "paused"}, false, true, false},
		{Processing, "paused", Update{State: Processing, Notes: "paused"}, false, false, false},
		{Processing, "paused", Update{State: Processing}, false, false, false},
		{Received, "", Update{State: Received, Notes: "dropped"}, false, false, false},
		{Pending, "", Update{State: Pending}, false, false, false},
		{Processing, "", Update{State: Received}, false, false, true},
		{Received, "", Update{State: Pending}, false, false, true},
		{Processed, "ok", Update{State: Processed, Notes: "ok"}, false, false, false},
		{Processed, "ok", Update{State: Processed, Notes: "other"}, false, false, true},
		{Processed, "", Update{State: Failed}, false, false, true},
		{Cancelled, "", Update{State: Processing}, false, false, true},
		{Failed, "", Update{State: Pending}, false, false, true},
		{Pending, "", Update{State: "Done"}, false, false, true},
		{Processing, "", Update{State: Processing, Progress: &[]float64{1.5}[0]}, false, false, true},
		{Processing, "", Update{State: Processing, Progress: &[]float64{-0.1}[0]}, false, false, true},
	}
	for _, tt := range tests {
		c := &Command{State: tt.from, Notes: tt.notes}
		before := *c
		sc, ch, err := c.Apply(tt.u, now)
		if (err != nil) != tt.err || sc != tt.stateChanged || ch != tt.changed {
			t.Errorf("%s + %+v: stateChanged=%v changed=%v err=%v", tt.from, tt.u, sc, ch, err)
		}
		if err != nil && (c.State != before.State || c.Notes != before.Notes || c.Progress != before.Progress) {
			t.Errorf("%s + %+v: refused update changed the command", tt.from, tt.u)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("error code %q", ErrorCode(err))
		}
	}
	// Notes are kept with Processing and final states, progress only with
	// Processing; an empty note on Processing keeps the last one.
	c := &Command{State: Pending}
	c.Apply(Update{State: Received, Notes: "dropped"}, now)
	if c.Notes != "" {
		t.Errorf("received: %+v", c)
	}
	c.Apply(Update{State: Processing, Progress: &half, Notes: "paused by the operator"}, now)
	if c.Notes != "paused by the operator" || c.Progress == nil || *c.Progress != half {
		t.Errorf("processing: %+v", c)
	}
	c.Apply(Update{State: Processing, Progress: &one}, now)
	if c.Notes != "paused by the operator" || *c.Progress != one {
		t.Errorf("processing without a note: %+v", c)
	}
	c.Apply(Update{State: Processed, Progress: &half, Notes: "kept"}, now)
	if c.Notes != "kept" || *c.Progress != one || !c.UpdatedUtc.Equal(now) {
		t.Errorf("processed: %+v", c)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Dvořák":           "Dvorak",
		"Émile-Zoë O'Neil": "Emile-Zoe O'Neil",
		"Straße":           "Strasse",
		"李":                "",
		"Ann <script>":     "Ann script",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIDs(t *testing.T) {
	first := NewID()
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidID(id) || seen[id] || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("bad or repeated id %q (want a version 7 RFC 9562 UUID)", id)
		}
		seen[id] = true
	}
	time.Sleep(2 * time.Millisecond)
	if later := NewID(); later <= first {
		t.Errorf("id made later %q sorts before %q", later, first)
	}
	for _, bad := range []string{"", "x", "aa20961f-6d9e-4b35-ad25-071213530aeg", "aa20961f6d9e-4b35-ad25-071213530aec0"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
	tok := NewToken()
	if len(tok) != 65 || tok[32] != '-' || HashToken(tok) == HashToken(NewToken()) {
		t.Fatalf("token %q", tok)
	}
}

// TestApplyExternalID: an update's ExternalRequestIdentifier is kept with
// any state, and a new one is a change even when nothing else changes.
func TestApplyExternalID(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		from, to   State
		had, given string
		changed    bool
		err        bool
		want       string
	}{
		{Received, Processing, "", "TX-1", true, false, "TX-1"},
		{Processing, Processing, "", "TX-1", true, false, "TX-1"},
		{Processing, Processing, "TX-1", "TX-1", false, false, "TX-1"},
		{Processing, Processed, "TX-1", "", true, false, "TX-1"},
		{Processed, Processed, "", "TX-2", true, false, "TX-2"},
		{Processed, Processed, "TX-2", "TX-2", false, false, "TX-2"},
		{Processed, Failed, "", "TX-3", false, true, ""},
	}
	for _, tt := range tests {
		c := &Command{State: tt.from, ExternalID: tt.had}
		sc, ch, err := c.Apply(Update{State: tt.to, ExternalID: tt.given}, now)
		if ch != tt.changed || (err != nil) != tt.err || c.ExternalID != tt.want || sc != (tt.from != tt.to && !tt.err) {
			t.Errorf("%s(%q) + %s(%q): stateChanged=%v changed=%v err=%v external %q", tt.from, tt.had, tt.to, tt.given, sc, ch, err, c.ExternalID)
		}
	}
	if err := (&Update{State: Processing, ExternalID: strings.Repeat("x", MaxExternalID+1)}).Normalize(); ErrorMessage(err) != "Invalid ExternalRequestIdentifier" {
		t.Errorf("long external id: %v", err)
	}
}
