package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// TestMewsDemo replays the documented example requests byte for byte
// against a hub seeded by --mews-demo: the tokens and ids they print work,
// and the answers have the documented shapes; then the SDK and a raw
// WebSocket, configured with the same tokens, work as against Mews' demo.
func TestMewsDemo(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	info, err := node.SeedMewsDemo(ctx, e.Node)
	if err != nil || !info.Created {
		t.Fatalf("seed: %+v %v", info, err)
	}
	ws, resp, err := dialAt(t, e.WebSocketAddress(), node.MewsDemoClientToken, node.MewsDemoAccessToken, false)
	if err != nil {
		t.Fatalf("dial with the documented tokens: %v %v", err, resp)
	}
	// In an integration's order: what is there, what waits, read it, done,
	// then new commands of every kind, and the fiscal machines' list.
	for _, name := range []string{"devices-getAll", "commands-getAllActive", "commands-getAllByIds", "commands-update",
		"commands-addPrinter", "commands-addKeyCutter", "commands-addPaymentTerminal", "commands-addPaymentTerminal.request.mews-terminals",
		"fiscalMachineCommands-getAll"} {
		file := "testdata/spec/" + name
		if !strings.Contains(name, ".request") {
			file += ".request.json"
		} else {
			file += ".json"
		}
		body := readFile(t, file)
		op := operationOf(file)
		r := e.post(op, body) // verbatim: the documentation's tokens and ids
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		var got any
		json.Unmarshal(r.Body, &got)
		if op != "fiscalMachineCommands/getAll" { // no fiscal command on the example's devices
			sameShape(t, name, responseOf(t, file), got)
		}
		switch op {
		case "devices/getAll":
			if !bytes.Contains(r.Body, []byte(`{"Id":"d14efcfd-75b9-4bd3-9f10-5657a01f860a","Name":"Key cutter 1","Type":"KeyCutter"`)) {
				t.Fatalf("devices/getAll lacks the example's key cutter: %s", r.Body)
			}
		case "commands/getAllActive", "commands/getAllByIds":
			for _, want := range []string{`"Id":"aa20961f-6d9e-4b35-ad25-071213530aec"`, `"Id":"63efb573-fc58-4065-b687-9bdd51568529","Name":"Test Printer","Type":"Printer"`,
				`"FirstName":"Sample","LastName":"User"`} {
				if !bytes.Contains(r.Body, []byte(want)) {
					t.Fatalf("%s lacks %s: %s", op, want, r.Body)
				}
			}
		}
	}
	ws.expect(t, "aa20961f-6d9e-4b35-ad25-071213530aec", bellhop.Received)
	ws.expect(t, "aa20961f-6d9e-4b35-ad25-071213530aec", bellhop.Processed)

	// Historical examples: those without EnterpriseId on an add-operation
	// are refused, as for every portfolio token; the rest work.
	hist, _ := filepath.Glob("testdata/spec/historical/*.request.json")
	for _, f := range hist {
		body := readFile(t, f)
		r := e.post(operationOf(f), body)
		add := strings.Contains(f, "addPrinter") || strings.Contains(f, "addKeyCutter")
		switch {
		case add && r.Status != http.StatusBadRequest:
			t.Errorf("%s: %d, want 400 Invalid EnterpriseId (a portfolio token)", filepath.Base(f), r.Status)
		case add:
			expectError(t, r, http.StatusBadRequest, "Invalid EnterpriseId")
		case r.Status != http.StatusOK && !strings.Contains(f, "update"):
			t.Errorf("%s: %d %s", filepath.Base(f), r.Status, r.Body)
		}
	}

	// The SDK, set up as for the Mews demo with only the address changed.
	sdk, err := client.New(client.Config{PlatformAddress: e.PlatformAddress(), ClientToken: node.MewsDemoClientToken,
		AccessToken: node.MewsDemoAccessToken, Client: "Sample Client 1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := sdk.Devices(ctx)
	if err != nil || len(devs) != 6 {
		t.Fatalf("devices %+v %v", devs, err)
	}
	id, err := sdk.AddPrinterCommand(ctx, client.AddPrinterRequest{EnterpriseId: ptr("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
		PrinterId: "d117866d-78de-4459-9077-42d7ea0120e3", Data: pdf, CopyCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	ws.expect(t, id, bellhop.Pending)
	pos, _ := client.New(client.Config{PlatformAddress: e.PlatformAddress(), ClientToken: node.MewsDemoClientToken,
		AccessToken: node.MewsDemoPOSAccessToken, Client: "MyPOS 1.0"})
	if devs, err := pos.Devices(ctx); err != nil || len(devs) != 1 || devs[0].Type != client.DeviceTypePaymentTerminal {
		t.Fatalf("point of sale devices %+v %v", devs, err)
	}

	// A restart keeps everything as the integrations left it.
	again, err := node.SeedMewsDemo(ctx, e.Node)
	if err != nil || again.Created {
		t.Fatalf("seed again: %+v %v", again, err)
	}
	if st := e.commandState("aa20961f-6d9e-4b35-ad25-071213530aec"); st != client.StateProcessed {
		t.Fatalf("the example's command after a second seeding: %s", st)
	}
}

// TestMewsDemoProcess runs `bellhop serve --mews-demo` and sends the
// documented getAllActive request as curl would.
func TestMewsDemoProcess(t *testing.T) {
	t.Parallel()
	p := hubtest.StartProcess(t, "--mews-demo")
	resp, err := http.Post(p.PlatformAddress+"/api/connector/v1/commands/getAllActive", "application/json",
		bytes.NewReader(readFile(t, "testdata/spec/commands-getAllActive.request.json")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Commands []struct{ Id string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Commands) != 1 ||
		out.Commands[0].Id != "aa20961f-6d9e-4b35-ad25-071213530aec" {
		t.Fatalf("getAllActive: %d %+v %v", resp.StatusCode, out, err)
	}
	if !strings.Contains(p.Log(), "--mews-demo: this hub accepts the tokens printed in the Mews documentation") {
		t.Fatalf("no warning in the log:\n%s", p.Log())
	}
}
