// Package render draws the pages of a PDF as grayscale images for printers
// that take no PDF: receipt printers (ESC/POS raster) and IPP Everywhere
// printers that take only PWG raster or URF.
//
// It runs PDFium, compiled to WebAssembly, in wazero (the
// github.com/klippa-app/go-pdfium webassembly build): pure Go, so the agent
// still cross-compiles to Windows and ARM with cgo off, and PDFium renders
// what printers receive from hotel software, fonts and images included.
// Measured on the 2-core test machine (see the README): compiling the
// module takes about 4 s the first time and 0.2 s once the compiled code
// is cached on disk, a text page at 576 dots takes well under a
// millisecond, and the agent's resident memory grows by about 50 MB while a
// renderer is open. The module is started on first use, once per process,
// and given no file system: documents are passed as bytes.
package render

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/responses"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// MaxPages bounds the pages rendered from one document: a receipt or a
// registration card has a few, and a runaway document must not exhaust the
// agent's memory.
const MaxPages = 50

// ErrNotPDF is wrapped when the document cannot be opened as a PDF.
var ErrNotPDF = errors.New("not a PDF that can be rendered")

var (
	mu       sync.Mutex
	instance pdfium.Pdfium
	initErr  error
)

// start starts the shared PDFium instance on first use. cacheDir, when not
// empty, keeps wazero's compiled code between runs.
func start(cacheDir string) (pdfium.Pdfium, error) {
	if instance != nil || initErr != nil {
		return instance, initErr
	}
	rc := wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling)
	if cacheDir != "" {
		if err := os.MkdirAll(cacheDir, 0o700); err == nil {
			if cache, err := wazero.NewCompilationCacheWithDir(cacheDir); err == nil {
				rc = rc.WithCompilationCache(cache)
			}
		}
	}
	p, err := webassembly.Init(webassembly.Config{MinIdle: 1, MaxIdle: 1, MaxTotal: 1,
		FSConfig: wazero.NewFSConfig(), RuntimeConfig: rc})
	if err != nil {
		initErr = fmt.Errorf("render: starting PDFium: %w", err)
		return nil, initErr
	}
	inst, err := p.GetInstance(time.Minute)
	if err != nil {
		p.Close()
		initErr = fmt.Errorf("render: starting PDFium: %w", err)
		return nil, initErr
	}
	instance = inst // its pool lives as long as the process
	return instance, nil
}

// Start starts the shared PDFium instance now rather than at the first
// page, so that the first receipt of a newly started agent does not wait
// for it; cacheDir as for Pages. It is safe to call more than once.
func Start(cacheDir string) error {
	mu.Lock()
	defer mu.Unlock()
	_, err := start(cacheDir)
	return err
}

// Size says how large to draw each page: Width dots across (the height
// follows the page's shape), or DPI dots per inch.
type Size struct {
	Width int
	DPI   int
}

// Pages draws every page of doc (at most MaxPages) in grayscale on white.
// cacheDir is where compiled code may be kept (see the package
// documentation); "" keeps nothing. It returns an error wrapping ErrNotPDF
// for a document PDFium cannot open, or when ctx ends first (the current
// page is still finished: PDFium cannot be interrupted).
func Pages(ctx context.Context, doc []byte, size Size, cacheDir string) ([]*image.Gray, error) {
	if size.Width <= 0 && size.DPI <= 0 {
		return nil, errors.New("render: no size")
	}
	mu.Lock() // one PDFium instance serves the process, one call at a time
	defer mu.Unlock()
	inst, err := start(cacheDir)
	if err != nil {
		return nil, err
	}
	d, err := inst.OpenDocument(&requests.OpenDocument{File: &doc})
	if err != nil {
		return nil, fmt.Errorf("render: %w: %v", ErrNotPDF, err)
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: d.Document})
	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d.Document})
	if err != nil {
		return nil, fmt.Errorf("render: %w: %v", ErrNotPDF, err)
	}
	if count.PageCount == 0 {
		return nil, fmt.Errorf("render: %w: the document has no pages", ErrNotPDF)
	}
	if count.PageCount > MaxPages {
		return nil, fmt.Errorf("render: the document has %d pages, more than %d", count.PageCount, MaxPages)
	}
	pages := make([]*image.Gray, 0, count.PageCount)
	for i := range count.PageCount {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page := requests.Page{ByIndex: &requests.PageByIndex{Document: d.Document, Index: i}}
		var (
			out     responses.RenderPage
			cleanup func()
		)
		if size.Width > 0 {
			r, rerr := inst.RenderPageInPixels(&requests.RenderPageInPixels{Page: page, Width: size.Width,
				ImageFormat: requests.RenderImageFormatGrayscale})
			if err = rerr; err == nil {
				out, cleanup = r.Result, r.Cleanup
			}
		} else {
			r, rerr := inst.RenderPageInDPI(&requests.RenderPageInDPI{Page: page, DPI: size.DPI,
				ImageFormat: requests.RenderImageFormatGrayscale})
			if err = rerr; err == nil {
				out, cleanup = r.Result, r.Cleanup
			}
		}
		if err != nil {
			return nil, fmt.Errorf("render: page %d: %w", i+1, err)
		}
		// The pixels live in PDFium's memory until cleanup: copy them out.
		src, ok := out.RenderedImage.(*image.Gray)
		if !ok {
			cleanup()
			return nil, fmt.Errorf("render: page %d: PDFium returned %T", i+1, out.RenderedImage)
		}
		img := &image.Gray{Pix: slices.Clone(src.Pix), Stride: src.Stride, Rect: src.Rect}
		cleanup()
		pages = append(pages, img)
	}
	return pages, nil
}
