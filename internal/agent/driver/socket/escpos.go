package socket

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
)

// ESC/POS commands (Epson's receipt printer language, spoken by nearly
// every 58 and 80 mm thermal printer).
var (
	escInit = []byte{0x1B, 0x40}             // ESC @: reset
	escFeed = []byte{0x1B, 0x64, 4}          // ESC d 4: feed four lines past the tear bar
	escCut  = []byte{0x1D, 0x56, 0x42, 0x00} // GS V 66 0: feed to the cutter and cut partially
)

// rasterBand bounds the rows of one GS v 0 command: printers buffer a band
// before printing it, and some hold no more than this.
const rasterBand = 256

// escposDocument turns pages (grayscale, as rendered) into an ESC/POS job:
// each page dithered to black and white, its blank rows at the bottom left
// out so that an A4 page does not feed a metre of paper, sent as GS v 0
// raster bands, then a feed and a cut; copies repeat it.
func escposDocument(pages []*image.Gray, copies int) []byte {
	var one bytes.Buffer
	one.Write(escInit)
	for _, p := range pages {
		writeRaster(&one, dither(p))
	}
	one.Write(escFeed)
	one.Write(escCut)
	return bytes.Repeat(one.Bytes(), copies)
}

var blackWhite = color.Palette{color.Black, color.White}

// dither maps a grayscale page to black and white with Floyd-Steinberg
// error diffusion, which keeps greys and photos recognisable and text sharp.
func dither(g *image.Gray) *image.Paletted {
	p := image.NewPaletted(g.Bounds(), blackWhite)
	draw.FloydSteinberg.Draw(p, g.Bounds(), g, g.Bounds().Min)
	return p
}

// writeRaster writes a page as GS v 0 bands, 1 bit per dot, most
// significant bit first, 1 for black, without its blank rows at the bottom.
func writeRaster(w *bytes.Buffer, p *image.Paletted) {
	b := p.Bounds()
	width := (b.Dx() + 7) / 8
	rows := b.Dy()
	for rows > 1 && blankRow(p, b.Min.Y+rows-1) {
		rows--
	}
	for top := 0; top < rows; top += rasterBand {
		h := min(rasterBand, rows-top)
		w.Write([]byte{0x1D, 0x76, 0x30, 0, byte(width), byte(width >> 8), byte(h), byte(h >> 8)})
		line := make([]byte, width)
		for y := b.Min.Y + top; y < b.Min.Y+top+h; y++ {
			clear(line)
			for x := 0; x < b.Dx(); x++ {
				if p.ColorIndexAt(b.Min.X+x, y) == 0 { // black
					line[x/8] |= 0x80 >> (x % 8)
				}
			}
			w.Write(line)
		}
	}
}

func blankRow(p *image.Paletted, y int) bool {
	row := p.Pix[(y-p.Rect.Min.Y)*p.Stride : (y-p.Rect.Min.Y)*p.Stride+p.Rect.Dx()]
	return !bytes.Contains(row, []byte{0})
}
