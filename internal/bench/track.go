package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bellhop/bellhop/client"
)

// rec is what the bench knows of one command. Times are monotonic readings
// of this process's clock; the zero time means "not yet".
type rec struct {
	sched     time.Time // when the create was due (open-loop schedule)
	sent      time.Time // when its HTTP request started
	resp      time.Time // when addPrinter answered
	pending   time.Time // Pending event at the agent
	fetched   time.Time // returned by the agent's catch-up (getAllActive)
	processed time.Time // Processed event at the producer

	registered bool // addPrinter answered with this id
	warm       bool // sent during warm-up: left out of the statistics
	claimed    bool // an agent took it
	failed     bool // the agent's work on it failed
	resolved   bool // counted in phase.resolved
}

type shard struct {
	mu sync.Mutex
	m  map[string]*rec
}

// phase tracks the commands of one measured run (one step of --find-max).
// Agents and producers find the current phase through runner.phase; events
// can arrive before the addPrinter answer that names the command, so
// records are created by whoever sees an id first.
type phase struct {
	seed   maphash.Seed
	shards [64]shard

	sent       atomic.Int64 // creates started
	createErrs atomic.Int64 // creates that failed
	registered atomic.Int64 // creates that answered with an id
	pending    atomic.Int64 // Pending events seen by agents (registered commands)
	fetched    atomic.Int64 // commands returned by agents' catch-up
	processed  atomic.Int64 // Processed events seen by producers
	resolved   atomic.Int64 // registered commands processed or failed
}

func newPhase() *phase {
	p := &phase{seed: maphash.MakeSeed()}
	for i := range p.shards {
		p.shards[i].m = map[string]*rec{}
	}
	return p
}

// update runs fn on the record of id (created if missing) under its lock,
// and keeps the counters in step with the record.
func (p *phase) update(id string, fn func(r *rec)) {
	id = strings.ToLower(id)
	s := &p.shards[maphash.String(p.seed, id)%uint64(len(p.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[id]
	if r == nil {
		r = &rec{}
		s.m[id] = r
	}
	before := *r
	fn(r)
	if !r.registered {
		return
	}
	if !before.registered {
		p.registered.Add(1)
	}
	if !r.pending.IsZero() && (before.pending.IsZero() || !before.registered) {
		p.pending.Add(1)
	}
	if !r.fetched.IsZero() && (before.fetched.IsZero() || !before.registered) {
		p.fetched.Add(1)
	}
	if !r.processed.IsZero() && (before.processed.IsZero() || !before.registered) {
		p.processed.Add(1)
	}
	if !r.resolved && (!r.processed.IsZero() || r.failed) {
		r.resolved = true
		p.resolved.Add(1)
	}
}

// register records a created command: due at sched, sent at sent (later
// when the bench itself lagged), answered at resp.
func (p *phase) register(id string, sched, sent, resp time.Time, warm bool) {
	p.update(id, func(r *rec) { r.registered, r.sched, r.sent, r.resp, r.warm = true, sched, sent, resp, warm })
}

func (p *phase) markPending(id string, at time.Time) {
	p.update(id, func(r *rec) {
		if r.pending.IsZero() {
			r.pending = at
		}
	})
}

func (p *phase) markFetched(id string, at time.Time) {
	p.update(id, func(r *rec) {
		if r.fetched.IsZero() {
			r.fetched = at
		}
	})
}

func (p *phase) markProcessed(id string, at time.Time) {
	p.update(id, func(r *rec) {
		if r.processed.IsZero() {
			r.processed = at
		}
	})
}

func (p *phase) markFailed(id string) { p.update(id, func(r *rec) { r.failed = true }) }

// claim reports whether the caller is the first to take id, so that a
// command announced by an event and returned by a catch-up is worked once.
func (p *phase) claim(id string) bool {
	first := false
	p.update(id, func(r *rec) { first, r.claimed = !r.claimed, true })
	return first
}

// done reports whether every create has an outcome.
func (p *phase) done() bool { return p.createErrs.Load()+p.resolved.Load() >= p.sent.Load() }

// each calls fn on every record, shard by shard, under the shard's lock.
func (p *phase) each(fn func(id string, r *rec)) {
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		for id, r := range s.m {
			fn(id, r)
		}
		s.mu.Unlock()
	}
}

// errorCounter counts errors by kind ("operation: class") and keeps one
// example message per kind.
type errorCounter struct {
	mu       sync.Mutex
	counts   map[string]int64
	examples map[string]string
}

func (e *errorCounter) add(op string, err error) {
	kind := op + ": " + classify(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts, e.examples = map[string]int64{}, map[string]string{}
	}
	e.counts[kind]++
	if _, ok := e.examples[kind]; !ok {
		e.examples[kind] = err.Error()
	}
}

func (e *errorCounter) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

func (e *errorCounter) total() int64 {
	var n int64
	for _, v := range e.snapshot() {
		n += v
	}
	return n
}

// merge adds o's counts to e, and o's examples of kinds e has none of.
func (e *errorCounter) merge(o *errorCounter) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts, e.examples = map[string]int64{}, map[string]string{}
	}
	for k, v := range o.counts {
		e.counts[k] += v
		if _, ok := e.examples[k]; !ok {
			e.examples[k] = o.examples[k]
		}
	}
}

// diff returns the counts of now that exceed those of before.
func diffCounts(now, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range now {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (e *errorCounter) examplesOf(kinds map[string]int64) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for k := range kinds {
		out = append(out, k+": "+e.examples[k])
	}
	sort.Strings(out)
	return out
}

// errNotReturned is an agent's getAllByIds that left out the command it
// was told about.
var errNotReturned = errors.New("command not returned")

// classify names the kind of an error, without ids, for counting.
func classify(err error) string {
	if code := client.StatusCode(err); code != 0 {
		return fmt.Sprintf("HTTP %d", code)
	}
	var ne net.Error
	switch {
	case errors.Is(err, errNotReturned):
		return "command not returned"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "StatusCode("):
		return "closed by hub"
	}
	return "other"
}
