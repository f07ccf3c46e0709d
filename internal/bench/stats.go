package bench

import (
	"math"
	"slices"
	"time"
)

// Summary condenses a latency sample. The percentiles are nearest-rank
// percentiles of the exact sample (every observation is kept and sorted, so
// there is no bucketing error). Durations are in milliseconds in JSON.
type Summary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Sample is a set of latencies. It is not safe for concurrent use.
type Sample struct {
	d      []time.Duration
	sorted bool
}

// Add records one latency; negative values (a clock step) count as zero.
func (s *Sample) Add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	s.d = append(s.d, d)
	s.sorted = false
}

// Len returns the number of latencies recorded.
func (s *Sample) Len() int { return len(s.d) }

// Sorted returns the latencies in ascending order. The slice is shared:
// do not change it.
func (s *Sample) Sorted() []time.Duration {
	if !s.sorted {
		slices.Sort(s.d)
		s.sorted = true
	}
	return s.d
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// the sample: the smallest latency that at least p% of the sample do not
// exceed. It returns 0 for an empty sample; p <= 0 gives the minimum.
func (s *Sample) Percentile(p float64) time.Duration {
	return percentile(s.Sorted(), p)
}

// percentile is Percentile over an already sorted slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// A small epsilon keeps 99.9% of 1000 at rank 999, not 1000, when the
	// product comes out as 999.0000000001.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Summary returns the count, mean, extremes and usual percentiles.
func (s *Sample) Summary() Summary {
	d := s.Sorted()
	if len(d) == 0 {
		return Summary{}
	}
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Summary{Count: int64(len(d)), Min: ms(d[0]), Mean: ms(sum / time.Duration(len(d))),
		P50: ms(percentile(d, 50)), P90: ms(percentile(d, 90)), P99: ms(percentile(d, 99)),
		P999: ms(percentile(d, 99.9)), Max: ms(d[len(d)-1])}
}

// ms converts to milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
