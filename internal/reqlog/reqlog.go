// Package reqlog keeps a node's recent Connector requests and WebSocket
// sessions in memory, so that an integration's tests can assert on what the
// integration sent and was told: the operation, the time, the status, the
// request id, the commands it touched and the body, with its tokens masked.
//
// The log is bounded by a number of entries and by age; bodies are kept up
// to a size. It is the node's own: on several nodes each keeps what it
// served. Nothing of it is stored.
package reqlog

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Log.
const (
	DefaultSize    = 10000
	DefaultWindow  = time.Hour
	DefaultMaxBody = 4 << 10
)

// Config sizes a Log. Zero fields take the defaults.
type Config struct {
	// Size is how many entries are kept; DefaultSize.
	Size int
	// Window is how long an entry is kept; DefaultWindow.
	Window time.Duration
	// MaxBody is how much of a body is kept, in bytes; DefaultMaxBody.
	MaxBody int
	// Now is the clock; time.Now.
	Now func() time.Time
}

// Kinds of entry.
const (
	KindRequest   = "request"
	KindWebSocket = "websocket"
)

// Entry is one Connector request or one WebSocket session.
type Entry struct {
	Seq  int64
	Kind string // KindRequest or KindWebSocket
	Utc  time.Time
	// Duration is how long the answer took; for a WebSocket, how long it
	// was open (so far, while it is open).
	Duration time.Duration
	// Operation is the Connector operation ("commands/update"), the path of
	// a URL that is none, or "websocket".
	Operation      string
	IntegrationID  string // "" when the tokens were refused
	SubscriptionID string
	Client         string // the body's Client field
	Status         int    // the HTTP status answered; 101 for an opened WebSocket
	RequestID      string
	// CommandIDs are the commands the request touched (created, read,
	// updated), and the one an update names even when it was refused.
	CommandIDs []string
	// Body is the request body with its tokens masked (***), cut after
	// the log's MaxBody bytes (BodyCut); BodySize is its whole size.
	Body     []byte
	BodySize int
	BodyCut  bool
	// Error is the message of an error answer.
	Error string
	// Fault is the id and kind of the fault that acted on it, if any.
	Fault string
	// WebSocket sessions: when and how they closed, and how many events
	// they were sent.
	Open        bool
	ClosedUtc   time.Time
	CloseCode   int
	CloseReason string
	Events      int

	live  *atomic.Int64 // counts Events while the session is open
	first [1]string     // where the first command id goes without an allocation of its own
}

// NewEntry returns an entry of kind whose CommandIDs take their first id
// without an allocation.
func NewEntry(kind string) *Entry {
	e := &Entry{Kind: kind}
	e.CommandIDs = e.first[:0]
	return e
}

// Live makes List read an open session's Events from n.
func (e *Entry) Live(n *atomic.Int64) { e.live = n }

// Log is a bounded, in-memory log. A nil *Log keeps nothing. It is safe for
// concurrent use.
type Log struct {
	cfg     Config
	mu      sync.Mutex
	entries []*Entry // ring, oldest at head
	head    int
	seq     int64
}

// New returns an empty log.
func New(cfg Config) *Log {
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Log{cfg: cfg}
}

// Now is the log's clock reading.
func (l *Log) Now() time.Time { return l.cfg.Now().UTC() }

// Body returns what the log keeps of a request body: at most MaxBody bytes,
// copied, with every occurrence of the tokens replaced by ***. A token that
// the cut splits is masked too. It allocates once: the copy.
func (l *Log) Body(body []byte, tokens ...string) []byte {
	if l == nil {
		return nil
	}
	n := min(len(body), l.cfg.MaxBody)
	out := mask(make([]byte, 0, n), body[:n], tokens)
	if n < len(body) {
		// The cut may leave a token's beginning at the end.
		cut := 0
		for _, t := range tokens {
			if len(t) < minToken {
				continue
			}
			for k := min(len(t)-1, len(out)); k > cut; k-- {
				if string(out[len(out)-k:]) == t[:k] {
					cut = k
					break
				}
			}
		}
		if cut > 0 {
			out = append(out[:len(out)-cut], "***"...)
		}
	}
	return out
}

// KeepBody puts what the log keeps of a request body in e (see Body).
func (l *Log) KeepBody(e *Entry, body []byte, tokens ...string) {
	if l == nil {
		return
	}
	e.Body, e.BodySize, e.BodyCut = l.Body(body, tokens...), len(body), len(body) > l.cfg.MaxBody
}

// minToken is the shortest token worth hiding: *** would only mangle a
// body in place of a shorter one.
const minToken = 4

// mask appends src to dst with every token replaced by ***.
func mask(dst, src []byte, tokens []string) []byte {
	for {
		at, size := -1, 0
		for _, t := range tokens {
			if len(t) < minToken {
				continue
			}
			if i := index(src, t); i >= 0 && (at < 0 || i < at) {
				at, size = i, len(t)
			}
		}
		if at < 0 {
			return append(dst, src...)
		}
		dst = append(append(dst, src[:at]...), "***"...)
		src = src[at+size:]
	}
}

// index is bytes.Index for a string, without converting it.
func index(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		j := bytes.IndexByte(b[i:len(b)-len(s)+1], s[0])
		if j < 0 {
			return -1
		}
		if i += j; string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// Add appends e (its Seq is set) and returns it; a WebSocket session's entry
// may be updated later through Update.
func (l *Log) Add(e *Entry) *Entry {
	if l == nil {
		return e
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if len(l.entries) < l.cfg.Size {
		l.entries = append(l.entries, e)
	} else {
		l.entries[l.head] = e
		l.head = (l.head + 1) % len(l.entries)
	}
	return e
}

// Update changes an entry already added, under the log's lock.
func (l *Log) Update(e *Entry, fn func(e *Entry)) {
	if l == nil {
		fn(e)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(e)
	if !e.Open {
		// A closed session lets go of its counter: it lives in the
		// socket, and the log would keep the socket's buffers alive until
		// the entry leaves the ring.
		e.live = nil
	}
}

// Filter selects entries. Zero fields do not filter.
type Filter struct {
	IntegrationID  string
	SubscriptionID string
	Operation      string
	Kind           string
	// Status is an exact status (404), or a class: 2 for 2xx, 4 for 4xx...
	Status    int
	CommandID string
	// After and Before page by Seq, exclusive.
	After, Before int64
	// Since keeps entries from this time on.
	Since time.Time
	// Newest lists newest first; default oldest first.
	Newest bool
	// Limit is the most entries returned; default and at most 1000.
	Limit int
}

// MaxPage is the most entries one List returns.
const MaxPage = 1000

func (f *Filter) match(e *Entry) bool {
	switch {
	case f.IntegrationID != "" && e.IntegrationID != f.IntegrationID,
		f.SubscriptionID != "" && e.SubscriptionID != f.SubscriptionID,
		f.Operation != "" && e.Operation != f.Operation,
		f.Kind != "" && e.Kind != f.Kind,
		f.Status >= 100 && e.Status != f.Status,
		f.Status > 0 && f.Status < 10 && e.Status/100 != f.Status,
		f.CommandID != "" && !slices.Contains(e.CommandIDs, f.CommandID),
		f.After != 0 && e.Seq <= f.After,
		f.Before != 0 && e.Seq >= f.Before,
		!f.Since.IsZero() && e.Utc.Before(f.Since):
		return false
	}
	return true
}

// List returns copies of the entries that f selects within the window, and
// whether more would follow the last one.
func (l *Log) List(f Filter) ([]Entry, bool) {
	if l == nil {
		return []Entry{}, false
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = MaxPage
	}
	f.CommandID = strings.ToLower(f.CommandID)
	now := l.Now()
	cutoff := now.Add(-l.cfg.Window)
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.entries)
	out := []Entry{}
	for i := range n {
		j := i
		if f.Newest {
			j = n - 1 - i
		}
		e := l.entries[(l.head+j)%n]
		if e.Utc.Before(cutoff) || !f.match(e) {
			continue
		}
		if len(out) == f.Limit {
			return out, true
		}
		c := *e
		c.CommandIDs = slices.Clone(e.CommandIDs)
		if c.Open {
			c.Duration = now.Sub(c.Utc)
			if c.live != nil {
				c.Events = int(c.live.Load())
			}
		}
		c.live = nil
		out = append(out, c)
	}
	return out, false
}
