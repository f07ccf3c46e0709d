package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/drivers"
	"github.com/bellhop/bellhop/internal/buildinfo"
)

// DefaultClient is the Client the agent sends unless configured otherwise:
// "bellhop-agent/<version> (<host name>)", so that the hub can tell which
// agent, of which version, serves a subscription.
var DefaultClient = buildinfo.AgentClient(hostName())

// hostName is this machine's name, or "" when the system does not say.
func hostName() string {
	h, _ := os.Hostname()
	return h
}

// Defaults applied by [Config.WithDefaults] to zero fields.
const (
	DefaultStateDir     = "agent-state"
	DefaultListen       = "127.0.0.1:9180"
	DefaultPollInterval = 30 * time.Second
	// DefaultRetention is how long the journal remembers a command whose
	// outcome the hub accepted, so that a stale read of the hub (a catch-up
	// that started before the outcome was reported) cannot run it again.
	DefaultRetention = 24 * time.Hour
	// DefaultShutdownGrace is how long Close lets a running action finish
	// before it cancels it.
	DefaultShutdownGrace = 10 * time.Second
	// DefaultRateLimit requests per DefaultRateWindow is what Mews (and a
	// bellhop hub by default) allows one AccessToken.
	DefaultRateLimit  = 200
	DefaultRateWindow = 30 * time.Second
	// DefaultUnreachableGrace is how long the hub may be unreachable
	// before /healthz answers 503.
	DefaultUnreachableGrace = 5 * time.Minute
)

// ListenOff as Config.Listen disables the /healthz and /metrics listener.
const ListenOff = "off"

// EnvPrefix starts every environment variable the agent reads:
// BELLHOP_AGENT_CLIENT_TOKEN for client_token, and so on.
const EnvPrefix = "BELLHOP_AGENT_"

// Config is the agent's configuration, the shape of agent.yaml. The YAML
// keys are given in the field tags; every key is also read from the
// environment by [ApplyEnv]. PlatformAddress, ClientToken, AccessToken and at
// least one device are required; every other field has a default.
type Config struct {
	// PlatformAddress is the hub's base URL (http or https), e.g.
	// http://127.0.0.1:8080.
	PlatformAddress string `yaml:"platform_address"`
	// WebSocketAddress is the base URL of the WebSocket; by default it is
	// derived from PlatformAddress (see client.Config).
	WebSocketAddress string `yaml:"websocket_address"`
	// ClientToken and AccessToken authenticate the agent as an integration
	// connected to the devices it drives.
	ClientToken string `yaml:"client_token"`
	AccessToken string `yaml:"access_token"`
	// Client is the name and version sent with every request. Default
	// DefaultClient: "bellhop-agent/<version> (<host name>)".
	Client string `yaml:"client"`
	// StateDir holds the journal (and its lock). Default "agent-state",
	// relative to the working directory. It must be on a local disk that
	// honours fsync, and be used by one agent at a time.
	StateDir string `yaml:"state_dir"`
	// Listen is the address of /healthz and /metrics. Default
	// "127.0.0.1:9180"; "off" disables the listener; port 0 picks one.
	Listen string `yaml:"listen"`
	// PollInterval is how long the agent waits without any event before it
	// polls the hub anyway. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// DriverTimeout bounds one attempt at a device (driver.Options.Timeout);
	// zero keeps each driver's own default (30 s, folder 60 s).
	DriverTimeout time.Duration `yaml:"driver_timeout"`
	// Retention is how long an accepted outcome stays in the journal.
	// Default 24h.
	Retention time.Duration `yaml:"retention"`
	// ShutdownGrace is how long Close waits for running actions before
	// cancelling them. Default 10s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// RateLimit is how many requests the agent may send to the hub per
	// RateWindow with its AccessToken, WebSocket connections included: the
	// limit the hub enforces. Default 200 per 30s, as Mews enforces; lower
	// it when other programs share the token. The agent paces itself below
	// it, and holds every request after a 429 until Retry-After; -1 turns
	// the pacing off.
	RateLimit  int           `yaml:"rate_limit"`
	RateWindow time.Duration `yaml:"rate_window"`
	// UnreachableGrace is how long the hub may be unreachable (no
	// WebSocket, or no successful catch-up) before /healthz answers 503.
	// Default 5m. /readyz answers 503 at once.
	UnreachableGrace time.Duration `yaml:"unreachable_grace"`
	// CAFile, when set, pins the hub's certificate authority: only
	// certificates it signed are trusted for https and wss (a private CA, or
	// the hub's self-signed certificate). Empty trusts the system's roots.
	// Certificates are always verified.
	CAFile string `yaml:"ca_file"`
	// Devices are the devices this agent drives. Commands for any other
	// device are left alone: another integration may own them.
	Devices []DeviceConfig `yaml:"devices"`

	// Logger receives the agent's log; nil discards it. Not read from YAML.
	Logger *slog.Logger `yaml:"-"`
	// Drivers is the driver registry; nil means drivers.Registry(), the
	// built-in list. Not read from YAML.
	Drivers driver.Registry `yaml:"-"`
	// Started, when set, is called once Run has recovered the journal and
	// started following the hub and running devices: what a service
	// manager calls ready. Not read from YAML.
	Started func() `yaml:"-"`
}

// DeviceConfig binds a hub device to a driver target.
type DeviceConfig struct {
	// ID or Name selects the hub device (exactly one of them), compared
	// without case: two devices whose names differ only in case are one
	// device, and a configuration error.
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Driver is the target, e.g. ipp://127.0.0.1:631/ipp/print,
	// socket://192.0.2.10:9100, http://..., exec:/path, folder:/path, apiurl.
	Driver string `yaml:"driver"`
	// GiveUpAfter bounds how long a command waits on a device that cannot
	// take or finish it (refused connections, a paused or stopped queue, a
	// held job): within it the agent tries again what surely did not
	// happen, after it the command ends as Error with the device's last
	// reason and the next command starts. Default 2m.
	GiveUpAfter time.Duration `yaml:"give_up_after"`
	// Format is what a printer is sent: pdf (default: the document as it
	// is), raw (the command's bytes untouched: ZPL, ESC/POS made upstream),
	// escpos (the PDF drawn as ESC/POS raster for a receipt printer) or
	// raster (PWG or Apple raster for an IPP printer that takes no PDF;
	// chosen by itself when the printer says so).
	Format string `yaml:"format"`
	// Dots is a receipt printer's width in dots for escpos: 576 (80 mm,
	// the default) or 384 (58 mm).
	Dots int `yaml:"dots"`
	// Print options (media, sides, color_mode, tray, fit) for every
	// command of the device; a command's own Options win.
	driver.PrintOptions `yaml:",inline"`
	// CAFile, for an ipps:// or https:// device, is a PEM file of the CA
	// (or the printer's own self-signed certificate) its certificate must
	// chain to; the name in it is not checked, since printers name
	// themselves. TrustOnFirstUse instead pins the first certificate seen
	// (in the state directory) and refuses any other. Default: the system's
	// roots and the host name.
	CAFile          string `yaml:"ca_file"`
	TrustOnFirstUse bool   `yaml:"trust_on_first_use"`
}

// options are the driver options of the device.
func (cfg Config) options(d DeviceConfig) (driver.Options, error) {
	tlsCfg, err := cfg.printerTLS(d, &pinStore{path: filepath.Join(cfg.StateDir, PinsFile)})
	if err != nil {
		return driver.Options{}, err
	}
	return driver.Options{Timeout: cfg.DriverTimeout, Logger: cfg.Logger, Format: d.Format, Dots: d.Dots,
		CacheDir: cfg.cacheDir(), Print: d.PrintOptions, TLSConfig: tlsCfg}, nil
}

// cacheDir is where drivers keep caches: the PDF renderer's compiled code.
func (cfg Config) cacheDir() string { return filepath.Join(cfg.StateDir, "cache") }

func (d DeviceConfig) giveUpAfter() time.Duration {
	return driver.Or(d.GiveUpAfter, driver.DefaultGiveUpAfter)
}

// key names the device in the journal; two devices with the same key are
// the same hub device, since ids and names match without case.
func (d DeviceConfig) key() string {
	if d.ID != "" {
		return "id:" + strings.ToLower(d.ID)
	}
	return "name:" + strings.ToLower(d.Name)
}

// label is the device as an operator wrote it.
func (d DeviceConfig) label() string {
	if d.Name != "" {
		return d.Name
	}
	return d.ID
}

// ParseConfig decodes agent.yaml strictly: an unknown key, or a value of the
// wrong type, is an error that quotes the offending line. It does not apply
// defaults or validate; see [Config.WithDefaults] and [Config.Validate].
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return Config{}, fmt.Errorf("agent config:\n%s", yaml.FormatError(err, false, true))
	}
	return cfg, nil
}

// LoadConfig reads and parses the file at path (see [ParseConfig]).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("agent config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// envKeys maps the scalar YAML keys to their fields, for ApplyEnv.
func (cfg *Config) envKeys() map[string]any {
	return map[string]any{
		"platform_address":  &cfg.PlatformAddress,
		"websocket_address": &cfg.WebSocketAddress,
		"client_token":      &cfg.ClientToken,
		"access_token":      &cfg.AccessToken,
		"client":            &cfg.Client,
		"state_dir":         &cfg.StateDir,
		"listen":            &cfg.Listen,
		"poll_interval":     &cfg.PollInterval,
		"driver_timeout":    &cfg.DriverTimeout,
		"retention":         &cfg.Retention,
		"shutdown_grace":    &cfg.ShutdownGrace,
		"ca_file":           &cfg.CAFile,
		"rate_limit":        &cfg.RateLimit,
		"rate_window":       &cfg.RateWindow,
		"unreachable_grace": &cfg.UnreachableGrace,
	}
}

// ApplyEnv overrides cfg with the environment, read through lookup (pass
// os.LookupEnv): BELLHOP_AGENT_<KEY> for every scalar key (e.g.
// BELLHOP_AGENT_ACCESS_TOKEN), and BELLHOP_AGENT_<KEY>_FILE naming a file
// whose content (trailing newline removed) is the value, for secrets kept in
// files (Docker and systemd credentials). Setting both is an error, and so
// is an unreadable file or a malformed duration. Devices come from the file
// only.
func ApplyEnv(cfg *Config, lookup func(string) (string, bool)) error {
	var errs []error
	for key, field := range cfg.envKeys() {
		name := EnvPrefix + strings.ToUpper(key)
		val, ok := lookup(name)
		if path, fok := lookup(name + "_FILE"); fok {
			if ok {
				errs = append(errs, fmt.Errorf("agent config: both %s and %s_FILE are set", name, name))
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("agent config: %s_FILE: %w", name, err))
				continue
			}
			val, ok = strings.TrimRight(string(b), "\r\n"), true
		}
		if !ok {
			continue
		}
		if err := setField(field, val); err != nil {
			errs = append(errs, fmt.Errorf("agent config: %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Override sets the scalar key (a YAML key such as "access_token") to val:
// how the CLI applies its flags over the file and the environment. It
// returns an error for an unknown key or a malformed duration.
func (cfg *Config) Override(key, val string) error {
	field, ok := cfg.envKeys()[key]
	if !ok {
		return fmt.Errorf("agent config: unknown key %q", key)
	}
	if err := setField(field, val); err != nil {
		return fmt.Errorf("agent config: %s: %w", key, err)
	}
	return nil
}

func setField(field any, val string) error {
	switch f := field.(type) {
	case *string:
		*f = val
	case *time.Duration:
		d, err := time.ParseDuration(val)
		if err != nil {
			return err
		}
		*f = d
	case *int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return err
		}
		*f = n
	}
	return nil
}

// WithDefaults returns cfg with every zero field set to its documented
// default.
func (cfg Config) WithDefaults() Config {
	if cfg.Client == "" {
		cfg.Client = DefaultClient
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	if cfg.UnreachableGrace == 0 {
		cfg.UnreachableGrace = DefaultUnreachableGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Drivers == nil {
		cfg.Drivers = drivers.Registry()
	}
	return cfg
}

// Validate reports every problem of cfg, joined with errors.Join, or nil.
// Zero fields with defaults are valid. It checks that the tokens and the
// platform address are set and well formed, that durations are not
// negative, that Listen is host:port or "off", and that every device has
// exactly one of id and name, is not listed twice, and has a driver target
// whose scheme is known and that its driver accepts (without contacting the
// device).
func (cfg Config) Validate() error {
	cfg = cfg.WithDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("agent config: "+format, args...)) }
	if cfg.PlatformAddress == "" {
		add("platform_address is required")
	} else if err := checkAddress(cfg.PlatformAddress, ""); err != nil {
		add("platform_address: %v", err)
	}
	if cfg.WebSocketAddress != "" {
		if err := checkAddress("", cfg.WebSocketAddress); err != nil {
			add("websocket_address: %v", err)
		}
	}
	if cfg.CAFile != "" {
		if _, err := loadCA(cfg.CAFile); err != nil {
			add("ca_file: %v", err)
		}
	}
	if cfg.ClientToken == "" {
		add("client_token is required (or %sCLIENT_TOKEN, or %sCLIENT_TOKEN_FILE)", EnvPrefix, EnvPrefix)
	}
	if cfg.AccessToken == "" {
		add("access_token is required (or %sACCESS_TOKEN, or %sACCESS_TOKEN_FILE)", EnvPrefix, EnvPrefix)
	}
	if cfg.Listen != ListenOff {
		if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
			add("listen %q: want host:port or %q: %v", cfg.Listen, ListenOff, err)
		}
	}
	for name, d := range map[string]time.Duration{"poll_interval": cfg.PollInterval, "driver_timeout": cfg.DriverTimeout,
		"retention": cfg.Retention, "shutdown_grace": cfg.ShutdownGrace, "rate_window": cfg.RateWindow, "unreachable_grace": cfg.UnreachableGrace} {
		if d < 0 {
			add("%s must not be negative, got %v", name, d)
		}
	}
	if cfg.RateLimit < -1 {
		add("rate_limit must be positive, or -1 to turn pacing off; got %d", cfg.RateLimit)
	}
	if len(cfg.Devices) == 0 {
		add("devices: at least one device is required")
	}
	seen := map[string]int{}
	for i, d := range cfg.Devices {
		where := fmt.Sprintf("devices[%d]", i)
		switch {
		case d.ID == "" && d.Name == "":
			add("%s: set id or name", where)
			continue
		case d.ID != "" && d.Name != "":
			add("%s: set id or name, not both", where)
			continue
		}
		where = fmt.Sprintf("devices[%d] (%s)", i, d.label())
		if j, dup := seen[d.key()]; dup {
			if o := cfg.Devices[j]; o.label() != d.label() {
				add("%s: duplicate of devices[%d] (%s): names and ids match without case", where, j, o.label())
			} else {
				add("%s: duplicate of devices[%d]", where, j)
			}
		}
		seen[d.key()] = i
		if d.GiveUpAfter < 0 {
			add("%s: give_up_after must not be negative, got %v", where, d.GiveUpAfter)
		}
		if strings.TrimSpace(d.Driver) == "" {
			add("%s: driver is required (known schemes: %s)", where, strings.Join(cfg.Drivers.Schemes(), ", "))
			continue
		}
		if d.CAFile != "" && d.TrustOnFirstUse {
			add("%s: set ca_file or trust_on_first_use, not both", where)
			continue
		}
		opts, err := cfg.options(d)
		if err != nil {
			add("%s: %v", where, err)
			continue
		}
		drv, err := cfg.Drivers.Open(d.Driver, opts)
		if err != nil {
			add("%s: %v", where, err)
			continue
		}
		_ = drv.Close()
	}
	return errors.Join(errs...)
}

// checkAddress applies the SDK's rule for a hub address (scheme, host, no
// query or fragment), so that a file this accepts is one the SDK takes.
func checkAddress(platform, websocket string) error {
	if platform == "" {
		platform = "http://placeholder" // checking the WebSocket address alone
	}
	return client.Config{PlatformAddress: platform, WebSocketAddress: websocket,
		ClientToken: "-", AccessToken: "-", Client: "-"}.Validate()
}

// loadCA reads a PEM bundle of CA certificates into a pool.
func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// httpClient returns the client for the hub: TLS 1.2 or later, verified
// against the pinned CA when CAFile is set.
func (cfg Config) httpClient() (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := loadCA(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("agent: ca_file: %w", err)
		}
		tlsCfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	return &http.Client{Transport: tr}, nil
}
