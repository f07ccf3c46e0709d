package agent_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// peerIDs returns the command ids an HTTP peer received, in order.
func peerIDs(tb testing.TB, p *drivertest.HTTPPeer) []string {
	tb.Helper()
	var ids []string
	for _, r := range p.Requests() {
		req, err := drivertest.DecodeRequest(r.Body)
		must(tb, err)
		ids = append(ids, req.Id)
	}
	return ids
}

func readLines(tb testing.TB, path string) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	must(tb, err)
	return strings.Fields(string(b))
}

// TestAgentRunsCommands runs commands for four devices with four drivers
// against real peers, and one device without a driver.
func TestAgentRunsCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	sink := drivertest.StartTCPSink(t, false)
	peer := drivertest.StartHTTPPeer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "encoded keys for %s", commandID(r))
	})
	tmp := t.TempDir()
	execLog := filepath.Join(tmp, "exec.log")
	script := writeScript(t, tmp, "encode.sh", `echo "$BELLHOP_COMMAND_ID" >> `+execLog+`; echo "exec ok"`+"\n")
	lockDir := filepath.Join(tmp, "locks")
	must(t, os.Mkdir(lockDir, 0o755))

	printer := e.device(bellhop.Printer, "Front desk printer")
	keys := e.device(bellhop.KeyCutter, "Key encoder")
	execDev := e.device(bellhop.Printer, "Back office")
	folderDev := e.device(bellhop.KeyCutter, "Lock folder")
	other := e.device(bellhop.Printer, "Someone else's printer")

	cfg := e.config(t.TempDir(),
		agent.DeviceConfig{Name: printer.Name, Driver: "socket://" + sink.Addr()},
		agent.DeviceConfig{Name: keys.Name, Driver: peer.URL + "/encode"},
		agent.DeviceConfig{ID: strings.ToUpper(execDev.Id), Driver: "exec:" + script},
		agent.DeviceConfig{Name: folderDev.Name, Driver: "folder:" + lockDir},
	)
	a, _ := startAgent(t, cfg)

	res := &bellhop.Reservation{EnterpriseID: e.enterprise, Number: "1001", LastName: "Novák", LockIDs: []string{"101"},
		StartUtc: time.Now().Add(time.Hour), EndUtc: time.Now().Add(48 * time.Hour)}
	must(t, e.hub.Service.CreateReservation(ctx, res))

	var printIDs, keyIDs, execIDs, folderIDs []string
	for i := range 5 {
		id, err := e.sdk.AddPrinterCommand(ctx, client.AddPrinterRequest{PrinterId: printer.Id,
			Data: base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "print job %d", i)), CopyCount: 2})
		must(t, err)
		printIDs = append(printIDs, id)
		id, err = e.sdk.AddKeyCutterCommand(ctx, client.AddKeyCutterRequest{KeyCutterId: keys.Id, ReservationId: res.ID, KeyCount: 1})
		must(t, err)
		keyIDs = append(keyIDs, id)
		execIDs = append(execIDs, e.command(execDev, printJob(fmt.Sprint("exec ", i))))
	}
	for i := range 2 {
		id := e.command(folderDev, keyJob(100+i))
		folderIDs = append(folderIDs, id)
		drivertest.AnswerFolder(t, lockDir, id, ".done", "encoded")
	}
	otherID := e.command(other, printJob("not ours"))

	all := slices.Concat(printIDs, keyIDs, execIDs, folderIDs)
	final := e.waitFinal(20*time.Second, all...)
	for _, id := range all {
		v := final[id]
		if v.State != bellhop.Processed || v.Notes == "" {
			t.Errorf("command %s (%s): %s %q, want Processed with notes", id, v.Device.Name, v.State, v.Notes)
		}
	}
	if v := final[keyIDs[0]]; v.Notes != "encoded keys for "+keyIDs[0] {
		t.Errorf("key notes %q", v.Notes)
	}
	if v := final[execIDs[0]]; v.Notes != "exec ok" {
		t.Errorf("exec notes %q", v.Notes)
	}
	// Each action once, in creation order per device.
	if got := peerIDs(t, peer); !slices.Equal(got, keyIDs) {
		t.Errorf("http peer saw %v, want %v", got, keyIDs)
	}
	if got := readLines(t, execLog); !slices.Equal(got, execIDs) {
		t.Errorf("exec ran %v, want %v", got, execIDs)
	}
	sink.WaitConns(t, 5, 5*time.Second)
	var want int64
	for i := range 5 {
		want += 2 * int64(len(fmt.Sprintf("print job %d", i)))
	}
	if b, c := sink.Counts(); b != want || c != 5 {
		t.Errorf("sink got %d bytes on %d connections, want %d on 5", b, c, want)
	}
	// The unconfigured device's command was read (Received) but not touched.
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		v := e.view(otherID)
		return v.State == bellhop.Received, "other command is " + string(v.State)
	})

	// Health and metrics.
	body := httpGet(t, "http://"+a.HealthAddr()+"/healthz")
	if !strings.Contains(body, `"Status":"ok"`) {
		t.Errorf("healthz: %s", body)
	}
	metrics := httpGet(t, "http://"+a.HealthAddr()+"/metrics")
	if n := commandsTotal(t, metrics, "", "processed"); n != 17 {
		t.Errorf("bellhop_agent_commands_total processed = %v, want 17", n)
	}
	for _, m := range []string{`bellhop_agent_commands_total{device="Key encoder",outcome="processed"} 5`, "bellhop_agent_driver_duration_seconds_bucket",
		"bellhop_agent_connected 1"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}

func httpGet(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	must(tb, err)
	defer resp.Body.Close()
	return string(mustRead(resp.Body))
}

// blockingPeer is an HTTP device that holds the requests for the ids in
// hold until the request is abandoned or release is closed.
func blockingPeer(tb testing.TB, hold map[string]bool, release <-chan struct{}, arrived chan<- string) *drivertest.HTTPPeer {
	return drivertest.StartHTTPPeer(tb, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := commandID(r)
		if arrived != nil {
			arrived <- id
		}
		if hold[id] {
			select {
			case <-r.Context().Done():
				return
			case <-release:
			}
		}
		fmt.Fprintf(w, "done %s", id)
	})
}

// commandID is the command an http driver request is for: the driver sends
// it as the Idempotency-Key (the peer has already consumed the body).
func commandID(r *http.Request) string { return r.Header.Get("Idempotency-Key") }

// TestAgentCancel cancels one command while it waits behind another, and
// the other while it runs.
func TestAgentCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	dev := e.device(bellhop.KeyCutter, "Encoder")
	first, second, third := "", "", ""
	hold := map[string]bool{}
	arrived := make(chan string, 10)
	var mu sync.Mutex
	peer := drivertest.StartHTTPPeer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := commandID(r)
		arrived <- id
		mu.Lock()
		block := hold[id]
		mu.Unlock()
		if block {
			<-r.Context().Done() // until the agent aborts the request
			return
		}
		fmt.Fprintf(w, "done %s", id)
	})
	mu.Lock()
	first = e.command(dev, keyJob(1))
	hold[first] = true
	mu.Unlock()
	second = e.command(dev, keyJob(2))
	a, _ := startAgent(t, e.config(t.TempDir(), agent.DeviceConfig{Name: dev.Name, Driver: peer.URL}))

	select {
	case id := <-arrived:
		if id != first {
			t.Fatalf("peer got %s first, want %s", id, first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first command never reached the device")
	}
	// The second waits behind the first: cancel it, then the running first.
	_, err := e.hub.Service.CancelCommand(ctx, second, "test", "")
	must(t, err)
	hubtest.Eventually(t, 5*time.Second, func() (bool, string) {
		m := httpGet(t, "http://"+a.HealthAddr()+"/metrics")
		return strings.Contains(m, `bellhop_agent_commands_total{device="Encoder",outcome="cancelled"} 1`), "second not skipped yet"
	})
	_, err = e.hub.Service.CancelCommand(ctx, first, "test", "")
	must(t, err)
	third = e.command(dev, keyJob(3))
	final := e.waitFinal(10*time.Second, first, second, third)
	if final[first].State != bellhop.Cancelled || final[second].State != bellhop.Cancelled {
		t.Errorf("first %s, second %s: want both Cancelled", final[first].State, final[second].State)
	}
	if v := final[third]; v.State != bellhop.Processed || v.Notes != "done "+third {
		t.Errorf("third: %s %q", v.State, v.Notes)
	}
	if got := peerIDs(t, peer); !slices.Equal(got, []string{first, third}) {
		t.Errorf("peer saw %v, want [first third] = %v", got, []string{first, third})
	}
}

// TestAgentRestartInterrupted restarts the agent on a journal that holds
// commands started but not finished: the one on a non-repeatable driver
// becomes Error without touching the device, the one on a repeatable
// driver runs again.
func TestAgentRestartInterrupted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tmp := t.TempDir()
	execLog := filepath.Join(tmp, "exec.log")
	script := writeScript(t, tmp, "run.sh", `echo "$BELLHOP_COMMAND_ID" >> `+execLog+"\n")
	lockDir := filepath.Join(tmp, "locks")
	must(t, os.Mkdir(lockDir, 0o755))
	execDev := e.device(bellhop.Printer, "Exec printer")
	folderDev := e.device(bellhop.KeyCutter, "Lock folder")
	stateDir := t.TempDir()
	cfg := e.config(stateDir,
		agent.DeviceConfig{Name: execDev.Name, Driver: "exec:" + script},
		agent.DeviceConfig{Name: folderDev.Name, Driver: "folder:" + lockDir})

	// A first run does ordinary work, then stops.
	_, stop := startAgent(t, cfg)
	warm := e.command(execDev, printJob("exec 0"))
	e.waitFinal(10*time.Second, warm)
	stop()

	// What a crash mid-action leaves: "started" without "finished".
	interrupted := e.command(execDev, printJob("exec 1"))
	repeatable := e.command(folderDev, keyJob(7))
	j, err := agent.OpenJournal(stateDir, time.Hour, nil)
	must(t, err)
	must(t, j.Start(interrupted, "name:"+execDev.Name, execDev.Id))
	must(t, j.Start(repeatable, "name:"+folderDev.Name, folderDev.Id))
	must(t, j.Close())

	seen := drivertest.AnswerFolder(t, lockDir, repeatable, ".done", "encoded again")
	after := e.command(execDev, printJob("exec 2"))
	startAgent(t, cfg)
	final := e.waitFinal(15*time.Second, interrupted, repeatable, after)
	if v := final[interrupted]; v.State != bellhop.Failed || v.Notes != agent.InterruptedNote {
		t.Errorf("interrupted: %s %q, want Error %q", v.State, v.Notes, agent.InterruptedNote)
	}
	if v := final[repeatable]; v.State != bellhop.Processed {
		t.Errorf("repeatable: %s %q, want Processed", v.State, v.Notes)
	}
	if req := <-seen; req.Id != repeatable {
		t.Errorf("folder saw %q", req.Id)
	}
	if v := final[after]; v.State != bellhop.Processed {
		t.Errorf("after: %s %q", v.State, v.Notes)
	}
	if got := readLines(t, execLog); !slices.Equal(got, []string{warm, after}) {
		t.Errorf("exec ran %v, want [%s %s]: the interrupted command must not run again", got, warm, after)
	}
}

// TestAgentReportsAfterHubReturns finishes an action while the hub is
// down, restarts the agent while it is still down, and checks that the
// outcome reaches the hub once it returns, without a second action.
func TestAgentReportsAfterHubReturns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dev := e.device(bellhop.KeyCutter, "Encoder")
	release := make(chan struct{})
	arrived := make(chan string, 10)
	id := e.command(dev, keyJob(1))
	peer := blockingPeer(t, map[string]bool{id: true}, release, arrived)
	stateDir := t.TempDir()
	cfg := e.config(stateDir, agent.DeviceConfig{Name: dev.Name, Driver: peer.URL})
	_, stop := startAgent(t, cfg)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the command never reached the device")
	}
	e.stopHub()
	close(release) // the device finishes while the hub is away
	hubtest.Eventually(t, 10*time.Second, func() (bool, string) {
		// The journal is the agent's, but reading its file is harmless.
		b, _ := os.ReadFile(filepath.Join(stateDir, agent.JournalFile))
		return strings.Contains(string(b), `"finished"`), "no finished record yet"
	})
	stop()
	j, err := agent.OpenJournal(stateDir, time.Hour, nil)
	must(t, err)
	entry, _ := j.Get(id)
	must(t, j.Close())
	if entry.State != "Processed" || !entry.Reported.IsZero() {
		t.Fatalf("journal entry %+v, want Processed and not reported", entry)
	}

	e.startHub()
	startAgent(t, cfg)
	v := e.waitFinal(15*time.Second, id)[id]
	if v.State != bellhop.Processed || v.Notes != "done "+id {
		t.Errorf("after the hub returned: %s %q", v.State, v.Notes)
	}
	if got := peerIDs(t, peer); !slices.Equal(got, []string{id}) {
		t.Errorf("peer saw %v, want the action once", got)
	}
}

// TestCheck reaches a real hub and real peers, and reports a device that
// is down and one the hub does not connect to the integration.
func TestCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sink := drivertest.StartTCPSink(t, false)
	printer := e.device(bellhop.Printer, "Front desk printer")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	down := closed.Addr().String()
	closed.Close()
	cfg := e.config(t.TempDir(),
		agent.DeviceConfig{ID: printer.Id, Driver: "socket://" + sink.Addr()},
		agent.DeviceConfig{Name: "Unplugged", Driver: "socket://" + down},
	)
	results, err := agent.Check(context.Background(), cfg)
	must(t, err)
	var out strings.Builder
	failed := agent.PrintCheck(&out, results)
	t.Logf("\n%s", out.String())
	if failed != 1 || results[0].Err != nil || results[1].Err != nil || results[2].Err == nil ||
		!strings.Contains(results[2].Err.Error(), "does not connect this device") {
		t.Errorf("failed = %d, results %+v", failed, results)
	}
	cfg.AccessToken = "wrong"
	results, err = agent.Check(context.Background(), cfg)
	must(t, err)
	if results[0].Err == nil || !client.IsUnauthorized(results[0].Err) {
		t.Errorf("hub with a wrong token: %v", results[0].Err)
	}
	cfg.Devices = nil
	if _, err := agent.Check(context.Background(), cfg); err == nil {
		t.Error("Check of an invalid config must fail")
	}
}
