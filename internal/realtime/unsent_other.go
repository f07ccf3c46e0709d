//go:build !linux

package realtime

import "net"

// unsent cannot tell what a connection's send queue holds here: events are
// always written by a writer goroutine.
func unsent(net.Conn) (int, bool) { return 0, false }
