package cli

import (
	"net/http"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/console"
	"github.com/bellhop/bellhop/internal/realtime"
)

// consoleHandler mounts the web console; serve uses it.
var consoleHandler = ConsoleHandler

// ConsoleHandler returns the web console of a hub, fed live by its broker.
// It is exported so tests can start a whole hub with the console mounted.
func ConsoleHandler(h *Hub) http.Handler {
	return console.New(console.Config{Logger: h.log, Now: h.cfg.Now}, h.Service, brokerLive{h.Broker})
}

// brokerLive adapts the realtime broker to console.Live: the console may not
// import realtime (adapters never import each other), so the CLI joins them.
type brokerLive struct{ b *realtime.Broker }

func (l brokerLive) Listen(n int) (<-chan []bellhop.Event, func() bool, func()) {
	ln, stop := l.b.Listen(n)
	return ln.C, ln.Lagged, stop
}

func (l brokerLive) SocketsBySubscription() map[string]int { return l.b.CountBySubscription() }
