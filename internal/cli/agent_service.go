package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/service"
)

// serviceLogger is the logger of a program that may run as a service: the
// flags' logger on stderr (systemd's journal reads it), plus the rotating
// file when one is named, plus the Windows Event Log (warnings and errors)
// when the Windows service manager started the process.
func (g *Globals) serviceLogger(name, file string) (*slog.Logger, func()) {
	handlers := []slog.Handler{g.handler(g.stderr)}
	closers := []func() error{}
	if file != "" {
		w := service.LogFile(file)
		handlers = append(handlers, g.handler(w))
		closers = append(closers, w.Close)
	}
	if h, closeEvents := service.EventLogHandler(name, slog.LevelWarn); h != nil {
		handlers = append(handlers, h)
		closers = append(closers, closeEvents)
	}
	return slog.New(slog.NewMultiHandler(handlers...)), func() {
		for _, c := range closers {
			_ = c()
		}
	}
}

// AgentInstallCmd installs the agent as a service.
type AgentInstallCmd struct {
	Config string `help:"Agent configuration file (YAML); the service reads it at every start." required:"" type:"existingfile"`
	User   string `help:"Linux: the user the service runs as (it must exist; root is allowed but not advised)." default:"bellhop"`
	Print  bool   `help:"Print the systemd unit (Linux) or the service's command line (Windows) instead of installing."`
}

// Run checks the configuration, then installs the service so that it
// starts at boot and restarts after a failure; `bellhop agent start`
// starts it now.
func (c *AgentInstallCmd) Run(ctx context.Context, g *Globals) error {
	spec, err := c.spec()
	if err != nil {
		return err
	}
	if c.Print {
		if runtime.GOOS == "windows" {
			fmt.Fprintln(g.stdout, spec.Exec, strings.Join(spec.Args, " "))
			return nil
		}
		unit, err := service.Unit(spec)
		if err != nil {
			return err
		}
		_, err = g.stdout.Write(unit)
		return err
	}
	if err := service.Local().Install(ctx, spec); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "installed the service %s (starts at boot; restarts after a failure)\nstart it now with: bellhop agent start\n", spec.Name)
	return nil
}

// spec is the service for the configuration: the running binary, the
// configuration's absolute path, and the paths the agent writes.
func (c *AgentInstallCmd) spec() (service.Spec, error) {
	cfg, err := agent.LoadConfig(c.Config)
	if err != nil {
		return service.Spec{}, err
	}
	if err := cfg.Validate(); err != nil {
		return service.Spec{}, err
	}
	cfg = cfg.WithDefaults()
	bin, err := os.Executable()
	if err == nil {
		bin, err = filepath.EvalSymlinks(bin)
	}
	if err != nil {
		return service.Spec{}, fmt.Errorf("agent install: the program's path: %w", err)
	}
	config, err := filepath.Abs(c.Config)
	if err != nil {
		return service.Spec{}, err
	}
	user := c.User
	if runtime.GOOS == "windows" {
		user = ""
	} else if under, ok := hiddenFromServices(config); ok {
		return service.Spec{}, fmt.Errorf("agent install: %s is under %s, which the service cannot read (ProtectHome): put it in /etc/bellhop", config, under)
	}
	if user == "root" {
		user = ""
	}
	state, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return service.Spec{}, err
	}
	writable := []string{state}
	for _, d := range cfg.Devices {
		if dir, ok := strings.CutPrefix(d.Driver, "folder:"); ok && dir != "" {
			if dir, err = filepath.Abs(dir); err == nil {
				writable = append(writable, dir)
			}
		}
	}
	spec := service.AgentSpec(bin, config, user, writable...)
	if !filepath.IsAbs(cfg.StateDir) {
		// A service's working directory is not this one.
		spec.Args = append(spec.Args, "--state-dir", state)
	}
	if runtime.GOOS == "windows" {
		// No journald there: the Event Log has warnings and errors, the
		// file everything.
		spec.Args = append(spec.Args, "--log-file", filepath.Join(state, "logs", "agent.log"))
	}
	return spec, nil
}

// hiddenFromServices tells whether path is under a directory that the
// unit's ProtectHome=yes hides.
func hiddenFromServices(path string) (string, bool) {
	for _, dir := range []string{"/home", "/root", "/run/user"} {
		if path == dir || strings.HasPrefix(path, dir+"/") {
			return dir, true
		}
	}
	return "", false
}

// AgentUninstallCmd removes the agent's service.
type AgentUninstallCmd struct{}

// Run stops and removes the service.
func (c *AgentUninstallCmd) Run(ctx context.Context, g *Globals) error {
	if err := service.Local().Uninstall(ctx, service.AgentName); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "removed the service %s; its state and configuration stay\n", service.AgentName)
	return nil
}

// AgentStartCmd starts the agent's service.
type AgentStartCmd struct{}

// Run starts the service and waits until it is ready.
func (c *AgentStartCmd) Run(ctx context.Context, _ *Globals) error {
	return service.Local().Start(ctx, service.AgentName)
}

// AgentStopCmd stops the agent's service.
type AgentStopCmd struct{}

// Run stops the service and waits until it has stopped.
func (c *AgentStopCmd) Run(ctx context.Context, _ *Globals) error {
	return service.Local().Stop(ctx, service.AgentName)
}
