package hub

import (
	"sync"

	"github.com/bellhop/bellhop"
)

// maxPending bounds the pending set; past it the set starts afresh. An id
// costs it about 100 bytes.
const maxPending = 100000

// pendingSet holds the ids of the commands whose last event this node
// published was Pending: the commands a getAllByIds is likely to mark
// Received. It is a hint that saves a read, never the truth: a fetch of ids
// it holds goes to the writer at once (one write that reads and marks), and
// a fetch of others reads on the read pool first and writes only when it
// finds something to mark. So a re-fetch of commands already Received costs
// no write, and a command it misses (created before the node started, or
// dropped when the set started afresh) costs a read and a write, as
// before. Events reach it in commit order per command: from the service
// after each commit, or from Relay on a clustered node.
type pendingSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

// note follows published events.
func (p *pendingSet) note(events []bellhop.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range events {
		if e.State != bellhop.Pending {
			delete(p.ids, e.CommandID)
			continue
		}
		if p.ids == nil || len(p.ids) >= maxPending {
			p.ids = make(map[string]struct{})
		}
		p.ids[e.CommandID] = struct{}{}
	}
}

// any reports whether the set holds one of ids.
func (p *pendingSet) any(ids []string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if _, ok := p.ids[id]; ok {
			return true
		}
	}
	return false
}

// forget drops ids that a fetch found not Pending (or not at all).
func (p *pendingSet) forget(ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		delete(p.ids, id)
	}
}

// noting is a Publisher that shows the events it passes on to a pendingSet
// first.
type noting struct {
	Publisher
	p *pendingSet
}

func (n noting) Publish(events []bellhop.Event) {
	n.p.note(events)
	n.Publisher.Publish(events)
}
