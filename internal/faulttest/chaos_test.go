package faulttest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	bin "encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/hubtest"
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
	// Its producer is paced and its processes mostly wait: the two chaos
	// tests overlap well.
	t.Parallel()
	chaos(t, false)
}

// TestChaosHubFaults runs the same scenario with the agent connected
// straight to the hub, which misbehaves by its own faults (serve --faults,
// so that they come back with every restart): requests refused with 429,
// 500 and 503, carried out but answered 500, held and dropped unanswered,
// answered late; events dropped, delayed, sent twice and out of order;
// sockets closed. The agent's promise must hold all the same.
func TestChaosHubFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos takes about 45 s")
	}
	// Its producer is paced and its processes mostly wait: the two chaos
	// tests overlap well.
	t.Parallel()
	chaos(t, true)
}

// hubFaults are the faults TestChaosHubFaults sets on every integration,
// each with a seed drawn from the run's.
func hubFaults(rng *lockedRand) []string {
	faults := []string{
		"refuse,rate=0.03,status=503", "refuse,rate=0.02,status=500", "refuse,rate=0.01,status=429,delay=1s",
		"applied-error,rate=0.04", "timeout,rate=0.01,delay=2s", "slow,rate=0.05,delay=300ms",
		"drop-event,rate=0.1", "duplicate-event,rate=0.1", "reorder-event,rate=0.1,delay=500ms",
		"delay-event,rate=0.05,delay=800ms", "close-socket,rate=0.02,code=1011",
	}
	// Each hub process starts every fault's count again from 0 (they come
	// back with --faults), so a seed that fires only late would never fire
	// in a process's few seconds: take seeds that fire within the first 20
	// opportunities, and every kind acts in every run. A request takes the
	// first fault in this list that fires on it, so a fault whose early
	// firings all fall where an earlier one fires is shadowed in every
	// process: each needs an early firing of its own.
	taken := map[bool]map[int64]bool{true: {}, false: {}} // by request or event fault
	for i, f := range faults {
		spec, err := fault.Parse(f)
		if err != nil {
			panic(err)
		}
		family := taken[spec.Kind == fault.Refuse || spec.Kind == fault.AppliedError || spec.Kind == fault.Timeout || spec.Kind == fault.Slow]
		for spec.Seed == 0 || !firesEarly(spec, family) {
			spec.Seed = uint64(1 + rng.IntN(1<<30))
		}
		for n := range int64(20) {
			if fault.Fire(spec.Seed, n, spec.Rate) {
				family[n] = true
			}
		}
		faults[i] += fmt.Sprintf(",seed=%d", spec.Seed)
	}
	return faults
}

// firesEarly reports whether a fault fires within its first 20
// opportunities at one that no earlier fault of its family takes.
func firesEarly(spec fault.Spec, taken map[int64]bool) bool {
	for n := range int64(20) {
		if fault.Fire(spec.Seed, n, spec.Rate) && !taken[n] {
			return true
		}
	}
	return false
}

// chaos runs the scenario; with hubFaulty the hub's own faults stand in for
// the proxy.
func chaos(t *testing.T, hubFaulty bool) {
	total, produce := 300, 40*time.Second
	hubEvery, agentEvery := [2]int{5000, 9000}, [2]int{2500, 5500} // ms, min and max
	if *soak {
		total, produce = 3000, 5*time.Minute
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := &lockedRand{r: mrand.New(mrand.NewPCG(seed, 2))}
	// The hub listens on a fixed port so that restarts keep the address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hubAddr := l.Addr().String()
	l.Close()
	args := []string{"--addr", hubAddr, "--rate-limit=-1"}
	if hubFaulty {
		faults := hubFaults(rng)
		t.Logf("hub faults: %s", strings.Join(faults, "; "))
		args = append(args, "--faults", strings.Join(faults, ";"))
	}
	hub := hubtest.StartProcess(t, args...)

	// Devices: two raw printers on one counting sink, two encoders on an
	// HTTP peer that counts POSTs per command id.
	sink := drivertest.StartJobSink(t)
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
	tn := hubtest.NewTenant(t, hub.Admin, "Chaos")
	type device struct {
		id      string
		printer bool
	}
	var devices []device
	for i, typ := range []bellhop.DeviceType{bellhop.Printer, bellhop.KeyCutter, bellhop.Printer, bellhop.KeyCutter} {
		dev := tn.AddDevice(t, typ, fmt.Sprintf("%s %d", typ, i))
		devices = append(devices, device{dev.Id, typ == bellhop.Printer})
	}

	proxy := startChaosProxy(t, hubAddr, rng)
	agentAddr := proxy.addr()
	if hubFaulty {
		agentAddr = hubAddr
	}
	var agentDevices []hubtest.AgentDevice
	for i, d := range devices {
		target := "socket://" + sink.Addr()
		if !d.printer {
			target = fmt.Sprintf("%s/enc%d", peer.URL, i)
		}
		agentDevices = append(agentDevices, hubtest.AgentDevice{ID: d.id, Driver: target})
	}
	ag := hubtest.StartAgent(t, hubtest.AgentConfig{PlatformAddress: "http://" + agentAddr,
		WebSocketAddress: "ws://" + agentAddr, ClientToken: tn.ClientToken, AccessToken: tn.AccessToken,
		Devices: agentDevices})

	// Producer: total commands spread over produce, each created with an
	// Idempotency-Key and retried until the hub answers (it may be down).
	var (
		idsMu sync.Mutex
		ids   []string
		jobOf = map[int]string{} // printer job number -> command id
	)
	producerErr := make(chan error, 1)
	produced := make(chan struct{})
	adm := hub.Admin // the same across restarts: the port is fixed
	go func() {
		defer close(produced)
		tick := time.NewTicker(produce / time.Duration(total))
		defer tick.Stop()
		for i := range total {
			<-tick.C
			d := devices[i%len(devices)]
			data := map[string]any{"KeyCount": 1, "LockIds": []string{fmt.Sprint(100 + i)}, "LastName": "Guest",
				"StartUtc": "2026-01-01T14:00:00Z", "EndUtc": "2026-01-02T10:00:00Z"}
			if d.printer {
				data = map[string]any{"CopyCount": 1, "FileType": "application/pdf", "PrinterName": "P",
					"FileData": base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "chaos-job-%06d\n", i))}
			}
			id, err := createRetrying(t, adm, admin.NewCommand{DeviceId: d.id, Data: bellhop.MarshalData(data),
				IdempotencyKey: fmt.Sprintf("chaos-%d", i)})
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
	proxy.enabled.Store(!hubFaulty)
	var hubRestarts, hubKills, agentKills int
	firedTotal := map[string]int64{} // by kind, over every hub process
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
			proxy.cutSockets() // none with hub faults: the agent is not behind it
			nextCut = after([2]int{500, 2000})
		case <-nextAgent:
			ag.Stop(syscall.SIGKILL)
			agentKills++
			if rng.IntN(3) == 0 { // sometimes a restart loop, sometimes a pause
				time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			}
			ag.Start()
			nextAgent = after(agentEvery)
		case <-nextHub:
			countFired(t, hub.Admin, firedTotal) // faults live in the process: count before it goes
			sig := syscall.SIGTERM
			if rng.IntN(2) == 0 {
				sig = syscall.SIGKILL
				hubKills++
			}
			hub.Stop(sig)
			hubRestarts++
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			hub.Restart()
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
	// What the hub's faults did; then they are cleared for the calm.
	fired := ""
	if hubFaulty {
		countFired(t, hub.Admin, firedTotal)
		if _, err := hub.Admin.ClearFaults(t.Context()); err != nil {
			t.Fatal(err)
		}
		kinds := slices.Sorted(maps.Keys(firedTotal))
		for _, k := range kinds {
			fired += fmt.Sprintf(" %s=%d", k, firedTotal[k])
			if firedTotal[k] == 0 {
				t.Errorf("the hub's %s fault never fired", k)
			}
		}
	}

	// Calm: everything must settle. It takes seconds; the bound is for a
	// machine loaded by the whole suite.
	idsMu.Lock()
	sent := append([]string(nil), ids...)
	idsMu.Unlock()
	var final, all map[string]admin.Command
	hubtest.Poll(2*time.Minute, func() bool {
		all = allCommands(t, hub.Admin)
		final = map[string]admin.Command{}
		for _, id := range sent {
			if r, ok := all[id]; ok && r.State.Final() {
				final[id] = r
			}
		}
		return len(final) == len(sent)
	})
	settle := time.Since(started) - chaosTime
	ag.Stop(syscall.SIGTERM)

	// Executions per command: connections to the sink carrying a job,
	// POSTs to the peer.
	executed := map[string]int{}
	for content, n := range sink.Jobs() {
		job := -1 // bytes that are no whole job number (a cut-off write)
		if m := jobRE.FindStringSubmatch(content); m != nil {
			job, _ = strconv.Atoi(m[1])
		}
		if id, ok := jobOf[job]; ok {
			executed[id] += n
		} else {
			t.Errorf("the sink printed job %d, which no command carries", job)
		}
	}
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
				state = string(r.State) + " " + r.Notes
			}
			report(&lost, "command %s is not final after settling: %s (executed %d times)", id, state, executed[id])
			continue
		}
		n := executed[id]
		switch {
		case n > 1:
			report(&twice, "command %s ran %d times on its device; state %s %q", id, n, r.State, r.Notes)
		case r.State == client.StateProcessed && n == 1:
			processed++
		case r.State == client.StateError && r.Notes == agent.InterruptedNote:
			interrupted++
		default:
			report(&other, "command %s: %s %q after %d executions", id, r.State, r.Notes, n)
		}
	}
	if len(all) != len(sent) {
		t.Errorf("the hub holds %d commands, %d were created: a create was doubled or lost", len(all), len(sent))
	}
	faults := fmt.Sprintf("cuts=%d delays=%d duplicates=%d reorders=%d", proxy.cuts.Load(), proxy.delays.Load(), proxy.dups.Load(), proxy.reorders.Load())
	if hubFaulty {
		faults = "hub faults fired:" + fired
	}
	t.Logf("chaos: sent=%d final=%d processed=%d error=%d (interrupted) other=%d lost=%d executed-twice=%d "+
		"hub-restarts=%d (%d SIGKILL, %d SIGTERM) agent-kills=%d %s; chaos %v, settled in %v",
		len(sent), len(final), processed, interrupted, other, lost, twice, hubRestarts, hubKills, hubRestarts-hubKills, agentKills,
		faults, chaosTime.Round(time.Millisecond), settle.Round(time.Millisecond))
	if len(sent) != total {
		t.Errorf("sent %d commands, want %d", len(sent), total)
	}
}

// countFired adds what each fault of a hub process fired to total, by kind.
func countFired(t testing.TB, a *admin.Client, total map[string]int64) {
	fs, err := a.Faults(t.Context())
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	for _, f := range fs {
		total[f.Kind] += f.Fired
	}
}

// createRetrying creates a command through the admin API with its
// Idempotency-Key, retrying every 100 ms while the hub is down or
// restarting; a 4xx answer is an error.
func createRetrying(t testing.TB, a *admin.Client, nc admin.NewCommand) (string, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		cmd, err := a.CreateCommand(t.Context(), nc)
		switch status := client.StatusCode(err); {
		case err == nil:
			return cmd.Id, nil
		case status/100 == 4:
			return "", err
		case t.Context().Err() != nil:
			return "", t.Context().Err()
		case time.Now().After(deadline):
			return "", fmt.Errorf("create: no success within a minute: %w", err)
		}
		time.Sleep(100 * time.Millisecond) // the hub is restarting: retry
	}
}

var jobRE = regexp.MustCompile(`chaos-job-(\d+)`)

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
