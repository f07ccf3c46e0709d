package drivertest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/agent/driver"
)

// AnswerFolder plays the lock system of the folder driver: it waits for
// dir/<id>.json, then writes dir/<id><ext> (".done" or ".error") with text
// and sends the decoded request on the returned channel. It gives up when
// the test ends; the channel is then closed.
func AnswerFolder(tb testing.TB, dir, id, ext, text string) <-chan driver.Request {
	tb.Helper()
	seen := make(chan driver.Request, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	tb.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		defer close(seen)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(filepath.Join(dir, id+".json")); err == nil {
				req, _ := DecodeRequest(b)
				// Write then rename, as a careful lock system does.
				tmp := filepath.Join(dir, ".answer-"+id)
				if os.WriteFile(tmp, []byte(text), 0o644) == nil {
					_ = os.Rename(tmp, filepath.Join(dir, id+ext))
				}
				seen <- req
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return seen
}
