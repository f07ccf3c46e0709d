package drivers

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

// peer is one driver's target wired to a real or faithful device.
type peer struct {
	target     string
	job        driver.Job
	repeatable bool
}

// peers builds every driver's device. A hanging device takes the job and
// never finishes it, for the cancellation test.
var peers = map[string]func(t *testing.T, hang bool) peer{
	"ipp": func(t *testing.T, hang bool) peer {
		opts := drivertest.IPPOptions{}
		if hang {
			opts.Command = hangingScript(t, "")
		}
		return peer{target: drivertest.StartIPPEverywhere(t, opts).URI, job: drivertest.PrinterJob("cmd-c", drivertest.PDF, 2)}
	},
	"socket": func(t *testing.T, hang bool) peer {
		job := drivertest.PrinterJob("cmd-c", drivertest.PDF, 2)
		if hang {
			job = drivertest.PrinterJob("cmd-c", make([]byte, 8<<20), 2) // more than socket buffers hold
		}
		return peer{target: "socket://" + drivertest.StartTCPSink(t, hang).Addr(), job: job}
	},
	"http": func(t *testing.T, hang bool) peer {
		return peer{target: httpPeer(t, hang).URL, job: drivertest.KeyCutterJob("cmd-c", "")}
	},
	"apiurl": func(t *testing.T, hang bool) peer {
		return peer{target: "apiurl", job: drivertest.KeyCutterJob("cmd-c", httpPeer(t, hang).URL)}
	},
	"exec": func(t *testing.T, hang bool) peer {
		body := "cat >/dev/null; echo encoded"
		if hang {
			body = ""
		}
		return peer{target: "exec:" + hangingScript(t, body), job: drivertest.KeyCutterJob("cmd-c", "")}
	},
	"folder": func(t *testing.T, hang bool) peer {
		dir := t.TempDir()
		if !hang {
			drivertest.AnswerFolder(t, dir, "cmd-c", ".done", "encoded")
		}
		return peer{target: "folder:" + dir, job: drivertest.KeyCutterJob("cmd-c", ""), repeatable: true}
	},
	"epson-fiscal": func(t *testing.T, hang bool) peer {
		f := drivertest.StartFPMate(t)
		f.Hold = hang
		return peer{target: "epson-fiscal://" + f.Host, job: drivertest.FiscalJob("cmd-c", "")}
	},
}

func httpPeer(t *testing.T, hang bool) *drivertest.HTTPPeer {
	if !hang {
		return drivertest.StartHTTPPeer(t, nil)
	}
	return drivertest.StartHTTPPeer(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
}

// hangingScript writes a script that runs body, or hangs when body is empty.
func hangingScript(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "tool")
	if body == "" {
		body = "exec sleep 30"
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T, target string) driver.Driver {
	t.Helper()
	d, err := Open(target, driver.Options{Timeout: 5 * time.Second, PollInterval: 10 * time.Millisecond, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatalf("Open(%q): %v", target, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// TestConformance runs every driver's happy path through the interface.
func TestConformance(t *testing.T) {
	t.Parallel()
	for name, build := range peers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := build(t, false)
			d := open(t, p.target)
			if err := d.Check(context.Background()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if d.Repeatable() != p.repeatable {
				t.Errorf("Repeatable = %v, want %v", d.Repeatable(), p.repeatable)
			}
			var progress drivertest.Progress
			p.job.Progress = progress.Func()
			res, err := d.Run(context.Background(), p.job)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Notes == "" || len(res.Notes) > driver.MaxNotes {
				t.Errorf("Notes = %q, want a short note", res.Notes)
			}
			if n := len(progress.Values); n == 0 || progress.Values[n-1] != 1 {
				t.Errorf("progress = %v, want it to end at 1", progress.Values)
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestConformanceCancel checks that a cancelled context ends Run with an
// error wrapping context.Canceled, for every driver, while its device holds
// the job. Drivers report progress once the device has the job (ipp: once
// the printer processes it), which is when the test cancels.
func TestConformanceCancel(t *testing.T) {
	t.Parallel()
	for name, build := range peers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := build(t, true)
			d := open(t, p.target)
			ctx, cancel := context.WithCancel(context.Background())
			p.job.Progress = func(f float64) {
				if name != "ipp" || f > 0 { // ipp: once the printer processes the job
					cancel()
				}
			}
			_, err := d.Run(ctx, p.job)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want an error wrapping context.Canceled", err)
			}
		})
	}
}
