package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	var s Sample
	for i := 1000; i >= 1; i-- { // 1..1000 ms, added out of order
		s.Add(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0, 1 * time.Millisecond},
		{0.1, 1 * time.Millisecond},
		{50, 500 * time.Millisecond},
		{90, 900 * time.Millisecond},
		{99, 990 * time.Millisecond},
		{99.9, 999 * time.Millisecond},
		{99.95, 1000 * time.Millisecond},
		{100, 1000 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := s.Percentile(tt.p); got != tt.want {
			t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestPercentileSmallSamples(t *testing.T) {
	t.Parallel()
	var empty Sample
	if got := empty.Percentile(99); got != 0 {
		t.Errorf("empty: %v", got)
	}
	if got := empty.Summary(); got != (Summary{}) {
		t.Errorf("empty summary: %+v", got)
	}
	var one Sample
	one.Add(3 * time.Millisecond)
	for _, p := range []float64{0, 50, 99.9, 100} {
		if got := one.Percentile(p); got != 3*time.Millisecond {
			t.Errorf("one sample, p%v = %v", p, got)
		}
	}
	var two Sample
	two.Add(2 * time.Millisecond)
	two.Add(time.Millisecond)
	if got := two.Percentile(50); got != time.Millisecond {
		t.Errorf("p50 of {1,2} = %v, want 1ms (nearest rank)", got)
	}
	if got := two.Percentile(51); got != 2*time.Millisecond {
		t.Errorf("p51 of {1,2} = %v, want 2ms", got)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	var s Sample
	s.Add(-time.Millisecond) // a clock step counts as zero
	for i := 1; i <= 99; i++ {
		s.Add(time.Duration(i) * time.Millisecond)
	}
	got := s.Summary()
	want := Summary{Count: 100, Min: 0, Mean: 49.5, P50: 49, P90: 89, P99: 98, P999: 99, Max: 99}
	if got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
}

// TestPercentileMonotonic checks, on random samples, that percentiles never
// decrease with p and stay within the sample's range.
func TestPercentileMonotonic(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		var s Sample
		n := 1 + r.IntN(500)
		for range n {
			s.Add(time.Duration(r.ExpFloat64() * float64(time.Millisecond)))
		}
		d := s.Sorted()
		prev := time.Duration(-1)
		for p := 0.0; p <= 100; p += 0.37 {
			v := s.Percentile(p)
			if v < prev || v < d[0] || v > d[len(d)-1] {
				t.Fatalf("n=%d p=%v: %v after %v (range %v..%v)", n, p, v, prev, d[0], d[len(d)-1])
			}
			prev = v
		}
	}
}

func BenchmarkSampleSummary(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 100000)
	for i := range vals {
		vals[i] = time.Duration(r.ExpFloat64() * float64(time.Millisecond))
	}
	for b.Loop() {
		var s Sample
		for _, v := range vals {
			s.Add(v)
		}
		_ = s.Summary()
	}
}
