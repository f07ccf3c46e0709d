package render

import (
	"context"
	"errors"
	"image"
	"testing"

	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
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
	pages, err := Pages(context.Background(), receiptPDF, Size{Width: 576}, drivertest.RenderCache())
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
		if _, err := Pages(context.Background(), doc, Size{Width: 576}, drivertest.RenderCache()); !errors.Is(err, ErrNotPDF) {
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
		ours, err := Pages(context.Background(), tc.doc, tc.size, drivertest.RenderCache())
		if err != nil {
			t.Fatal(err)
		}
		var theirs *image.Gray
		if tc.size.Width > 0 {
			theirs = drivertest.Poppler(t, tc.doc, 1, drivertest.PopplerSize{Width: ours[0].Bounds().Dx(), Height: ours[0].Bounds().Dy()})
		} else {
			theirs = drivertest.Poppler(t, tc.doc, 1, drivertest.PopplerSize{DPI: tc.size.DPI})
		}
		if theirs.Bounds() != ours[0].Bounds() {
			t.Fatalf("%s: pdftoppm drew %v, PDFium %v", tc.name, theirs.Bounds(), ours[0].Bounds())
		}
		same, inkNear := drivertest.Agreement(ours[0], theirs)
		t.Logf("%s: %.2f%% of pixels agree; %.1f%% of ink within one pixel", tc.name, 100*same, 100*inkNear)
		if same < 0.99 {
			t.Errorf("%s: %.2f%% of pixels agree with pdftoppm, want at least 99%%", tc.name, 100*same)
		}
		if inkNear < 0.95 {
			t.Errorf("%s: %.1f%% of ink within one pixel of pdftoppm's, want at least 95%%", tc.name, 100*inkNear)
		}
	}
}

func ink(img *image.Gray) (n int) {
	for _, p := range img.Pix {
		if p < 128 {
			n++
		}
	}
	return n
}

// BenchmarkPages draws a one-page receipt as a receipt printer needs it
// (576 dots wide) and as a raster printer does (A4 at 300 dpi), once the
// shared PDFium instance runs:
//
//	go test -run XXX -bench Pages ./internal/agent/driver/render/
func BenchmarkPages(b *testing.B) {
	for _, tc := range []struct {
		name string
		size Size
	}{{"576dots", Size{Width: 576}}, {"300dpi", Size{DPI: 300}}} {
		b.Run(tc.name, func(b *testing.B) {
			if _, err := Pages(context.Background(), cardPDF, tc.size, drivertest.RenderCache()); err != nil { // starts PDFium
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := Pages(context.Background(), cardPDF, tc.size, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
