package faulttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/hubtest"
)

var soak = flag.Bool("soak", false, "run the long crash soak: many more kills, workers and requests")

func TestMain(m *testing.M) {
	flag.Parse()
	hubtest.Main(m)
}

// TestCrashSQLite kills a loaded hub on SQLite again and again, with both
// --sync settings: on a process crash both must keep every acknowledged
// write (full differs only on power loss).
func TestCrashSQLite(t *testing.T) {
	for _, sync := range []string{"full", "normal"} {
		t.Run("sync="+sync, func(t *testing.T) {
			crash(t, "--sync", sync)
		})
	}
}

// TestCrashPostgres is TestCrashSQLite on a PostgreSQL database of its own.
// It skips when no server is reachable (fails in CI).
func TestCrashPostgres(t *testing.T) {
	crash(t, "--database", hubtest.PostgresDatabase(t))
}

// crash runs the hub with storeArgs under load, SIGKILLs it at random
// moments (after a random number of acknowledged requests, so the kill lands
// among requests in flight whatever the machine's speed), restarts it on the
// same store, and checks after every restart that every acknowledged
// request is there and that no state went backwards. At the end every create
// whose answer was lost is retried with its Idempotency-Key, and the store
// must then hold exactly the acknowledged commands: none lost, none doubled.
func crash(t *testing.T, storeArgs ...string) {
	kills, workers, minAcks, maxAcks := 10, 8, 50, 800
	switch {
	case *soak:
		kills, workers, minAcks, maxAcks = 100, 16, 20, 5000
	case testing.Short():
		kills = 3
	}
	p := hubtest.StartProcess(t, append([]string{"--rate-limit=-1"}, storeArgs...)...)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	tenants := setupTenants(t, p.Admin, 2)
	l := &ledger{cmds: map[string]*record{}, unanswered: map[string]bool{}}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // kill points and requests are random on purpose
	rng := mrand.New(mrand.NewPCG(seed, 1))
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = &worker{id: i, tn: tenants[i%len(tenants)], l: l, rng: mrand.New(mrand.NewPCG(rng.Uint64(), uint64(i)))}
	}
	var f figures
	started := time.Now()
	for range kills {
		threshold := int64(minAcks + rng.IntN(maxAcks-minAcks+1))
		killNow := make(chan struct{})
		var once sync.Once
		var acks atomic.Int64
		onAck := func() {
			if acks.Add(1) == threshold {
				once.Do(func() { close(killNow) })
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		errs := make(chan error, len(ws))
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.run(ctx, c, p.PlatformAddress, onAck); err != nil && !errors.Is(err, errNoAnswer) {
					errs <- err
				}
			}()
		}
		allDone := make(chan struct{})
		go func() {
			wg.Wait()
			close(allDone)
		}()
		select {
		case <-killNow:
		case <-allDone:
			cancel()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			t.Fatalf("every worker stopped before the kill, after %d acknowledged requests", acks.Load())
		case <-p.Exited():
			cancel()
			t.Fatal("the hub exited on its own")
		case <-time.After(2 * time.Minute):
			cancel()
			t.Fatalf("no kill point after 2 minutes (%d of %d acknowledged)", acks.Load(), threshold)
		}
		p.Kill() // SIGKILL while the other workers' requests are in flight
		f.kills++
		cancel()
		<-allDone
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
		c.CloseIdleConnections()
		p.Restart()
		l.verify(t, p.Admin, &f, false)
	}
	// Retry every create whose answer the kills swallowed; the retry must
	// give the command that was created before the crash, if it was.
	for _, w := range ws {
		for w.pending != nil {
			if err := w.create(t.Context(), c, p.PlatformAddress); err != nil {
				t.Fatalf("retrying a create: %v", err)
			}
		}
	}
	l.verify(t, p.Admin, &f, true)
	l.mu.Lock()
	f.acked, f.inDoubt, f.applied, f.commands = l.acks, l.inDoubt, l.applied, len(l.cmds)
	l.mu.Unlock()
	t.Logf("%s: %d requests acknowledged (%d commands) in %v, %d SIGKILLs, %d requests unanswered (%d of them found applied); lost %d, went backwards %d, states never sent %d, unaccounted commands %d",
		strings.Join(storeArgs, " "), f.acked, f.commands, time.Since(started).Round(time.Millisecond), f.kills, f.inDoubt, f.applied,
		f.lost, f.backwards, f.phantom, f.extra)
	if f.lost != 0 || f.backwards != 0 || f.phantom != 0 || f.extra != 0 {
		t.Fatalf("lost %d, went backwards %d, states never sent %d, unaccounted commands %d: all must be 0",
			f.lost, f.backwards, f.phantom, f.extra)
	}
}

type figures struct {
	acked, inDoubt, applied, commands, kills int
	lost, backwards, phantom, extra          int
}

// errNoAnswer is a request that got no HTTP answer: the hub was killed under
// it, so whether it was applied is unknown.
var errNoAnswer = errors.New("no answer")

// send posts a JSON body and returns the status and body; a transport
// failure is errNoAnswer.
func send(ctx context.Context, c *http.Client, method, url, bearer string, body []byte, headers ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	return resp.StatusCode, b, nil
}

// tenant is an integration subscribed to one enterprise with printers
// connected.
type tenant struct {
	clientToken, accessToken string
	printers                 []string
}

// setupTenants creates n tenants with two printers each through the admin
// API, as an operator would.
func setupTenants(t testing.TB, a *admin.Client, n int) []tenant {
	t.Helper()
	var out []tenant
	for i := range n {
		tn := hubtest.NewTenant(t, a, fmt.Sprintf("Hotel %d", i), bellhop.Printer)
		out = append(out, tenant{clientToken: tn.ClientToken, accessToken: tn.AccessToken,
			printers: []string{tn.Devices[bellhop.Printer].Id, tn.AddDevice(t, bellhop.Printer, "Printer 1").Id}})
	}
	return out
}

// The states the workers walk through, in order; a state's index is its rank.
var states = []string{"Pending", "Received", "Processing", "Processed"}

func rank(state string) int {
	for i, s := range states {
		if s == state {
			return i
		}
	}
	return -1
}

// record is what the test knows of one command.
type record struct {
	acked int    // rank of the highest acknowledged state
	sent  int    // rank of the highest state ever sent
	seen  int    // rank found by the last check
	notes string // the notes sent with Processed
}

// ledger is every acknowledged command and what was sent for it.
type ledger struct {
	mu      sync.Mutex
	cmds    map[string]*record
	acks    int // acknowledged requests
	inDoubt int // requests that got no answer
	applied int // of those, found applied after the restart
	// unanswered holds the commands found whose create got no answer.
	unanswered map[string]bool
}

// verify reads every command through the admin API and checks it against
// the ledger. With final, the store must hold no command that the ledger
// does not (every create whose answer was lost has been retried by then).
func (l *ledger) verify(t testing.TB, a *admin.Client, f *figures, final bool) {
	t.Helper()
	got := allCommands(t, a)
	l.mu.Lock()
	defer l.mu.Unlock()
	report := func(n *int, format string, args ...any) {
		if *n++; *n <= 5 {
			t.Errorf(format, args...)
		}
	}
	for id, rec := range l.cmds {
		r, ok := got[id]
		if !ok {
			report(&f.lost, "acknowledged command %s is gone after a restart", id)
			continue
		}
		now := rank(string(r.State))
		switch {
		case now < rec.acked:
			report(&f.lost, "command %s is %s after a restart, but %s was acknowledged", id, r.State, states[rec.acked])
		case rec.acked == len(states)-1 && r.Notes != rec.notes:
			report(&f.lost, "command %s has notes %q, acknowledged %q", id, r.Notes, rec.notes)
		}
		if now < rec.seen {
			report(&f.backwards, "command %s went back from %s to %s across a restart", id, states[rec.seen], r.State)
		}
		if now > rec.sent {
			report(&f.phantom, "command %s is %s, but only %s was ever sent", id, r.State, states[rec.sent])
		}
		if now > max(rec.acked, rec.seen) {
			l.applied++ // an update whose answer the kill swallowed
		}
		rec.seen = max(now, rec.seen)
	}
	for id := range got {
		if _, ok := l.cmds[id]; ok {
			continue
		}
		if final {
			report(&f.extra, "command %s exists but no create of it was acknowledged (a doubled create?)", id)
		} else if !l.unanswered[id] {
			l.unanswered[id] = true // a create whose answer the kill swallowed
			l.applied++
		}
	}
}

// pdf is the smallest document a printer command carries.
var pdf = base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n%%EOF\n"))

// worker is one integration client: it creates print commands and walks its
// own commands through the states, one request at a time.
type worker struct {
	id   int
	tn   tenant
	l    *ledger
	rng  *mrand.Rand
	open []string // own commands not yet acknowledged as Processed
	n    int      // creates attempted
	// pending is a create whose answer was lost; it is retried, same key
	// and body, before anything else.
	pending *pendingCreate
}

type pendingCreate struct {
	key  string
	body []byte
}

// run sends requests until one gets no answer (the hub was killed) or ctx
// ends; onAck is called after each acknowledged request. Any answer other
// than success is an error.
func (w *worker) run(ctx context.Context, c *http.Client, base string, onAck func()) error {
	for ctx.Err() == nil {
		var err error
		if w.pending != nil || len(w.open) == 0 || w.rng.IntN(3) == 0 {
			err = w.create(ctx, c, base)
		} else {
			err = w.advance(ctx, c, base)
		}
		if err != nil {
			return err
		}
		onAck()
	}
	return nil
}

func (w *worker) body(fields ...any) []byte {
	m := map[string]any{"ClientToken": w.tn.clientToken, "AccessToken": w.tn.accessToken, "Client": "faulttest 1.0"}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func (w *worker) noAnswer(err error) error {
	w.l.mu.Lock()
	w.l.inDoubt++
	w.l.mu.Unlock()
	return err
}

// create queues a print command with an Idempotency-Key, or retries the
// create whose answer was lost.
func (w *worker) create(ctx context.Context, c *http.Client, base string) error {
	if w.pending == nil {
		w.n++
		w.pending = &pendingCreate{key: fmt.Sprintf("w%d-%d", w.id, w.n),
			body: w.body("PrinterId", w.tn.printers[w.n%len(w.tn.printers)], "Data", pdf, "CopyCount", 1)}
	}
	status, b, err := send(ctx, c, "POST", base+"/api/connector/v1/commands/addPrinter", "", w.pending.body, "Idempotency-Key", w.pending.key)
	if err != nil {
		return w.noAnswer(err)
	}
	var resp struct{ CommandId string }
	if status != 200 || json.Unmarshal(b, &resp) != nil || resp.CommandId == "" {
		return fmt.Errorf("addPrinter: %d %s", status, b)
	}
	w.pending = nil
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	if _, dup := w.l.cmds[resp.CommandId]; dup {
		return fmt.Errorf("addPrinter answered %s, a command that an earlier create already got", resp.CommandId)
	}
	w.l.cmds[resp.CommandId] = &record{}
	w.l.acks++
	w.open = append(w.open, resp.CommandId)
	return nil
}

// advance moves one of the worker's commands to the state after the last one
// it sent (or repeats Processed when its answer was lost, as clients retry).
func (w *worker) advance(ctx context.Context, c *http.Client, base string) error {
	i := w.rng.IntN(len(w.open))
	id := w.open[i]
	w.l.mu.Lock()
	rec := w.l.cmds[id]
	next := min(rec.sent+1, len(states)-1)
	rec.sent = next
	w.l.mu.Unlock()
	fields := []any{"CommandId", id, "State", states[next]}
	notes := "printed by worker " + fmt.Sprint(w.id)
	switch states[next] {
	case "Processing":
		fields = append(fields, "Progress", 0.5)
	case "Processed":
		fields = append(fields, "Notes", notes)
	}
	status, b, err := send(ctx, c, "POST", base+"/api/connector/v1/commands/update", "", w.body(fields...))
	if err != nil {
		return w.noAnswer(err)
	}
	if status != 200 {
		return fmt.Errorf("update %s to %s: %d %s", id, states[next], status, b)
	}
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	rec.acked = max(rec.acked, next)
	if states[next] == "Processed" {
		rec.notes = notes
		w.open = append(w.open[:i], w.open[i+1:]...)
	}
	w.l.acks++
	return nil
}

// allCommands reads every command of the hub, by id.
func allCommands(t testing.TB, a *admin.Client) map[string]admin.Command {
	t.Helper()
	cmds, err := a.AllCommands(t.Context(), admin.CommandFilter{})
	if err != nil {
		t.Fatal(err)
	}
	all := make(map[string]admin.Command, len(cmds))
	for _, c := range cmds {
		all[c.Id] = c
	}
	return all
}
