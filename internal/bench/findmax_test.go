package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// findMaxConfig is a short find-max on 20 agents. Its bound is one no step
// can hold, so the search halves the rate from 4/s until it is below 1/s:
// three steps, of 6, 3 and 1 commands.
func findMaxConfig(hub node.Config, progress *hubtest.Buffer) Config {
	hub.Logger = hubtest.Logger()
	// Drain only bounds the wait for the last commands: with the race
	// detector on a loaded machine the hub may need long.
	return Config{Hub: hub, Agents: 20, AgentsPerProducer: 10, Rate: 4, Duration: time.Second,
		Warmup: 500 * time.Millisecond, FindMax: true, Bound: time.Nanosecond, Drain: time.Minute,
		Progress: progress, Logger: hubtest.Logger()}
}

// stepCommands is how many commands a find-max step of cfg sends at rate.
func stepCommands(cfg Config, rate float64) int {
	return openLoop(time.Time{}, rate, cfg.Warmup, cfg.Duration).n
}

// runFindMax runs cfg and checks the search: three steps, by method, with
// no error and nothing lost.
func runFindMax(t *testing.T, cfg Config, method string) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("find-max: %v\n%s", err, cfg.Progress.(*hubtest.Buffer))
	}
	fm := rep.FindMax
	if fm == nil || fm.Method != method || len(fm.Steps) != 3 || fm.MaxRate != 0 {
		t.Fatalf("find-max %+v, want 3 failed steps by %q", fm, method)
	}
	for _, st := range fm.Steps {
		if st.Errors != 0 || st.Lost != 0 || st.PrepareSeconds < 0 {
			t.Errorf("step %+v: want no error, nothing lost", st)
		}
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v", rep.Errors)
	}
	return rep
}

// commandsIn counts the enterprises and the Processed commands of the
// SQLite database in dir, and fails on a command in another state.
func commandsIn(t *testing.T, dir string) (enterprises, processed int) {
	t.Helper()
	st, err := node.OpenStore(t.Context(), node.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ents, err := st.ListEnterprises(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := st.ListCommands(t.Context(), bellhop.CommandFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.State != bellhop.Processed {
			t.Errorf("%s: command %s is %s", dir, c.ID, c.State)
		}
	}
	return len(ents), len(cmds)
}

// TestFindMaxFreshHub runs a short find-max in process on SQLite: every
// step has a database of its own, which holds its topology and its
// commands and nothing of the steps before.
func TestFindMaxFreshHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hubs of 20 agents")
	}
	t.Parallel()
	dir := t.TempDir()
	var progress hubtest.Buffer
	cfg := findMaxConfig(node.Config{DataDir: dir}, &progress)
	rep := runFindMax(t, cfg, MethodFreshHub)
	for i, st := range rep.FindMax.Steps {
		ents, cmds := commandsIn(t, filepath.Join(dir, fmt.Sprintf("step-%d", i+1)))
		if want := stepCommands(cfg, st.Rate); ents != cfg.Agents || cmds != want {
			t.Errorf("step %d at %g/s: %d enterprises and %d commands, want %d and %d", i+1, st.Rate, ents, cmds, cfg.Agents, want)
		}
		if st.PrepareSeconds <= 0 {
			t.Errorf("step %d: prepared in %gs", i+1, st.PrepareSeconds)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 3 {
		t.Errorf("data directory holds %v (%v), want step-1 to step-3", entries, err)
	}
}

// TestFindMaxOneHub runs the same search on one hub: its one database holds
// every step's commands.
func TestFindMaxOneHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub of 20 agents")
	}
	t.Parallel()
	dir := t.TempDir()
	var progress hubtest.Buffer
	cfg := findMaxConfig(node.Config{DataDir: dir}, &progress)
	cfg.FindMaxOneHub = true
	rep := runFindMax(t, cfg, MethodOneHub)
	want := 0
	for _, st := range rep.FindMax.Steps {
		want += stepCommands(cfg, st.Rate)
	}
	if ents, cmds := commandsIn(t, dir); ents != cfg.Agents || cmds != want {
		t.Errorf("%d enterprises and %d commands, want %d and %d", ents, cmds, cfg.Agents, want)
	}
}

// TestFindMaxFreshHubPostgres runs the search on PostgreSQL: every step on a
// schema of its own, named after the URL's, and dropped after the step.
func TestFindMaxFreshHubPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hubs of 20 agents")
	}
	t.Parallel()
	admin := hubtest.Postgres(t)
	dbURL, schema := hubtest.PostgresSchema(t)
	var progress hubtest.Buffer
	runFindMax(t, findMaxConfig(node.Config{Database: dbURL}, &progress), MethodFreshHub)

	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`fresh hub on schema (\w+) ready`).FindAllStringSubmatch(progress.String(), -1) {
		if !strings.HasPrefix(m[1], schema+"_") {
			t.Errorf("step schema %s not named after %s", m[1], schema)
		}
		names[m[1]] = true
	}
	if len(names) != 3 {
		t.Fatalf("schemas %v in the progress, want 3:\n%s", names, progress.String())
	}
	rows, _ := admin.Query(t.Context(), `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, schema)
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range left {
		t.Errorf("schema %s (steps' schemas %v) was not dropped", name, names)
		if _, err := admin.Exec(t.Context(), `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Error(err)
		}
	}
}
