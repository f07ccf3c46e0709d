package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
)

// TestSpecExamples sends every documented example request (current and
// historical), with the tokens and ids replaced by real ones, and checks that
// it is accepted and that the response has the documented response's shape.
func TestSpecExamples(t *testing.T) {
	e := start(t)
	files, err := filepath.Glob("testdata/spec/*.request*.json")
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := filepath.Glob("testdata/spec/historical/*.request.json")
	files = append(files, hist...)
	if len(files) < 15 {
		t.Fatalf("found only %d example requests", len(files))
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			op := operationOf(f)
			tn := e.tenant(strings.ReplaceAll(filepath.Base(f), ".", " "))
			// A command to read or update, on a device the tenant sees.
			cmdID := e.addPrinter(tn)
			req := loadJSON(t, f)
			substitute(req, tn, cmdID)
			r := e.post(op, req)
			if r.Status != 200 {
				t.Fatalf("%s: status %d: %s", op, r.Status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			want := responseOf(t, f)
			var got any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			if op == "fiscalMachineCommands/getAll" {
				// The example's devices hold no commands until one is created.
				cmd := e.addFiscal(tn)
				req["DeviceIds"] = []string{tn.Devices[bellhop.FiscalMachine].Id}
				req["States"] = []string{"Pending", "Received", "Processing", "Processed"}
				delete(req, "UpdatedUtc")
				r = e.post(op, req)
				json.Unmarshal(r.Body, &got)
				if cmds := got.(map[string]any)["Commands"].([]any); len(cmds) != 1 || cmds[0].(map[string]any)["Id"] != cmd {
					t.Fatalf("fiscal commands %s", r.Body)
				}
			}
			sameShape(t, "", want, got)
		})
	}
}

// operationOf turns an example's file name into its operation path.
func operationOf(file string) string {
	name := filepath.Base(file)
	if i := strings.Index(name, "."); i == len("2018-05-01") {
		name = name[i+1:]
	}
	name = name[:strings.Index(name, ".request")]
	resource, action, _ := strings.Cut(name, "-")
	return resource + "/" + action
}

func responseOf(t *testing.T, reqFile string) any {
	name := filepath.Base(reqFile)
	if strings.Contains(reqFile, "historical") {
		name = name[len("2018-05-01."):]
	}
	base := name[:strings.Index(name, ".request")]
	var v any
	if err := json.Unmarshal(readFile(t, "testdata/spec/"+base+".response.json"), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, path), &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// substitute puts the tenant's tokens and ids where the example has the
// documentation's.
func substitute(req map[string]any, tn *tenant, cmdID string) {
	req["ClientToken"], req["AccessToken"] = tn.ClientToken, tn.AccessToken
	ids := map[string]string{
		"EnterpriseId":  tn.Enterprise.Id,
		"PrinterId":     tn.Devices[bellhop.Printer].Id,
		"KeyCutterId":   tn.Devices[bellhop.KeyCutter].Id,
		"TerminalId":    tn.Devices[bellhop.PaymentTerminal].Id,
		"ReservationId": tn.Reservation.Id,
		"CustomerId":    tn.Customer.Id,
		"CommandId":     cmdID,
	}
	for k, v := range ids {
		if _, ok := req[k]; ok {
			req[k] = v
		}
	}
	if _, ok := req["CommandIds"]; ok {
		req["CommandIds"] = []string{cmdID}
	}
	if _, ok := req["EnterpriseIds"]; ok {
		req["EnterpriseIds"] = []string{tn.Enterprise.Id}
	}
	if _, ok := req["DeviceIds"]; ok {
		req["DeviceIds"] = []string{tn.Devices[bellhop.FiscalMachine].Id}
	}
}

// sameShape checks that got has every key of want, recursively, with values
// of the same JSON kind (null in the documentation matches anything).
func sameShape(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case nil:
	case map[string]any:
		if got == nil {
			return // optional objects may be null
		}
		g, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("%s: got %T, want object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Fatalf("%s.%s missing in %v", path, k, g)
			}
			sameShape(t, path+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Fatalf("%s: got %T, want array", path, got)
		}
		if len(w) > 0 && len(g) == 0 {
			t.Fatalf("%s: empty array, the documentation shows items", path)
		}
		if len(w) > 0 {
			for i := range g {
				sameShape(t, path+"[]", w[0], g[i])
			}
		}
	default:
		if got == nil {
			return // optional values may be null
		}
		if kind(want) != kind(got) {
			t.Fatalf("%s: got %T, want %T", path, got, want)
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "other"
}
