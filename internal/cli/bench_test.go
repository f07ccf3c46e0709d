package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/bench"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestBenchSteady runs the steady scenario briefly against an in-process hub
// and checks the accounting, not the timings.
func TestBenchSteady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub and 10 agents for a few seconds")
	}
	t.Parallel()
	out := t.TempDir()
	// The progress line and the hub's warnings write stderr from their
	// own goroutines.
	var stdout, stderr hubtest.Buffer
	g := &Globals{LogFormat: "text", LogLevel: "info", stdout: &stdout, stderr: &stderr}
	// Drain only bounds the wait for the last commands (it ends as soon as
	// every one is done): on a loaded machine with the race detector the
	// hub may need far longer than the run itself to work off its backlog.
	cmd := &BenchCmd{Scenario: bench.ScenarioSteady, Agents: 10, DevicesPerAgent: 2, AgentsPerProducer: 4, Rate: 50,
		Duration: time.Second, Warmup: 500 * time.Millisecond, Drain: 3 * time.Minute, MaxInFlight: 100,
		Bound: 100 * time.Millisecond, Out: out, Sync: "normal"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cmd.Run(ctx, g); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}

	files, err := filepath.Glob(filepath.Join(out, "steady-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("result files %v (%v)", files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	res := rep.Result
	if res == nil {
		t.Fatalf("no result: %s", raw)
	}
	if res.Sent == 0 || res.Created != res.Sent || res.Processed != res.Created {
		t.Errorf("sent %d, created %d, processed %d: want all equal and non-zero", res.Sent, res.Created, res.Processed)
	}
	if res.Lost != 0 || res.Failed != 0 || res.MissedEvents != 0 || len(rep.Errors) != 0 {
		t.Errorf("lost %d, failed %d, missed events %d, errors %v", res.Lost, res.Failed, res.MissedEvents, rep.Errors)
	}
	for _, k := range []string{"create", "event", "lifecycle"} {
		if res.Latency[k].Count != res.Processed {
			t.Errorf("%s latency has %d samples, want %d", k, res.Latency[k].Count, res.Processed)
		}
	}
	if res.CPU == nil || res.CPU.Seconds <= 0 || res.RSSBytes <= 0 {
		t.Errorf("resource usage missing: cpu %+v rss %d", res.CPU, res.RSSBytes)
	}
	if rep.Producers != 3 || !rep.InProcess {
		t.Errorf("producers %d, in-process %v", rep.Producers, rep.InProcess)
	}
	if !strings.Contains(stdout.String(), "| lifecycle | ") {
		t.Errorf("stdout lacks the Markdown table:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "\rsteady:") {
		t.Errorf("stderr lacks the progress line:\n%s", stderr.String())
	}
	for _, ext := range []string{".md", ".svg"} {
		if _, err := os.Stat(strings.TrimSuffix(files[0], ".json") + ext); err != nil {
			t.Error(err)
		}
	}
}
