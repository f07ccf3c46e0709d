package agent_test

import (
	"net/http"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/agent"
)

// Config.Started is called once, when the agent serves: by then its state
// directory is locked and its health listener answers (a service manager
// hears "ready" then).
func TestStartedHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	started := make(chan struct{})
	d := e.device(bellhop.KeyCutter, "Encoder")
	cfg := e.config(t.TempDir(), agent.DeviceConfig{Name: d.Name, Driver: "folder:" + t.TempDir()})
	cfg.Started = func() { close(started) } // a second call would panic
	a, stop := startAgent(t, cfg)
	<-started
	resp, err := http.Get("http://" + a.HealthAddr() + "/healthz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after Started: %s", resp.Status)
	}
	stop()
}
