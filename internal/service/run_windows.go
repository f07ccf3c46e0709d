//go:build windows

package service

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/windows/svc"
)

// Run serves prog to the service control manager as the service
// opts.Name when the manager started the process (see handle for the
// protocol), and just runs prog otherwise (a console). It returns an error
// when prog failed, so the process exits non-zero too.
func Run(ctx context.Context, prog Program, opts Options) error {
	if !RunningAsService() {
		return prog(ctx, func() {})
	}
	h := &winHandler{ctx: ctx, prog: prog, opts: opts}
	if err := svc.Run(opts.Name, h); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if h.code != ExitOK {
		return fmt.Errorf("service %s failed (exit code %d)", opts.Name, h.code)
	}
	return nil
}

// RunningAsService reports whether the service control manager started
// the process.
func RunningAsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

// winHandler translates between svc's types and handle's.
type winHandler struct {
	ctx  context.Context
	prog Program
	opts Options
	code uint32
}

const accepts = svc.AcceptStop | svc.AcceptShutdown

// Execute is svc.Handler's method. A non-zero code is service specific, so
// the manager runs the recovery actions (set on non-crash failures too).
func (h *winHandler) Execute(_ []string, changes <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	requests := make(chan Request)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case c := <-changes:
				var r Request
				switch c.Cmd {
				case svc.Interrogate:
					r = Interrogate
				case svc.Stop:
					r = Stop
				case svc.Shutdown:
					r = Shutdown
				default:
					continue
				}
				select {
				case requests <- r:
				case <-stop:
					return
				}
			}
		}
	}()
	var checkpoint uint32
	h.code = handle(h.ctx, h.prog, h.opts.StopTimeout, requests, func(s Status) {
		ws := svc.Status{WaitHint: uint32(s.WaitHint / time.Millisecond)}
		switch s.State {
		case StartPending:
			ws.State = svc.StartPending
		case Running:
			ws.State, ws.Accepts = svc.Running, accepts
		case StopPending:
			ws.State = svc.StopPending
		}
		if ws.WaitHint > 0 {
			checkpoint++
			ws.CheckPoint = checkpoint
		}
		status <- ws
	}, h.opts.logger())
	return h.code != ExitOK, h.code
}
