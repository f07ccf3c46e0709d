package service

import (
	"io"
	"log/slog"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Options of Run.
type Options struct {
	// Name is the service's name (Windows: the name the service control
	// manager knows it by). Required on Windows.
	Name string
	// StopTimeout is how long a stop request waits for the program;
	// DefaultStopTimeout when zero.
	StopTimeout time.Duration
	// Logger receives the service's own messages; nil discards them.
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Log file rotation: a file grows to LogFileMaxMB, then is renamed with
// its time and gzipped; LogFileBackups such files are kept for at most
// LogFileMaxAge days.
const (
	LogFileMaxMB   = 20
	LogFileBackups = 5
	LogFileMaxAge  = 30
)

// LogFile returns a writer to path that rotates it (see LogFileMaxMB).
// Close it when done.
func LogFile(path string) io.WriteCloser {
	return &lumberjack.Logger{Filename: path, MaxSize: LogFileMaxMB, MaxBackups: LogFileBackups,
		MaxAge: LogFileMaxAge, Compress: true}
}
