package connectorapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/connectorapi"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// FuzzOperations sends arbitrary bodies to every operation of a real hub
// (SQLite, a tenant with devices) and checks that no input gives a 5xx or a
// panic, and that every error is the Mews error body.
func FuzzOperations(f *testing.F) {
	ops := []string{"devices/getAll", "commands/getAllActive", "commands/getAllByIds", "commands/update",
		"commands/addPrinter", "commands/addKeyCutter", "commands/addPaymentTerminal", "fiscalMachineCommands/getAll"}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(f.TempDir(), "fuzz.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := hub.New(hub.Config{}, st, nil)
	if err != nil {
		f.Fatal(err)
	}
	ent, _ := svc.CreateEnterprise(ctx, "Fuzz")
	integ, ct, _ := svc.CreateIntegration(ctx, "Fuzz")
	sub, at, _ := svc.CreateSubscription(ctx, integ.ID, []string{ent.ID})
	for _, typ := range bellhop.DeviceTypes {
		d := &bellhop.Device{EnterpriseID: ent.ID, Type: typ, Name: string(typ)}
		if err := svc.CreateDevice(ctx, d); err != nil {
			f.Fatal(err)
		}
		svc.Connect(ctx, sub.ID, d.ID)
	}
	srv := connectorapi.New(connectorapi.Config{MaxBody: 1 << 16}, svc)

	examples, _ := filepath.Glob("../e2e/testdata/spec/*.request*.json")
	for _, ex := range examples {
		b, err := os.ReadFile(ex)
		if err != nil {
			f.Fatal(err)
		}
		body := strings.NewReplacer("E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D", ct,
			"C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D", at).Replace(string(b))
		for i := range ops {
			f.Add(uint8(i), body)
		}
	}
	f.Add(uint8(3), `{"ClientToken":"`+ct+`","AccessToken":"`+at+`","CommandId":"aa20961f-6d9e-4b35-ad25-071213530aec","State":"Processing","Progress":1e309}`)
	f.Add(uint8(2), `{"ClientToken":"`+ct+`","AccessToken":"`+at+`","CommandIds":[null,1,{}],"Limitation":{"Count":-1,"Cursor":7}}`)

	f.Fuzz(func(t *testing.T, op uint8, body string) {
		path := connectorapi.Prefix + ops[int(op)%len(ops)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		httpapi.WithRequestID(srv).ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e httpapi.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" || e.RequestId == "" {
				t.Fatalf("%s: error body %q", path, rec.Body)
			}
		}
	})
}
