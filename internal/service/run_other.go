//go:build !windows

package service

import (
	"context"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Run runs prog as systemd expects of a Type=notify unit: READY=1 when prog
// calls ready, WATCHDOG=1 at half the unit's WatchdogSec from the start,
// STOPPING=1 when ctx is done. Without NOTIFY_SOCKET (not under systemd)
// it just runs prog. It returns prog's error.
func Run(ctx context.Context, prog Program, opts Options) error {
	log := opts.logger()
	notify := func(state string) {
		if _, err := daemon.SdNotify(false, state); err != nil {
			log.Warn("service: telling systemd", "state", state, "error", err)
		}
	}
	done := make(chan struct{})
	var bg sync.WaitGroup
	defer bg.Wait()
	defer close(done)
	if interval, err := daemon.SdWatchdogEnabled(false); err != nil {
		log.Warn("service: reading the watchdog settings", "error", err)
	} else if interval > 0 {
		bg.Go(func() { watchdog(interval/2, done, notify) })
	}
	stopping := context.AfterFunc(ctx, func() { notify(daemon.SdNotifyStopping) })
	var once sync.Once
	err := prog(ctx, func() { once.Do(func() { notify(daemon.SdNotifyReady) }) })
	// The context may pass its end to the AfterFunc from a goroutine of its
	// own, so prog can return before STOPPING=1 was sent: stopping()
	// reports true when it had not been, and then it is sent here.
	if stopping() && ctx.Err() != nil {
		notify(daemon.SdNotifyStopping)
	}
	return err
}

// watchdog sends WATCHDOG=1 every period until done is closed.
func watchdog(period time.Duration, done <-chan struct{}, notify func(string)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			notify(daemon.SdNotifyWatchdog)
		}
	}
}

// RunningAsService reports whether a service manager started the process.
func RunningAsService() bool { return false }
