package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openJournal(tb testing.TB, dir string, now func() time.Time) *Journal {
	tb.Helper()
	j, err := OpenJournal(dir, time.Hour, now)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Close() })
	return j
}

func TestJournalRecovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openJournal(t, dir, nil)
	must(t, j.Start("a", "name:P", "dev1"))
	must(t, j.Start("b", "name:P", "dev1"))
	must(t, j.Finish("b", "Processed", "sent 10 bytes"))
	must(t, j.Start("c", "id:x", "dev2"))
	must(t, j.Finish("c", "Error", "paper jam"))
	must(t, j.Reported("c"))
	// No Close: a crash leaves the file as the appends left it.

	j2 := openJournal(t, dir, nil)
	got := map[string]Entry{}
	for _, e := range j2.Entries() {
		got[e.ID] = e
	}
	if e := got["a"]; e.Finished() || e.Started.IsZero() || e.Device != "name:P" || e.DeviceID != "dev1" {
		t.Errorf("a = %+v, want started, not finished", e)
	}
	if e := got["b"]; e.State != "Processed" || e.Notes != "sent 10 bytes" || !e.Reported.IsZero() {
		t.Errorf("b = %+v, want finished, not reported", e)
	}
	if e := got["c"]; e.State != "Error" || e.Reported.IsZero() {
		t.Errorf("c = %+v, want reported", e)
	}
	// Compaction at open left one line per entry, and appends go on.
	if n := countLines(t, dir); n != 3 {
		t.Errorf("%d lines after compaction, want 3", n)
	}
	must(t, j2.Finish("a", "Error", InterruptedNote))
	j2.Close()
	j3 := openJournal(t, dir, nil)
	if e, _ := j3.Get("a"); e.State != "Error" || e.Notes != InterruptedNote {
		t.Errorf("a after reopen = %+v", e)
	}
}

func TestJournalTornLastLine(t *testing.T) {
	t.Parallel()
	for _, tail := range []string{`{"op":"finished","id":"a","sta`, "\x00\x00\x00", `{"op":"finished","id":"a"` + "\n"} {
		dir := t.TempDir()
		j := openJournal(t, dir, nil)
		must(t, j.Start("a", "name:P", "dev1"))
		j.Close()
		appendFile(t, dir, tail)
		j2 := openJournal(t, dir, nil)
		e, ok := j2.Get("a")
		if !ok || e.Finished() || e.Started.IsZero() {
			t.Fatalf("tail %q: a = %+v, want started and not finished", tail, e)
		}
		// The torn line is gone, so new records do not glue onto it.
		must(t, j2.Finish("a", "Processed", "ok"))
		j2.Close()
		j3 := openJournal(t, dir, nil)
		if e, _ := j3.Get("a"); e.State != "Processed" {
			t.Fatalf("tail %q: after reopen a = %+v", tail, e)
		}
	}
}

func TestJournalCorruptMiddleLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openJournal(t, dir, nil)
	must(t, j.Start("a", "name:P", "dev1"))
	j.Close()
	appendFile(t, dir, "garbage\n"+`{"op":"started","id":"b"}`+"\n")
	_, err := OpenJournal(dir, time.Hour, nil)
	if err == nil || !strings.Contains(err.Error(), "line 2 is corrupt") {
		t.Fatalf("want a corrupt line error, got %v", err)
	}
}

func TestJournalRetentionAndCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	j := openJournal(t, dir, clock)
	for _, id := range []string{"old", "fresh", "owed"} {
		must(t, j.Start(id, "name:P", "d"))
		must(t, j.Finish(id, "Processed", ""))
	}
	must(t, j.Reported("old"))
	now = now.Add(50 * time.Minute)
	must(t, j.Reported("fresh"))
	now = now.Add(20 * time.Minute) // "old" is past the hour of retention, "fresh" is not
	j.Close()
	j2 := openJournal(t, dir, clock)
	if _, ok := j2.Get("old"); ok {
		t.Error("old reported entry survived retention")
	}
	for _, id := range []string{"fresh", "owed"} {
		if _, ok := j2.Get(id); !ok {
			t.Errorf("%s was dropped", id)
		}
	}
	// Many appends trigger compaction in place.
	for range 1200 {
		must(t, j2.Start("x", "name:P", "d"))
	}
	if n := countLines(t, dir); n > 1100 {
		t.Errorf("%d lines: no compaction", n)
	}
	if e, _ := j2.Get("owed"); e.State != "Processed" {
		t.Errorf("owed = %+v after compaction", e)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func appendFile(tb testing.TB, dir, s string) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(dir, JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	must(tb, err)
	_, err = f.WriteString(s)
	must(tb, err)
	must(tb, f.Close())
}

func countLines(tb testing.TB, dir string) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, JournalFile))
	must(tb, err)
	return strings.Count(string(b), "\n")
}
