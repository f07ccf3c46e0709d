package agent_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// chaosProxy forwards TCP connections to a target and cuts them all on
// demand, the way a flaky office network or a restarted router does.
type chaosProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	cuts   int
	wg     sync.WaitGroup
}

func startChaosProxy(tb testing.TB, target string) *chaosProxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	p := &chaosProxy{l: l, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	tb.Cleanup(func() { l.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *chaosProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

// cut closes every open connection, in both directions, mid-stream.
func (p *chaosProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // an RST, not a polite FIN
		}
		c.Close()
	}
	clear(p.conns)
	p.cuts++
}

// TestFaultInjection runs a few hundred commands through the agent as a
// separate process, behind a proxy that cuts its connections to the hub at
// random, while the agent is killed with SIGKILL and restarted. At the end
// every command must be final, no completed action may have run twice, and
// every command the peers did not finish must be Error "interrupted".
func TestFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection takes about half a minute")
	}
	t.Parallel()
	e := newEnv(t)
	proxy := startChaosProxy(t, e.addr)
	sink := drivertest.StartJobSink(t)
	var peerMu sync.Mutex
	peerSeen := map[string]int{}
	peer := drivertest.StartHTTPPeer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := commandID(r)
		peerMu.Lock()
		peerSeen[id]++
		peerMu.Unlock()
		// A device takes a moment, so that kills land mid-action too.
		select {
		case <-time.After(time.Duration(20+rand.IntN(60)) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "encoded %s", id)
	})
	printer := e.device(bellhop.Printer, "Printer")
	encoders := []*admin.Device{e.device(bellhop.KeyCutter, "Encoder A"), e.device(bellhop.KeyCutter, "Encoder B")}

	proc := hubtest.StartAgent(t, hubtest.AgentConfig{PlatformAddress: "http://" + proxy.l.Addr().String(),
		ClientToken: e.clientToken, AccessToken: e.accessToken, Devices: []hubtest.AgentDevice{
			{Name: "Printer", Driver: "socket://" + sink.Addr()},
			{Name: "Encoder A", Driver: peer.URL + "/a"},
			{ID: encoders[1].Id, Driver: peer.URL + "/b"}}})

	// Producer: 300 commands over about 15 s, a third per device.
	const total = 300
	var ids []string
	docOf := map[string]string{} // print job text → command id
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := range total {
			<-tick.C
			dev, data, doc := printer, any(nil), fmt.Sprintf("job-%d", i)
			if i%3 == 0 {
				data = printJob(doc)
			} else {
				dev, data = encoders[i%3-1], keyJob(i)
			}
			c, err := e.hub.Service.CreateCommand(context.Background(), dev.Id, bellhop.MarshalData(data), "producer", nil)
			if err != nil {
				t.Errorf("creating command %d: %v", i, err) // not Fatal: this is not the test's goroutine
				return
			}
			if i%3 == 0 {
				docOf[doc] = c.ID
			}
			ids = append(ids, c.ID)
		}
	}()

	// Chaos while producing: cuts every 0.2–1 s, a SIGKILL every 1–2.5 s.
	kills := 0
	nextCut := time.After(time.Duration(200+rand.IntN(800)) * time.Millisecond)
	nextKill := time.After(time.Duration(1000+rand.IntN(1500)) * time.Millisecond)
chaos:
	for {
		select {
		case <-produced:
			break chaos
		case <-nextCut:
			proxy.cut()
			nextCut = time.After(time.Duration(200+rand.IntN(800)) * time.Millisecond)
		case <-nextKill:
			proc.Stop(syscall.SIGKILL)
			kills++
			proc.Start()
			nextKill = time.After(time.Duration(1000+rand.IntN(1500)) * time.Millisecond)
		}
	}

	// Calm: everything must settle.
	final := e.waitFinal(45*time.Second, ids...)
	proc.Stop(syscall.SIGTERM)

	jobs := sink.Jobs()
	var processed, interrupted, twice, other int
	for _, id := range ids {
		if _, ok := final[id]; !ok {
			continue
		}
		peerMu.Lock()
		seen := peerSeen[id]
		peerMu.Unlock()
		for doc, n := range jobs {
			if docOf[doc] == id {
				seen += n
			}
		}
		v := final[id]
		switch {
		case seen > 1:
			twice++
			t.Errorf("command %s (%s) ran %d times on the device; state %s %q", id, v.Device.Name, seen, v.State, v.Notes)
		case v.State == bellhop.Processed && seen == 1:
			processed++
		case v.State == bellhop.Failed && v.Notes == agent.InterruptedNote:
			interrupted++
		default:
			other++
			t.Errorf("command %s (%s): %s %q after %d actions", id, v.Device.Name, v.State, v.Notes, seen)
		}
	}
	t.Logf("sent %d, final %d (processed %d, interrupted %d, other %d), lost %d, executed twice %d; %d SIGKILLs, %d connection cuts",
		len(ids), len(final), processed, interrupted, other, len(ids)-len(final), twice, kills, proxy.cuts)
}
