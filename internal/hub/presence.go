package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/buildinfo"
)

// presenceHeartbeat is how often a node rewrites the row of a subscription
// whose sockets it holds, changed or not: a row older than presenceStale is
// taken for a node that died, and its sockets are no longer counted.
const (
	presenceHeartbeat = time.Minute
	presenceStale     = 3 * presenceHeartbeat
)

// defaultNode names a node by its host and a random suffix, so that two
// nodes on one host never share rows.
func defaultNode() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// presence is what this node saw of one subscription's client since it
// started. Seen updates it without locks (it runs on every request);
// the flusher reads it.
type presence struct {
	first int64 // unix nanoseconds, set once
	last  atomic.Int64
	seen  atomic.Pointer[seenBy]
	dirty atomic.Bool
}

// seenBy is the client and address of the last request; replaced, never
// changed, so that a reader sees both of one request.
type seenBy struct{ client, address string }

// presences holds this node's presence per subscription id.
type presences struct {
	m sync.Map // subscription id -> *presence

	flushMu sync.Mutex // one flush at a time
	// What the last flushes wrote, per subscription (guarded by flushMu).
	written map[string]writtenPresence
}

type writtenPresence struct {
	sockets Sockets
	at      time.Time
}

// Seen records a request of the subscription's client: the Client string
// it sent ("" keeps the last one: WebSocket upgrades carry none) and its
// remote address (a host:port or a host). It costs no store write: the node
// writes what changed every Config.PresenceFlush.
func (s *Service) Seen(subscriptionID, client, remoteAddr string) {
	now := s.cfg.Now().UnixNano()
	addr := remoteAddr
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		addr = host
	}
	v, ok := s.presence.m.Load(subscriptionID)
	if !ok {
		// Whole before it is shared: the flusher may read it at once.
		np := &presence{first: now}
		np.seen.Store(&seenBy{client: client, address: addr})
		np.last.Store(now)
		np.dirty.Store(true)
		if v, ok = s.presence.m.LoadOrStore(subscriptionID, np); !ok {
			return
		}
	}
	p := v.(*presence)
	if old := p.seen.Load(); old == nil || old.address != addr || client != "" && old.client != client {
		by := &seenBy{client: client, address: addr}
		if client == "" && old != nil {
			by.client = old.client
		}
		p.seen.Store(by)
	}
	if now > p.last.Load() {
		p.last.Store(now)
	}
	if !p.dirty.Load() {
		p.dirty.Store(true)
	}
}

// runPresence writes what the node saw every PresenceFlush until ctx is
// done, then once more with its sockets closed (the node is going away).
func (s *Service) runPresence(ctx context.Context) {
	t := time.NewTicker(s.cfg.PresenceFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.FlushPresence(fctx, true); err != nil {
				s.log.Warn("presence: last write failed", "err", err)
			}
			return
		case <-t.C:
		}
		if err := s.FlushPresence(ctx, false); err != nil && ctx.Err() == nil {
			s.log.Warn("presence: write failed", "err", err)
		}
	}
}

// FlushPresence writes to the store what the node saw since the last
// flush: the subscriptions with new requests, those whose sockets changed,
// and, every minute, those with open sockets. closing writes every row the
// node has with no sockets. Run calls it; a test may too.
func (s *Service) FlushPresence(ctx context.Context, closing bool) error {
	s.presence.flushMu.Lock()
	defer s.presence.flushMu.Unlock()
	now := s.Now()
	var socks map[string]Sockets
	if s.cfg.Sockets != nil && !closing {
		socks = s.cfg.Sockets()
	}
	if s.presence.written == nil {
		s.presence.written = map[string]writtenPresence{}
	}
	var rows []bellhop.Presence
	var flushed []*presence
	s.presence.m.Range(func(k, v any) bool {
		sub, p := k.(string), v.(*presence)
		sk, w := socks[sub], s.presence.written[sub]
		dirty := p.dirty.Swap(false)
		if !dirty && !closing && sk == w.sockets && (sk.Count == 0 || now.Sub(w.at) < presenceHeartbeat) {
			return true
		}
		if dirty {
			flushed = append(flushed, p)
		}
		by := p.seen.Load()
		row := bellhop.Presence{SubscriptionID: sub, Node: s.cfg.Node, Client: by.client, Address: by.address,
			FirstUtc: time.Unix(0, p.first).UTC(), LastUtc: time.Unix(0, p.last.Load()).UTC(),
			Sockets: sk.Count, UpdatedUtc: now}
		if sk.Count > 0 {
			row.ConnectedUtc = sk.Since.UTC()
		}
		rows = append(rows, row)
		return true
	})
	if len(rows) == 0 {
		return nil
	}
	if err := s.store.SavePresence(ctx, rows); err != nil {
		for _, p := range flushed {
			p.dirty.Store(true) // try again next time
		}
		return fmt.Errorf("save presence: %w", err)
	}
	for _, r := range rows {
		s.presence.written[r.SubscriptionID] = writtenPresence{sockets: socks[r.SubscriptionID], at: now}
	}
	return nil
}

// Agent is what the hub knows of one subscription's client: who it is
// (the Client string; for the bellhop agent its version and host), where it
// came from, when it was first and last seen, its open WebSockets on every
// node, and the devices it serves.
type Agent struct {
	Subscription bellhop.Subscription
	Integration  bellhop.Integration
	// Client is the last Client string its requests carried; Version and
	// Host are read from it when it is the bellhop agent's
	// ("bellhop-agent/<version> (<host>)").
	Client, Version, Host string
	// Address is the remote address of its last request.
	Address string
	// FirstUtc and LastUtc are its first and last request (zero: never
	// seen).
	FirstUtc, LastUtc time.Time
	// Sockets counts its open WebSockets on every node; ConnectedUtc is when
	// the oldest opened (zero when none is open).
	Sockets      int
	ConnectedUtc time.Time
	// Devices are the devices connected to the subscription, by name.
	Devices []bellhop.Device
}

// Agents returns every unrevoked subscription with what the hub nodes saw
// of its client, the most recently seen first (never seen last, by
// integration name). It merges every node's rows in the store with what
// this node saw since its last flush.
func (s *Service) Agents(ctx context.Context) ([]Agent, error) {
	subs, err := s.store.ListSubscriptions(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	integs, err := s.store.ListIntegrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	rows, err := s.store.ListPresence(ctx)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	now := s.Now()
	bySub := map[string][]bellhop.Presence{}
	for _, r := range rows {
		if r.Node != s.cfg.Node {
			bySub[r.SubscriptionID] = append(bySub[r.SubscriptionID], r)
		}
	}
	// This node's own rows come from memory, which is newer than the store.
	var socks map[string]Sockets
	if s.cfg.Sockets != nil {
		socks = s.cfg.Sockets()
	}
	s.presence.m.Range(func(k, v any) bool {
		sub, p := k.(string), v.(*presence)
		by := p.seen.Load()
		r := bellhop.Presence{SubscriptionID: sub, Node: s.cfg.Node, Client: by.client, Address: by.address,
			FirstUtc: time.Unix(0, p.first).UTC(), LastUtc: time.Unix(0, p.last.Load()).UTC(), UpdatedUtc: now}
		if sk := socks[sub]; sk.Count > 0 {
			r.Sockets, r.ConnectedUtc = sk.Count, sk.Since.UTC()
		}
		bySub[sub] = append(bySub[sub], r)
		return true
	})
	names := map[string]bellhop.Integration{}
	for _, i := range integs {
		names[i.ID] = i
	}
	var out []Agent
	for _, sub := range subs {
		if sub.Revoked {
			continue
		}
		m := bellhop.MergePresence(bySub[sub.ID], now.Add(-presenceStale))
		a := Agent{Subscription: sub, Integration: names[sub.IntegrationID], Client: m.Client, Address: m.Address,
			FirstUtc: m.FirstUtc, LastUtc: m.LastUtc, Sockets: m.Sockets, ConnectedUtc: m.ConnectedUtc}
		if v, h, ok := buildinfo.ParseAgentClient(m.Client); ok {
			a.Version, a.Host = v, h
		}
		devs, err := s.store.ConnectedDevices(ctx, sub.ID)
		if err != nil {
			return nil, fmt.Errorf("agents: %w", err)
		}
		a.Devices = seen(&sub, devs)
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.LastUtc.Equal(b.LastUtc) {
			return a.LastUtc.After(b.LastUtc)
		}
		return strings.ToLower(a.Integration.Name) < strings.ToLower(b.Integration.Name)
	})
	return slices.Clip(out), nil
}
