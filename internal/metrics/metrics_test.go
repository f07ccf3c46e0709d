package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/stage"
)

type noStats struct{}

func (noStats) Stats(context.Context, string) (map[string]bellhop.DeviceStats, error) {
	return nil, nil
}

// TestStagesExported checks that every stage has its series from the start
// and that an observation lands in its stage's histogram.
func TestStagesExported(t *testing.T) {
	st := NewStages()
	h := NewHub(func() int { return 0 }, noStats{}, st)
	st.Observe(stage.Commit, 3*time.Millisecond)
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, s := range stage.All() {
		if !strings.Contains(text, `bellhop_stage_seconds_count{stage="`+s.String()+`"}`) {
			t.Errorf("no series for stage %s", s)
		}
	}
	if !strings.Contains(text, `bellhop_stage_seconds_count{stage="commit"} 1`) {
		t.Errorf("the commit observation is missing:\n%s", text)
	}
	if n := testing.AllocsPerRun(100, func() { st.Observe(stage.Publish, time.Millisecond) }); n != 0 {
		t.Errorf("Observe allocates %v times, want 0", n)
	}
}

// BenchmarkStageObserve prices timing one stage as the hub does: a clock
// read and an observation.
func BenchmarkStageObserve(b *testing.B) {
	obs := stage.Observer(NewStages().Observe)
	b.ReportAllocs()
	t := time.Now()
	for b.Loop() {
		t = obs.Since(stage.Commit, t)
	}
}

// BenchmarkStageObserveParallel is the same from every core at once: the
// histogram's counters are shared.
func BenchmarkStageObserveParallel(b *testing.B) {
	obs := stage.Observer(NewStages().Observe)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		t := time.Now()
		for pb.Next() {
			t = obs.Since(stage.Commit, t)
		}
	})
}

// TestRequestsAndStatesCounted: each operation and status, and each state
// entered, is counted in its own series.
func TestRequestsAndStatesCounted(t *testing.T) {
	h := NewHub(func() int { return 0 }, noStats{}, nil)
	h.ObserveRequest("commands/update", 200, time.Millisecond)
	h.ObserveRequest("commands/update", 200, time.Millisecond)
	h.ObserveRequest("commands/update", 400, time.Millisecond)
	h.ObserveRequest("", 404, time.Millisecond)
	p := Publisher{Next: discard{}, Hub: h}
	p.Publish([]bellhop.Event{{StateChange: true, State: bellhop.Received}, {StateChange: true, State: bellhop.Processed},
		{StateChange: false, State: bellhop.Processed}, {StateChange: true, State: bellhop.Received}})
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`bellhop_requests_total{operation="commands/update",status="200"} 2`,
		`bellhop_requests_total{operation="commands/update",status="400"} 1`,
		`bellhop_requests_total{operation="unknown",status="404"} 1`,
		`bellhop_request_duration_seconds_count{operation="commands/update"} 3`,
		`bellhop_command_state_changes_total{state="Received"} 2`,
		`bellhop_command_state_changes_total{state="Processed"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in:\n%s", want, text)
		}
	}
}

type discard struct{}

func (discard) Publish([]bellhop.Event) {}
func (discard) DevicesChanged(string)   {}
func (discard) Revoked(string)          {}

// BenchmarkObserveRequest prices counting a request, as the Connector API
// does after each.
func BenchmarkObserveRequest(b *testing.B) {
	h := NewHub(func() int { return 0 }, noStats{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ObserveRequest("commands/update", 200, time.Millisecond)
	}
}
