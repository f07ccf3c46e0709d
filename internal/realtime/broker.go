// Package realtime delivers DeviceCommand events to WebSocket clients: an
// in-process broker that routes each event to the sockets of every
// subscription connected to the command's device and of the integration that
// created it, and the /ws/connector endpoint.
//
// A slow or dead socket never slows the others: publishing only appends to a
// socket's bounded queue, and a socket whose queue overflows is closed (its
// client reconnects and catches up with getAllActive).
package realtime

import (
	"context"
	"iter"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/reqlog"
	"github.com/bellhop/bellhop/internal/stage"
)

// Backend is what the broker and endpoint need of the hub.
type Backend interface {
	Authenticate(ctx context.Context, clientToken, accessToken string) (*bellhop.Caller, error)
	ConnectedDeviceIDs(ctx context.Context, subscriptionID string) ([]string, error)
	// Seen records a WebSocket upgrade of the subscription from remoteAddr
	// (the client string is "": a socket carries none). It must not block.
	Seen(subscriptionID, client, remoteAddr string)
}

// Config configures a Broker. Zero fields take their defaults.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time
	// PingInterval is how often the server pings; default 25 s.
	PingInterval time.Duration
	// IdleTimeout drops a peer silent for this long; default 60 s.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a socket; default 10 s.
	WriteTimeout time.Duration
	// MaxQueue is how many undelivered events a socket may hold before it is
	// closed as too slow; default 10,000.
	MaxQueue int
	// MaxSocketsPerSubscription bounds the open sockets of one AccessToken;
	// default DefaultMaxSockets.
	MaxSocketsPerSubscription int
	// OnDeliver, when set, is called with each event's latency from its
	// commit to its write on a socket.
	OnDeliver func(time.Duration)
	// Faults, when set, may act on events and on the opening of sockets
	// (see package fault).
	Faults *fault.Injector
	// Log, when set, records every WebSocket session.
	Log *reqlog.Log
	// Stage, when set, receives the time spent routing events to sockets,
	// waiting on a socket and writing to it (see package stage).
	Stage stage.Observer
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = 10000
	}
	if c.MaxSocketsPerSubscription == 0 {
		c.MaxSocketsPerSubscription = DefaultMaxSockets
	}
}

// DefaultMaxSockets is how many sockets one AccessToken may hold open
// unless configured otherwise.
const DefaultMaxSockets = 100

// Broker routes events to sockets. It implements hub.Publisher.
type Broker struct {
	cfg     Config
	backend Backend

	mu        sync.RWMutex
	byDevice  map[string]sockets
	byIntegr  map[string]sockets
	bySub     map[string]sockets
	listeners map[*Listener]struct{}
	closed    bool
	stop      chan struct{} // ends the pinger
	pings     chan struct{} // slots of pings in flight
}

// NewBroker returns a broker that loads connected devices from backend.
func NewBroker(cfg Config, backend Backend) *Broker {
	cfg.setDefaults()
	b := &Broker{cfg: cfg, backend: backend,
		byDevice: map[string]sockets{}, byIntegr: map[string]sockets{},
		bySub: map[string]sockets{}, listeners: map[*Listener]struct{}{}, stop: make(chan struct{}),
		pings: make(chan struct{}, maxPings)}
	go b.pinger()
	return b
}

// pinger pings every socket each PingInterval, from one goroutine for all.
func (b *Broker) pinger() {
	t := time.NewTicker(b.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.mu.RLock()
		socks := make([]*socket, 0, len(b.bySub))
		for _, set := range b.bySub {
			socks = set.appendTo(socks)
		}
		b.mu.RUnlock()
		for _, s := range socks {
			select {
			case b.pings <- struct{}{}: // a slot: at most maxPings in flight
			case <-b.stop:
				return
			}
			if !s.ping(func() { <-b.pings }) {
				<-b.pings
			}
		}
	}
}

// maxPings bounds the pings in flight, so that a round over thousands of
// sockets never holds a goroutine (and its stack) per socket at once.
const maxPings = 512

// event is one DeviceCommand event, encoded once for every socket.
type event struct {
	json []byte
	at   time.Time
	// published is when Publish routed it (zero without a stage observer).
	published time.Time
}

// encode renders the wire form of a DeviceCommand event. Ids and states are
// plain ASCII without characters that JSON must escape.
func encode(e bellhop.Event) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"Type":"DeviceCommand","Id":`...)
	b = strconv.AppendQuote(b, e.CommandID)
	b = append(b, `,"State":`...)
	b = strconv.AppendQuote(b, string(e.State))
	return append(b, '}')
}

// Publish routes events to the sockets that may see them and to listeners.
// It never blocks on a socket.
func (b *Broker) Publish(events []bellhop.Event) {
	start := b.cfg.Stage.Now()
	// Sockets this call writes to itself once the lock is released (see
	// socket.writeNow); a few at most, so that a wide fan-out does not hold
	// up the publisher: the rest go to writer goroutines.
	var now [inlineSockets]*socket
	n := 0
	b.mu.RLock()
	for l := range b.listeners {
		l.offer(events)
	}
	faulty := b.cfg.Faults.EventsOn() // one load per batch; the per-socket decisions only when set
	offer := func(s *socket, ev event, e bellhop.Event) {
		switch {
		case faulty:
			s.offer(ev, e)
		case n == len(now):
			s.enqueue(ev)
		case s.claim(ev): // else claim queued it
			now[n] = s
			n++
		}
	}
	for _, e := range events {
		if !e.StateChange {
			continue
		}
		ev := event{json: encode(e), at: e.Utc, published: start}
		for s := range b.byDevice[e.DeviceID].all() {
			offer(s, ev, e)
		}
		for s := range b.byIntegr[e.CreatorIntegrationID].all() {
			if !b.byDevice[e.DeviceID].has(s) {
				offer(s, ev, e)
			}
		}
	}
	b.mu.RUnlock()
	b.cfg.Stage.Since(stage.Publish, start)
	for _, s := range now[:n] {
		s.writeNow()
	}
}

// inlineSockets is how many sockets one Publish writes to itself at most: an
// agent's and its producer's, with room to spare.
const inlineSockets = 4

// DevicesChanged reloads the connected devices of a subscription's open
// sockets, so that connecting or disconnecting applies at once.
func (b *Broker) DevicesChanged(subscriptionID string) {
	b.mu.RLock()
	n := b.bySub[subscriptionID].len()
	b.mu.RUnlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ids, err := b.backend.ConnectedDeviceIDs(ctx, subscriptionID)
	if err != nil {
		b.cfg.Logger.Error("reload connected devices", "subscription", subscriptionID, "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.bySub[subscriptionID].all() {
		b.unindexDevices(s)
		s.devices = ids
		b.indexDevices(s)
	}
}

// Revoked closes the sockets of a revoked subscription with code 1008.
func (b *Broker) Revoked(subscriptionID string) {
	b.mu.RLock()
	socks := b.bySub[subscriptionID].appendTo(nil)
	b.mu.RUnlock()
	for _, s := range socks {
		s.close(statusPolicyViolation, "token revoked")
	}
}

// Count returns the number of open sockets.
func (b *Broker) Count() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, set := range b.bySub {
		n += set.len()
	}
	return n
}

// SocketStats are the open sockets of one subscription.
type SocketStats struct {
	Count int
	// Oldest is when the oldest of them opened.
	Oldest time.Time
}

// OpenSockets returns the open sockets per subscription id, with when the
// oldest of each opened.
func (b *Broker) OpenSockets() map[string]SocketStats {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make(map[string]SocketStats, len(b.bySub))
	for sub, set := range b.bySub {
		st := SocketStats{Count: set.len()}
		for s := range set.all() {
			if st.Oldest.IsZero() || s.opened.Before(st.Oldest) {
				st.Oldest = s.opened
			}
		}
		out[sub] = st
	}
	return out
}

// CountBySubscription returns the open sockets per subscription id.
func (b *Broker) CountBySubscription() map[string]int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make(map[string]int, len(b.bySub))
	for id, set := range b.bySub {
		out[id] = set.len()
	}
	return out
}

// Close closes every socket with 1001 (going away) and refuses new ones.
func (b *Broker) Close() {
	b.mu.Lock()
	if !b.closed {
		close(b.stop)
	}
	b.closed = true
	var socks []*socket
	for _, set := range b.bySub {
		socks = set.appendTo(socks)
	}
	for l := range b.listeners {
		l.closeLocked()
	}
	b.mu.Unlock()
	for _, s := range socks {
		s.close(statusGoingAway, "server shutting down")
	}
}

// add registers a socket; it fails when the broker is closed or the
// subscription has too many sockets.
func (b *Broker) add(s *socket) (ok bool, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false, "server shutting down"
	}
	if b.bySub[s.subscription].len() >= b.cfg.MaxSocketsPerSubscription {
		return false, "too many sockets for this AccessToken"
	}
	addTo(b.bySub, s.subscription, s)
	addTo(b.byIntegr, s.integration, s)
	b.indexDevices(s)
	return true, ""
}

func (b *Broker) remove(s *socket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	removeFrom(b.bySub, s.subscription, s)
	removeFrom(b.byIntegr, s.integration, s)
	b.unindexDevices(s)
}

func (b *Broker) indexDevices(s *socket) {
	for _, id := range s.devices {
		addTo(b.byDevice, id, s)
	}
}

func (b *Broker) unindexDevices(s *socket) {
	for _, id := range s.devices {
		removeFrom(b.byDevice, id, s)
	}
}

// sockets is a set of sockets. Most keys (a subscription, an integration,
// a device) have one socket: it is held without a map, which would cost an
// idle socket some 240 bytes per key.
type sockets struct {
	one  *socket              // the only one, when many is nil
	many map[*socket]struct{} // from the second on
}

func (set sockets) len() int {
	if set.many != nil {
		return len(set.many)
	}
	if set.one != nil {
		return 1
	}
	return 0
}

func (set sockets) has(s *socket) bool {
	if set.many != nil {
		_, ok := set.many[s]
		return ok
	}
	return set.one == s && s != nil
}

// all yields the sockets of the set.
func (set sockets) all() iter.Seq[*socket] {
	return func(yield func(*socket) bool) {
		if set.many == nil {
			if set.one != nil {
				yield(set.one)
			}
			return
		}
		for s := range set.many {
			if !yield(s) {
				return
			}
		}
	}
}

func (set sockets) appendTo(socks []*socket) []*socket {
	for s := range set.all() {
		socks = append(socks, s)
	}
	return socks
}

func addTo(m map[string]sockets, key string, s *socket) {
	set := m[key]
	switch {
	case set.many != nil:
		set.many[s] = struct{}{}
	case set.one == nil || set.one == s:
		m[key] = sockets{one: s}
	default:
		m[key] = sockets{many: map[*socket]struct{}{set.one: {}, s: {}}}
	}
}

func removeFrom(m map[string]sockets, key string, s *socket) {
	set := m[key]
	switch {
	case set.many != nil:
		delete(set.many, s)
		if len(set.many) == 0 {
			delete(m, key)
		}
	case set.one == s:
		delete(m, key)
	}
}

// Listener receives every event (progress included) in process, for the
// console's live view. A listener that falls behind loses events and is told
// so by Lagged, so it can reload.
type Listener struct {
	C      chan []bellhop.Event
	mu     sync.Mutex
	lagged bool
	closed bool
}

// Listen returns a listener with a buffer of n batches; stop removes it.
func (b *Broker) Listen(n int) (l *Listener, stop func()) {
	l = &Listener{C: make(chan []bellhop.Event, n)}
	b.mu.Lock()
	if b.closed {
		l.closeLocked()
	} else {
		b.listeners[l] = struct{}{}
	}
	b.mu.Unlock()
	return l, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.listeners[l]; ok {
			delete(b.listeners, l)
			l.closeLocked()
		}
	}
}

// Lagged reports, and clears, whether events were dropped since the last call.
func (l *Listener) Lagged() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lagged := l.lagged
	l.lagged = false
	return lagged
}

func (l *Listener) offer(events []bellhop.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	select {
	case l.C <- events:
	default:
		l.lagged = true
	}
}

func (l *Listener) closeLocked() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.C)
	}
}
