package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/bellhop/bellhop/internal/node"
)

// The methods of FindMax, as the report names them.
const (
	// MethodFreshHub runs each step on a hub of its own, started on a new
	// store and set up before the step: no step inherits what the one
	// before it left. Only a hub in this process can be started afresh.
	MethodFreshHub = "fresh hub per step"
	// MethodOneHub runs every step on the same hub, each once the agents
	// have finished their work on the step before; the hub keeps the
	// tables, indexes and WAL that the steps before it grew.
	MethodOneHub = "one hub"
)

// stepFunc runs step n (from 1) of FindMax at rate and returns its result
// and how long preparing its hub took (left out of the result).
type stepFunc func(ctx context.Context, n int, rate float64) (res *Result, prepare time.Duration, err error)

// findMax raises the rate until a step fails (p99 lifecycle above the
// bound, an error, a lost command, or less than 95% of the rate achieved),
// then bisects between the best pass and the first failure. step runs each
// rate as method says.
func findMax(ctx context.Context, cfg *Config, rep *Report, method string, step stepFunc) error {
	fm := &FindMax{BoundMS: ms(cfg.Bound), Method: method}
	rep.FindMax = fm
	var lo, hi float64
	rate := cfg.Rate
	for n := 1; n <= 14 && rate >= 1; n++ {
		res, prepare, err := step(ctx, n, rate)
		if err != nil {
			return err
		}
		st := Step{Rate: rate, Achieved: res.Achieved, P99LifecycleMS: res.Latency["lifecycle"].P99,
			P99EventMS: res.Latency["event"].P99, Errors: sumCounts(res.Errors), Lost: res.Lost, CPU: res.CPU,
			PrepareSeconds: round3(prepare.Seconds())}
		st.Pass = st.P99LifecycleMS <= ms(cfg.Bound) && st.Errors == 0 && st.Lost == 0 && res.Achieved >= 0.95*rate
		fm.Steps = append(fm.Steps, st)
		progressLine(cfg.Progress, "find-max: %.0f/s -> p99 lifecycle %.1f ms, achieved %.0f/s, errors %d, lost %d: %s",
			rate, st.P99LifecycleMS, st.Achieved, st.Errors, st.Lost, passWord(st.Pass))
		if st.Pass {
			lo, rep.Result = rate, res
		} else {
			hi = rate
		}
		switch {
		case hi == 0:
			rate *= 2
		case lo == 0:
			rate = hi / 2
		case (hi-lo)/hi < 0.1:
			rate = 0
		default:
			rate = math.Round((lo + hi) / 2)
		}
	}
	fm.MaxRate = lo
	return nil
}

// oneHubStep is the stepFunc of MethodOneHub: the sockets connect before
// the first step; every later step starts a second after the one before,
// once no agent works on a command any more (see settle).
func (r *runner) oneHubStep(ctx context.Context, n int, rate float64) (*Result, time.Duration, error) {
	started := time.Now()
	if n == 1 {
		if err := r.connect(ctx, r.allSubs(), connectBatch); err != nil {
			return nil, 0, err
		}
	} else {
		if err := sleep(ctx, time.Second); err != nil {
			return nil, 0, err
		}
		waited, givenUp, err := r.settle(ctx)
		if err != nil {
			return nil, 0, err
		}
		progressLine(r.cfg.Progress, "find-max step %d: one hub; the step before drained in %.1fs (%d of its commands given up)",
			n, waited.Seconds(), givenUp)
	}
	prepare := time.Since(started)
	res, err := r.runPhase(ctx, fmt.Sprintf("find-max step %d", n), rate, r.stepSchedule(rate))
	return res, prepare, err
}

// settle waits until no agent works on a command of the last phase, at
// most requestTimeout (by then each of their requests has given up), and
// returns how long it waited and how many of the phase's commands were
// neither processed nor failed: those runPhase gave up on after Drain.
// The hub may still hold them; the next step can meet their events.
func (r *runner) settle(ctx context.Context) (waited time.Duration, givenUp int64, err error) {
	ph := r.phase.Load()
	started := time.Now()
	for r.busy.Load() > 0 && time.Since(started) < requestTimeout {
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(started), ph.registered.Load() - ph.resolved.Load(), nil
}

// stepSchedule is the open-loop schedule of a find-max step at rate,
// starting now.
func (r *runner) stepSchedule(rate float64) schedule {
	return openLoop(time.Now().Add(20*time.Millisecond), rate, r.cfg.Warmup, r.cfg.Duration)
}

// findMaxFresh runs FindMax by MethodFreshHub: every step starts a hub in
// this process on a store of its own (see stepStore), sets it up through
// its admin API and connects every socket before the step's schedule
// starts, and stops it after. The report's setup is the first hub's.
func findMaxFresh(ctx context.Context, cfg Config) (*Report, error) {
	cfg.InProcess, cfg.Store = true, storeName(cfg.Hub)
	rep := newReport(&cfg)
	var errs errorCounter
	var b [3]byte
	_, _ = rand.Read(b[:])
	run := hex.EncodeToString(b[:])
	step := func(ctx context.Context, n int, rate float64) (res *Result, prepare time.Duration, err error) {
		started := time.Now()
		hcfg, where, remove, err := stepStore(ctx, cfg.Hub, n, run)
		if err != nil {
			return nil, 0, err
		}
		defer func() { err = errors.Join(err, remove()) }() // once the hub has stopped
		scfg := cfg
		scfg.Hub = hcfg
		r, err := open(ctx, scfg, rep)
		if err != nil {
			return nil, 0, err
		}
		defer r.close()
		defer errs.merge(&r.errs) // before close: stopping is no error of the step
		if n == 1 {
			rep.SetupSeconds = r.setup.Seconds()
		}
		if err := r.connect(r.ctx, r.allSubs(), connectBatch); err != nil {
			return nil, 0, err
		}
		prepare = time.Since(started)
		progressLine(cfg.Progress, "find-max step %d: fresh hub on %s ready in %.1fs (start, setup %.1fs, connect)",
			n, where, prepare.Seconds(), r.setup.Seconds())
		res, err = r.runPhase(r.ctx, fmt.Sprintf("find-max step %d", n), rate, r.stepSchedule(rate))
		return res, prepare, err
	}
	err := findMax(ctx, &cfg, rep, MethodFreshHub, step)
	rep.Errors = errs.snapshot()
	rep.ErrorExamples = errs.examplesOf(rep.Errors)
	return rep, err
}

// stepStore returns the configuration of the hub of find-max step n, on a
// store of its own, and where that is for the progress line:
//
//   - with Database, a new schema named after the URL's search_path (or
//     "bench"), run and n, created here; remove drops it;
//   - with DataDir, its new subdirectory step-n, kept;
//   - else a temporary directory that startHub makes and removes.
//
// Call remove once the step's hub has stopped.
func stepStore(ctx context.Context, hcfg node.Config, n int, run string) (_ node.Config, where string, remove func() error, err error) {
	switch {
	case hcfg.Database != "":
		hcfg.Schema = stepSchema(hcfg, n, run)
		if err := node.CreateSchema(ctx, hcfg); err != nil {
			return hcfg, "", nil, fmt.Errorf("bench: schema of step %d: %w", n, err)
		}
		remove = func() error {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			return node.DropSchema(ctx, hcfg)
		}
		return hcfg, "schema " + hcfg.Schema, remove, nil
	case hcfg.DataDir != "":
		dir := filepath.Join(hcfg.DataDir, fmt.Sprintf("step-%d", n))
		if err := os.MkdirAll(hcfg.DataDir, 0o700); err != nil {
			return hcfg, "", nil, fmt.Errorf("bench: %w", err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return hcfg, "", nil, fmt.Errorf("bench: each find-max step needs a new data directory: %w", err)
		}
		hcfg.DataDir = dir
		return hcfg, dir, func() error { return nil }, nil
	default:
		return hcfg, "a temporary directory", func() error { return nil }, nil
	}
}

// stepSchema names the PostgreSQL schema of step n: <base>_<run>_step<n>,
// where base is the schema hcfg names (node.SchemaOf), else "bench".
func stepSchema(hcfg node.Config, n int, run string) string {
	base := node.SchemaOf(hcfg)
	if base == "" {
		base = "bench"
	}
	suffix := fmt.Sprintf("_%s_step%d", run, n)
	return base[:min(len(base), 63-len(suffix))] + suffix
}
