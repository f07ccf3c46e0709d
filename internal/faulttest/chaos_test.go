package faulttest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	bin "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

// TestChaos runs the agent's promise end to end under every fault at once: a
// real hub process and a real agent process, with an HTTP- and
// WebSocket-aware proxy between them that cuts connections, delays,
// duplicates and reorders deliveries, while the hub is restarted (SIGTERM or
// SIGKILL) on the same data and port and the agent is SIGKILLed and
// restarted. Producers create commands through the admin API, straight to
// the hub. At the end every command must be final, none lost, no completed
// action run twice, and every command the agent did not finish must be Error
// with the "interrupted" note, its action run at most once.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos takes about 45 s")
	}
	total, produce := 300, 40*time.Second
	hubEvery, agentEvery := [2]int{5000, 9000}, [2]int{2500, 5500} // ms, min and max
	if *soak {
		total, produce = 3000, 5*time.Minute
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := &lockedRand{r: mrand.New(mrand.NewPCG(seed, 2))}
	exe := binary(t)
	tmp := t.TempDir()
	admin := rand.Text()

	// The hub listens on a fixed port so that restarts keep the address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hubAddr := l.Addr().String()
	l.Close()
	hubArgs := []string{"--data", filepath.Join(tmp, "hub"), "--addr", hubAddr, "--admin-token", admin, "--rate-limit=-1"}
	var hub *hubProc
	t.Cleanup(func() {
		if hub != nil {
			hub.kill()
		}
	})
	hub = startHubAt(t, exe, hubArgs)
	base := hub.base
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}

	// Devices: two raw printers on one counting sink, two encoders on an
	// HTTP peer that counts POSTs per command id.
	sink := startJobSink(t)
	var peerMu sync.Mutex
	peerSeen := map[string]int{}
	peer := drivertest.StartHTTPPeer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Idempotency-Key")
		peerMu.Lock()
		peerSeen[id]++
		peerMu.Unlock()
		select { // a device takes a moment, so that kills land mid-action too
		case <-time.After(time.Duration(20+mrand.IntN(60)) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "encoded %s", id)
	})
	var ent, integ, sub struct{ Id, ClientToken, AccessToken string }
	adminCall(t, c, base, admin, "POST", "enterprises", map[string]any{"Name": "Chaos Hotel"}, &ent)
	adminCall(t, c, base, admin, "POST", "integrations", map[string]any{"Name": "Chaos agent"}, &integ)
	adminCall(t, c, base, admin, "POST", "subscriptions", map[string]any{"IntegrationId": integ.Id, "EnterpriseIds": []string{ent.Id}}, &sub)
	type device struct {
		id      string
		printer bool
	}
	var devices []device
	for i, typ := range []string{"Printer", "KeyCutter", "Printer", "KeyCutter"} {
		var dev struct{ Id string }
		adminCall(t, c, base, admin, "POST", "devices", map[string]any{"EnterpriseId": ent.Id, "Type": typ,
			"Name": fmt.Sprintf("%s %d", typ, i), "Identifier": fmt.Sprintf("D%d", i), "Configuration": map[string]any{"PrinterName": "P"}}, &dev)
		adminCall(t, c, base, admin, "PUT", "subscriptions/"+sub.Id+"/devices/"+dev.Id, nil, nil)
		devices = append(devices, device{dev.Id, typ == "Printer"})
	}

	proxy := startChaosProxy(t, hubAddr, rng)
	config := filepath.Join(tmp, "agent.yaml")
	var devYAML strings.Builder
	for i, d := range devices {
		target := fmt.Sprintf("socket://%s", sink.l.Addr())
		if !d.printer {
			target = fmt.Sprintf("%s/enc%d", peer.URL, i)
		}
		fmt.Fprintf(&devYAML, "  - id: %s\n    driver: %s\n", d.id, target)
	}
	if err := os.WriteFile(config, fmt.Appendf(nil, `platform_address: http://%[1]s
websocket_address: ws://%[1]s
client_token: %[2]s
access_token: %[3]s
client: chaos test agent
state_dir: %[4]s
listen: "off"
poll_interval: 1s
shutdown_grace: 1s
devices:
%[5]s`, proxy.addr(), integ.ClientToken, sub.AccessToken, filepath.Join(tmp, "agent-state"), devYAML.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(tmp, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	ag := &agentProc{tb: t, bin: exe, config: config, log: logFile}
	t.Cleanup(func() {
		if ag.cmd != nil {
			ag.stop(syscall.SIGKILL)
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("agent log (last 6 KiB):\n%s", b[max(0, len(b)-6144):])
			if hub != nil {
				t.Logf("hub log (last lines):\n%s", hub.log)
			}
		}
		logFile.Close()
	})
	ag.start()

	// Producer: total commands spread over produce, each created with an
	// Idempotency-Key and retried until the hub answers (it may be down).
	var (
		idsMu sync.Mutex
		ids   []string
		jobOf = map[int]string{} // printer job number -> command id
	)
	producerErr := make(chan error, 1)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		tick := time.NewTicker(produce / time.Duration(total))
		defer tick.Stop()
		for i := range total {
			<-tick.C
			d := devices[i%len(devices)]
			data := map[string]any{"N": i}
			if d.printer {
				data = map[string]any{"CopyCount": 1, "FileType": "application/pdf", "PrinterName": "P",
					"FileData": base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "chaos-job-%06d\n", i))}
			}
			body, _ := json.Marshal(map[string]any{"DeviceId": d.id, "Data": data})
			id, err := createRetrying(t, c, base, admin, fmt.Sprintf("chaos-%d", i), body)
			if err != nil {
				producerErr <- fmt.Errorf("command %d: %w", i, err)
				return
			}
			idsMu.Lock()
			ids = append(ids, id)
			if d.printer {
				jobOf[i] = id
			}
			idsMu.Unlock()
		}
	}()

	// Chaos while producing: the proxy misbehaves all along; WebSockets
	// are cut every 0.5-2 s, the agent SIGKILLed and the hub restarted at
	// random intervals.
	started := time.Now()
	proxy.enabled.Store(true)
	var hubRestarts, hubKills, agentKills int
	after := func(r [2]int) <-chan time.Time {
		return time.After(time.Duration(r[0]+rng.IntN(r[1]-r[0]+1)) * time.Millisecond)
	}
	nextCut, nextHub, nextAgent := after([2]int{500, 2000}), after(hubEvery), after(agentEvery)
chaos:
	for {
		select {
		case <-produced:
			break chaos
		case <-nextCut:
			proxy.cutSockets()
			nextCut = after([2]int{500, 2000})
		case <-nextAgent:
			ag.stop(syscall.SIGKILL)
			agentKills++
			if rng.IntN(3) == 0 { // sometimes a restart loop, sometimes a pause
				time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			}
			ag.start()
			nextAgent = after(agentEvery)
		case <-nextHub:
			sig := syscall.SIGTERM
			if rng.IntN(2) == 0 {
				sig = syscall.SIGKILL
				hubKills++
			}
			hub.stop(t, sig)
			hubRestarts++
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			hub = startHubAt(t, exe, hubArgs)
			nextHub = after(hubEvery)
		}
	}
	proxy.enabled.Store(false)
	select {
	case err := <-producerErr:
		t.Fatal(err)
	default:
	}
	chaosTime := time.Since(started)

	// Calm: everything must settle within 30 s.
	idsMu.Lock()
	sent := append([]string(nil), ids...)
	idsMu.Unlock()
	type row = commandRow
	var final map[string]row
	var all map[string]row
	deadline := time.Now().Add(30 * time.Second)
	for {
		all = allCommands(t, c, base, admin)
		final = map[string]row{}
		for _, id := range sent {
			if r, ok := all[id]; ok && (r.State == "Processed" || r.State == "Error" || r.State == "Cancelled") {
				final[id] = r
			}
		}
		if len(final) == len(sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	settle := time.Since(started) - chaosTime
	ag.stop(syscall.SIGTERM)
	ag.cmd = nil

	// Executions per command: connections to the sink carrying a job,
	// POSTs to the peer.
	executed := map[string]int{}
	sink.mu.Lock()
	for job, n := range sink.jobs {
		if id, ok := jobOf[job]; ok {
			executed[id] += n
		} else {
			t.Errorf("the sink printed job %d, which no command carries", job)
		}
	}
	sink.mu.Unlock()
	peerMu.Lock()
	for id, n := range peerSeen {
		executed[id] += n
	}
	peerMu.Unlock()

	var processed, interrupted, twice, lost, other int
	report := func(n *int, format string, args ...any) {
		if *n++; *n <= 10 {
			t.Errorf(format, args...)
		}
	}
	for _, id := range sent {
		r, ok := final[id]
		if !ok {
			state := "missing"
			if r, ok := all[id]; ok {
				state = r.State + " " + r.Notes
			}
			report(&lost, "command %s is not final after settling: %s (executed %d times)", id, state, executed[id])
			continue
		}
		n := executed[id]
		switch {
		case n > 1:
			report(&twice, "command %s ran %d times on its device; state %s %q", id, n, r.State, r.Notes)
		case r.State == "Processed" && n == 1:
			processed++
		case r.State == "Error" && r.Notes == agent.InterruptedNote:
			interrupted++
		default:
			report(&other, "command %s: %s %q after %d executions", id, r.State, r.Notes, n)
		}
	}
	if len(all) != len(sent) {
		t.Errorf("the hub holds %d commands, %d were created: a create was doubled or lost", len(all), len(sent))
	}
	t.Logf("chaos: sent=%d final=%d processed=%d error=%d (interrupted) other=%d lost=%d executed-twice=%d "+
		"hub-restarts=%d (%d SIGKILL, %d SIGTERM) agent-kills=%d cuts=%d delays=%d duplicates=%d reorders=%d; chaos %v, settled in %v",
		len(sent), len(final), processed, interrupted, other, lost, twice, hubRestarts, hubKills, hubRestarts-hubKills, agentKills,
		proxy.cuts.Load(), proxy.delays.Load(), proxy.dups.Load(), proxy.reorders.Load(),
		chaosTime.Round(time.Millisecond), settle.Round(time.Millisecond))
	if len(sent) != total {
		t.Errorf("sent %d commands, want %d", len(sent), total)
	}
}

// createRetrying creates a command through the admin API with an
// Idempotency-Key, retrying while the hub is down or restarting.
func createRetrying(t testing.TB, c *http.Client, base, admin, key string, body []byte) (string, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		status, b, err := send(t.Context(), c, "POST", base+"/api/admin/v1/commands", admin, body, "Idempotency-Key", key)
		switch {
		case err == nil && status == http.StatusCreated:
			var out struct{ Id string }
			if err := json.Unmarshal(b, &out); err != nil || out.Id == "" {
				return "", fmt.Errorf("create answered %s", b)
			}
			return out.Id, nil
		case err == nil && status/100 == 4:
			return "", fmt.Errorf("create: %d %s", status, b)
		case t.Context().Err() != nil:
			return "", t.Context().Err()
		case time.Now().After(deadline):
			return "", fmt.Errorf("create: no success within a minute: %d %s %v", status, b, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startHubAt starts `bellhop serve` with args (which hold a fixed --addr)
// and waits until it listens. A port still held by the previous process is
// retried for a few seconds.
func startHubAt(t testing.TB, bin string, args []string) *hubProc {
	t.Helper()
	var last string
	for range 20 {
		log := &lineLog{ready: make(chan string, 1)}
		cmd := exec.Command(bin, append([]string{"--log-format", "json", "serve"}, args...)...)
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
			last = log.String()
			time.Sleep(250 * time.Millisecond)
		case <-time.After(30 * time.Second):
			p.kill()
			t.Fatalf("the hub did not listen within 30 s:\n%s", log)
		}
	}
	t.Fatalf("the hub would not start:\n%s", last)
	return nil
}

// stop sends sig and waits for the hub to exit; a hub that does not stop
// on SIGTERM within 20 s fails the test.
func (p *hubProc) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.kill()
		t.Errorf("the hub did not exit within 20 s of %v:\n%s", sig, p.log)
	}
}

// agentProc is a `bellhop agent --config ...` process.
type agentProc struct {
	tb     testing.TB
	bin    string
	config string
	log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
}

func (p *agentProc) start() {
	p.tb.Helper()
	p.cmd = exec.Command(p.bin, "agent", "--config", p.config, "--log-level", "warn")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.cmd, p.exited)
}

func (p *agentProc) stop(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.tb.Errorf("the agent did not exit on %v", sig)
	}
}

// jobSink is a raw 9100 printer that counts, per job number, the
// connections that carried (some of) that job's document.
type jobSink struct {
	l    net.Listener
	mu   sync.Mutex
	jobs map[int]int
	wg   sync.WaitGroup
}

var jobRE = regexp.MustCompile(`chaos-job-(\d+)`)

func startJobSink(t testing.TB) *jobSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &jobSink{l: l, jobs: map[int]int{}}
	s.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				if len(b) == 0 {
					return
				}
				m := jobRE.FindSubmatch(b)
				n := -1 // bytes that are no whole job number (a cut-off write)
				if m != nil {
					n, _ = strconv.Atoi(string(m[1]))
				}
				s.mu.Lock()
				s.jobs[n]++
				s.mu.Unlock()
			})
		}
	})
	t.Cleanup(func() { l.Close(); s.wg.Wait() })
	return s
}

// lockedRand is a random source shared by goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *mrand.Rand
}

func (r *lockedRand) IntN(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.IntN(n)
}

// chance reports true with probability pct percent.
func (r *lockedRand) chance(pct int) bool { return r.IntN(100) < pct }

// chaosProxy sits between the agent and the hub and speaks enough HTTP and
// WebSocket to misbehave at the level of whole deliveries: for /api/ it
// cuts connections before or after forwarding (a TCP reset, so the agent
// never knows whether its request was applied), delays, and sends POSTs to
// the hub twice; for /ws/connector it relays frames, delaying, duplicating
// and reordering the hub's event messages, and cuts the sockets on demand.
// With enabled false it forwards faithfully.
type chaosProxy struct {
	target  string
	rng     *lockedRand
	l       net.Listener
	srv     *http.Server
	up      *http.Client
	enabled atomic.Bool

	cuts, delays, dups, reorders atomic.Int64

	mu    sync.Mutex
	pairs map[*wsPair]bool
	wg    sync.WaitGroup
}

type wsPair struct{ client, hub net.Conn }

func startChaosProxy(t testing.TB, target string, rng *lockedRand) *chaosProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &chaosProxy{target: target, rng: rng, l: l, pairs: map[*wsPair]bool{},
		up: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}}}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	p.wg.Go(func() { _ = p.srv.Serve(l) })
	t.Cleanup(func() {
		p.srv.Close()
		p.mu.Lock()
		for pr := range p.pairs {
			pr.client.Close()
			pr.hub.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
		p.up.CloseIdleConnections()
	})
	return p
}

func (p *chaosProxy) addr() string { return p.l.Addr().String() }

// on reports whether to inject a fault that happens pct percent of the time.
func (p *chaosProxy) on(pct int) bool { return p.enabled.Load() && p.rng.chance(pct) }

func (p *chaosProxy) delay() {
	if p.on(25) {
		p.delays.Add(1)
		time.Sleep(time.Duration(p.rng.IntN(300)) * time.Millisecond)
	}
}

// reset closes c with an RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"}

func (p *chaosProxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws/connector" {
		p.serveWS(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if p.on(4) { // cut mid-request: the hub never sees it
		p.cuts.Add(1)
		p.abort(w, nil, nil)
		return
	}
	p.delay()
	status, h, b, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
		return
	}
	if r.Method == http.MethodPost && p.on(10) { // a duplicated delivery
		p.dups.Add(1)
		if s2, h2, b2, err := p.forward(r, body); err == nil && p.rng.chance(50) {
			status, h, b = s2, h2, b2 // the client gets the second answer
		}
	}
	p.delay()
	if p.on(4) { // cut mid-response: applied, but the answer is lost
		p.cuts.Add(1)
		p.abort(w, h, b)
		return
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// abort resets the client's connection, after half an answer when b is not
// nil.
func (p *chaosProxy) abort(w http.ResponseWriter, h http.Header, b []byte) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if b != nil {
		var head bytes.Buffer
		fmt.Fprintf(&head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", h.Get("Content-Type"), len(b))
		head.Write(b[:len(b)/2])
		_, _ = conn.Write(head.Bytes())
	}
	reset(conn)
}

func (p *chaosProxy) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	for _, k := range hopHeaders {
		req.Header.Del(k)
	}
	resp, err := p.up.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	for _, k := range hopHeaders {
		resp.Header.Del(k)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// serveWS relays a WebSocket: the handshake and the client's frames
// verbatim, the hub's frames one by one so that whole event messages can be
// delayed, repeated or swapped.
func (p *chaosProxy) serveWS(w http.ResponseWriter, r *http.Request) {
	hubConn, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		hubConn.Close()
		return
	}
	pr := &wsPair{client: client, hub: hubConn}
	p.mu.Lock()
	p.pairs[pr] = true
	p.mu.Unlock()
	defer func() {
		client.Close()
		hubConn.Close()
		p.mu.Lock()
		delete(p.pairs, pr)
		p.mu.Unlock()
	}()
	if err := r.Write(hubConn); err != nil {
		return
	}
	p.wg.Go(func() { // client -> hub, verbatim
		_, _ = io.Copy(hubConn, brw.Reader)
		hubConn.Close()
		client.Close()
	})
	hub := bufio.NewReader(hubConn)
	upgraded := false
	for { // the handshake answer, line by line
		line, err := hub.ReadString('\n')
		if err != nil {
			return
		}
		if !upgraded && strings.HasPrefix(line, "HTTP/1.1 101") {
			upgraded = true
		}
		if _, err := io.WriteString(client, line); err != nil {
			return
		}
		if line == "\r\n" {
			break
		}
	}
	if !upgraded {
		_, _ = io.Copy(client, hub)
		return
	}
	frames := make(chan wsFrame)
	done := make(chan struct{})
	defer close(done)
	p.wg.Go(func() {
		defer close(frames)
		for {
			f, err := readFrame(hub)
			if err != nil {
				return
			}
			select {
			case frames <- f:
			case <-done:
				return
			}
		}
	})
	var held *wsFrame
	var heldC <-chan time.Time
	write := func(f wsFrame) bool { _, err := client.Write(f.raw); return err == nil }
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				if held != nil {
					write(*held)
				}
				return
			}
			event := f.opcode == 1 && f.fin
			if event && held == nil && p.on(25) {
				held, heldC = &f, time.After(500*time.Millisecond)
				continue
			}
			if f.opcode == 8 && held != nil { // a close: what was sent before it goes first
				write(*held)
				held, heldC = nil, nil
			}
			if event {
				p.delay()
			}
			if !write(f) {
				return
			}
			if event && held != nil { // the held event arrives after this one
				p.reorders.Add(1)
				if !write(*held) {
					return
				}
				held, heldC = nil, nil
			}
			if event && p.on(15) {
				p.dups.Add(1)
				if !write(f) {
					return
				}
			}
		case <-heldC: // no next event came: deliver it late
			p.delays.Add(1)
			if !write(*held) {
				return
			}
			held, heldC = nil, nil
		}
	}
}

// cutSockets resets every relayed WebSocket, both sides.
func (p *chaosProxy) cutSockets() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		reset(pr.client)
		reset(pr.hub)
		p.cuts.Add(1)
	}
}

type wsFrame struct {
	raw    []byte
	opcode byte
	fin    bool
}

// readFrame reads one whole WebSocket frame, header and payload.
func readFrame(r *bufio.Reader) (wsFrame, error) {
	var hdr [14]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return wsFrame{}, err
	}
	n := 2
	size := uint64(hdr[1] & 0x7f)
	switch size {
	case 126:
		if _, err := io.ReadFull(r, hdr[2:4]); err != nil {
			return wsFrame{}, err
		}
		size, n = uint64(bin.BigEndian.Uint16(hdr[2:4])), 4
	case 127:
		if _, err := io.ReadFull(r, hdr[2:10]); err != nil {
			return wsFrame{}, err
		}
		size, n = bin.BigEndian.Uint64(hdr[2:10]), 10
	}
	if hdr[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, hdr[n:n+4]); err != nil {
			return wsFrame{}, err
		}
		n += 4
	}
	if size > 16<<20 {
		return wsFrame{}, errors.New("websocket frame too large")
	}
	raw := make([]byte, n+int(size))
	copy(raw, hdr[:n])
	if _, err := io.ReadFull(r, raw[n:]); err != nil {
		return wsFrame{}, err
	}
	return wsFrame{raw: raw, opcode: hdr[0] & 0x0f, fin: hdr[0]&0x80 != 0}, nil
}
