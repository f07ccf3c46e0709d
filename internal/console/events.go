package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
)

// liveEvent is what the event stream sends per changed command: just enough
// for the script to know which row to fetch again.
type liveEvent struct {
	Id       string
	State    bellhop.State
	Progress *float64
}

// maxLiveBatch is the largest batch the stream forwards event by event; a
// bigger one (a burst of load) tells the page to reload its rows instead.
const maxLiveBatch = 200

// events is the Server-Sent Events stream of command changes.
func (s *server) events(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.live == nil {
		http.Error(w, "Live updates are not available.", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	events, lagged, stop := s.live.Listen(64)
	defer stop()
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func() bool {
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	buf.WriteString("retry: 2000\n: connected\n\n")
	if !send() {
		return
	}
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case batch, ok := <-events:
			if !ok {
				return // the hub is shutting down
			}
			if lagged() || len(batch) > maxLiveBatch {
				buf.WriteString("event: reload\ndata: {}\n\n")
			} else {
				for _, e := range batch {
					b, _ := json.Marshal(liveEvent{Id: e.CommandID, State: e.State, Progress: e.Progress})
					buf.WriteString("data: ")
					buf.Write(b)
					buf.WriteString("\n\n")
				}
			}
		case <-beat.C:
			if lagged() {
				buf.WriteString("event: reload\ndata: {}\n\n")
			}
			buf.WriteString(": ping\n\n")
		}
		if !send() {
			return
		}
	}
}
