package realtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/reqlog"
)

// oneSubscriptionEach authenticates every ClientToken as its own
// subscription and integration, as a fleet of agents would.
type oneSubscriptionEach struct{}

func (oneSubscriptionEach) Authenticate(_ context.Context, clientToken, _ string) (*bellhop.Caller, error) {
	return &bellhop.Caller{Integration: bellhop.Integration{ID: "integ-" + clientToken},
		Subscription: bellhop.Subscription{ID: "sub-" + clientToken}}, nil
}
func (oneSubscriptionEach) ConnectedDeviceIDs(context.Context, string) ([]string, error) {
	return nil, nil
}
func (oneSubscriptionEach) Seen(string, string, string) {}

// upgrade opens a WebSocket on addr by hand, with nothing on the client's
// side but the connection, and sends extra right after the request.
func upgrade(t *testing.T, addr, token, extra string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /ws/connector HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Cookie: ClientToken=%s; AccessToken=a%s\r\n\r\n%s", token, token, extra)
	br := bufio.NewReaderSize(c, 64)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("upgrade: %q, %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			return c, br
		}
	}
}

// TestSmallBuffers: a hijacked socket gets the small buffers, unless net/http
// has read ahead what the client sent after its request: then those bytes
// are kept.
func TestSmallBuffers(t *testing.T) {
	type got struct {
		read, write int
		ahead       string
	}
	gots := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := (&smallBuffers{ResponseWriter: w}).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
		brw.Flush()
		g := got{read: brw.Reader.Size(), write: brw.Writer.Size()}
		if r.Header.Get("Cookie") == "ClientToken=ahead; AccessToken=aahead" {
			b := make([]byte, len("ping!"))
			if _, err := io.ReadFull(brw, b); err != nil {
				t.Error(err)
			}
			g.ahead = string(b)
		}
		gots <- g
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	upgrade(t, addr, "plain", "")
	if g := <-gots; g.read != socketReadBuffer || g.write != socketWriteBuffer {
		t.Errorf("buffers of %d and %d bytes, want %d and %d", g.read, g.write, socketReadBuffer, socketWriteBuffer)
	}
	upgrade(t, addr, "ahead", "ping!")
	if g := <-gots; g.ahead != "ping!" {
		t.Errorf("read after the request: %q, want %q", g.ahead, "ping!")
	}
}

// TestIdleSocketHeap: what an idle socket holds on the heap (its buffers,
// the WebSocket connection, the broker's entries, its request log session)
// stays within a bound that the buffers net/http hands over (4 KB each way)
// would break. A count, not a timing: the live heap after a collection.
func TestIdleSocketHeap(t *testing.T) {
	const n, bound = 200, 6 << 10
	b := NewBroker(Config{Log: reqlog.New(reqlog.Config{})}, oneSubscriptionEach{})
	defer b.Close()
	srv := httptest.NewServer(b.Handler(HandlerOptions{}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	live := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	upgrade(t, addr, "warm", "") // net/http's and the library's first-use allocations
	before := live()
	for i := range n {
		upgrade(t, addr, fmt.Sprint(i), "")
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Count() != n+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the handlers return
	per := int64(live()-before) / n
	t.Logf("%d bytes of heap per idle socket", per)
	if per > bound {
		t.Errorf("%d bytes of heap per idle socket, want at most %d", per, bound)
	}
}

// TestServerCloseEndsConnection: when the hub closes a socket and the peer
// answers the closing handshake but leaves the closing of the connection to
// the server, as RFC 6455 asks of clients, the hub closes it at once rather
// than when its wait for the handshake times out (5 s).
func TestServerCloseEndsConnection(t *testing.T) {
	b := NewBroker(Config{}, oneSubscriptionEach{})
	defer b.Close()
	srv := httptest.NewServer(b.Handler(HandlerOptions{}))
	defer srv.Close()
	c, br := upgrade(t, srv.Listener.Addr().String(), "x", "")
	deadline := time.Now().Add(10 * time.Second)
	for b.Count() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	b.Revoked("sub-x")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil || head[0] != 0x88 {
		t.Fatalf("read %x, %v; want a close frame", head, err)
	}
	payload := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	// The same close, masked with a zero key, as a client sends it.
	c.Write(append([]byte{0x88, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...))
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("after the closing handshake: %v, want the connection closed", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the hub closed the connection %v after the closing handshake, want at once", took)
	}
}

// TestPublishWhilePeerStopsReading: a peer that stops reading fills the
// kernel's buffers; publishing goes on without waiting for it (the events
// wait in the socket's queue instead of being written by the publisher),
// and once the peer reads again it gets every event, in order.
func TestPublishWhilePeerStopsReading(t *testing.T) {
	b := NewBroker(Config{MaxQueue: 1 << 20, WriteTimeout: time.Minute}, oneSubscriptionEach{})
	defer b.Close()
	srv := httptest.NewServer(b.Handler(HandlerOptions{}))
	defer srv.Close()
	c, br := upgrade(t, srv.Listener.Addr().String(), "x", "")
	for b.Count() != 1 {
		runtime.Gosched()
	}
	// About 30 MB, far more than the send and receive buffers of a loopback
	// connection hold; each event small enough for the publisher to write.
	const n = 10_000
	pad := strings.Repeat("p", 3000)
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range n {
			b.Publish([]bellhop.Event{{StateChange: true, CommandID: fmt.Sprintf("%06d%s", i, pad),
				State: bellhop.Pending, CreatorIntegrationID: "integ-x"}})
		}
	}()
	<-published // the peer has read nothing: a publisher that waited on it got here only when its write timed out
	if b.Count() != 1 {
		t.Fatal("the socket closed while its peer was only slow: a publisher waited on it until its write timed out")
	}
	queued := 0
	b.mu.RLock()
	for s := range b.bySub["sub-x"].all() {
		s.mu.Lock()
		queued += len(s.queue)
		s.mu.Unlock()
	}
	b.mu.RUnlock()
	if queued == 0 {
		t.Fatal("no event waits in the queue: the peer's buffers never filled, so this test proved nothing")
	}

	next := 0
	for next < n {
		var head [2]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			t.Fatalf("after %d events: %v", next, err)
		}
		size := int(head[1] & 0x7f)
		switch size {
		case 126:
			var ext [2]byte
			io.ReadFull(br, ext[:])
			size = int(ext[0])<<8 | int(ext[1])
		case 127:
			var ext [8]byte
			io.ReadFull(br, ext[:])
			size = 0
			for _, x := range ext {
				size = size<<8 | int(x)
			}
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatalf("after %d events: %v", next, err)
		}
		for {
			i := bytes.Index(payload, []byte(`"Id":"`))
			if i < 0 {
				break
			}
			payload = payload[i+len(`"Id":"`):]
			if want := fmt.Sprintf("%06d%s\"", next, pad); !bytes.HasPrefix(payload, []byte(want)) {
				t.Fatalf("event %d: got %.6s…, want %.6s…", next, payload, want)
			}
			next++
		}
	}
	c.Close()
}

// stalledPeer returns the server side of a loopback TCP connection whose
// client reads nothing until read is called, and then everything.
func stalledPeer(t *testing.T) (conn net.Conn, read func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	conn, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, func() { go io.Copy(io.Discard, peer) }
}

// TestConnWriterBound: a bounded write that the kernel cannot take ends
// at its bound, every byte that went out counted; the deadline is gone
// afterwards, so an unbounded write waits for the peer instead of failing.
func TestConnWriterBound(t *testing.T) {
	conn, read := stalledPeer(t)
	var written atomic.Int64
	w := newConnWriter(conn, &written)
	w.bound.Store(int64(50 * time.Millisecond))
	var sum int64
	var err error
	for err == nil {
		var n int
		n, err = w.Write(make([]byte, 64<<10))
		sum += int64(n)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a bounded write to a peer that reads nothing: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	if written.Load() != sum {
		t.Errorf("counted %d bytes, wrote %d", written.Load(), sum)
	}
	w.bound.Store(0)
	read()
	if _, err := w.Write(make([]byte, 64<<10)); err != nil {
		t.Errorf("an unbounded write after a bounded one timed out: %v", err)
	}
}

// TestRoomToWrite: after the send queue was seen empty, a socket writes
// without measuring it again only while what it wrote since stays within
// inlineMax; past that it measures, and a queue its peer left full says no.
func TestRoomToWrite(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the send queue cannot be measured here")
	}
	conn, _ := stalledPeer(t)
	s := &socket{emptyAt: -1}
	w := newConnWriter(conn, &s.written)
	if !s.roomToWrite(conn) {
		t.Fatal("no room on a new connection")
	}
	if _, err := w.Write(make([]byte, inlineMax)); err != nil {
		t.Fatal(err)
	}
	if !s.roomToWrite(conn) {
		t.Fatal("no room after inlineMax bytes written into an empty queue")
	}
	// Fill the kernel's buffers: the peer reads nothing, so a write
	// eventually waits, and its deadline ends the filling.
	conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		if _, err := w.Write(make([]byte, 64<<10)); err != nil {
			break
		}
	}
	if n, _ := unsent(conn); n == 0 {
		t.Fatal("the send queue is empty: this test proved nothing")
	}
	if s.roomToWrite(conn) {
		t.Errorf("room to write after %d bytes the peer never read", s.written.Load())
	}
}
