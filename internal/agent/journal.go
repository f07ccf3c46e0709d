package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// JournalFile is the journal's file name inside the state directory.
const JournalFile = "journal.jsonl"

// Entry is what the journal knows about one command.
type Entry struct {
	ID string `json:"id"`
	// Device is the key of the configured device ("id:..." or "name:...")
	// whose driver ran the command, DeviceID the hub's device id.
	Device   string `json:"device,omitempty"`
	DeviceID string `json:"device_id,omitempty"`
	// Started is when the agent was about to call the driver; zero again
	// after NotDone, when the device confirmed it did not act.
	Started time.Time `json:"started,omitzero"`
	// State is the outcome (Processed, Error or Cancelled); empty until the
	// command finished.
	State string `json:"state,omitempty"`
	Notes string `json:"notes,omitempty"`
	// Reported is when the hub accepted the outcome; zero until then.
	Reported time.Time `json:"reported,omitzero"`
}

// Finished reports whether the outcome is known.
func (e Entry) Finished() bool { return e.State != "" }

// record is one line of the journal file: an operation on an entry.
type record struct {
	Op string `json:"op"` // started, notdone, finished, reported, entry (a whole entry, written by compaction)
	Entry
}

// Journal is the agent's crash-safe memory of what it did to devices: an
// append-only file of JSON lines in the state directory. "started" is
// written and fsynced before a driver runs, "finished" (with the outcome)
// right after, so that after a crash the agent knows which commands were
// interrupted mid-action and never runs a completed one again. "reported"
// records that the hub accepted the outcome; it is not fsynced, because
// losing it only means reporting the outcome once more, which the hub
// answers as already applied.
//
// The file is rewritten (compacted) at Open and whenever it holds many more
// lines than live entries: a temporary file is written, fsynced, renamed
// over the journal and the directory fsynced, so a crash leaves either the
// old or the new file. A torn last line (a crash during an append) is
// dropped on Open: it was never acknowledged, so nothing relied on it.
// A Journal is safe for concurrent use.
type Journal struct {
	dir       string
	retention time.Duration
	now       func() time.Time

	mu      sync.Mutex
	f       *os.File
	entries map[string]*Entry
	lines   int   // lines in the file, for the compaction trigger
	broken  error // first write error; the journal refuses further work
}

// OpenJournal opens (or creates) the journal in dir, replays it and compacts
// it, dropping reported entries older than retention (zero keeps them all).
// It returns an error when dir cannot be created, or when a line other than
// the last one is corrupt: then the file was damaged by something other than
// a crash, and guessing could repeat a device action.
func OpenJournal(dir string, retention time.Duration, now func() time.Time) (*Journal, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, retention: retention, now: now, entries: map[string]*Entry{}}
	if err := j.replay(); err != nil {
		return nil, err
	}
	if err := j.compact(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *Journal) path() string { return filepath.Join(j.dir, JournalFile) }

// replay reads the file into entries.
func (j *Journal) replay() error {
	data, err := os.ReadFile(j.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for n := 1; len(data) > 0; n++ {
		line, rest, complete := bytes.Cut(data, []byte("\n"))
		data = rest
		var r record
		if err := json.Unmarshal(line, &r); err != nil || r.ID == "" {
			if !complete || (len(bytes.TrimSpace(data)) == 0 && len(bytes.TrimSpace(line)) > 0) {
				// A torn last line: the append it belonged to never returned.
				return nil
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return fmt.Errorf("journal: %s line %d is corrupt (%v); move the file away to start afresh, "+
				"after checking the devices for the commands it names", j.path(), n, err)
		}
		j.apply(r)
	}
	return nil
}

// apply merges one record into entries.
func (j *Journal) apply(r record) {
	e := j.entries[r.ID]
	if e == nil {
		e = &Entry{ID: r.ID}
		j.entries[r.ID] = e
	}
	switch r.Op {
	case "entry":
		*e = r.Entry
	case "started":
		e.Device, e.DeviceID, e.Started = r.Device, r.DeviceID, r.Started
	case "notdone":
		e.Started = time.Time{}
	case "finished":
		e.State, e.Notes = r.State, r.Notes
	case "reported":
		e.Reported = r.Reported
	}
}

// compact rewrites the file with one line per live entry. Called with mu
// held, or before the journal is shared.
func (j *Journal) compact() error {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	cutoff := j.now().Add(-j.retention)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	ids := make([]string, 0, len(j.entries))
	for id, e := range j.entries {
		if j.retention > 0 && !e.Reported.IsZero() && e.Reported.Before(cutoff) {
			delete(j.entries, id)
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		_ = enc.Encode(record{Op: "entry", Entry: *j.entries[id]})
	}
	tmp := j.path() + ".tmp"
	if err := writeFileSync(tmp, buf.Bytes()); err != nil {
		return fmt.Errorf("journal: compacting: %w", err)
	}
	if err := os.Rename(tmp, j.path()); err != nil {
		return fmt.Errorf("journal: compacting: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("journal: compacting: %w", err)
	}
	f, err := os.OpenFile(j.path(), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.f, j.lines = f, len(ids)
	return nil
}

// append writes r, fsyncs when sync is set, and applies it. After a failed
// write the journal is broken: the file may end in a partial line, and
// further appends could glue onto it.
func (j *Journal) append(r record, sync bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return j.broken
	}
	if j.f == nil {
		return errors.New("journal: closed")
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	if _, err := j.f.Write(line); err != nil {
		j.broken = fmt.Errorf("journal: writing %s: %w", j.path(), err)
		return j.broken
	}
	if sync {
		if err := j.f.Sync(); err != nil {
			j.broken = fmt.Errorf("journal: syncing %s: %w", j.path(), err)
			return j.broken
		}
	}
	j.apply(r)
	j.lines++
	if j.lines > 2*len(j.entries)+1000 {
		if err := j.compact(); err != nil {
			j.broken = err
			return err
		}
	}
	return nil
}

// Start records, durably, that the driver of device is about to run
// command id for hub device deviceID. The caller must not call the driver
// when it returns an error.
func (j *Journal) Start(id, device, deviceID string) error {
	return j.append(record{Op: "started", Entry: Entry{ID: id, Device: device, DeviceID: deviceID, Started: j.now().UTC()}}, true)
}

// NotDone records, durably, that the device confirmed it did not act on
// command id after Start (a print job cancelled at the printer before it
// printed, when the agent stopped): the command is not finished, and not
// interrupted either, so the next start runs it again. The entry stays, so
// that the catch-up asks the hub about it even when the hub shows it
// Processing.
func (j *Journal) NotDone(id string) error {
	return j.append(record{Op: "notdone", Entry: Entry{ID: id}}, true)
}

// Finish records, durably, the outcome of command id: state is Processed,
// Error or Cancelled. From then on the outbox owes the hub this outcome.
func (j *Journal) Finish(id, state, notes string) error {
	return j.append(record{Op: "finished", Entry: Entry{ID: id, State: state, Notes: notes}}, true)
}

// Reported records that the hub accepted (or no longer needs) the outcome
// of command id. Not fsynced: see Journal.
func (j *Journal) Reported(id string) error {
	return j.append(record{Op: "reported", Entry: Entry{ID: id, Reported: j.now().UTC()}}, false)
}

// Get returns the entry for id.
func (j *Journal) Get(id string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[id]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Entries returns every entry, sorted by id.
func (j *Journal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, 0, len(j.entries))
	for _, e := range j.entries {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmpString(a.ID, b.ID) })
	return out
}

// Err returns the write error that broke the journal, or nil.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.broken
}

// Close closes the file. It is idempotent.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeFileSync writes data to path and fsyncs it.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if _, err := w.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so that a rename in it survives a power cut.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
