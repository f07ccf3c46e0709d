package drivertest

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// PopplerSize says how large pdftoppm draws a page: Width×Height pixels,
// or DPI dots per inch.
type PopplerSize struct{ Width, Height, DPI int }

// Poppler draws page (from 1) of doc in grayscale with poppler's pdftoppm
// (Debian package poppler-utils), the reference the agent's own rendering
// is checked against. Without pdftoppm the test is skipped, or fails when
// CI is set.
func Poppler(tb testing.TB, doc []byte, page int, size PopplerSize) *image.Gray {
	tb.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		skipOrFail(tb, "pdftoppm not installed (apt-get install poppler-utils)")
	}
	dir := tb.TempDir()
	in := filepath.Join(dir, "in.pdf")
	must(tb, os.WriteFile(in, doc, 0o600))
	p := strconv.Itoa(page)
	args := []string{"-gray", "-singlefile", "-f", p, "-l", p}
	if size.DPI > 0 {
		args = append(args, "-r", strconv.Itoa(size.DPI))
	} else {
		args = append(args, "-scale-to-x", strconv.Itoa(size.Width), "-scale-to-y", strconv.Itoa(size.Height))
	}
	out := filepath.Join(dir, "out")
	if b, err := exec.Command("pdftoppm", append(args, in, out)...).CombinedOutput(); err != nil {
		tb.Fatalf("pdftoppm: %v: %s", err, b)
	}
	b, err := os.ReadFile(out + ".pgm")
	must(tb, err)
	img, err := decodePGM(b)
	must(tb, err)
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

// Agreement compares two pages of the same size after thresholding at
// mid-grey: the share of all pixels that agree, and the share of ink
// pixels (of either page) that the other page also inks within one pixel,
// because two renderers draw the stems of substituted fonts a pixel apart.
func Agreement(a, b *image.Gray) (same, inkNear float64) {
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
	if inked == 0 {
		return float64(agree) / float64(total), 1
	}
	return float64(agree) / float64(total), float64(matched) / float64(inked)
}

// RasterToPDF reads a PWG or Apple raster file with cups-filters'
// rastertopdf (CUPS' own raster reader) and returns the PDF it makes: the
// check that raster the agent wrote is what a printer would read.
func RasterToPDF(tb testing.TB, path string) []byte {
	tb.Helper()
	const filter = "/usr/lib/cups/filter/rastertopdf"
	if _, err := os.Stat(filter); err != nil {
		skipOrFail(tb, "rastertopdf not installed (apt-get install cups-filters)")
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(filter, "1", "bellhop", "raster", "1", "", path)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		tb.Fatalf("rastertopdf %s: %v\n%s", path, err, errOut.Bytes())
	}
	return out.Bytes()
}

// RenderCache is a directory for the PDF renderer's compiled code that the
// test processes of one machine share: compiling PDFium takes a minute
// and more under the race detector, loading it from here a fraction of a
// second. The cache writes each entry atomically, so packages tested in
// parallel may share it.
func RenderCache() string { return filepath.Join(os.TempDir(), "bellhop-test-pdfium-cache") }
