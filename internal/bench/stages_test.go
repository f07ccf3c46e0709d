package bench

import (
	"math"
	"strings"
	"testing"
)

const stagesBefore = `# HELP bellhop_stage_seconds Time spent in each stage.
# TYPE bellhop_stage_seconds histogram
bellhop_stage_seconds_bucket{stage="commit",le="0.001"} 10
bellhop_stage_seconds_bucket{stage="commit",le="0.002"} 10
bellhop_stage_seconds_bucket{stage="commit",le="0.004"} 10
bellhop_stage_seconds_bucket{stage="commit",le="+Inf"} 10
bellhop_stage_seconds_sum{stage="commit"} 0.005
bellhop_stage_seconds_count{stage="commit"} 10
bellhop_requests_total{operation="commands/update",status="200"} 7
`

const stagesAfter = `bellhop_stage_seconds_bucket{stage="commit",le="0.001"} 60
bellhop_stage_seconds_bucket{stage="commit",le="0.002"} 100
bellhop_stage_seconds_bucket{stage="commit",le="0.004"} 109
bellhop_stage_seconds_bucket{stage="commit",le="+Inf"} 110
bellhop_stage_seconds_sum{stage="commit"} 0.105
bellhop_stage_seconds_count{stage="commit"} 110
bellhop_stage_seconds_bucket{stage="publish",le="0.001"} 0
bellhop_stage_seconds_bucket{stage="publish",le="0.002"} 0
bellhop_stage_seconds_bucket{stage="publish",le="0.004"} 0
bellhop_stage_seconds_bucket{stage="publish",le="+Inf"} 0
bellhop_stage_seconds_sum{stage="publish"} 0
bellhop_stage_seconds_count{stage="publish"} 0
`

// TestStageSummaries checks the difference of two scrapes and the
// percentiles interpolated within buckets, as histogram_quantile does.
func TestStageSummaries(t *testing.T) {
	before, err := parseStages(strings.NewReader(stagesBefore))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseStages(strings.NewReader(stagesAfter))
	if err != nil {
		t.Fatal(err)
	}
	got := stageSummaries(before, after)
	if _, ok := got["publish"]; ok {
		t.Errorf("a stage that did not run is listed: %+v", got)
	}
	c, ok := got["commit"]
	if !ok {
		t.Fatalf("no commit stage in %+v", got)
	}
	// 100 commits in the window: 50 up to 1 ms, 40 in (1, 2] ms, 9 in
	// (2, 4] ms, 1 above.
	want := StageSummary{Count: 100, Mean: 1, P50: 1, P90: 2, P99: 4, TotalS: 0.1}
	if c != want {
		t.Errorf("commit = %+v, want %+v", c, want)
	}
	h := after["commit"]
	if q := h.quantile(0.7); math.Abs(q-0.001425) > 1e-9 { // rank 77 of 110: 17/40 of the way through (1, 2] ms
		t.Errorf("quantile(0.7) = %v, want 0.001425", q)
	}
	if q := h.quantile(1); q != 0.004 {
		t.Errorf("quantile(1) in the +Inf bucket = %v, want the highest bound 0.004", q)
	}
	var b strings.Builder
	writeStages(&b, got, 20)
	if !strings.Contains(b.String(), "| commit | 100 | 1.000 | 1.000 | 2.000 | 4.000 | 0.10 |") {
		t.Errorf("stage table:\n%s", b.String())
	}
}
