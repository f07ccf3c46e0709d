package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/node"
)

// Frame opcodes (RFC 6455 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// FuzzClientFrames opens a raw WebSocket to a real hub and sends one
// arbitrary client frame (any opcode, reserved bits, fragmentation, payload)
// followed by arbitrary bytes. Clients must send nothing but control frames:
// a data frame closes the socket with 1008 (policy). Whatever arrives, the
// hub stays healthy: another tenant's open socket still gets its events and
// /healthz answers.
func FuzzClientFrames(f *testing.F) {
	// Sockets close as the hub notices; the cap would refuse a fast fuzzer.
	e := start(f, func(c *node.Config) { c.Realtime.MaxSocketsPerSubscription = 1 << 20 })
	watcher := e.tenant("Watcher")
	sender := e.tenant("Sender")
	watching := e.dial(watcher)

	closeBody := func(code uint16, reason string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, code), reason...)
	}
	f.Add(uint8(opText), uint8(0), true, []byte(`{"Events":[]}`), []byte(nil))
	f.Add(uint8(opBinary), uint8(0), true, []byte{0, 1, 2}, []byte(nil))
	f.Add(uint8(opText), uint8(0), false, []byte("frag"), frame(opContinuation, 0, true, []byte("ment")))
	f.Add(uint8(opText), uint8(0), true, make([]byte, 70000), []byte(nil))
	f.Add(uint8(opText), uint8(0), true, []byte{0xff, 0xfe}, []byte(nil)) // not UTF-8
	f.Add(uint8(opPing), uint8(0), true, []byte("ping"), frame(opText, 0, true, []byte("after ping")))
	f.Add(uint8(opPing), uint8(0), true, make([]byte, 200), []byte(nil)) // control frame too long
	f.Add(uint8(opPing), uint8(0), false, []byte("x"), []byte(nil))      // fragmented control frame
	f.Add(uint8(opPong), uint8(0), true, []byte("unsolicited"), []byte(nil))
	f.Add(uint8(opPong), uint8(0), false, []byte("0"), []byte(nil))
	f.Add(uint8(0x1d), uint8(0), true, []byte("0"), []byte(nil))
	f.Add(uint8(opClose), uint8(0), true, closeBody(1000, "bye"), []byte(nil))
	f.Add(uint8(opClose), uint8(0), true, closeBody(999, "bad code"), []byte(nil))
	f.Add(uint8(opClose), uint8(0), true, []byte{3}, []byte(nil))
	f.Add(uint8(3), uint8(0), true, []byte("reserved opcode"), []byte(nil))
	f.Add(uint8(opText), uint8(4), true, []byte("rsv1 without compression"), []byte(nil))
	f.Add(uint8(opContinuation), uint8(0), true, []byte("continuation first"), []byte(nil))
	f.Add(uint8(opPing), uint8(0), true, []byte(nil), []byte{0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // 2^64-1 length

	f.Fuzz(func(t *testing.T, opcode, rsv uint8, fin bool, payload, trailing []byte) {
		if len(payload) > 1<<17 || len(trailing) > 1<<17 {
			return
		}
		e := *e
		e.t = t
		conn, br := handshake(t, e.Addr(), sender)
		defer conn.Close()
		opcode &= 0xf
		rsv &= 0x7
		msg := append(frame(opcode, rsv, fin, payload), trailing...)
		conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not a wait
		if _, err := conn.Write(msg); err != nil && !isClosed(err) {
			t.Fatalf("write: %v", err)
		}
		if rsv == 0 && (opcode == opText || opcode == opBinary) {
			// A data message: the hub closes with 1008.
			code, err := closeCode(br)
			if err != nil {
				t.Fatalf("no close frame after a data message: %v", err)
			}
			if code != 1008 {
				t.Fatalf("close code %d after a data message, want 1008", code)
			}
		}
		conn.Close()
		// The hub is healthy: another socket hears of a new command, and
		// the health check answers.
		id := e.addPrinter(watcher)
		watching.expect(t, id, bellhop.Pending)
		if r := e.do(http.MethodGet, "/healthz", nil); r.Status != 200 {
			t.Fatalf("healthz %d", r.Status)
		}
	})
}

// isClosed reports a write that failed because the hub closed the
// connection first (it may, once it has read enough to refuse).
func isClosed(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// frame encodes one client frame: masked, as RFC 6455 requires of clients.
func frame(opcode, rsv uint8, fin bool, payload []byte) []byte {
	b0 := opcode&0xf | (rsv&0x7)<<4
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n <= 0xffff:
		out = binary.BigEndian.AppendUint16(append(out, 0x80|126), uint16(n))
	default:
		out = binary.BigEndian.AppendUint64(append(out, 0x80|127), uint64(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i%4])
	}
	return out
}

// handshake opens a WebSocket by hand, so that any bytes can follow.
func handshake(t testing.TB, addr string, tn *tenant) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not a wait
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET /ws/connector HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nCookie: ClientToken=%s; AccessToken=%s\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key), tn.ClientToken, tn.AccessToken)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		t.Fatalf("handshake: %s", resp.Status)
	}
	return conn, br
}

// closeCode reads server frames until a close frame and returns its code
// (1005 when it has none).
func closeCode(r *bufio.Reader) (int, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return 0, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return 0, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 1<<20 {
			return 0, fmt.Errorf("server frame of %d bytes", n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, err
		}
		if h[0]&0xf == opClose {
			if len(payload) < 2 {
				return 1005, nil
			}
			return int(binary.BigEndian.Uint16(payload)), nil
		}
	}
}
