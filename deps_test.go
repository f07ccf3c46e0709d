package bellhop_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the layout honest: the domain imports only the standard
// library, and the adapters never import each other (only internal/node wires
// them together).
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const mod = "github.com/bellhop/bellhop"
	adapters := []string{"/internal/store/sqlite", "/internal/store/postgres", "/internal/realtime", "/internal/connectorapi",
		"/internal/adminapi", "/internal/console", "/internal/bench"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			if p.ImportPath == mod && strings.Contains(imp, ".") {
				t.Errorf("the domain package imports %s", imp)
			}
			if p.ImportPath == mod+"/client" && strings.HasPrefix(imp, mod) {
				t.Errorf("the public SDK imports %s", imp)
			}
			for _, a := range adapters {
				for _, b := range adapters {
					if a != b && strings.HasPrefix(p.ImportPath, mod+a) && strings.HasPrefix(imp, mod+b) {
						t.Errorf("adapter %s imports adapter %s", p.ImportPath, imp)
					}
				}
			}
		}
	}
}
