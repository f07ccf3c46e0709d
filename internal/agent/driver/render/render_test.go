package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bellhop/bellhop/internal/pdf"
)

// Documents like those hotels print: a receipt of text lines, and a card
// with rules, boxes and large type.
var (
	receiptPDF = pdf.Text("Hotel Bellhop", "Room 101 - 2 nights", "Breakfast x2        24.00 EUR",
		"City tax            4.00 EUR", "Total              148.00 EUR", "Thank you for staying with us")
	cardPDF = pdf.Page("0 0 0 RG 4 w 40 40 515 762 re S\n0.5 g 60 600 475 120 re f\n0 g 60 400 200 150 re f\n" +
		"BT /F1 48 Tf 80 640 Td (KEY CARD) Tj ET\nBT /F1 18 Tf 300 480 Td (Room 314) Tj ET\n" +
		"1 w 60 380 m 535 380 l S 60 360 m 535 360 l S\n")
)

func TestPagesAndErrors(t *testing.T) {
	t.Parallel()
	pages, err := Pages(context.Background(), receiptPDF, Size{Width: 576}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || pages[0].Bounds().Dx() != 576 || pages[0].Bounds().Dy() != 816 {
		t.Fatalf("pages %d, first %v; want one A4 page 576 dots wide", len(pages), pages[0].Bounds())
	}
	if ink(pages[0]) == 0 {
		t.Error("the page is blank")
	}
	for name, doc := range map[string][]byte{"damaged": []byte("%PDF-1.4\n"), "text": []byte("hello")} {
		if _, err := Pages(context.Background(), doc, Size{Width: 576}, ""); !errors.Is(err, ErrNotPDF) {
			t.Errorf("%s: err = %v, want ErrNotPDF", name, err)
		}
	}
}

// TestAgreesWithPoppler renders the same pages with PDFium (here) and with
// poppler's pdftoppm, both in grayscale at the same size, thresholds both
// at mid-grey, and compares them pixel by pixel. Anti-aliasing differs
// between the two at the edges of glyphs, so agreement is high but not
// total; the figure is in the README.
func TestAgreesWithPoppler(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftoppm not installed (apt-get install poppler-utils)")
		}
		t.Skip("pdftoppm not installed (apt-get install poppler-utils)")
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		size Size
	}{
		{"receipt at 576 dots", receiptPDF, Size{Width: 576}},
		{"card at 576 dots", cardPDF, Size{Width: 576}},
		{"receipt at 150 dpi", receiptPDF, Size{DPI: 150}},
		{"card at 150 dpi", cardPDF, Size{DPI: 150}},
	} {
		ours, err := Pages(context.Background(), tc.doc, tc.size, "")
		if err != nil {
			t.Fatal(err)
		}
		theirs := poppler(t, tc.doc, tc.size, ours[0].Bounds())
		same, inkNear := agreement(ours[0], theirs)
		t.Logf("%s: %.2f%% of pixels agree; %.1f%% of ink within one pixel", tc.name, 100*same, 100*inkNear)
		if same < 0.99 {
			t.Errorf("%s: %.2f%% of pixels agree with pdftoppm, want at least 99%%", tc.name, 100*same)
		}
		if inkNear < 0.95 {
			t.Errorf("%s: %.1f%% of ink within one pixel of pdftoppm's, want at least 95%%", tc.name, 100*inkNear)
		}
	}
}

// poppler renders doc's first page with pdftoppm at the size of want.
func poppler(t *testing.T, doc []byte, size Size, want image.Rectangle) *image.Gray {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-gray", "-singlefile", "-f", "1", "-l", "1"}
	if size.Width > 0 {
		args = append(args, "-scale-to-x", strconv.Itoa(want.Dx()), "-scale-to-y", strconv.Itoa(want.Dy()))
	} else {
		args = append(args, "-r", strconv.Itoa(size.DPI))
	}
	out := filepath.Join(dir, "out")
	if b, err := exec.Command("pdftoppm", append(args, in, out)...).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, b)
	}
	b, err := os.ReadFile(out + ".pgm")
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodePGM(b)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != want {
		t.Fatalf("pdftoppm drew %v, PDFium %v", img.Bounds(), want)
	}
	return img
}

// decodePGM reads a binary 8-bit PGM (P5), pdftoppm's -gray output.
func decodePGM(b []byte) (*image.Gray, error) {
	var w, h, maxv int
	r := bytes.NewReader(b)
	if _, err := fmt.Fscan(r, new(string), &w, &h, &maxv); err != nil || maxv != 255 || !bytes.HasPrefix(b, []byte("P5")) {
		return nil, fmt.Errorf("not an 8-bit PGM: %v", err)
	}
	if _, err := r.ReadByte(); err != nil { // the one white-space byte before the pixels
		return nil, err
	}
	pix := b[len(b)-r.Len():]
	if len(pix) != w*h {
		return nil, fmt.Errorf("PGM has %d bytes of pixels, want %d", len(pix), w*h)
	}
	return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
}

// agreement compares two pages after thresholding at mid-grey: the share
// of all pixels that agree, and the share of ink pixels (of either page)
// that the other page also inks within one pixel, because the two render
// stems of substituted fonts a pixel apart.
func agreement(a, b *image.Gray) (same, inkNear float64) {
	on := func(img *image.Gray, x, y int) bool {
		return image.Pt(x, y).In(img.Rect) && img.GrayAt(x, y).Y < 128
	}
	near := func(img *image.Gray, x, y int) bool {
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				if on(img, x+dx, y+dy) {
					return true
				}
			}
		}
		return false
	}
	var agree, total, inked, matched int
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			ia, ib := on(a, x, y), on(b, x, y)
			total++
			if ia == ib {
				agree++
			}
			if ia {
				inked++
				if near(b, x, y) {
					matched++
				}
			}
			if ib {
				inked++
				if near(a, x, y) {
					matched++
				}
			}
		}
	}
	return float64(agree) / float64(total), float64(matched) / float64(inked)
}

func ink(img *image.Gray) (n int) {
	for _, p := range img.Pix {
		if p < 128 {
			n++
		}
	}
	return n
}
