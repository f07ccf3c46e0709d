// Package stage names the stages that a Connector request and a command event
// pass through inside the hub, so that a latency percentile seen from outside
// can be split into its parts: reading the request, authenticating it,
// waiting for the store's writer, running and committing the write, waking
// the request again, routing the event to sockets, waiting on a socket and
// writing to it.
//
// Timing a stage costs one time.Now and one call of an Observer; nothing is
// allocated. The metrics package turns the observations into the
// bellhop_stage_seconds histogram, and `bellhop bench` reads it.
package stage

import "time"

// Stage is one step on the path of a request or an event.
type Stage uint8

// The stages, in the order a create passes through them.
const (
	// Read is reading a Connector request's body and decoding its JSON.
	Read Stage = iota
	// Auth is authenticating the tokens (a cache hit, or a read).
	Auth
	// Run is the operation in the hub service: reads, store writes (the
	// four stages below) and publishing.
	Run
	// WriteQueue is a store write waiting for its group to begin: the
	// commits of the groups before it (near zero for a write that finds no
	// group running and leads one itself).
	WriteQueue
	// WriteRun is running the statements of a write's group, observed once
	// per write of the group (each waits for the whole group).
	WriteRun
	// Commit is the COMMIT of a write's group, once per write of the group.
	Commit
	// WALRestart is the committer making the WAL start over from its
	// beginning between two groups; the writes queued meanwhile wait for it.
	WALRestart
	// WriteWake is the time from a group's commit to its writer's goroutine
	// running again, for a write that waited in a group another write led:
	// a goroutine hand-off.
	WriteWake
	// Publish is routing a batch of events to the queues of the sockets and
	// listeners that see them (the fan-out), the broker's lock included.
	Publish
	// SocketQueue is an event's wait from its publication to a socket's
	// writer taking it: the writer goroutine's start, or the write before;
	// near zero when the publisher writes the event itself.
	SocketQueue
	// SocketWrite is writing one WebSocket message (one or more events).
	SocketWrite
	// Respond is encoding and writing a Connector response.
	Respond
	// Request is a whole Connector request, from the handler's start to its
	// answer written.
	Request

	// Count is the number of stages.
	Count
)

var names = [Count]string{
	Read: "read", Auth: "auth", Run: "run", WriteQueue: "write_queue", WriteRun: "write_run", Commit: "commit",
	WALRestart: "wal_restart", WriteWake: "write_wake", Publish: "publish", SocketQueue: "socket_queue", SocketWrite: "socket_write",
	Respond: "respond", Request: "request",
}

// String returns the stage's label in bellhop_stage_seconds.
func (s Stage) String() string {
	if s < Count {
		return names[s]
	}
	return "unknown"
}

// All returns every stage in order.
func All() []Stage {
	out := make([]Stage, Count)
	for i := range out {
		out[i] = Stage(i)
	}
	return out
}

// Observer receives a stage's duration. A nil Observer observes nothing, so
// a component that is given none pays only a nil check.
type Observer func(Stage, time.Duration)

// Observe records d as s.
func (o Observer) Observe(s Stage, d time.Duration) {
	if o != nil {
		o(s, d)
	}
}

// Since records the time from t0 to now as s and returns now, so that
// consecutive stages chain: t = o.Since(stage.Read, t). A nil Observer
// records nothing and reads no clock; it returns the zero time.
func (o Observer) Since(s Stage, t0 time.Time) time.Time {
	if o == nil {
		return time.Time{}
	}
	now := time.Now()
	o(s, now.Sub(t0))
	return now
}

// Now returns the time for a later Since, or the zero time for a nil
// Observer, which never reads it.
func (o Observer) Now() time.Time {
	if o == nil {
		return time.Time{}
	}
	return time.Now()
}
