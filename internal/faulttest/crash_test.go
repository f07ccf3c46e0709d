package faulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var soak = flag.Bool("soak", false, "run the long crash soak: many more kills, workers and requests")

var (
	binDir    string // removed by TestMain
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "bellhop-faulttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds cmd/bellhop once per test run. It is built without the race
// detector: the process under test is killed, not inspected.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "bellhop")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/bellhop/bellhop/cmd/bellhop").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
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
// It skips when no server is reachable (fails in CI) and while `serve
// --database` is not wired to the PostgreSQL store.
func TestCrashPostgres(t *testing.T) {
	ctx := t.Context()
	admin := databaseURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s: %v", admin, err)
		}
		t.Skipf("no PostgreSQL at %s: %v", admin, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	name := "bellhop_crash_" + strings.ToLower(rand.Text()[:16])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db := u.String()
	if out, err := exec.Command(binary(t), "migrate", "--database", db).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "not wired yet") {
			t.Skipf("serve --database is not wired to PostgreSQL yet: %s", bytes.TrimSpace(out))
		}
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	crash(t, "--database", db)
}

// databaseURL is the test server: BELLHOP_TEST_DATABASE_URL, or a local one.
func databaseURL() string {
	if u := os.Getenv("BELLHOP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
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
	admin := rand.Text()
	args := append([]string{"--data", t.TempDir(), "--admin-token", admin, "--rate-limit=-1"}, storeArgs...)
	var p *hubProc
	t.Cleanup(func() {
		if p != nil {
			p.kill()
		}
	})
	p = mustStart(t, args)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	tenants := setupTenants(t, c, p.base, admin, 2)
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
				if err := w.run(ctx, c, p.base, onAck); err != nil && !errors.Is(err, errNoAnswer) {
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
			t.Fatalf("every worker stopped before the kill, after %d acknowledged requests:\n%s", acks.Load(), p.log)
		case <-p.exited:
			cancel()
			t.Fatalf("the hub exited on its own: %s\n%s", p.cmd.ProcessState, p.log)
		case <-time.After(2 * time.Minute):
			cancel()
			t.Fatalf("no kill point after 2 minutes (%d of %d acknowledged)", acks.Load(), threshold)
		}
		p.kill() // SIGKILL while the other workers' requests are in flight
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
		p = mustStart(t, args)
		l.verify(t, c, p.base, admin, &f, false)
	}
	// Retry every create whose answer the kills swallowed; the retry must
	// give the command that was created before the crash, if it was.
	for _, w := range ws {
		for w.pending != nil {
			if err := w.create(t.Context(), c, p.base); err != nil {
				t.Fatalf("retrying a create: %v", err)
			}
		}
	}
	l.verify(t, c, p.base, admin, &f, true)
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

// hubProc is a `bellhop serve` process.
type hubProc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	exited chan struct{}
	log    *lineLog
}

// mustStart starts `bellhop serve` on a free port and waits until it logs
// that it listens.
func mustStart(t testing.TB, args []string) *hubProc {
	t.Helper()
	log := &lineLog{ready: make(chan string, 1)}
	cmd := exec.Command(binary(t), append([]string{"--log-format", "json", "serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hubProc{cmd: cmd, exited: make(chan struct{}), log: log}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.base = <-log.ready:
		return p
	case <-p.exited:
		t.Fatalf("the hub exited at start: %s\n%s", cmd.ProcessState, log)
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("the hub did not listen within 30 s:\n%s", log)
	}
	return nil
}

// kill sends SIGKILL (Process.Kill) and waits for the process to be gone.
func (p *hubProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// lineLog keeps the last lines a hub process wrote and reports the platform
// address from its "listening" record.
type lineLog struct {
	mu    sync.Mutex
	part  []byte
	lines []string
	ready chan string
	once  sync.Once
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, b...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(l.part[:i])
		l.part = l.part[i+1:]
		if l.lines = append(l.lines, line); len(l.lines) > 40 {
			l.lines = l.lines[1:]
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"platform_address"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bellhop hub listening" {
			l.once.Do(func() { l.ready <- rec.Addr })
		}
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
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

// adminCall calls the admin API and decodes the answer into out (when not nil).
func adminCall(t testing.TB, c *http.Client, base, token, method, path string, in, out any) {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
	}
	status, b, err := send(t.Context(), c, method, base+"/api/admin/v1/"+path, token, body)
	if err != nil || status/100 != 2 {
		t.Fatalf("%s %s: %d %s %v", method, path, status, b, err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// tenant is an integration subscribed to one enterprise with printers
// connected.
type tenant struct {
	clientToken, accessToken string
	printers                 []string
}

// setupTenants creates n tenants through the admin API, as an operator would.
func setupTenants(t testing.TB, c *http.Client, base, admin string, n int) []tenant {
	t.Helper()
	var out []tenant
	for i := range n {
		var ent, integ, sub struct{ Id, ClientToken, AccessToken string }
		adminCall(t, c, base, admin, "POST", "enterprises", map[string]any{"Name": fmt.Sprintf("Hotel %d", i)}, &ent)
		adminCall(t, c, base, admin, "POST", "integrations", map[string]any{"Name": fmt.Sprintf("Vendor %d", i)}, &integ)
		adminCall(t, c, base, admin, "POST", "subscriptions", map[string]any{"IntegrationId": integ.Id, "EnterpriseIds": []string{ent.Id}}, &sub)
		tn := tenant{clientToken: integ.ClientToken, accessToken: sub.AccessToken}
		for j := range 2 {
			var dev struct{ Id string }
			adminCall(t, c, base, admin, "POST", "devices", map[string]any{"EnterpriseId": ent.Id, "Type": "Printer",
				"Name": fmt.Sprintf("Printer %d", j), "Identifier": fmt.Sprintf("P%d", j), "Configuration": map[string]any{"PrinterName": "P"}}, &dev)
			adminCall(t, c, base, admin, "PUT", "subscriptions/"+sub.Id+"/devices/"+dev.Id, nil, nil)
			tn.printers = append(tn.printers, dev.Id)
		}
		out = append(out, tn)
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
func (l *ledger) verify(t testing.TB, c *http.Client, base, admin string, f *figures, final bool) {
	t.Helper()
	got := allCommands(t, c, base, admin)
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
		now := rank(r.State)
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

// commandRow is a command as the admin API lists it, with what the fault
// tests check.
type commandRow struct{ Id, State, Notes string }

// allCommands pages through every command of the hub, by id.
func allCommands(t testing.TB, c *http.Client, base, admin string) map[string]commandRow {
	t.Helper()
	all := map[string]commandRow{}
	cursor := ""
	for {
		var page struct {
			Commands []commandRow
			Cursor   *string
		}
		adminCall(t, c, base, admin, "GET", "commands?limit=1000&cursor="+cursor, nil, &page)
		for _, r := range page.Commands {
			all[r.Id] = r
		}
		if page.Cursor == nil || len(page.Commands) < 1000 {
			return all
		}
		cursor = *page.Cursor
	}
}
