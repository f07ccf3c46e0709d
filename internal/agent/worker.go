package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent/driver"
)

// worker runs one configured device's commands, one at a time.
type worker struct {
	dev    DeviceConfig
	scheme string
	drv    driver.Driver
	queue  []*task // sorted by creation; guarded by Agent.cmds.mu
	wake   chan struct{}
}

// task is one command queued for or running on a worker.
type task struct {
	cmd     client.Command
	w       *worker
	seq     uint64
	running bool
	cancel  context.CancelCauseFunc
}

// runWorker runs w's commands one at a time, oldest first, until ctx ends.
func (a *Agent) runWorker(ctx, actionCtx context.Context, w *worker) {
	for {
		a.cmds.mu.Lock()
		for len(w.queue) == 0 {
			a.cmds.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			a.cmds.mu.Lock()
		}
		if ctx.Err() != nil {
			a.cmds.mu.Unlock()
			return
		}
		t := w.queue[0]
		w.queue = w.queue[1:]
		actx, cancel := context.WithCancelCause(actionCtx)
		t.running, t.cancel = true, cancel
		a.cmds.mu.Unlock()
		a.execute(actx, w, t)
		cancel(nil)
	}
}

// Processing reports: the first once an action has run for
// processingAfter, the next ones at most every progressEvery and only when
// the progress or the device's note changed. A quick action costs one
// request, its outcome.
const (
	processingAfter = time.Second
	progressEvery   = 5 * time.Second
)

// Retries of an action the device surely did not take: from
// retryMin, doubling up to retryMax, until the device's give_up_after.
const (
	retryMin = time.Second
	retryMax = 15 * time.Second
)

// execute runs one command on w's driver, bracketed by the journal. An
// attempt that the device surely did not take (driver.NotDone) is made
// again, with backoff, until the device's give_up_after has passed.
func (a *Agent) execute(ctx context.Context, w *worker, t *task) {
	cmd := t.cmd
	log := a.log.With("command", cmd.Id, "device", w.dev.label())
	if err := a.journal.Start(cmd.Id, w.dev.key(), cmd.Device.Id); err != nil {
		// Without the record the promise cannot hold: do not touch the device.
		log.Error("agent: cannot journal the start; not running the command", "error", err)
		a.forget(t)
		return
	}
	started := time.Now()
	rep := newReporter(cmd.Id, a.outbox.Put, started)
	job := driver.Job{CommandID: cmd.Id, DeviceID: cmd.Device.Id, DeviceName: cmd.Device.Name,
		DeviceType: string(cmd.Device.Type), Data: json.RawMessage(cmd.Data),
		Progress: rep.progress, Note: rep.note, GiveUpAt: started.Add(w.dev.giveUpAfter())}
	res, err := a.attempts(ctx, w, job, rep)
	rep.stop()
	a.metrics.latency.WithLabelValues(w.dev.label(), w.scheme).Observe(time.Since(started).Seconds())

	var state client.State
	var notes, outcome string
	cause := context.Cause(ctx)
	switch {
	case err == nil:
		state, notes, outcome = client.StateProcessed, res.Notes, outcomeProcessed
	case errors.Is(cause, errShutdown) && driver.IsNotDone(err):
		// The device confirmed it did not act (a print job cancelled at
		// the printer before it printed): not a crash. The command runs
		// again after the restart.
		if jerr := a.journal.NotDone(cmd.Id); jerr != nil {
			log.Error("agent: cannot journal that the device did not act", "error", jerr)
		}
		log.Info("agent: stopped before the device acted; the command runs again after the restart",
			"took", time.Since(started).Round(time.Millisecond), "notes", err.Error())
		a.forget(t)
		return
	case errors.Is(cause, errShutdown):
		// Leave "started" in the journal: the device may have acted, and
		// the next start decides (Error, or a re-run for a repeatable
		// driver), exactly as after a crash.
		log.Warn("agent: action aborted by shutdown; its outcome is unknown", "error", err)
		a.forget(t)
		return
	case errors.Is(cause, errCancelledAtHub):
		state, notes, outcome = client.StateCancelled, "cancelled at the hub while running: "+err.Error(), outcomeCancelled
	default:
		state, notes, outcome = client.StateError, err.Error(), outcomeError
	}
	notes = driver.Bound(notes)
	if jerr := a.journal.Finish(cmd.Id, string(state), notes); jerr != nil {
		log.Error("agent: cannot journal the outcome", "error", jerr)
	}
	a.forget(t)
	a.metrics.commands.WithLabelValues(w.dev.label(), outcome).Inc()
	// One line per finished command, at info level: what operators look for.
	log.Info("agent: command finished", "state", state, "took", time.Since(started).Round(time.Millisecond), "notes", notes)
	if state == client.StateCancelled {
		// The hub already has it Cancelled; there is nothing to report.
		_ = a.journal.Reported(cmd.Id)
		return
	}
	a.outbox.Put(finalUpdate(cmd.Id, string(state), notes))
}

// attempts runs the job until it succeeds, fails in a way that may have
// acted, or fails untouched past job.GiveUpAt (then with the last reason).
func (a *Agent) attempts(ctx context.Context, w *worker, job driver.Job, rep *reporter) (driver.Result, error) {
	wait := retryMin
	for n := 1; ; n++ {
		res, err := w.drv.Run(ctx, job)
		if err == nil || !driver.IsNotDone(err) || ctx.Err() != nil {
			return res, err
		}
		left := time.Until(job.GiveUpAt)
		if left <= 0 {
			return res, fmt.Errorf("gave up after %v and %d attempts: %w", w.dev.giveUpAfter().Round(time.Second), n, err)
		}
		d := min(wait, left)
		// The same words on every attempt: a note is sent only when it changes.
		rep.note(driver.Bound(fmt.Sprintf("%s (trying again for up to %v)", err, w.dev.giveUpAfter().Round(time.Second))))
		a.log.Info("agent: the device did not take the job; trying again", "command", job.CommandID,
			"device", w.dev.label(), "attempt", n, "wait", d, "error", err)
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return res, fmt.Errorf("%w (after: %w)", context.Cause(ctx), err)
		case <-timer.C:
		}
		wait = min(2*wait, retryMax)
	}
}

// reporter turns a driver's progress and notes into Processing updates
// that spend few requests (see processingAfter and progressEvery).
type reporter struct {
	id    string
	put   func(client.UpdateRequest)
	start time.Time

	mu       sync.Mutex
	frac     float64
	text     string
	sent     bool
	sentFrac float64
	sentText string
	lastSent time.Time
	timer    *time.Timer
	stopped  bool
}

func newReporter(id string, put func(client.UpdateRequest), start time.Time) *reporter {
	r := &reporter{id: id, put: put, start: start}
	r.mu.Lock()
	r.flushLocked()
	r.mu.Unlock()
	return r
}

func (r *reporter) progress(f float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frac = f
	r.flushLocked()
}

func (r *reporter) note(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.text = text
	r.flushLocked()
}

// stop ends the reports: the outcome follows.
func (r *reporter) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

// flushLocked sends what changed if the pace allows, else arms the timer
// for when it does.
func (r *reporter) flushLocked() {
	if r.stopped || (r.sent && r.frac == r.sentFrac && r.text == r.sentText) {
		return
	}
	now := time.Now()
	due := r.start.Add(processingAfter)
	if r.sent {
		due = r.lastSent.Add(progressEvery)
	}
	if now.Before(due) {
		if r.timer == nil {
			r.timer = time.AfterFunc(due.Sub(now), func() {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.timer = nil
				r.flushLocked()
			})
		}
		return
	}
	f, text := r.frac, r.text
	req := client.UpdateRequest{CommandId: r.id, State: client.StateProcessing, Progress: &f}
	if text != "" || r.sentText != "" {
		if text == "" {
			text = "resumed" // the trouble is over; an empty note would keep the last one
		}
		req.Notes = &text
	}
	r.put(req)
	r.sent, r.sentFrac, r.sentText, r.lastSent = true, r.frac, r.text, now
}

func finalUpdate(id, state, notes string) client.UpdateRequest {
	n := driver.Bound(notes)
	return client.UpdateRequest{CommandId: id, State: client.State(state), Notes: &n}
}

// reported is the outbox's callback for an accepted outcome.
func (a *Agent) reported(id string) {
	if err := a.journal.Reported(id); err != nil {
		a.log.Error("agent: journal", "error", err)
	}
}
