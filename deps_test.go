package bellhop_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// The layout's rules, checked on every package's whole import graph (not
// only its direct imports), for the code that ships (not its tests).
const mod = "github.com/bellhop/bellhop"

// adapters are the packages that serve the hub to the outside: HTTP, the
// WebSocket, the console, metrics.
var adapters = []string{"/internal/connectorapi", "/internal/adminapi", "/internal/realtime", "/internal/console",
	"/internal/httpapi", "/internal/metrics"}

// rules say, per group of packages, what they must not depend on and why.
// A dependency ending in "/..." bans the package and everything below it.
var rules = []struct {
	who    []string          // module-relative packages ("" is the domain); "/..." includes subpackages
	direct bool              // check direct imports only (else every dependency)
	banned map[string]string // dependency -> reason
}{
	{who: []string{"/internal/hub"}, banned: map[string]string{
		mod + "/internal/store/sqlite":     "the service works on the store.Store interface, never a backend",
		mod + "/internal/store/postgres":   "the service works on the store.Store interface, never a backend",
		mod + "/internal/realtime":         "the service sits below the adapters and publishes through hub.Publisher",
		mod + "/internal/httpapi":          "the service knows nothing of HTTP",
		"net/http":                         "the service knows nothing of HTTP",
		mod + "/internal/node":             "only the assembly sees every concrete type",
		"github.com/jackc/pgx/v5/...":      "the service works on the store.Store interface, never a backend",
		"modernc.org/sqlite/...":           "the service works on the store.Store interface, never a backend",
		mod + "/internal/agent/...":        "the hub and the agent meet only on the wire",
		mod + "/internal/hubtest":          "test support stays out of what ships",
		mod + "/internal/store/storetest":  "test support stays out of what ships",
		mod + "/internal/agent/driver/...": "the hub and the agent meet only on the wire",
	}},
	{who: adapters, banned: map[string]string{
		mod + "/internal/store/sqlite":   "adapters reach data only through the hub service",
		mod + "/internal/store/postgres": "adapters reach data only through the hub service",
		"github.com/jackc/pgx/v5/...":    "adapters reach data only through the hub service",
		"modernc.org/sqlite/...":         "adapters reach data only through the hub service",
		mod + "/internal/node":           "only the assembly sees every concrete type",
		mod + "/internal/agent/...":      "the hub and the agent meet only on the wire",
		mod + "/internal/hubtest":        "test support stays out of what ships",
	}},
	{who: adapters, direct: true, banned: map[string]string{
		mod + "/internal/store":           "query types are the domain's (bellhop.CommandFilter...); the store is the service's",
		mod + "/internal/connectorapi":    "adapters never import each other; internal/node joins them",
		mod + "/internal/adminapi":        "adapters never import each other; internal/node joins them",
		mod + "/internal/realtime":        "adapters never import each other; internal/node joins them",
		mod + "/internal/console/...":     "adapters never import each other; internal/node joins them",
		mod + "/internal/metrics":         "adapters never import each other; internal/node joins them",
		mod + "/internal/store/sqlite":    "adapters reach data only through the hub service",
		mod + "/internal/store/storetest": "test support stays out of what ships",
	}},
	{who: []string{"/internal/store/sqlite", "/internal/store/postgres"}, banned: map[string]string{
		mod + "/internal/hub":            "business rules live once, in the service above the stores",
		mod + "/internal/store/sqlite":   "the backends never import each other",
		mod + "/internal/store/postgres": "the backends never import each other",
		mod + "/internal/node":           "only the assembly sees every concrete type",
	}},
	{who: []string{"/internal/agent/..."}, banned: map[string]string{
		mod + "/internal/hub":          "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/store/...":    "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/node":         "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/realtime":     "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/connectorapi": "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/adminapi":     "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/console/...":  "the agent runs on premise and speaks to the hub only through the public SDK",
		mod + "/internal/httpapi":      "the agent runs on premise and speaks to the hub only through the public SDK",
		"github.com/jackc/pgx/v5/...":  "the agent needs no database server",
		"modernc.org/sqlite/...":       "the agent's journal is a file, not a database",
		mod + "/internal/hubtest":      "test support stays out of what ships",
	}},
	{who: []string{"/cmd/...", "/internal/cli", "/internal/node", "/internal/bench"}, banned: map[string]string{
		mod + "/internal/hubtest":                 "test support stays out of what ships",
		mod + "/internal/store/storetest":         "test support stays out of what ships",
		mod + "/internal/agent/driver/drivertest": "test support stays out of what ships",
		"testing":                      "test support stays out of what ships",
		"github.com/chromedp/chromedp": "the browser tests' tool stays out of what ships",
	}},
}

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// list returns every package of the module and everything they depend on.
func list(t *testing.T) map[string]*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String()) // a layout test that cannot look must not pass
	}
	pkgs := map[string]*pkg{}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		p := new(pkg)
		if err := dec.Decode(p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) < 50 || pkgs[mod] == nil {
		t.Fatalf("go list found %d packages: not this module", len(pkgs))
	}
	return pkgs
}

// matches reports whether path is pattern, or below it for "x/...".
func matches(path, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// TestDependencies keeps the layout honest: the domain imports only the
// standard library, the public SDK nothing of the module but itself, and
// each group of packages none of the dependencies the rules ban.
func TestDependencies(t *testing.T) {
	pkgs := list(t)
	var ours []*pkg
	for path, p := range pkgs {
		if matches(path, mod+"/...") {
			ours = append(ours, p)
		}
	}
	for _, dep := range pkgs[mod].Deps {
		if !pkgs[dep].Standard {
			t.Errorf("the domain (%s) depends on %s: it imports only the standard library", mod, dep)
		}
	}
	for _, p := range ours {
		if !matches(p.ImportPath, mod+"/client/...") {
			continue
		}
		for _, dep := range p.Deps {
			switch {
			case pkgs[dep].Standard, matches(dep, mod+"/client/..."), matches(dep, "github.com/coder/websocket/..."):
			default:
				t.Errorf("the public SDK %s depends on %s: it is used outside this module, with the standard library and the WebSocket library only", p.ImportPath, dep)
			}
		}
	}
	for i, r := range rules {
		checked := 0
		for _, p := range ours {
			applies := false
			for _, w := range r.who {
				applies = applies || matches(p.ImportPath, mod+w)
			}
			if !applies {
				continue
			}
			checked++
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, dep := range deps {
				for banned, why := range r.banned {
					if matches(dep, banned) && dep != p.ImportPath {
						t.Errorf("%s depends on %s: %s", strings.TrimPrefix(p.ImportPath, mod+"/"), dep, why)
					}
				}
			}
		}
		if checked < len(r.who) {
			t.Errorf("rule %d (%v) applies to %d packages: one it names has moved", i, r.who, checked)
		}
	}
}
