package realtime

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/reqlog"
	"github.com/bellhop/bellhop/internal/stage"
)

// pongWait bounds how long one ping waits for its pong.
const pongWait = 10 * time.Second

const (
	statusGoingAway       = websocket.StatusGoingAway
	statusPolicyViolation = websocket.StatusPolicyViolation
	statusTryAgainLater   = websocket.StatusTryAgainLater
)

// socket is one open WebSocket: its routing keys and a queue of events.
//
// An idle socket costs one goroutine, the reader that answers pings and
// notices a close. Writing happens on a goroutine started when events are
// queued and gone when the queue is empty; pings come from the broker's one
// pinger. So publishing never waits on the network, and thousands of idle
// sockets stay cheap. A small event for a socket whose kernel send queue is
// empty, which a write cannot block on, is written by the publisher itself
// (see writeNow): a goroutine started per event waits for a CPU, and on a
// busy hub that wait was most of an event's time in the hub.
type socket struct {
	b            *Broker
	subscription string
	integration  string
	devices      []string // guarded by b.mu
	opened       time.Time

	mu      sync.Mutex
	conn    *websocket.Conn // nil until the upgrade completes
	raw     net.Conn        // conn's network connection; nil when unknown
	out     *connWriter     // what conn writes to raw through; nil when unknown
	queue   []event
	writing bool // a writer goroutine is draining queue
	done    chan struct{}
	once    sync.Once
	code    websocket.StatusCode
	reason  string

	pinging  atomic.Bool
	lastPong atomic.Int64 // unix nanoseconds of the last sign of life

	// held is an event a ReorderEvent fault holds back until the next one
	// is queued (guarded by mu).
	held *event
	// entry is the socket's session in the request log (nil when none);
	// sent counts the events written to it.
	entry *reqlog.Entry
	sent  atomic.Int64

	// written counts the bytes written to the connection since the upgrade,
	// pings and the library's own frames included; emptyAt is its count
	// when the kernel's send queue was last seen empty (-1: never). Between
	// them they bound what the queue holds now (see roomToWrite). emptyAt
	// belongs to whoever holds the socket's write turn (writing).
	written atomic.Int64
	emptyAt int64
}

func newSocket(b *Broker, sub, integ string, devices []string) *socket {
	s := &socket{b: b, subscription: sub, integration: integ, devices: devices, done: make(chan struct{}), opened: b.cfg.Now(),
		emptyAt: -1}
	s.lastPong.Store(time.Now().UnixNano())
	return s
}

func (s *socket) enqueue(e event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(e)
}

// claim queues e for the caller to write at once with writeNow, and reports
// whether it did: only when the socket is open, nothing is queued or being
// written, and e is small. Otherwise it queues e as enqueue does.
func (s *socket) claim(e event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writing || s.conn == nil || len(s.queue) > 0 || s.held != nil || len(e.json) > inlineMax {
		s.enqueueLocked(e)
		return false
	}
	select {
	case <-s.done:
		return false
	default:
	}
	s.queue = append(s.queue, e)
	s.writing = true
	return true
}

// inlineMax bounds the event that a publisher writes itself, and what the
// send queue may hold unacknowledged before such a write: together far below
// the smallest send buffer Linux gives a TCP socket (16 KiB at first), so
// that the write cannot block.
const inlineMax = 4096

// writeNow writes what claim queued, on the caller's goroutine, when the
// connection's send queue holds at most inlineMax bytes (see roomToWrite),
// so the kernel takes the message without waiting. When it may hold more,
// or that cannot be told, a writer goroutine takes over, as do events
// queued meanwhile.
func (s *socket) writeNow() {
	s.mu.Lock()
	conn, raw, out := s.conn, s.raw, s.out
	s.mu.Unlock()
	if !s.roomToWrite(raw) {
		go s.write()
		return
	}
	if !s.writeOnce(conn, out) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		s.writing = false
		return
	}
	go s.write()
}

// roomToWrite reports whether the send queue of raw holds at most inlineMax
// bytes. The queue holds at most what was written since it was last seen
// empty, so it is measured (a system call, the dearest part of a small
// write) only when that is more than inlineMax: once every few dozen
// events instead of before each. A measurement that finds the queue not
// empty says no, as one that cannot tell. The caller holds the write turn.
func (s *socket) roomToWrite(raw net.Conn) bool {
	written := s.written.Load() // before measuring: bytes written meanwhile count twice, never not at all
	if s.emptyAt >= 0 && written-s.emptyAt <= inlineMax {
		return true
	}
	if n, ok := unsent(raw); !ok || n > 0 {
		return false
	}
	s.emptyAt = written
	return true
}

// enqueueLocked queues e, and after it an event a fault held back; s.mu is
// held.
func (s *socket) enqueueLocked(e event) {
	if len(s.queue) >= s.b.cfg.MaxQueue {
		go s.close(statusTryAgainLater, "too slow: events dropped, reconnect and catch up")
		return
	}
	s.queue = append(s.queue, e)
	if s.held != nil {
		s.queue = append(s.queue, *s.held)
		s.held = nil
	}
	s.startWriter()
}

// offer queues an event unless an event fault decides otherwise.
func (s *socket) offer(ev event, e bellhop.Event) {
	d, ok := s.b.cfg.Faults.ForEvent(s.subscription, s.integration, e.CommandID, string(e.State))
	if !ok {
		s.enqueue(ev)
		return
	}
	switch d.Kind {
	case fault.DropEvent:
	case fault.DuplicateEvent:
		s.enqueue(ev)
		s.enqueue(ev)
	case fault.DelayEvent:
		time.AfterFunc(d.Delay, func() { s.enqueue(ev) })
	case fault.ReorderEvent:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.held != nil { // one is held already: this one overtakes it
			s.enqueueLocked(ev)
			return
		}
		s.held = &ev
		time.AfterFunc(d.Delay, func() { // no next event came: send it late
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.held == &ev {
				s.held = nil
				s.enqueueLocked(ev)
			}
		})
	case fault.CloseSocket:
		// close takes the broker's lock, which Publish holds.
		go s.close(websocket.StatusCode(d.CloseCode), "fault "+d.FaultID)
	default:
		s.enqueue(ev)
	}
}

// startWriter starts the writer if the socket is open and none runs; s.mu
// is held.
func (s *socket) startWriter() {
	if s.writing || s.conn == nil || len(s.queue) == 0 {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.writing = true
	go s.write()
}

// close closes the socket with code; the first call wins. Closing waits for
// the peer's answer, so it runs off the caller's goroutine.
func (s *socket) close(code websocket.StatusCode, reason string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.code, s.reason = code, reason
		conn, entry := s.conn, s.entry
		close(s.done) // under mu: the handler that logs the session sees it closed, or close sees its entry
		s.mu.Unlock()
		s.b.remove(s) // route nothing more to it during the closing handshake
		if conn != nil {
			go conn.Close(code, reason)
		}
		s.logClosed(entry)
	})
}

// logClosed records in the request log how the session ended.
func (s *socket) logClosed(entry *reqlog.Entry) {
	if entry == nil {
		return
	}
	s.b.cfg.Log.Update(entry, func(e *reqlog.Entry) {
		e.Open, e.ClosedUtc, e.CloseCode, e.CloseReason = false, s.b.cfg.Log.Now(), int(s.code), s.reason
		e.Duration, e.Events = e.ClosedUtc.Sub(e.Utc), int(s.sent.Load())
	})
}

// HandlerOptions configures the WebSocket endpoint.
type HandlerOptions struct {
	// Allow, when set, is asked before each upgrade with the AccessToken's
	// hash (the rate limit shared with the REST API).
	Allow func(ctx context.Context, key string) (bool, time.Duration)
	// OriginPatterns lists the browser origins allowed besides the hub's own
	// host; clients that send no Origin (agents) are always allowed.
	OriginPatterns []string
}

// Handler returns the /ws/connector endpoint. It authenticates with the
// ClientToken and AccessToken cookies (or, deprecated, query parameters) and
// answers 401 with the Mews error body before the upgrade when they fail.
// Clients send nothing but control frames; a data message closes the socket.
func (b *Broker) Handler(opts HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := b.cfg.Logger
		var e *reqlog.Entry
		if b.cfg.Log != nil {
			e = &reqlog.Entry{Kind: reqlog.KindWebSocket, Utc: b.cfg.Log.Now(), Operation: bellhop.OperationWebSocket,
				RequestID: httpapi.RequestID(r.Context()), Client: r.UserAgent()}
			// Refusals are logged when the handler returns; an opened
			// socket is logged at once (below) and updated when it closes.
			defer func() {
				if e.Status != http.StatusSwitchingProtocols {
					b.cfg.Log.Add(e)
				}
			}()
		}
		fail := func(err error) {
			httpapi.WriteError(w, r, log, err)
			if e != nil {
				e.Status, e.Error = httpapi.Status(bellhop.ErrorCode(err)), bellhop.ErrorMessage(err)
			}
		}
		if r.Method != http.MethodGet {
			fail(bellhop.Errorf(bellhop.ENOTFOUND, "Not found: use GET to open a WebSocket."))
			return
		}
		clientToken, accessToken := tokens(r)
		if opts.Allow != nil && accessToken != "" {
			if ok, retry := opts.Allow(r.Context(), bellhop.HashToken(accessToken)); !ok {
				httpapi.WriteError(w, r, log, &httpapi.RateLimitError{RetryAfter: retry})
				if e != nil {
					e.Status, e.Error = http.StatusTooManyRequests, "Too many requests."
				}
				return
			}
		}
		caller, err := b.backend.Authenticate(r.Context(), clientToken, accessToken)
		if err != nil {
			fail(err)
			return
		}
		b.backend.Seen(caller.Subscription.ID, "", r.RemoteAddr)
		if e != nil {
			e.IntegrationID, e.SubscriptionID = caller.Integration.ID, caller.Subscription.ID
		}
		if d, ok := b.cfg.Faults.ForRequest(fault.Request{SubscriptionID: caller.Subscription.ID, IntegrationID: caller.Integration.ID,
			Operation: bellhop.OperationWebSocket, RequestID: httpapi.RequestID(r.Context())}); ok {
			if e != nil {
				e.Fault = d.Header()
				if d.Kind == fault.Refuse {
					e.Status = d.Status
				}
			}
			if httpapi.ActOnFault(w, r, d) {
				return
			}
		}
		devices, err := b.backend.ConnectedDeviceIDs(r.Context(), caller.Subscription.ID)
		if err != nil {
			fail(err)
			return
		}
		// Register before the upgrade completes, so that no event committed
		// after the client sees the handshake can miss this socket; events
		// queue until the connection is there.
		s := newSocket(b, caller.Subscription.ID, caller.Integration.ID, devices)
		if ok, reason := b.add(s); !ok {
			fail(bellhop.Errorf(bellhop.ERATELIMIT, "%s", reason))
			return
		}
		sb := &smallBuffers{ResponseWriter: w, written: &s.written}
		conn, err := websocket.Accept(sb, r, &websocket.AcceptOptions{OriginPatterns: opts.OriginPatterns,
			CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			b.remove(s)
			if e != nil {
				e.Status, e.Error = http.StatusBadRequest, "WebSocket handshake failed: "+err.Error()
			}
			return // Accept has answered the client
		}
		if e != nil {
			e.Status, e.Open = http.StatusSwitchingProtocols, true
			e.Live(&s.sent)
			b.cfg.Log.Add(e)
			s.mu.Lock()
			s.entry = e
			select {
			case <-s.done: // closed meanwhile, before it could see its entry
				defer s.logClosed(e)
			default:
			}
			s.mu.Unlock()
		}
		conn.SetReadLimit(4096)
		// The reader answers pings and ends when the peer goes; the HTTP
		// handler returns, so its goroutine and stack are freed.
		go s.read(conn)
		s.mu.Lock()
		s.conn, s.raw, s.out = conn, sb.conn, sb.out
		select {
		case <-s.done: // closed before the upgrade completed
			s.mu.Unlock()
			conn.Close(s.code, s.reason)
			return
		default:
		}
		s.startWriter()
		s.mu.Unlock()
	})
}

// read is the socket's reader: it answers pings, takes pongs and the
// peer's close, and closes the socket when the peer goes. It is
// Conn.CloseRead without a context: a context that can be cancelled would
// cost each socket a cancel context, a context.AfterFunc for it and
// another for every frame it waits for, all held while the socket idles.
// Nothing cancels it: the read ends when the connection closes.
func (s *socket) read(conn *websocket.Conn) {
	if _, _, err := conn.Reader(context.Background()); err == nil {
		conn.Close(statusPolicyViolation, "unexpected data message")
	}
	conn.CloseNow()
	s.close(websocket.StatusNormalClosure, "")
}

// tokens reads the tokens from the cookies, or from the deprecated query
// string that older integrations still use.
func tokens(r *http.Request) (clientToken, accessToken string) {
	if c, err := r.Cookie("ClientToken"); err == nil {
		clientToken = c.Value
	}
	if c, err := r.Cookie("AccessToken"); err == nil {
		accessToken = c.Value
	}
	if clientToken == "" && accessToken == "" {
		q := r.URL.Query()
		clientToken, accessToken = q.Get("ClientToken"), q.Get("AccessToken")
	}
	return clientToken, accessToken
}

// write sends what is queued, one {"Events":[...]} message per round, until
// the queue is empty: events that arrive during a write are coalesced into
// the next message.
func (s *socket) write() {
	for {
		s.mu.Lock()
		conn, out := s.conn, s.out
		s.mu.Unlock()
		if !s.writeOnce(conn, out) {
			return
		}
	}
}

// writeOnce writes what is queued as one message and reports whether the
// writer should go on; with nothing queued it ends the writing (s.writing),
// and a failed write closes the connection.
func (s *socket) writeOnce(conn *websocket.Conn, out *connWriter) bool {
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	if len(batch) == 0 {
		s.writing = false
		s.mu.Unlock()
		return false
	}
	s.mu.Unlock()
	var taken time.Time
	if s.b.cfg.Stage != nil {
		taken = time.Now()
		for _, e := range batch {
			s.b.cfg.Stage.Observe(stage.SocketQueue, taken.Sub(e.published))
		}
	}
	if err := s.flush(conn, out, batch, taken); err != nil {
		s.mu.Lock()
		s.writing = false
		s.mu.Unlock()
		conn.CloseNow() // the reader ends, and with it the socket
		return false
	}
	return true
}

// flush writes batch as one message; taken is when it was taken from the
// queue (zero without a stage observer). WriteTimeout bounds the write
// through out, the writer under conn, where there is one (see connWriter):
// a context with a deadline would cost the WebSocket library a timer and a
// context.AfterFunc per message.
func (s *socket) flush(conn *websocket.Conn, out *connWriter, batch []event, taken time.Time) error {
	n := len(`{"Events":[]}`)
	for _, e := range batch {
		n += len(e.json) + 1
	}
	msg := make([]byte, 0, n)
	msg = append(msg, `{"Events":[`...)
	for i, e := range batch {
		if i > 0 {
			msg = append(msg, ',')
		}
		msg = append(msg, e.json...)
	}
	msg = append(msg, "]}"...)
	if out != nil {
		// Unbounded again at once: the library's own writes (pings, the
		// close) are not bounded by WriteTimeout.
		out.bound.Store(int64(s.b.cfg.WriteTimeout))
		err := conn.Write(context.Background(), websocket.MessageText, msg)
		out.bound.Store(0)
		if err != nil {
			return err
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), s.b.cfg.WriteTimeout)
		err := conn.Write(ctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			return err
		}
	}
	s.b.cfg.Stage.Since(stage.SocketWrite, taken) // building the message included: it is short
	s.sent.Add(int64(len(batch)))
	if s.b.cfg.OnDeliver != nil {
		now := s.b.cfg.Now()
		for _, e := range batch {
			s.b.cfg.OnDeliver(now.Sub(e.at))
		}
	}
	return nil
}

// ping checks that the peer still answers; a peer silent for IdleTimeout
// is cut without a closing handshake it would not answer either. Time is
// real time, whatever clock the hub is given. It reports whether it started
// a ping; done is called when that ping ends.
func (s *socket) ping(done func()) bool {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return false
	}
	if time.Since(time.Unix(0, s.lastPong.Load())) >= s.b.cfg.IdleTimeout {
		s.close(statusPolicyViolation, "no pong")
		conn.CloseNow()
		return false
	}
	if !s.pinging.CompareAndSwap(false, true) {
		return false
	}
	go func() {
		defer done()
		defer s.pinging.Store(false)
		// A pong comes within milliseconds; waiting longer only holds a
		// slot that other sockets' pings need. A peer that misses it is
		// cut once it has been silent for IdleTimeout.
		ctx, cancel := context.WithTimeout(context.Background(), min(s.b.cfg.IdleTimeout, pongWait))
		defer cancel()
		if conn.Ping(ctx) == nil {
			s.lastPong.Store(time.Now().UnixNano())
		}
	}()
	return true
}

// socketWriteBuffer is the size of a socket's write buffer. A message of
// one event is about 105 bytes on the wire and each event more adds about
// 90: up to five events go out in one write call, a larger message costs
// one more (the library writes what does not fit straight through). net/http
// hands a hijacked connection over with a 4 KB writer, and the WebSocket
// library keeps it for the socket's whole life.
const socketWriteBuffer = 512

// socketReadBuffer is the size of a socket's read buffer. Clients send
// nothing but control frames, at most 131 bytes each (a data message closes
// the socket); net/http's reader, which the WebSocket library would keep
// for the socket's whole life, holds 4 KB.
const socketReadBuffer = 256

// smallBuffers is a ResponseWriter whose Hijack hands out buffers of
// socketReadBuffer and socketWriteBuffer bytes instead of net/http's, so
// that idle sockets stay small. What net/http buffered for the client (the
// handshake's response) is sent first. When net/http has read ahead what
// the client sent after its request, its reader is kept, so that no byte
// is lost. The writer writes through out, which counts in written, when
// set, every byte it passes to the connection.
type smallBuffers struct {
	http.ResponseWriter
	written *atomic.Int64
	conn    net.Conn    // the hijacked connection
	out     *connWriter // what the writer writes to conn through
}

func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	w.conn = conn
	r := brw.Reader
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(conn, socketReadBuffer)
	}
	if w.written == nil {
		w.written = new(atomic.Int64)
	}
	w.out = newConnWriter(conn, w.written)
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(w.out, socketWriteBuffer)), nil
}

// connWriter is what a socket's WebSocket connection writes to conn
// through. It counts in written every byte it passes on, and while bound is
// set (a message of the socket's own, not a ping of the library's) it
// bounds a write by that long with a write deadline. The deadline costs two
// timer changes, so it is set only when the kernel does not take the
// bytes at once: they are offered first without waiting, and what is
// left is written under the deadline.
type connWriter struct {
	conn    net.Conn
	rc      syscall.RawConn // conn's, for a write that does not wait; nil when none
	written *atomic.Int64
	bound   atomic.Int64 // a time.Duration; 0: none

	// try is w.tryFD, bound once (a closure per write would be an
	// allocation), and tried the write it makes: the bytes, and then how
	// many the kernel took. The WebSocket library writes one frame at a
	// time, so one write at a time uses them.
	try   func(fd uintptr) bool
	tried struct {
		p []byte
		n int
	}
}

func newConnWriter(conn net.Conn, written *atomic.Int64) *connWriter {
	w := &connWriter{conn: conn, written: written}
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			w.rc = rc
		}
	}
	w.try = w.tryFD
	return w
}

// tryWrite writes what of p the kernel takes without waiting, and returns
// how much: 0 when it takes nothing, when conn offers no file descriptor,
// or on an error, which the write that follows reports.
func (w *connWriter) tryWrite(p []byte) int {
	if w.rc == nil {
		return 0
	}
	w.tried.p, w.tried.n = p, 0
	err := w.rc.Write(w.try)
	w.tried.p = nil
	if err != nil || w.tried.n < 0 {
		return 0
	}
	return w.tried.n
}

func (w *connWriter) Write(p []byte) (int, error) {
	n := 0
	if d := time.Duration(w.bound.Load()); d > 0 {
		if n = w.tryWrite(p); n < len(p) && w.conn.SetWriteDeadline(time.Now().Add(d)) == nil {
			defer w.conn.SetWriteDeadline(time.Time{})
		}
	}
	var err error
	if n < len(p) {
		var m int
		m, err = w.conn.Write(p[n:])
		n += m
	}
	w.written.Add(int64(n))
	return n, err
}

// Unwrap gives http.ResponseController the ResponseWriter underneath.
func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }
