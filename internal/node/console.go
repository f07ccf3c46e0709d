package node

import (
	"net/http"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/console"
	"github.com/bellhop/bellhop/internal/realtime"
)

// console returns the web console of a node, fed live by its broker.
func (h *Node) console() http.Handler {
	return console.New(console.Config{Logger: h.log, Now: h.cfg.Now}, h.Service, brokerLive{h.Broker})
}

// brokerLive adapts the realtime broker to console.Live: the console may not
// import realtime (adapters never import each other), so the assembly joins them.
type brokerLive struct{ b *realtime.Broker }

func (l brokerLive) Listen(n int) (<-chan []bellhop.Event, func() bool, func()) {
	ln, stop := l.b.Listen(n)
	return ln.C, ln.Lagged, stop
}

func (l brokerLive) SocketsBySubscription() map[string]int { return l.b.CountBySubscription() }
