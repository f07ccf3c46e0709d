package agent

import (
	"context"
	"encoding/json"
	"errors"
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

// execute runs one command on w's driver, bracketed by the journal.
func (a *Agent) execute(ctx context.Context, w *worker, t *task) {
	cmd := t.cmd
	log := a.log.With("command", cmd.Id, "device", w.dev.label())
	if err := a.journal.Start(cmd.Id, w.dev.key(), cmd.Device.Id); err != nil {
		// Without the record the promise cannot hold: do not touch the device.
		log.Error("agent: cannot journal the start; not running the command", "error", err)
		a.forget(t)
		return
	}
	zero := 0.0
	a.outbox.Put(client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessing, Progress: &zero})
	job := driver.Job{CommandID: cmd.Id, DeviceID: cmd.Device.Id, DeviceName: cmd.Device.Name,
		DeviceType: string(cmd.Device.Type), Data: json.RawMessage(cmd.Data),
		Progress: func(f float64) {
			a.outbox.Put(client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessing, Progress: &f})
		}}
	started := time.Now()
	res, err := w.drv.Run(ctx, job)
	a.metrics.latency.WithLabelValues(w.dev.label(), w.scheme).Observe(time.Since(started).Seconds())

	var state client.State
	var notes, outcome string
	cause := context.Cause(ctx)
	switch {
	case err == nil:
		state, notes, outcome = client.StateProcessed, res.Notes, outcomeProcessed
	case errors.Is(cause, errShutdown):
		// Leave "started" in the journal: the next start decides (Error, or
		// a re-run for a repeatable driver), exactly as after a crash.
		log.Warn("agent: action aborted by shutdown", "error", err)
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
	a.metrics.commands.WithLabelValues(outcome).Inc()
	if state == client.StateCancelled {
		// The hub already has it Cancelled; there is nothing to report.
		_ = a.journal.Reported(cmd.Id)
		log.Info("agent: command aborted", "notes", notes)
		return
	}
	a.outbox.Put(finalUpdate(cmd.Id, string(state), notes))
	log.Debug("agent: command finished", "state", state, "notes", notes, "took", time.Since(started))
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
