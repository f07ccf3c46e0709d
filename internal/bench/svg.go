package bench

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Series is one line of a percentile plot.
type Series struct {
	Name   string
	Sample *Sample
}

// Plot geometry, in SVG user units.
const (
	plotW, plotH                       = 820, 500
	marginL, marginR, marginT, marginB = 80, 190, 50, 60
	innerW, innerH                     = plotW - marginL - marginR, plotH - marginT - marginB
	plotPoints                         = 240
	minPlotLatency                     = time.Microsecond
	maxPercentileDecades               = 6 // 99.9999%
	defaultPercentileDecades           = 2 // at least up to 99%
)

var seriesColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// WriteSVG draws a percentile plot of the series: latency on a log scale
// (y) against the percentile on the usual "nines" scale (x: 0%, 90%, 99%,
// 99.9%...), one line per series, and a dashed horizontal line at bound
// when bound > 0. Empty series are left out. It returns the writer's error.
func WriteSVG(w io.Writer, title string, series []Series, bound time.Duration) error {
	bw := bufio.NewWriter(w)
	var live []Series
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	decades := float64(defaultPercentileDecades)
	for _, s := range series {
		if s.Sample == nil || s.Sample.Len() == 0 {
			continue
		}
		live = append(live, s)
		d := s.Sample.Sorted()
		lo, hi = min(lo, max(d[0], minPlotLatency)), max(hi, d[len(d)-1])
		decades = max(decades, min(math.Log10(float64(len(d))), maxPercentileDecades))
	}
	if bound > 0 {
		lo, hi = min(lo, bound), max(hi, bound)
	}
	if len(live) == 0 {
		lo, hi = time.Millisecond, 10*time.Millisecond
	}
	hi = max(hi, minPlotLatency)
	yLo := math.Floor(math.Log10(float64(lo)))
	yHi := math.Ceil(math.Log10(float64(hi)))
	if yHi <= yLo {
		yHi = yLo + 1
	}
	xOf := func(nines float64) float64 { return marginL + nines/decades*innerW }
	yOf := func(d time.Duration) float64 {
		v := math.Log10(float64(max(d, minPlotLatency)))
		return marginT + innerH - (v-yLo)/(yHi-yLo)*innerH
	}

	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotW, plotH, plotW, plotH)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	fmt.Fprintf(bw, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, esc(title))

	// Grid and axes.
	fmt.Fprintf(bw, `<g stroke="#ddd" stroke-width="1">`+"\n")
	for e := yLo; e <= yHi; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if math.Log10(v) > yHi+1e-9 {
				break
			}
			y := yOf(time.Duration(v))
			fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`+"\n", marginL, y, marginL+innerW, y)
		}
	}
	for n := 0.0; n <= decades+1e-9; n++ {
		x := xOf(n)
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", x, marginT, x, marginT+innerH)
	}
	fmt.Fprintf(bw, "</g>\n")
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", marginL, marginT, innerW, innerH)
	for e := yLo; e <= yHi; e++ {
		y := yOf(time.Duration(math.Pow(10, e)))
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n",
			marginL-6, y, esc(latencyLabel(time.Duration(math.Pow(10, e)))))
	}
	for n := 0.0; n <= decades+1e-9; n++ {
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xOf(n), marginT+innerH+18, esc(ninesLabel(n)))
	}
	fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle">percentile</text>`+"\n", marginL+innerW/2, plotH-14)
	fmt.Fprintf(bw, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">latency (log scale)</text>`+"\n", marginT+innerH/2)

	// Lines.
	for i, s := range live {
		d := s.Sample.Sorted()
		top := min(math.Log10(float64(len(d))), decades)
		var pts strings.Builder
		for k := 0; k <= plotPoints; k++ {
			n := top * float64(k) / plotPoints
			v := percentile(d, 100*(1-math.Pow(10, -n)))
			if k == plotPoints && top == math.Log10(float64(len(d))) {
				v = d[len(d)-1]
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", xOf(n), yOf(v))
		}
		color := seriesColors[i%len(seriesColors)]
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.TrimSpace(pts.String()))
		ly := marginT + 10 + i*20
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n",
			marginL+innerW+14, ly, marginL+innerW+38, ly, color)
		fmt.Fprintf(bw, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", marginL+innerW+44, ly,
			esc(fmt.Sprintf("%s (n=%d)", s.Name, len(d))))
	}
	if bound > 0 {
		y := yOf(bound)
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#555" stroke-dasharray="6 4"/>`+"\n",
			marginL, y, marginL+innerW, y)
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" dominant-baseline="middle" fill="#555">%s</text>`+"\n",
			marginL+innerW+14, y, esc("bound "+latencyLabel(bound)))
	}
	fmt.Fprintf(bw, "</svg>\n")
	return bw.Flush()
}

// ninesLabel names the percentile 1-10^-n: 0%, 90%, 99%, 99.9%...
func ninesLabel(n float64) string {
	switch k := int(n); k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	default:
		return "99." + strings.Repeat("9", k-2) + "%"
	}
}

// latencyLabel prints a decade of latency compactly: 1µs, 100µs, 10ms, 1s.
func latencyLabel(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%gms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%gµs", float64(d)/1e3)
	}
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
