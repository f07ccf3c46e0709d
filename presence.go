package bellhop

import "time"

// Presence is what one hub node saw of one subscription's client: the last
// Client string it sent, the address it came from, its first and last
// request, and its open WebSockets. Each node keeps its own and writes it to
// the store now and then (never once per request); a reader merges the nodes'
// rows with MergePresence.
type Presence struct {
	SubscriptionID string
	// Node names the hub node that saw it.
	Node string
	// Client is the last Client string a Connector request carried.
	Client string
	// Address is the remote address (host, without port) of the last request.
	Address string
	// FirstUtc and LastUtc are the first and the last request this node saw
	// (Connector requests and WebSocket upgrades).
	FirstUtc, LastUtc time.Time
	// Sockets counts the WebSockets open on the node; ConnectedUtc is when the
	// oldest of them opened (zero when none is).
	Sockets      int
	ConnectedUtc time.Time
	// UpdatedUtc is when the node wrote the row: a node that stopped writing
	// (it died) no longer vouches for its sockets.
	UpdatedUtc time.Time
}

// MergePresence merges the rows of one subscription from several nodes:
// the earliest first request, the latest last request with its client and
// address, the sockets of every node whose row was written at or after
// fresh, and the earliest of their connection times. Node is "" in the
// result; a nil or empty rows gives the zero Presence.
func MergePresence(rows []Presence, fresh time.Time) Presence {
	var m Presence
	for i, p := range rows {
		if i == 0 {
			m.SubscriptionID = p.SubscriptionID
		}
		if !p.FirstUtc.IsZero() && (m.FirstUtc.IsZero() || p.FirstUtc.Before(m.FirstUtc)) {
			m.FirstUtc = p.FirstUtc
		}
		if !p.LastUtc.Before(m.LastUtc) && !p.LastUtc.IsZero() {
			m.LastUtc = p.LastUtc
			if p.Client != "" {
				m.Client = p.Client
			}
			m.Address = p.Address
		} else if m.Client == "" {
			m.Client = p.Client
		}
		if p.UpdatedUtc.After(m.UpdatedUtc) {
			m.UpdatedUtc = p.UpdatedUtc
		}
		if p.Sockets > 0 && !p.UpdatedUtc.Before(fresh) {
			m.Sockets += p.Sockets
			if m.ConnectedUtc.IsZero() || p.ConnectedUtc.Before(m.ConnectedUtc) {
				m.ConnectedUtc = p.ConnectedUtc
			}
		}
	}
	return m
}
