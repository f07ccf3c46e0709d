package ipp

import (
	"bytes"
	"encoding/binary"
	"image"
)

// Raster formats for IPP Everywhere printers that take no PDF: PWG raster
// (PWG 5102.4) and Apple raster (URF). Both carry pages of 8-bit grey here,
// each line run-length encoded the same way. Written by hand: no Go
// library encodes either.
const (
	formatPWG = "image/pwg-raster"
	formatURF = "image/urf"
)

// rasterPage is a drawn page and how it is to be printed.
type rasterPage struct {
	img    *image.Gray
	dpi    int
	duplex bool // two-sided
	tumble bool // two-sided, short edge
}

// encodePWG writes pages as a PWG raster stream in sGray 8.
func encodePWG(pages []rasterPage) []byte {
	var b bytes.Buffer
	b.WriteString("RaS2")
	for _, p := range pages {
		h := make([]byte, 1796)
		str := func(off int, s string) { copy(h[off:off+64], s) }
		u32 := func(off int, v uint32) { binary.BigEndian.PutUint32(h[off:], v) }
		w, ht := p.img.Rect.Dx(), p.img.Rect.Dy()
		str(0, "PwgRaster")
		u32(272, b2u(p.duplex))
		u32(276, uint32(p.dpi))
		u32(280, uint32(p.dpi))
		u32(352, uint32(w*72/p.dpi)) // PageSize in points
		u32(356, uint32(ht*72/p.dpi))
		u32(368, b2u(p.tumble))
		u32(372, uint32(w))
		u32(376, uint32(ht))
		u32(384, 8)                  // BitsPerColor
		u32(388, 8)                  // BitsPerPixel
		u32(392, uint32(w))          // BytesPerLine
		u32(400, 18)                 // ColorSpace: sGray
		u32(420, 1)                  // NumColors
		u32(452, uint32(len(pages))) // TotalPageCount
		u32(456, 1)                  // CrossFeedTransform
		u32(460, 1)                  // FeedTransform
		u32(472, uint32(w))          // ImageBoxRight
		u32(476, uint32(ht))         // ImageBoxBottom
		u32(480, 0x00FFFFFF)         // AlternatePrimary
		b.Write(h)
		encodeLines(&b, p.img)
	}
	return b.Bytes()
}

// encodeURF writes pages as Apple raster in grey 8.
func encodeURF(pages []rasterPage) []byte {
	var b bytes.Buffer
	b.WriteString("UNIRAST\x00")
	_ = binary.Write(&b, binary.BigEndian, uint32(len(pages)))
	for _, p := range pages {
		h := make([]byte, 32)
		h[0] = 8 // bits per pixel
		h[1] = 0 // sGray
		h[2] = 1 // one-sided
		if p.duplex {
			h[2] = 3 // long edge
			if p.tumble {
				h[2] = 2
			}
		}
		h[3] = 4 // normal quality
		binary.BigEndian.PutUint32(h[12:], uint32(p.img.Rect.Dx()))
		binary.BigEndian.PutUint32(h[16:], uint32(p.img.Rect.Dy()))
		binary.BigEndian.PutUint32(h[20:], uint32(p.dpi))
		b.Write(h)
		encodeLines(&b, p.img)
	}
	return b.Bytes()
}

// encodeLines writes the lines of img in the PackBits-like scheme both
// formats share: a repeat count for identical lines, then runs of equal
// pixels (a count byte 0..127 meaning 1..128, and the pixel) and literal
// stretches (a byte 257-n for n of 2..128 pixels, then the pixels).
func encodeLines(b *bytes.Buffer, img *image.Gray) {
	w := img.Rect.Dx()
	for y := 0; y < img.Rect.Dy(); {
		line := img.Pix[y*img.Stride : y*img.Stride+w]
		rep := 1
		for y+rep < img.Rect.Dy() && rep < 256 && bytes.Equal(line, img.Pix[(y+rep)*img.Stride:(y+rep)*img.Stride+w]) {
			rep++
		}
		b.WriteByte(byte(rep - 1))
		for x := 0; x < w; {
			run := 1
			for x+run < w && run < 128 && line[x+run] == line[x] {
				run++
			}
			if run > 1 || x == w-1 {
				b.WriteByte(byte(run - 1))
				b.WriteByte(line[x])
				x += run
				continue
			}
			// A literal stretch ends where two equal pixels start a run.
			n := 1
			for x+n < w && n < 128 && (x+n+1 >= w || line[x+n] != line[x+n+1]) {
				n++
			}
			if n == 1 {
				b.WriteByte(0)
				b.WriteByte(line[x])
				x++
				continue
			}
			b.WriteByte(byte(257 - n))
			b.Write(line[x : x+n])
			x += n
		}
		y += rep
	}
}

func b2u(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}
