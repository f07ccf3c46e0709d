package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// StageSummary condenses the hub's bellhop_stage_seconds histogram of one
// stage over a measured window: how many times the stage ran, its mean and
// its percentiles in milliseconds. The percentiles are interpolated within
// the histogram's buckets (each about 1.41 times the one before), as
// Prometheus' histogram_quantile does, so they are good to about ±20 %.
type StageSummary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	// TotalS is the time spent in the stage over the window, in seconds
	// (summed over concurrent requests, so it may exceed the window).
	TotalS float64 `json:"total_s"`
}

// stageHist is one stage's histogram as scraped: cumulative counts per
// upper bound (ascending, +Inf last), the sum in seconds and the count.
type stageHist struct {
	le     []float64
	counts []float64
	sum    float64
	count  float64
}

// stageOrder is the order in which the report lists the stages: that of a
// create's path through the hub (package stage), unknown ones after.
var stageOrder = []string{"request", "read", "auth", "run", "write_queue", "write_run", "commit", "wal_restart",
	"write_wake", "publish", "socket_queue", "socket_write", "respond"}

// scrapeStages reads the bellhop_stage_seconds histograms from the hub's
// metrics at url. A hub without them (an older build) gives an empty map.
func scrapeStages(ctx context.Context, hc *http.Client, url string) (map[string]*stageHist, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stages: %s", resp.Status)
	}
	return parseStages(resp.Body)
}

// parseStages picks bellhop_stage_seconds out of the text exposition format.
func parseStages(r io.Reader) (map[string]*stageHist, error) {
	out := map[string]*stageHist{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "bellhop_stage_seconds_")
		if !ok {
			continue
		}
		kind, rest, ok := strings.Cut(rest, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("stages: %q: %w", line, err)
		}
		name, le := label(labels, "stage"), label(labels, "le")
		h := out[name]
		if h == nil {
			h = &stageHist{}
			out[name] = h
		}
		switch kind {
		case "bucket":
			bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err != nil {
				return nil, fmt.Errorf("stages: %q: %w", line, err)
			}
			h.le, h.counts = append(h.le, bound), append(h.counts, v)
		case "sum":
			h.sum = v
		case "count":
			h.count = v
		}
	}
	return out, sc.Err()
}

// label returns the value of name in a Prometheus label list.
func label(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// stageSummaries returns what each stage did between two scrapes.
func stageSummaries(before, after map[string]*stageHist) map[string]StageSummary {
	out := map[string]StageSummary{}
	for name, a := range after {
		d := &stageHist{le: a.le, counts: slices.Clone(a.counts), sum: a.sum, count: a.count}
		if b := before[name]; b != nil && len(b.counts) == len(d.counts) {
			for i := range d.counts {
				d.counts[i] -= b.counts[i]
			}
			d.sum -= b.sum
			d.count -= b.count
		}
		if d.count <= 0 {
			continue
		}
		out[name] = StageSummary{Count: int64(d.count), Mean: round3(d.sum / d.count * 1000),
			P50: round3(d.quantile(0.50) * 1000), P90: round3(d.quantile(0.90) * 1000),
			P99: round3(d.quantile(0.99) * 1000), TotalS: round3(d.sum)}
	}
	return out
}

// quantile interpolates the q-quantile linearly within its bucket; in the
// +Inf bucket it answers the highest finite bound.
func (h *stageHist) quantile(q float64) float64 {
	if h.count <= 0 || len(h.le) == 0 {
		return 0
	}
	rank := q * h.count
	lower, below := 0.0, 0.0
	for i, le := range h.le {
		c := h.counts[i]
		if c >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			if c == below {
				return le
			}
			return lower + (le-lower)*(rank-below)/(c-below)
		}
		lower, below = le, c
	}
	return lower
}

// writeStages writes the stage table of a result, read over window seconds.
func writeStages(b *strings.Builder, st map[string]StageSummary, window float64) {
	if len(st) == 0 {
		return
	}
	fmt.Fprintf(b, "| hub stage (ms, over %.1fs) | count | mean | p50 | p90 | p99 | total s |\n| --- | --- | --- | --- | --- | --- | --- |\n", window)
	names := make([]string, 0, len(st))
	for n := range st {
		names = append(names, n)
	}
	slices.SortFunc(names, func(x, y string) int {
		ix, iy := slices.Index(stageOrder, x), slices.Index(stageOrder, y)
		if ix < 0 {
			ix = len(stageOrder)
		}
		if iy < 0 {
			iy = len(stageOrder)
		}
		if ix != iy {
			return ix - iy
		}
		return strings.Compare(x, y)
	})
	for _, n := range names {
		s := st[n]
		fmt.Fprintf(b, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.2f |\n", n, s.Count, s.Mean, s.P50, s.P90, s.P99, s.TotalS)
	}
	b.WriteString("\n")
}
