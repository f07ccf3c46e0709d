package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleYAML = `
platform_address: http://127.0.0.1:8080
websocket_address: ws://127.0.0.1:8080
client_token: ct
access_token: at
client: "Front desk agent 1.0"
state_dir: ./agent-state
listen: 127.0.0.1:9180
poll_interval: 5s
devices:
  - name: Front desk printer
    driver: ipp://127.0.0.1:8631/ipp/print
  - id: 2F0C0000-0000-0000-0000-000000000001
    driver: socket://192.0.2.10:9100?waiteof=false
    format: escpos
    dots: 384
    give_up_after: 30s
  - name: Key encoder
    driver: http://127.0.0.1:9000/encode
`

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(sampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.Client != "Front desk agent 1.0" || cfg.PollInterval != 5*time.Second || len(cfg.Devices) != 3 ||
		cfg.Devices[1].Driver != "socket://192.0.2.10:9100?waiteof=false" || cfg.Devices[2].Name != "Key encoder" ||
		cfg.Devices[1].Format != "escpos" || cfg.Devices[1].Dots != 384 || cfg.Devices[1].GiveUpAfter != 30*time.Second {
		t.Fatalf("parsed %+v", cfg)
	}
	d := Config{}.WithDefaults()
	if d.Client != DefaultClient || d.StateDir != DefaultStateDir || d.Listen != DefaultListen ||
		d.PollInterval != DefaultPollInterval || d.Retention != DefaultRetention || d.Drivers == nil || d.Logger == nil {
		t.Fatalf("defaults %+v", d)
	}
}

func TestParseConfigStrict(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig([]byte("platform_address: http://x\nclient_tokn: x\n"))
	if err == nil || !strings.Contains(err.Error(), "client_tokn") || !strings.Contains(err.Error(), "2 |") {
		t.Fatalf("want an unknown-key error quoting line 2, got %v", err)
	}
	_, err = ParseConfig([]byte("devices:\n  - name: a\n    driver: socket://x\n    colour: red\n"))
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("want an unknown device key error, got %v", err)
	}
	_, err = ParseConfig([]byte("poll_interval: soon\n"))
	if err == nil {
		t.Fatal("want an error for a bad duration")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() Config {
		return Config{PlatformAddress: "http://127.0.0.1:8080", ClientToken: "c", AccessToken: "a",
			Devices: []DeviceConfig{{Name: "P", Driver: "socket://127.0.0.1:9100"}}}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"missing tokens", func(c *Config) { c.ClientToken, c.AccessToken = "", "" },
			[]string{"client_token is required", "access_token is required"}},
		{"no platform", func(c *Config) { c.PlatformAddress = "" }, []string{"platform_address is required"}},
		{"bad URL", func(c *Config) { c.PlatformAddress = "ftp://hub" }, []string{"platform_address", "scheme"}},
		{"no host", func(c *Config) { c.PlatformAddress = "http://" }, []string{"no host"}},
		{"bad ws", func(c *Config) { c.WebSocketAddress = "tcp://x" }, []string{"websocket_address"}},
		{"bad print options", func(c *Config) {
			c.Devices[0].Format, c.Devices[0].Dots, c.Devices[0].GiveUpAfter = "postscript", 100, -time.Second
			c.Devices[0].Sides, c.Devices[0].Media = "both", "A4"
		}, []string{`format "postscript"`, "give_up_after must not be negative"}},
		{"bad sides and media", func(c *Config) { c.Devices[0].Sides, c.Devices[0].Media = "both", "A4" },
			[]string{`sides "both"`, `media "A4" is not a PWG media name`}},
		{"bad budget", func(c *Config) { c.RateLimit = -5 }, []string{"rate_limit must be positive"}},
		{"duplicate name", func(c *Config) {
			c.Devices = append(c.Devices, DeviceConfig{Name: "P", Driver: "socket://127.0.0.1:9101"})
		}, []string{"devices[1] (P): duplicate of devices[0]"}},
		{"duplicate id", func(c *Config) {
			c.Devices = []DeviceConfig{{ID: "ABC", Driver: "socket://h"}, {ID: "abc", Driver: "socket://h"}}
		}, []string{"duplicate of devices[0]"}},
		{"unknown scheme", func(c *Config) { c.Devices[0].Driver = "lpd://printer" }, []string{"unknown driver scheme", "lpd"}},
		{"bad target", func(c *Config) { c.Devices[0].Driver = "socket://" }, []string{"socket"}},
		{"id and name", func(c *Config) { c.Devices[0].ID = "x" }, []string{"not both"}},
		{"neither", func(c *Config) { c.Devices[0].Name = "" }, []string{"set id or name"}},
		{"no driver", func(c *Config) { c.Devices[0].Driver = "" }, []string{"driver is required"}},
		{"no devices", func(c *Config) { c.Devices = nil }, []string{"at least one device"}},
		{"negative", func(c *Config) { c.PollInterval = -time.Second }, []string{"poll_interval must not be negative"}},
		{"bad listen", func(c *Config) { c.Listen = "9180" }, []string{"listen"}},
		{"listen off", func(c *Config) { c.Listen = ListenOff }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"BELLHOP_AGENT_CLIENT_TOKEN_FILE": secret,
		"BELLHOP_AGENT_ACCESS_TOKEN":      "from-env",
		"BELLHOP_AGENT_POLL_INTERVAL":     "2s",
		"BELLHOP_AGENT_PLATFORM_ADDRESS":  "https://hub.example",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := ParseConfig([]byte(sampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(&cfg, lookup); err != nil {
		t.Fatal(err)
	}
	if cfg.ClientToken != "from-file" || cfg.AccessToken != "from-env" || cfg.PollInterval != 2*time.Second ||
		cfg.PlatformAddress != "https://hub.example" || cfg.Client != "Front desk agent 1.0" {
		t.Fatalf("after env: %+v", cfg)
	}
	if err := cfg.Override("access_token", "from-flag"); err != nil || cfg.AccessToken != "from-flag" {
		t.Fatalf("Override: %v, %q", err, cfg.AccessToken)
	}
	if err := cfg.Override("devices", "x"); err == nil {
		t.Fatal("Override of a non-scalar key must fail")
	}

	env["BELLHOP_AGENT_CLIENT_TOKEN"] = "both"
	env["BELLHOP_AGENT_ACCESS_TOKEN_FILE"] = filepath.Join(dir, "missing")
	delete(env, "BELLHOP_AGENT_ACCESS_TOKEN")
	env["BELLHOP_AGENT_RETENTION"] = "forever"
	err = ApplyEnv(&cfg, lookup)
	for _, w := range []string{"both BELLHOP_AGENT_CLIENT_TOKEN and", "BELLHOP_AGENT_ACCESS_TOKEN_FILE", "BELLHOP_AGENT_RETENTION"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(sampleYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil || cfg.AccessToken != "at" {
		t.Fatalf("LoadConfig: %v %+v", err, cfg)
	}
	if _, err := LoadConfig(path + ".missing"); err == nil {
		t.Fatal("want an error for a missing file")
	}
}

func TestParsePrintOptions(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte("devices:\n  - name: P\n    driver: ipp://p\n    media: iso_a4_210x297mm\n    sides: two-sided-long-edge\n    color_mode: monochrome\n    tray: tray-2\n    fit: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Devices[0].PrintOptions
	if o.Media != "iso_a4_210x297mm" || o.Sides != "two-sided-long-edge" || o.ColorMode != "monochrome" || o.Tray != "tray-2" || !o.Fit {
		t.Errorf("print options %+v", o)
	}
}

// TestParseExecTargetWithWindowsPath: the README's exec: line reaches the
// driver as written, backslashes and quotes included.
func TestParseExecTargetWithWindowsPath(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(`devices:
  - name: Key encoder
    driver: exec:"C:\Program Files\Vendor\encode.exe" --port COM3 --site "Front desk"
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `exec:"C:\Program Files\Vendor\encode.exe" --port COM3 --site "Front desk"`; cfg.Devices[0].Driver != want {
		t.Errorf("driver = %s, want %s", cfg.Devices[0].Driver, want)
	}
}
