package socket

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

func open(t *testing.T, addr string) driver.Driver {
	t.Helper()
	d, err := New("socket://"+addr, driver.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSendsEveryCopy(t *testing.T) {
	t.Parallel()
	sink := drivertest.StartTCPSink(t, false)
	d := open(t, sink.Addr())
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res, err := d.Run(context.Background(), drivertest.PrinterJob("cmd-1", drivertest.PDF, 3))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := int64(len(drivertest.PDF) * 3)
	// Run returns after the sink closed, so its count is final.
	sink.WaitBytes(t, want, 5*time.Second)
	if got, conns := sink.Counts(); got != want || conns != 2 {
		t.Errorf("sink got %d bytes on %d connections, want %d on 2 (Check + Run)", got, conns, want)
	}
	if !strings.Contains(res.Notes, "sent ") || !strings.Contains(res.Notes, "(3 copies)") {
		t.Errorf("Notes = %q", res.Notes)
	}
}

func TestCancelClosesTheConnection(t *testing.T) {
	t.Parallel()
	sink := drivertest.StartTCPSink(t, true)
	d := open(t, sink.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	big := bytes.Repeat([]byte("x"), 8<<20) // more than the socket buffers hold
	go func() {
		_, err := d.Run(ctx, drivertest.PrinterJob("cmd-1", big, 2))
		done <- err
	}()
	sink.WaitConns(t, 1, 5*time.Second)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

func TestUnreachableAndBadData(t *testing.T) {
	t.Parallel()
	d := open(t, "127.0.0.1:1")
	if err := d.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "socket: connecting to 127.0.0.1:1") {
		t.Errorf("Check = %v", err)
	}
	job := drivertest.PrinterJob("cmd-1", drivertest.PDF, 1)
	job.Data = []byte(`{"CopyCount":1,"FileData":"not base64!"}`)
	if _, err := d.Run(context.Background(), job); !errors.Is(err, driver.ErrBadData) {
		t.Errorf("Run = %v, want ErrBadData", err)
	}
	if _, err := New("socket://", driver.Options{}); err == nil {
		t.Error("New accepted a target without a host")
	}
}
