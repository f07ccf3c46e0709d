package reqlog

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBodyMasksTokens(t *testing.T) {
	l := New(Config{MaxBody: 64})
	ct, at := "E0D439EE522F44368DC78E1BFB03710C", "C66EF7B239D24632943D115EDE9CB810"
	body := []byte(`{"ClientToken":"` + ct + `","AccessToken":"` + at + `"}`)
	got := l.Body(body, ct, at)
	if bytes.Contains(got, []byte(ct[:8])) || bytes.Contains(got, []byte(at[:8])) {
		t.Fatalf("token left in %s", got)
	}
	if string(got) != `{"ClientToken":"***","AccessToken":"***"}` && len(body) <= 64 {
		t.Fatalf("masked %s", got)
	}
	// A cut through a token masks what is left of it.
	for cut := 1; cut < len(body); cut++ {
		l := New(Config{MaxBody: cut})
		got := l.Body(body, ct, at)
		for _, tok := range []string{ct, at} {
			for k := 6; k <= len(tok); k++ {
				if bytes.Contains(got, []byte(tok[:k])) {
					t.Fatalf("cut at %d leaves %q of a token in %s", cut, tok[:k], got)
				}
			}
		}
	}
	// Masking shortens a body; only a cut makes it cut.
	var e Entry
	New(Config{}).KeepBody(&e, body, ct, at)
	if e.BodyCut || e.BodySize != len(body) || len(e.Body) >= len(body) {
		t.Fatalf("kept %d of %d bytes, cut %v", len(e.Body), e.BodySize, e.BodyCut)
	}
	New(Config{MaxBody: 10}).KeepBody(&e, body, ct, at)
	if !e.BodyCut {
		t.Fatal("a body cut at 10 bytes is not marked cut")
	}
	// The copy is the log's own.
	b := []byte(`{"x":1}`)
	got = l.Body(b)
	b[2] = 'y'
	if string(got) != `{"x":1}` {
		t.Fatalf("body shares its bytes: %s", got)
	}
}

func TestRingWindowAndFilters(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := New(Config{Size: 5, Window: time.Minute, Now: clock})
	for i := range 8 {
		l.Add(&Entry{Kind: KindRequest, Utc: clock(), Operation: []string{"commands/update", "devices/getAll"}[i%2],
			IntegrationID: "i", Status: []int{200, 400}[i%2], CommandIDs: []string{"c" + string(rune('0'+i))}})
	}
	all, more := l.List(Filter{})
	if more || len(all) != 5 || all[0].Seq != 4 || all[4].Seq != 8 {
		t.Fatalf("kept %d (more %v) from %d", len(all), more, all[0].Seq)
	}
	newest, _ := l.List(Filter{Newest: true, Limit: 2})
	if len(newest) != 2 || newest[0].Seq != 8 || newest[1].Seq != 7 {
		t.Fatalf("newest %+v", newest)
	}
	page, more := l.List(Filter{Limit: 2})
	if !more || len(page) != 2 || page[1].Seq != 5 {
		t.Fatalf("page %+v more %v", page, more)
	}
	rest, more := l.List(Filter{After: 5})
	if more || len(rest) != 3 || rest[0].Seq != 6 {
		t.Fatalf("after 5: %+v", rest)
	}
	for _, tt := range []struct {
		f    Filter
		want int
	}{
		{Filter{Operation: "commands/update"}, 2},
		{Filter{Status: 4}, 3},
		{Filter{Status: 200}, 2},
		{Filter{CommandID: "C7"}, 1},
		{Filter{IntegrationID: "other"}, 0},
		{Filter{Kind: KindWebSocket}, 0},
		{Filter{Before: 6}, 2},
	} {
		if got, _ := l.List(tt.f); len(got) != tt.want {
			t.Errorf("%+v: %d entries, want %d", tt.f, len(got), tt.want)
		}
	}
	// Past the window they are gone.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if got, _ := l.List(Filter{}); len(got) != 0 {
		t.Fatalf("%d entries outside the window", len(got))
	}
}

func TestOpenSession(t *testing.T) {
	l := New(Config{})
	var sent atomic.Int64
	e := &Entry{Kind: KindWebSocket, Utc: l.Now(), Open: true, Status: 101}
	e.Live(&sent)
	l.Add(e)
	sent.Add(3)
	got, _ := l.List(Filter{Kind: KindWebSocket})
	if len(got) != 1 || got[0].Events != 3 || !got[0].Open {
		t.Fatalf("open session %+v", got)
	}
	l.Update(e, func(e *Entry) { e.Open, e.CloseCode, e.Events = false, 1001, 4 })
	got, _ = l.List(Filter{})
	if got[0].Open || got[0].CloseCode != 1001 || got[0].Events != 4 {
		t.Fatalf("closed session %+v", got[0])
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	if l.Body([]byte("x")) != nil || l.Add(&Entry{}) == nil {
		t.Fatal("nil log")
	}
	if got, more := l.List(Filter{}); len(got) != 0 || more {
		t.Fatal("nil log lists")
	}
	called := false
	l.Update(&Entry{}, func(*Entry) { called = true })
	if !called {
		t.Fatal("nil log skips updates")
	}
}

func TestMaskEdges(t *testing.T) {
	l := New(Config{})
	a, b := "AAAA1111", "BBBB2222"
	for in, want := range map[string]string{
		a + b:                   "******",
		"x" + a + "y" + a + "z": "x***y***z",
		"AAAA111" + a:           "AAAA111***",
		"no tokens here":        "no tokens here",
		"":                      "",
		"abc":                   "abc",
	} {
		if got := string(l.Body([]byte(in), a, b, "")); got != want {
			t.Errorf("Body(%q) = %q, want %q", in, got, want)
		}
	}
	body := []byte(`{"ClientToken":"` + a + `","AccessToken":"` + b + `","CommandId":"x"}`)
	if n := testing.AllocsPerRun(100, func() { l.Body(body, a, b) }); n != 1 {
		t.Errorf("Body allocates %v times, want once", n)
	}
}

// BenchmarkRecord is what the log costs a request: the masked copy of a
// typical update's body and its entry.
func BenchmarkRecord(b *testing.B) {
	l := New(Config{})
	ct, at := "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D", "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"
	body := []byte(`{"ClientToken":"` + ct + `","AccessToken":"` + at + `","Client":"Sample Client 1.0.0",` +
		`"CommandId":"aa20961f-6d9e-4b35-ad25-071213530aec","State":"Processed","Notes":"printed"}`)
	b.ReportAllocs()
	for b.Loop() {
		e := NewEntry(KindRequest)
		e.Utc, e.Operation, e.RequestID = l.Now(), "commands/update", "01a24a96-6705-70b1-ba99-fd446f3bf34b"
		e.Body, e.BodySize = l.Body(body, ct, at), len(body)
		e.CommandIDs = append(e.CommandIDs, "aa20961f-6d9e-4b35-ad25-071213530aec")
		e.Status = 200
		l.Add(e)
	}
}

// A closed session's entry lets go of the socket its live counter lives
// in: the log keeps entries long after their sockets are gone.
func TestClosedSessionReleasesItsSocket(t *testing.T) {
	l := New(Config{})
	type socket struct {
		sent atomic.Int64
		buf  []byte // what a socket holds on to
	}
	s := &socket{buf: make([]byte, 64<<10)}
	freed := make(chan struct{})
	runtime.AddCleanup(s, func(ch chan struct{}) { close(ch) }, freed)
	e := NewEntry(KindWebSocket)
	e.Utc, e.Open = l.Now(), true
	e.Live(&s.sent)
	l.Add(e)
	s.sent.Add(3)
	l.Update(e, func(e *Entry) { e.Open, e.Events = false, int(s.sent.Load()) })
	s = nil
	for i := 0; i < 50; i++ {
		runtime.GC()
		select {
		case <-freed:
			if got, _ := l.List(Filter{}); len(got) != 1 || got[0].Events != 3 {
				t.Fatalf("entries %+v, want one with 3 events", got)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the log still holds the closed socket")
}
