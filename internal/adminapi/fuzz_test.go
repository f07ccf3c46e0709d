package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/adminapi"
	"github.com/bellhop/bellhop/internal/httpapi"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// FuzzAdmin sends arbitrary bodies to the admin API's write operations and
// checks that none gives a 5xx or a panic.
func FuzzAdmin(f *testing.F) {
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
	token := bellhop.NewToken()
	if err := st.CreateAdminToken(ctx, "fuzz", bellhop.HashToken(token)); err != nil {
		f.Fatal(err)
	}
	ent, _ := svc.CreateEnterprise(ctx, "Fuzz")
	d := &bellhop.Device{EnterpriseID: ent.ID, Type: bellhop.Printer, Name: "P"}
	svc.CreateDevice(ctx, d)
	srv := adminapi.New(adminapi.Config{MaxBody: 1 << 16}, svc)
	paths := []string{"enterprises", "integrations", "subscriptions", "devices", "reservations", "customers", "commands"}
	seeds := []string{`{"Name":"x"}`, `{"IntegrationId":"` + bellhop.NewID() + `","EnterpriseIds":["` + ent.ID + `"]}`,
		`{"EnterpriseId":"` + ent.ID + `","Type":"Printer","Name":"P2","Configuration":{"ApiUrl":"http://x"}}`,
		`{"EnterpriseId":"` + ent.ID + `","LastName":"L","StartUtc":"2026-01-01T00:00:00Z","EndUtc":"2026-01-02T00:00:00Z","LockIds":["1"]}`,
		`{"EnterpriseId":"` + ent.ID + `","CompanyName":"C"}`, `{"DeviceId":"` + d.ID + `","Data":{"a":1}}`, `{"Data":[]}`}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, p uint8, body string) {
		req := httptest.NewRequest(http.MethodPost, adminapi.Prefix+paths[int(p)%len(paths)], strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		httpapi.WithRequestID(srv).ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e httpapi.ErrorBody
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Message == "" {
				t.Fatalf("error body %q", rec.Body)
			}
		}
	})
}
