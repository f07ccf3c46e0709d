package sqlite_test

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// walPages reads the frames a database's WAL gained since offset: the
// page number of each, and the offset the next read starts from. The WAL
// must not start over meanwhile (no checkpoint runs in these tests).
func walPages(t testing.TB, path string, offset int64) (pages []uint32, next int64) {
	t.Helper()
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const header, frame = 32, 24 + 4096
	if offset < header {
		offset = header
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var head [4]byte
	for ; offset+frame <= fi.Size(); offset += frame {
		if _, err := f.ReadAt(head[:], offset); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, binary.BigEndian.Uint32(head[:]))
	}
	return pages, offset
}

// pageOwners maps each page of the database to the table or index it
// belongs to (SQLite's dbstat table).
func pageOwners(t testing.TB, path string) map[uint32]string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, pageno FROM dbstat`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	owners := map[uint32]string{}
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			t.Fatal(err)
		}
		owners[page] = name
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return owners
}

// TestLifecyclePages counts the WAL frames (pages) each step of a command's
// lifecycle writes, per table and index, as a hub with 1,000 single-printer
// hotels and 20 producing integrations writes them: create, the Received
// mark of getAllByIds, Processing, Processed, each its own commit (a lone
// write, the worst case: concurrent writes share their commit's pages).
// Each commit writes every page it changed in full, so a page per index
// keyed by device or enterprise is a 4 KiB frame per write.
func TestLifecyclePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	s := open(t, sqlite.Config{Path: path, CheckpointEvery: time.Hour})
	ctx := t.Context()
	t0 := time.UnixMilli(1_780_000_000_000).UTC()
	const hotels, producers = 1000, 20
	finished, lifecycles := 20000, 200
	if raceEnabled { // the checks below hold at any size; the counts are the figures of a full run
		finished, lifecycles = 2000, 50
	}
	devs := make([]bellhop.Device, hotels)
	for i := range devs {
		e := bellhop.Enterprise{ID: bellhop.NewID(), Name: fmt.Sprint("Hotel ", i), CreatedUtc: t0}
		if err := s.CreateEnterprise(ctx, &e); err != nil {
			t.Fatal(err)
		}
		devs[i] = bellhop.Device{ID: bellhop.NewID(), EnterpriseID: e.ID, Type: bellhop.Printer, Name: "P", CreatedUtc: t0}
		if err := s.CreateDevice(ctx, &devs[i]); err != nil {
			t.Fatal(err)
		}
	}
	integrations := make([]string, producers)
	for i := range integrations {
		in := bellhop.Integration{ID: bellhop.NewID(), Name: fmt.Sprint("PMS ", i), CreatedUtc: t0}
		if err := s.CreateIntegration(ctx, &in, bellhop.HashToken(bellhop.NewToken())); err != nil {
			t.Fatal(err)
		}
		integrations[i] = in.ID
	}
	data := []byte(`{"CopyCount":1,"FileType":"application/pdf","FileData":"` + strings.Repeat("JVBERi0xLjQg", 228) + `"}`)
	command := func(i int, state bellhop.State, at time.Time) bellhop.Command {
		d := devs[i%hotels]
		return bellhop.Command{ID: bellhop.NewID(), EnterpriseID: d.EnterpriseID, DeviceID: d.ID, DeviceType: d.Type,
			State: state, CreatedUtc: at, UpdatedUtc: at,
			Creator: bellhop.Creator{IntegrationID: integrations[i%producers], FirstName: "Ann", LastName: "Lee"}, Data: data}
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < finished; i += 16 {
				c := command(i*7, bellhop.Processed, t0.Add(time.Duration(i)*time.Millisecond))
				if _, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Processed, Utc: c.CreatedUtc}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var busy, frames, copied int
	err = db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied)
	db.Close()
	if err != nil || busy != 0 {
		t.Fatalf("checkpoint: busy %d, %v", busy, err)
	}

	steps := []string{"create", "Received", "Processing", "Processed"}
	written := make([][]uint32, len(steps)) // every frame of each step
	var offset int64
	step := func(i int, do func() error) {
		if err := do(); err != nil {
			t.Fatal(err)
		}
		var pages []uint32
		pages, offset = walPages(t, path, offset)
		written[i] = append(written[i], pages...)
	}
	now := t0.Add(time.Hour)
	for n := range lifecycles {
		now = now.Add(2 * time.Millisecond)
		c := command(n*13+5, bellhop.Pending, now)
		step(0, func() error {
			_, err := s.CreateCommand(ctx, &c, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now}, nil)
			return err
		})
		step(1, func() error {
			_, _, err := s.FetchCommands(ctx, []string{c.ID}, func(cs []bellhop.Command) []string { return []string{c.ID} },
				func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
					c.State, c.UpdatedUtc = bellhop.Received, now
					return &bellhop.HistoryEntry{State: c.State, Utc: now}, nil
				})
			return err
		})
		for i, st := range []bellhop.State{bellhop.Processing, bellhop.Processed} {
			step(2+i, func() error {
				_, err := s.UpdateCommands(ctx, []string{c.ID}, func(c *bellhop.Command) (*bellhop.HistoryEntry, error) {
					c.State, c.UpdatedUtc = st, now.Add(time.Duration(i+1)*time.Millisecond)
					return &bellhop.HistoryEntry{State: st, Utc: c.UpdatedUtc}, nil
				})
				return err
			})
		}
	}

	owners := pageOwners(t, path)
	perOwner := map[string][]float64{}
	total := 0
	for i, pages := range written {
		total += len(pages)
		for _, p := range pages {
			name := owners[p]
			if name == "" {
				name = fmt.Sprint("(free or header: page ", p, ")")
				if p == 1 {
					name = "(database header)"
				}
			}
			if perOwner[name] == nil {
				perOwner[name] = make([]float64, len(steps))
			}
			perOwner[name][i] += 1.0 / float64(lifecycles)
		}
	}
	names := make([]string, 0, len(perOwner))
	for name := range perOwner {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "WAL frames per lifecycle, lone commits, %d hotels, %d finished commands:\n%-28s", hotels, finished, "")
	for _, st := range steps {
		fmt.Fprintf(&b, "%11s", st)
	}
	b.WriteString("      total\n")
	for _, name := range names {
		fmt.Fprintf(&b, "%-28s", name)
		sum := 0.0
		for _, v := range perOwner[name] {
			fmt.Fprintf(&b, "%11.2f", v)
			sum += v
		}
		fmt.Fprintf(&b, "%11.2f\n", sum)
	}
	fmt.Fprintf(&b, "%-28s", "all")
	for _, pages := range written {
		fmt.Fprintf(&b, "%11.2f", float64(len(pages))/float64(lifecycles))
	}
	fmt.Fprintf(&b, "%11.2f\n", float64(total)/float64(lifecycles))
	t.Log(b.String())

	// What migration 0008 made sure of: commands_active is written when a
	// command starts and when it ends, not on the state changes between,
	// and a printer's command takes no entry in commands_creator.
	if v := perOwner["commands_active"]; v == nil || v[1] != 0 || v[2] != 0 {
		t.Errorf("commands_active pages per step %v: written on the Received and Processing marks", v)
	}
	if v := perOwner["commands_creator"]; v != nil {
		t.Errorf("commands_creator pages per step %v: written for printers' commands", v)
	}
}
