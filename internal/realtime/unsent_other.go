//go:build !linux

package realtime

import "net"

// unsent cannot tell what a connection's send queue holds here: events are
// always written by a writer goroutine.
func unsent(net.Conn) (int, bool) { return 0, false }

// tryFD writes nothing here: every write of a socket's own is bounded by a
// write deadline.
func (w *connWriter) tryFD(uintptr) bool {
	w.tried.n = 0
	return true
}
