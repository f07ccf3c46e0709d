package hubtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// AgentConfig is the configuration file of an agent process, as an
// installer writes it. Zero fields take test defaults.
type AgentConfig struct {
	PlatformAddress  string
	WebSocketAddress string // optional: derived from PlatformAddress
	ClientToken      string
	AccessToken      string
	// StateDir holds the journal; default a temporary directory, kept
	// across restarts of the same AgentProcess.
	StateDir string
	// PollInterval and ShutdownGrace default to 1 s.
	PollInterval, ShutdownGrace time.Duration
	// RateLimit is the agent's request budget per 30 s; the default, -1,
	// turns its pacing off, as hubs that Start builds have no limit.
	RateLimit int
	Devices   []AgentDevice
	// OwnClient leaves client out of the file, so that the agent sends its
	// default Client; otherwise it sends "bellhop test agent".
	OwnClient bool
}

// AgentDevice matches a hub device by ID (when set) or by Name, and drives
// it with Driver (ipp://..., socket://..., http://..., exec:..., folder:...).
type AgentDevice struct {
	ID, Name string
	Driver   string
}

// yaml renders the configuration file.
func (c AgentConfig) yaml() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "platform_address: %q\n", c.PlatformAddress)
	if c.WebSocketAddress != "" {
		fmt.Fprintf(&b, "websocket_address: %q\n", c.WebSocketAddress)
	}
	fmt.Fprintf(&b, "client_token: %q\naccess_token: %q\nstate_dir: %q\n", c.ClientToken, c.AccessToken, c.StateDir)
	if !c.OwnClient {
		b.WriteString("client: \"bellhop test agent\"\n")
	}
	fmt.Fprintf(&b, "listen: \"off\"\npoll_interval: %s\nshutdown_grace: %s\nrate_limit: %d\ndevices:\n",
		c.PollInterval, c.ShutdownGrace, c.RateLimit)
	for _, d := range c.Devices {
		if d.ID != "" {
			fmt.Fprintf(&b, "  - id: %q\n", d.ID)
		} else {
			fmt.Fprintf(&b, "  - name: %q\n", d.Name)
		}
		fmt.Fprintf(&b, "    driver: %q\n", d.Driver)
	}
	return []byte(b.String())
}

// AgentProcess is a `bellhop agent --config ...` process.
type AgentProcess struct {
	tb     testing.TB
	config string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartAgent writes cfg to a configuration file and starts `bellhop agent`
// with it (logging warnings and errors to a file). The agent is killed when
// the test ends, and the end of its log printed if the test failed.
func StartAgent(tb testing.TB, cfg AgentConfig) *AgentProcess {
	tb.Helper()
	dir := tb.TempDir()
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(dir, "state")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = time.Second
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	a := &AgentProcess{tb: tb, config: filepath.Join(dir, "agent.yaml"), log: filepath.Join(dir, "agent.log")}
	if err := os.WriteFile(a.config, cfg.yaml(), 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		a.Stop(syscall.SIGKILL)
		if tb.Failed() {
			tb.Logf("agent log (last 6 KiB):\n%s", a.Log(6<<10))
		}
	})
	a.Start()
	return a
}

// Start starts the agent again after Stop, on the same configuration and
// journal.
func (a *AgentProcess) Start() {
	a.tb.Helper()
	log, err := os.OpenFile(a.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		a.tb.Fatal(err)
	}
	cmd := exec.Command(Binary(a.tb), "agent", "--config", a.config, "--log-level", "warn")
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		a.tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	a.cmd, a.exited = cmd, exited
}

// Stop sends sig and waits for the agent to exit; one still there 15 s
// later is killed and fails the test.
func (a *AgentProcess) Stop(sig syscall.Signal) {
	a.tb.Helper()
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(sig)
	select {
	case <-a.exited:
	case <-time.After(15 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
		a.tb.Errorf("the agent did not exit on %v", sig)
	}
	a.cmd = nil
}

// Log returns the last n bytes of the agent's log.
func (a *AgentProcess) Log(n int) string {
	b, _ := os.ReadFile(a.log)
	return string(b[max(0, len(b)-n):])
}
