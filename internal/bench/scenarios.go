package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// connectBatch is how many sockets are opened at a time at start (the
// reconnect scenario's reconnection opens them all at once).
const connectBatch = 250

// schedule says when the i-th of n creates is due, and whether it is part
// of the warm-up.
type schedule struct {
	n       int
	at      func(i int) time.Time
	warmEnd time.Time // creates due before it are warm-up
	end     time.Time // end of the measured window
}

// openLoop returns the schedule of rate creates per second from start:
// warmup, then dur.
func openLoop(start time.Time, rate float64, warmup, dur time.Duration) schedule {
	total := warmup + dur
	return schedule{
		n:       int(math.Floor(total.Seconds() * rate)),
		at:      func(i int) time.Time { return start.Add(time.Duration(float64(i) / rate * float64(time.Second))) },
		warmEnd: start.Add(warmup),
		end:     start.Add(total),
	}
}

// runPhase sends the schedule's creates (never earlier than due; later only
// when MaxInFlight creates are already under way), waits for the commands
// to finish (up to Drain), and returns the statistics of the measured ones.
func (r *runner) runPhase(ctx context.Context, label string, rate float64, sch schedule) (*Result, error) {
	ph := newPhase()
	r.phase.Store(ph)
	errsBefore := r.errs.snapshot()
	var u0, u1 Usage
	var usageErr error
	var st0, st1 map[string]*stageHist
	var stageErr error
	var stagesFrom, stagesTo time.Time
	var measured sync.WaitGroup
	measured.Go(func() {
		if d := time.Until(sch.warmEnd); d > 0 {
			sleep(ctx, d)
		}
		u0, usageErr = r.cfg.Usage(ctx)
		st0, stageErr = scrapeStages(ctx, r.hc, r.cfg.Target+"/metrics")
		stagesFrom = time.Now()
	})

	stopProgress := r.runProgress(ctx, label, ph, sch)
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var inflight sync.WaitGroup
	for i := 0; i < sch.n; i++ {
		due := sch.at(i)
		if d := time.Until(due); d > 0 {
			if err := sleep(ctx, d); err != nil {
				break
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		ph.sent.Add(1)
		warm := due.Before(sch.warmEnd)
		inflight.Go(func() {
			defer func() { <-sem }()
			r.create(ph, i, due, warm)
		})
	}
	if d := time.Until(sch.end); d > 0 {
		sleep(ctx, d)
	}
	measured.Wait()
	if usageErr == nil {
		u1, usageErr = r.cfg.Usage(ctx)
	}
	if stageErr == nil {
		st1, stageErr = scrapeStages(ctx, r.hc, r.cfg.Target+"/metrics")
		stagesTo = time.Now()
	}
	inflight.Wait()
	drainUntil := time.Now().Add(r.cfg.Drain)
	for !ph.done() && time.Now().Before(drainUntil) && ctx.Err() == nil {
		sleep(ctx, 10*time.Millisecond)
	}
	stopProgress()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := r.collect(ph, rate, sch)
	res.Errors = diffCounts(r.errs.snapshot(), errsBefore)
	if usageErr != nil {
		r.rep.Notes = appendOnce(r.rep.Notes, "resource usage unavailable: "+usageErr.Error())
	} else {
		res.CPU = cpuOf(u0, u1, sch.end.Sub(sch.warmEnd))
		if done := res.Achieved * res.WindowSeconds; done > 0 {
			res.CPU.PerCommandMS = round3(res.CPU.Seconds * 1000 / done)
			if res.CPU.ioCalls > 0 {
				res.CPU.IOCallsPerCommand = round1(float64(res.CPU.ioCalls) / done)
			}
		}
		res.RSSBytes = u1.RSS
	}
	if stageErr != nil {
		r.rep.Notes = appendOnce(r.rep.Notes, "hub stages unavailable: "+stageErr.Error())
	} else {
		res.Stages = stageSummaries(st0, st1)
		res.StagesWindowSeconds = round1(stagesTo.Sub(stagesFrom).Seconds())
	}
	return res, nil
}

// collect computes a phase's statistics from its records.
func (r *runner) collect(ph *phase, rate float64, sch schedule) *Result {
	res := &Result{TargetRate: rate, WindowSeconds: sch.end.Sub(sch.warmEnd).Seconds(), samples: map[string]*Sample{}}
	create, event, life, sentEvent := &Sample{}, &Sample{}, &Sample{}, &Sample{}
	var completedInWindow int64
	ph.each(func(id string, c *rec) {
		if !c.registered {
			return // an event for a command of an earlier phase
		}
		if !c.processed.IsZero() && !c.processed.Before(sch.warmEnd) && c.processed.Before(sch.end) {
			completedInWindow++
		}
		if c.warm {
			return
		}
		res.Created++
		create.Add(c.resp.Sub(c.sched))
		if !c.pending.IsZero() {
			event.Add(c.pending.Sub(c.sched))
			sentEvent.Add(c.pending.Sub(c.sent))
		} else if c.fetched.IsZero() {
			res.MissedEvents++
		}
		switch {
		case !c.processed.IsZero():
			res.Processed++
			life.Add(c.processed.Sub(c.sched))
		case c.failed:
			res.Failed++
		default:
			res.Lost++
		}
	})
	res.Sent = res.Created + ph.createErrs.Load() // warm-up create errors count too
	res.CreateErrors = ph.createErrs.Load()
	if res.WindowSeconds > 0 {
		res.Achieved = round1(float64(completedInWindow) / res.WindowSeconds)
	}
	res.samples["create (HTTP answer)"] = create
	res.samples["event (Pending at agent)"] = event
	res.samples["lifecycle (Processed at producer)"] = life
	res.Latency = map[string]Summary{"create": create.Summary(), "event": event.Summary(), "lifecycle": life.Summary(),
		"event from send": sentEvent.Summary()}
	return res
}

func (r *runner) steady(ctx context.Context) error {
	if err := r.connect(ctx, r.allSubs(), connectBatch); err != nil {
		return err
	}
	sch := openLoop(time.Now().Add(20*time.Millisecond), r.cfg.Rate, r.cfg.Warmup, r.cfg.Duration)
	res, err := r.runPhase(ctx, r.cfg.Scenario, r.cfg.Rate, sch)
	if err != nil {
		return err
	}
	r.rep.Result = res
	return nil
}

func (r *runner) burst(ctx context.Context) error {
	if err := r.connect(ctx, r.allSubs(), connectBatch); err != nil {
		return err
	}
	// A short warm-up opens the HTTP connections the burst will reuse.
	warm := openLoop(time.Now(), min(r.cfg.Rate, 200), r.cfg.Warmup, 0)
	if _, err := r.runPhase(ctx, "warm-up", min(r.cfg.Rate, 200), warm); err != nil {
		return err
	}
	t0 := time.Now().Add(10 * time.Millisecond)
	sch := schedule{n: r.cfg.Burst, at: func(int) time.Time { return t0 }, warmEnd: t0, end: t0}
	res, err := r.runPhase(ctx, "burst", 0, sch)
	if err != nil {
		return err
	}
	// Throughput of a burst: commands over the time to finish them all.
	var last time.Time
	r.phase.Load().each(func(_ string, c *rec) {
		if c.registered && c.processed.After(last) {
			last = c.processed
		}
	})
	if d := last.Sub(t0); d > 0 {
		res.Achieved = round1(float64(res.Processed) / d.Seconds())
		res.WindowSeconds = d.Seconds()
	}
	r.rep.Result = res
	return nil
}

func (r *runner) idle(ctx context.Context) error {
	sleep(ctx, 500*time.Millisecond)
	u0, err := r.memUsage(ctx)
	if err != nil {
		return err
	}
	if err := r.connect(ctx, r.agents, connectBatch); err != nil {
		return err
	}
	if err := sleep(ctx, r.cfg.Warmup); err != nil {
		return err
	}
	u1, err := r.memUsage(ctx)
	if err != nil {
		return err
	}
	n := int64(len(r.agents))
	r.rep.Memory = &Memory{Sockets: n, RSSBefore: u0.RSS, RSSAfter: u1.RSS, PerSocket: (u1.RSS - u0.RSS) / n,
		GoMemoryPerSocket: (u1.GoMemory - u0.GoMemory) / n, GoroutinesPerSocket: round1(float64(u1.Goroutines-u0.Goroutines) / float64(n))}
	if r.cfg.InProcess {
		r.rep.Notes = append(r.rep.Notes, "in-process: the RSS includes both ends of every socket (hub and bench agents); "+
			"run the hub separately (bellhop serve) and use --target for the hub alone")
	}
	return nil
}

// memUsage reads usage after a collection when the hub is in this process.
func (r *runner) memUsage(ctx context.Context) (Usage, error) {
	if r.cfg.InProcess {
		debug.FreeOSMemory()
	}
	u, err := r.cfg.Usage(ctx)
	if err != nil {
		return u, fmt.Errorf("bench: reading memory: %w", err)
	}
	return u, nil
}

func (r *runner) reconnect(ctx context.Context) error {
	if err := r.connect(ctx, r.allSubs(), connectBatch); err != nil {
		return err
	}
	// All agents drop at once.
	var wg sync.WaitGroup
	for _, s := range r.agents {
		wg.Go(s.stop)
	}
	wg.Wait()

	// Commands pile up while they are away.
	ph := newPhase()
	r.phase.Store(ph)
	var filled atomic.Int64
	stop := r.ticker(ctx, func() string {
		return fmt.Sprintf("reconnect: %d/%d commands waiting", filled.Load(), r.cfg.Waiting)
	})
	err := parallel(ctx, r.cfg.Waiting, 64, func(ctx context.Context, i int) error {
		ph.sent.Add(1)
		r.create(ph, i, time.Now(), false)
		filled.Add(1)
		return nil
	})
	stop()
	if err != nil {
		return err
	}
	waiting := ph.registered.Load()

	// All agents reconnect at once and catch up.
	u0, uerr := r.cfg.Usage(ctx)
	t0 := time.Now()
	stop = r.ticker(ctx, func() string {
		return fmt.Sprintf("reconnect: %.1fs  caught up %d/%d  processed %d", time.Since(t0).Seconds(),
			ph.fetched.Load(), waiting, ph.processed.Load())
	})
	err = r.connect(ctx, r.agents, 0)
	connected := time.Since(t0)
	drainUntil := time.Now().Add(r.cfg.Drain + time.Duration(waiting)*time.Millisecond)
	for err == nil && !ph.done() && time.Now().Before(drainUntil) {
		err = sleep(ctx, 5*time.Millisecond)
	}
	stop()
	if err != nil {
		return err
	}
	u1, uerr2 := r.cfg.Usage(ctx)

	rc := &Reconnect{Waiting: waiting, AllConnectedSeconds: round3(connected.Seconds())}
	fetch, proc := &Sample{}, &Sample{}
	var lastFetch, lastProc time.Duration
	ph.each(func(_ string, c *rec) {
		if !c.registered {
			return
		}
		switch {
		case !c.fetched.IsZero():
			fetch.Add(c.fetched.Sub(t0))
			lastFetch = max(lastFetch, c.fetched.Sub(t0))
		case !c.pending.IsZero():
			rc.ByEvent++ // created after its agent's socket was back
		default:
			rc.NotCaughtUp++
		}
		switch {
		case !c.processed.IsZero():
			rc.Processed++
			proc.Add(c.processed.Sub(t0))
			lastProc = max(lastProc, c.processed.Sub(t0))
		case c.failed:
			rc.Failed++
		default:
			rc.Lost++
		}
	})
	rc.CaughtUpSeconds, rc.AllProcessedSeconds = round3(lastFetch.Seconds()), round3(lastProc.Seconds())
	rc.Latency = map[string]Summary{"catch-up": fetch.Summary(), "processed": proc.Summary()}
	rc.samples = map[string]*Sample{"caught up (from reconnect)": fetch, "Processed (from reconnect)": proc}
	if uerr == nil && uerr2 == nil {
		rc.CPU = cpuOf(u0, u1, time.Since(t0))
	}
	r.rep.Reconnect = rc
	return nil
}

func passWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func cpuOf(u0, u1 Usage, wall time.Duration) *CPU {
	d := u1.CPU - u0.CPU
	c := &CPU{Seconds: round3(d.Seconds())}
	if wall > 0 {
		c.Cores = round3(d.Seconds() / wall.Seconds())
	}
	if u0.KernelKnown && u1.KernelKnown && d > 0 {
		c.KernelShare = round3(float64(u1.Kernel.SystemCPU-u0.Kernel.SystemCPU) / float64(d))
		c.ioCalls = u1.Kernel.ReadCalls + u1.Kernel.WriteCalls - u0.Kernel.ReadCalls - u0.Kernel.WriteCalls
	}
	return c
}

// runProgress shows a phase's progress every half second until stopped.
func (r *runner) runProgress(ctx context.Context, label string, ph *phase, sch schedule) (stop func()) {
	start := sch.at(0)
	total := sch.end.Sub(start)
	return r.ticker(ctx, func() string {
		inflight := ph.sent.Load() - ph.registered.Load() - ph.createErrs.Load()
		return fmt.Sprintf("%s: %5.1fs/%.0fs  sent %d  created %d  events %d  processed %d  errors %d  in flight %d",
			label, time.Since(start).Seconds(), total.Seconds(), ph.sent.Load(), ph.registered.Load(),
			ph.pending.Load(), ph.processed.Load(), r.errs.total(), inflight)
	})
}

// ticker rewrites line() on the progress writer every half second until
// stopped, then ends the line.
func (r *runner) ticker(ctx context.Context, line func() string) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.progress("%s", line())
			case <-done:
				r.progress("%s", line())
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		r.progressDone()
	}
}

var progressMu sync.Mutex

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress == nil {
		return
	}
	line := fmt.Sprintf(format, args...)
	progressMu.Lock()
	defer progressMu.Unlock()
	fmt.Fprintf(r.cfg.Progress, "\r%-110s", line)
}

func (r *runner) progressDone() {
	if r.cfg.Progress != nil {
		fmt.Fprintln(r.cfg.Progress)
	}
}

// progressLine writes a finished line to w, when not nil.
func progressLine(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "%s\n", strings.TrimSpace(fmt.Sprintf(format, args...)))
	}
}

// sleep waits d or until ctx ends, and returns ctx.Err() in that case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
