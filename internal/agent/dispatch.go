package agent

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/bellhop/bellhop/client"
)

// commands is what the agent holds: every command queued for or running
// on a worker, and the commands it decided to leave alone. Its lock also
// guards the workers' queues, because a command moves between both.
type commands struct {
	mu         sync.Mutex
	known      map[string]*task // queued or running in this process
	ignored    map[string]bool  // commands of devices without a driver
	loggedDevs map[string]bool  // devices without a driver, logged once
	seq        uint64
}

func newCommands() commands {
	return commands{known: map[string]*task{}, ignored: map[string]bool{}, loggedDevs: map[string]bool{}}
}

// recoverJournal turns what a previous run left in the journal into work:
// outcomes not yet accepted go to the outbox; commands started but not
// finished become Error "interrupted, check the device", unless their
// driver is Repeatable, in which case they run again once the hub shows
// them (see dispatch). Commands the device confirmed it did not act on
// (Journal.NotDone) are not started: they run again once the hub shows
// them.
func (a *Agent) recoverJournal() error {
	for _, e := range a.journal.Entries() {
		switch {
		case e.Finished() && e.Reported.IsZero():
			a.outbox.Put(finalUpdate(e.ID, e.State, e.Notes))
		case !e.Finished() && !e.Started.IsZero():
			if w := a.workerByKey(e.Device); w != nil && w.drv.Repeatable() {
				a.log.Info("agent: will run an interrupted command again (repeatable driver)", "command", e.ID, "device", w.dev.label())
				continue
			}
			label := e.Device
			if w := a.workerByKey(e.Device); w != nil {
				label = w.dev.label()
			}
			a.log.Warn("agent: command was interrupted mid-action; its outcome is unknown", "command", e.ID,
				"device", label, "state", client.StateError, "notes", InterruptedNote)
			if err := a.journal.Finish(e.ID, string(client.StateError), InterruptedNote); err != nil {
				return fmt.Errorf("agent: %w", err)
			}
			a.metrics.commands.WithLabelValues(label, outcomeInterrupted).Inc()
			a.outbox.Put(finalUpdate(e.ID, string(client.StateError), InterruptedNote))
		}
	}
	return nil
}

func (a *Agent) workerByKey(key string) *worker {
	for _, w := range a.workers {
		// Without case: journals written before names matched without
		// case hold them as configured.
		if strings.EqualFold(w.dev.key(), key) {
			return w
		}
	}
	return nil
}

// match returns the worker for a hub device: by id, else by name, both
// without case.
func (a *Agent) match(d client.Device) *worker {
	if w := a.byID[strings.ToLower(d.Id)]; w != nil {
		return w
	}
	return a.byName[strings.ToLower(d.Name)]
}

// dispatch decides what to do with a command read from the hub. It is
// idempotent: events and catch-ups announce the same command many times.
func (a *Agent) dispatch(cmd client.Command) {
	a.cmds.mu.Lock()
	defer a.cmds.mu.Unlock()
	if t := a.cmds.known[cmd.Id]; t != nil {
		if cmd.State.Final() {
			a.cancelLocked(t)
		}
		return
	}
	if e, ok := a.journal.Get(cmd.Id); ok {
		if e.Finished() {
			return // done before; the outbox owes the hub its outcome, if anything
		}
		// Not finished and still here after recovery: its driver is
		// repeatable, or the device confirmed that it did not act before a
		// shutdown. Run it again unless the hub finished it meanwhile.
		if cmd.State.Final() {
			a.finishUnrun(cmd.Id, cmd.State)
			return
		}
		a.enqueueLocked(cmd, a.match(cmd.Device))
		return
	}
	if !cmd.State.Active() || a.cmds.ignored[cmd.Id] {
		return // Processing by someone else, or final: not ours to touch
	}
	w := a.match(cmd.Device)
	if w == nil {
		a.cmds.ignored[cmd.Id] = true
		if len(a.cmds.ignored) > 100_000 {
			clear(a.cmds.ignored) // a memory bound; forgetting only costs a fetch
		}
		if !a.cmds.loggedDevs[cmd.Device.Id] {
			a.cmds.loggedDevs[cmd.Device.Id] = true
			a.log.Info("agent: no driver configured for device; leaving its commands alone",
				"device_id", cmd.Device.Id, "device", cmd.Device.Name, "type", cmd.Device.Type)
		}
		return
	}
	a.enqueueLocked(cmd, w)
}

// finishUnrun records that a command the journal holds as started was
// finished at the hub by someone else: there is nothing left to report.
func (a *Agent) finishUnrun(id string, state client.State) {
	if err := a.journal.Finish(id, string(state), "finished at the hub"); err == nil {
		_ = a.journal.Reported(id)
	}
}

func (a *Agent) enqueueLocked(cmd client.Command, w *worker) {
	if w == nil {
		return
	}
	a.cmds.seq++
	t := &task{cmd: cmd, w: w, seq: a.cmds.seq}
	a.cmds.known[cmd.Id] = t
	i, _ := slices.BinarySearchFunc(w.queue, t, func(x, y *task) int {
		if c := x.cmd.CreatedUtc.Compare(y.cmd.CreatedUtc); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	w.queue = slices.Insert(w.queue, i, t)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// cancelLocked skips a queued command or aborts a running one.
func (a *Agent) cancelLocked(t *task) {
	if t.running {
		a.log.Info("agent: command cancelled at the hub while running; aborting", "command", t.cmd.Id)
		t.cancel(errCancelledAtHub)
		return
	}
	t.w.queue = slices.DeleteFunc(t.w.queue, func(x *task) bool { return x == t })
	delete(a.cmds.known, t.cmd.Id)
	a.metrics.commands.WithLabelValues(t.w.dev.label(), outcomeCancelled).Inc()
	a.log.Info("agent: command cancelled at the hub before it started; skipped", "command", t.cmd.Id, "device", t.w.dev.label())
}

// held reports whether the agent holds the command (queued or running),
// and when it does and state is final, cancels it.
func (a *Agent) held(id string, state client.State) bool {
	a.cmds.mu.Lock()
	defer a.cmds.mu.Unlock()
	t := a.cmds.known[id]
	if t != nil && state.Final() {
		a.cancelLocked(t)
	}
	return t != nil
}

// heldIDs lists the commands the agent holds.
func (a *Agent) heldIDs() []string {
	a.cmds.mu.Lock()
	defer a.cmds.mu.Unlock()
	ids := make([]string, 0, len(a.cmds.known))
	for id := range a.cmds.known {
		ids = append(ids, id)
	}
	return ids
}

func (a *Agent) isIgnored(id string) bool {
	a.cmds.mu.Lock()
	defer a.cmds.mu.Unlock()
	return a.cmds.ignored[id]
}

func (a *Agent) queued() float64 {
	a.cmds.mu.Lock()
	defer a.cmds.mu.Unlock()
	return float64(len(a.cmds.known))
}

func (a *Agent) forget(t *task) {
	a.cmds.mu.Lock()
	defer a.cmds.mu.Unlock()
	if a.cmds.known[t.cmd.Id] == t {
		delete(a.cmds.known, t.cmd.Id)
	}
}
