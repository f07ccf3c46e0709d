package service

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
)

// Spec is a service to install.
type Spec struct {
	// Name is the service's name: the systemd unit is Name.service.
	Name string
	// DisplayName is the unit's Description= and the Windows display name.
	DisplayName string
	// Description says what the service does.
	Description string
	// Exec is the absolute path of the program; Args are its arguments.
	Exec string
	Args []string
	// User runs the service (Linux; its group is the user's name); root
	// when empty. Windows services run as LocalSystem.
	User string
	// WritablePaths are the only paths the service may write (Linux: the
	// unit's ReadWritePaths); the state directory at least.
	WritablePaths []string
	// EnvironmentFile is read by systemd for BELLHOP_* settings, if it
	// exists (Linux).
	EnvironmentFile string
	// PrivateDevices hides the host's devices (Linux): right for the hub,
	// wrong for an agent whose programs may drive a serial device.
	PrivateDevices bool
}

// Validate checks that the spec can be installed.
func (s Spec) Validate() error {
	var errs []error
	if s.Name == "" || strings.ContainsAny(s.Name, "/\\ \t\n") {
		errs = append(errs, fmt.Errorf("service name %q: want a word such as bellhop-agent", s.Name))
	}
	if !filepath.IsAbs(s.Exec) {
		errs = append(errs, fmt.Errorf("service program %q: want an absolute path", s.Exec))
	}
	for _, p := range s.WritablePaths {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("writable path %q: want an absolute path", p))
		}
	}
	for _, v := range append([]string{s.Name, s.DisplayName, s.Description, s.Exec, s.User, s.EnvironmentFile}, append(s.Args, s.WritablePaths...)...) {
		if strings.ContainsAny(v, "\n\r") {
			errs = append(errs, fmt.Errorf("%q: no line breaks allowed", v))
		}
	}
	return errors.Join(errs...)
}

//go:embed units/bellhop.service.tmpl
var unitText string

var unitTemplate = template.Must(template.New("unit").Parse(unitText))

// Unit returns the systemd unit of s.
func Unit(s Spec) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	data := struct {
		Spec
		ExecStart string
		Group     string
	}{Spec: s, Group: s.User}
	words := []string{s.Exec}
	words = append(words, s.Args...)
	for i, w := range words {
		words[i] = quoteExec(w)
	}
	data.ExecStart = strings.Join(words, " ")
	var b bytes.Buffer
	if err := unitTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("service: unit: %w", err)
	}
	return b.Bytes(), nil
}

// quoteExec quotes a word of ExecStart= as systemd reads it: in double
// quotes when it holds a space, a quote or a backslash; "$" and "%"
// doubled, since systemd expands both.
func quoteExec(w string) string {
	w = strings.ReplaceAll(w, "%", "%%")
	w = strings.ReplaceAll(w, "$", "$$")
	if w != "" && !strings.ContainsAny(w, " \t\"'\\;") {
		return w
	}
	w = strings.ReplaceAll(w, `\`, `\\`)
	w = strings.ReplaceAll(w, `"`, `\"`)
	return `"` + w + `"`
}

// The packages' layout: where the .deb and .rpm put things, and so what
// their units say.
const (
	PackageBinary    = "/usr/bin/bellhop"
	PackageUser      = "bellhop"
	PackageConfigDir = "/etc/bellhop"
	PackageStateDir  = "/var/lib/bellhop"
)

// AgentName and HubName are the services' names.
const (
	AgentName = "bellhop-agent"
	HubName   = "bellhop-hub"
)

// AgentSpec is the agent's service running bin with the configuration
// file config, as user, writing only to the given paths (its state
// directory, drop folders).
func AgentSpec(bin, config, user string, writable ...string) Spec {
	return Spec{Name: AgentName, DisplayName: "bellhop agent",
		Description: "runs the hub's device commands on the local printers, key encoders and fiscal printers",
		Exec:        bin, Args: []string{"agent", "run", "--config", config}, User: user, WritablePaths: writable,
		EnvironmentFile: filepath.Join(filepath.Dir(config), AgentName+".env")}
}

// PackageUnits are the units the packages ship, by file name.
func PackageUnits() map[string]Spec {
	agent := AgentSpec(PackageBinary, PackageConfigDir+"/agent.yaml", PackageUser, PackageStateDir+"/agent")
	hub := Spec{Name: HubName, DisplayName: "bellhop hub",
		Description: "the device command queue, its Connector-compatible API, WebSocket, admin API and console",
		Exec:        PackageBinary, Args: []string{"serve", "--data", PackageStateDir + "/hub"}, User: PackageUser,
		WritablePaths: []string{PackageStateDir + "/hub"}, EnvironmentFile: PackageConfigDir + "/hub.env",
		PrivateDevices: true}
	return map[string]Spec{AgentName + ".service": agent, HubName + ".service": hub}
}
