package socket

import (
	"bytes"
	"context"
	"errors"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
	"github.com/bellhop/bellhop/internal/pdf"
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
	sink.WaitConns(t, 1, 30*time.Second) // decoding 16 MB of base64 is slow under the race detector
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

// receipt is a PDF as a hotel's software prints a receipt: text on an A4
// page, most of it white.
var receipt = pdf.Text("Hotel Bellhop", "Room 101 - 2 nights", "Breakfast x2        24.00 EUR",
	"City tax            4.00 EUR", "Total              148.00 EUR")

// TestESCPOSReceipt prints a PDF on an ESC/POS receipt printer: the bytes
// are a reset, GS v 0 raster 576 dots wide (the page drawn and dithered,
// without the blank rest of the A4 page), a feed and a cut, twice for two
// copies; the raster agrees with poppler's drawing of the same page.
func TestESCPOSReceipt(t *testing.T) {
	t.Parallel()
	sink := drivertest.StartTCPSink(t, false)
	d, err := New("socket://"+sink.Addr(), driver.Options{Timeout: 5 * time.Second, Format: driver.FormatESCPOS, CacheDir: drivertest.RenderCache()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Run(context.Background(), drivertest.PrinterJob("cmd-receipt", receipt, 2))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(res.Notes, "as ESC/POS raster (1 pages at 576 dots)") {
		t.Errorf("notes %q", res.Notes)
	}
	got := sink.Received()
	if len(got) != 1 {
		t.Fatalf("%d connections carried data, want 1", len(got))
	}
	one := got[0][:len(got[0])/2]
	if !bytes.Equal(got[0], append(slices.Clone(one), one...)) {
		t.Fatal("the two copies differ")
	}
	img, rest := decodeESCPOS(t, one)
	if !bytes.Equal(rest, append(slices.Clone(escFeed), escCut...)) {
		t.Errorf("after the raster: % x, want a feed and a cut", rest)
	}
	if img.Bounds().Dx() != 576 || img.Bounds().Dy() > 400 {
		t.Errorf("raster %v: want 576 dots wide and the blank rest of the page left out", img.Bounds())
	}
	page := drivertest.Poppler(t, receipt, 1, drivertest.PopplerSize{Width: 576, Height: 816})
	ref := page.SubImage(img.Bounds()).(*image.Gray)
	same, inkNear := drivertest.Agreement(img, ref)
	t.Logf("ESC/POS raster vs pdftoppm: %.2f%% of pixels agree; %.1f%% of ink within one pixel", 100*same, 100*inkNear)
	if same < 0.97 || inkNear < 0.9 {
		t.Errorf("%.2f%% of pixels agree, %.1f%% of ink within a pixel; want at least 97%% and 90%%", 100*same, 100*inkNear)
	}

	// What is not a PDF cannot be drawn: a clear error, nothing sent.
	_, err = d.Run(context.Background(), drivertest.PrinterJob("cmd-text", []byte("plain text"), 1))
	if err == nil || !strings.Contains(err.Error(), "not a PDF") {
		t.Errorf("Run(text) = %v, want a not-a-PDF error", err)
	}
}

// decodeESCPOS reads ESC @ and GS v 0 bands back into an image (black 0,
// white 255) and returns what follows the last band.
func decodeESCPOS(t *testing.T, b []byte) (*image.Gray, []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, escInit) {
		t.Fatalf("job starts % x, want ESC @", b[:min(8, len(b))])
	}
	b = b[len(escInit):]
	var rows [][]byte
	width := 0
	for bytes.HasPrefix(b, []byte{0x1D, 0x76, 0x30, 0}) && len(b) >= 8 {
		w, h := int(b[4])|int(b[5])<<8, int(b[6])|int(b[7])<<8
		if width != 0 && w != width {
			t.Fatalf("band width %d after %d", w, width)
		}
		width, b = w, b[8:]
		if len(b) < w*h || h > rasterBand {
			t.Fatalf("band of %d rows (%d bytes each) with %d bytes left", h, w, len(b))
		}
		for range h {
			rows = append(rows, b[:w])
			b = b[w:]
		}
	}
	img := image.NewGray(image.Rect(0, 0, width*8, len(rows)))
	for y, row := range rows {
		for x := range width * 8 {
			if row[x/8]&(0x80>>(x%8)) != 0 {
				img.Pix[y*img.Stride+x] = 0
			} else {
				img.Pix[y*img.Stride+x] = 255
			}
		}
	}
	return img, b
}

// TestPrinterKeepsConnectionOpen: the printer reads every byte but never
// closes its side. The job is Processed with a note rather than Error,
// because the printer has it; with waiteof=false the driver does not wait.
func TestPrinterKeepsConnectionOpen(t *testing.T) {
	t.Parallel()
	sink := drivertest.StartKeepOpenSink(t)
	for _, target := range []string{"socket://" + sink.Addr(), "socket://" + sink.Addr() + "?waiteof=false"} {
		d, err := New(target, driver.Options{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := d.Run(context.Background(), drivertest.PrinterJob("cmd-open", drivertest.PDF, 1))
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: Run = %v, want Processed", target, err)
		}
		kept := strings.Contains(res.Notes, "kept the connection open")
		if waits := !strings.Contains(target, "waiteof=false"); kept != waits || (waits && took < eofWait) || (!waits && took > eofWait) {
			t.Errorf("%s: notes %q after %v", target, res.Notes, took)
		}
	}
	sink.WaitBytes(t, int64(2*len(drivertest.PDF)), 5*time.Second)
	if _, err := New("socket://printer?waiteof=maybe", driver.Options{}); err == nil {
		t.Error("New accepted waiteof=maybe")
	}
	if _, err := New("socket://printer?speed=9600", driver.Options{}); err == nil {
		t.Error("New accepted an unknown option")
	}
}

func TestRefusedIsNotDone(t *testing.T) {
	t.Parallel()
	_, err := open(t, "127.0.0.1:1").Run(context.Background(), drivertest.PrinterJob("cmd-1", drivertest.PDF, 1))
	if !driver.IsNotDone(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run = %v, want a not-done connection refused error", err)
	}
}
