//go:build windows

package service

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"golang.org/x/sys/windows/svc/eventlog"
)

// EventLogHandler returns a handler that writes records of level and above
// to the Windows Event Log under the source name (registered by Install),
// and a function that closes it. It returns a nil handler when the process
// does not run as a service or the log cannot be opened.
func EventLogHandler(name string, level slog.Leveler) (slog.Handler, func() error) {
	if !RunningAsService() {
		return nil, func() error { return nil }
	}
	l, err := eventlog.Open(name)
	if err != nil {
		return nil, func() error { return nil }
	}
	h := &eventHandler{log: l, mu: new(sync.Mutex), buf: new(bytes.Buffer)}
	h.text = slog.NewTextHandler(h.buf, &slog.HandlerOptions{Level: level})
	return h, l.Close
}

// eventHandler formats a record as text and writes it as one event, whose
// type follows the record's level.
type eventHandler struct {
	log  *eventlog.Log
	mu   *sync.Mutex
	buf  *bytes.Buffer
	text slog.Handler
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.text.Enabled(ctx, l) }

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	msg := string(bytes.TrimSpace(h.buf.Bytes()))
	switch {
	case r.Level >= slog.LevelError:
		return h.log.Error(1, msg)
	case r.Level >= slog.LevelWarn:
		return h.log.Warning(1, msg)
	default:
		return h.log.Info(1, msg)
	}
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(attrs)
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}
