package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/service"
)

// AgentCmd is `bellhop agent`: run the on-premise agent (default) or check
// its configuration.
type AgentCmd struct {
	Run      AgentRunCmd      `cmd:"" default:"withargs" help:"Run the agent (the default)."`
	Check    AgentCheckCmd    `cmd:"" help:"Validate the configuration, reach the hub and every device, and print what works."`
	Discover AgentDiscoverCmd `cmd:"" help:"List IPP printers found by DNS-SD and the local CUPS queues, with driver targets to paste."`

	Install   AgentInstallCmd   `cmd:"" help:"Install the agent as a service (systemd on Linux, a Windows service) that starts at boot."`
	Uninstall AgentUninstallCmd `cmd:"" help:"Stop and remove the agent's service; its state and configuration stay."`
	Start     AgentStartCmd     `cmd:"" help:"Start the agent's service and wait until it runs."`
	Stop      AgentStopCmd      `cmd:"" help:"Stop the agent's service and wait until it has stopped."`
}

// agentFlags are the flags of both agent subcommands. Each overrides the
// key of the same name in the file and in the BELLHOP_AGENT_* environment.
type agentFlags struct {
	Config           string        `help:"Agent configuration file (YAML)." default:"agent.yaml" env:"BELLHOP_AGENT_CONFIG" type:"path"`
	PlatformAddress  string        `help:"Hub base URL (platform_address)."`
	WebSocketAddress string        `name:"websocket-address" help:"WebSocket base URL (websocket_address)."`
	ClientToken      string        `help:"Client token (client_token); prefer BELLHOP_AGENT_CLIENT_TOKEN_FILE."`
	AccessToken      string        `help:"Access token (access_token); prefer BELLHOP_AGENT_ACCESS_TOKEN_FILE."`
	Client           string        `help:"Client name and version sent to the hub (client)."`
	StateDir         string        `help:"Journal directory (state_dir)."`
	Listen           string        `help:"Address of /healthz and /metrics, or off (listen)."`
	PollInterval     time.Duration `help:"Poll the hub after this long without events (poll_interval)."`
}

// load reads the file, then the environment, then the flags.
func (f *agentFlags) load() (agent.Config, error) {
	cfg, err := agent.LoadConfig(f.Config)
	if err != nil {
		return agent.Config{}, err
	}
	if err := agent.ApplyEnv(&cfg, os.LookupEnv); err != nil {
		return agent.Config{}, err
	}
	for key, val := range map[string]string{"platform_address": f.PlatformAddress, "websocket_address": f.WebSocketAddress,
		"client_token": f.ClientToken, "access_token": f.AccessToken, "client": f.Client, "state_dir": f.StateDir,
		"listen": f.Listen} {
		if val != "" {
			if err := cfg.Override(key, val); err != nil {
				return agent.Config{}, err
			}
		}
	}
	if f.PollInterval != 0 {
		cfg.PollInterval = f.PollInterval
	}
	return cfg, nil
}

// AgentRunCmd runs the agent until interrupted.
type AgentRunCmd struct {
	agentFlags
	LogFile string `help:"Also write the log to this file, rotated at 20 MB (5 kept, gzipped)." env:"BELLHOP_AGENT_LOG_FILE" type:"path"`
}

// Run runs the agent until SIGINT or SIGTERM, or until its service manager
// stops it: it tells systemd or the Windows service manager when it has
// started (configuration loaded, state directory locked, devices running).
func (c *AgentRunCmd) Run(ctx context.Context, g *Globals) error {
	log, closeLog := g.serviceLogger(service.AgentName, c.LogFile)
	defer closeLog()
	return service.Run(ctx, func(ctx context.Context, ready func()) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		cfg.Logger, cfg.Started = log, ready
		a, err := agent.New(cfg)
		if err != nil {
			return err
		}
		runErr := a.Run(ctx)
		if err := a.Close(); err != nil && runErr == nil {
			runErr = err
		}
		return runErr
	}, service.Options{Name: service.AgentName, Logger: log})
}

// AgentCheckCmd checks the configuration and what it points at.
type AgentCheckCmd struct {
	agentFlags
}

// Run prints the check table; it fails when anything does not work.
func (c *AgentCheckCmd) Run(ctx context.Context, g *Globals) error {
	cfg, err := c.load()
	if err != nil {
		return err
	}
	results, err := agent.Check(ctx, cfg)
	if err != nil {
		return err
	}
	if failed := agent.PrintCheck(g.stdout, results); failed > 0 {
		return fmt.Errorf("agent check: %d of %d checks failed", failed, len(results))
	}
	return nil
}

// AgentDiscoverCmd lists printers for agent.yaml.
type AgentDiscoverCmd struct {
	Timeout time.Duration `help:"How long to listen for DNS-SD answers." default:"3s"`
	CUPS    string        `name:"cups" help:"CUPS server whose queues to list, or off." default:"localhost:631"`
}

// Run prints what it found; it fails only when nothing could be asked.
func (c *AgentDiscoverCmd) Run(ctx context.Context, g *Globals) error {
	found, err := agent.Discover(ctx, agent.DiscoverOptions{Timeout: c.Timeout, CUPS: c.CUPS})
	if err != nil {
		return err
	}
	if len(found) == 0 {
		fmt.Fprintln(g.stdout, "no printers found (DNS-SD answers only on the local network; is CUPS running?)")
		return nil
	}
	agent.PrintFound(g.stdout, found)
	return nil
}
