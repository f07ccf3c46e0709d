package realtime

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unsent reports how many bytes conn's kernel send queue holds that the
// peer has not acknowledged yet (SIOCOUTQ), and whether it could tell.
func unsent(conn net.Conn) (int, bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	n, ierr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil || ierr != nil {
		return 0, false
	}
	return n, true
}

// tryFD writes w.tried.p to fd once, never waiting, and puts in
// w.tried.n how many bytes the kernel took (negative on an error).
func (w *connWriter) tryFD(fd uintptr) bool {
	w.tried.n, _ = unix.Write(int(fd), w.tried.p)
	return true // done, whatever came of it: never wait
}
