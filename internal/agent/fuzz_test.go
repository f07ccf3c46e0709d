package agent_test

import (
	"testing"

	"github.com/bellhop/bellhop/internal/agent"
)

// FuzzParseConfig feeds arbitrary agent.yaml files to the parser and the
// validator: they must return a value or an error, never panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("platform_address: http://127.0.0.1:8080\nclient_token: a\naccess_token: b\ndevices:\n  - name: P\n    driver: socket://127.0.0.1:9100\n"))
	f.Add([]byte("platform_address: https://hub\nca_file: /nonexistent\npoll_interval: 5s\ndevices:\n  - id: 2f0c\n    driver: ipp://127.0.0.1:631/ipp/print\n"))
	f.Add([]byte("devices: [{name: a, driver: 'exec:/bin/true'}, {name: a, driver: 'folder:/tmp'}]\nunknown: 1\n"))
	f.Add([]byte("poll_interval: forever\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := agent.ParseConfig(data)
		if err != nil {
			return
		}
		_ = cfg.Validate()
	})
}
