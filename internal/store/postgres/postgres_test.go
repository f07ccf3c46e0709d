package postgres_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/store"
	"github.com/bellhop/bellhop/internal/store/postgres"
	"github.com/bellhop/bellhop/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) }, storetest.ExclusiveLocks())
}

// newSchema returns the name of a schema of its own for the test, dropped
// when it ends.
func newSchema(t testing.TB) string {
	t.Helper()
	_, schema := hubtest.PostgresSchema(t)
	return schema
}

// open opens a store in a fresh schema, closed and dropped when the test
// ends.
func open(t testing.TB) *postgres.Store {
	t.Helper()
	return openConfig(t, postgres.Config{Schema: newSchema(t)})
}

// openConfig opens a store on the test server with cfg (URL, when empty, is
// the test server's; MaxConns, when zero, 8), closed when the test ends.
// Stores opened on one Schema are nodes of one hub.
func openConfig(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = hubtest.PostgresURL()
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8
	}
	s, err := postgres.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the drop
	return s
}

// TestMigrateConcurrently runs the migrations from several nodes at once on
// a fresh schema: they wait for each other and apply each migration once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	admin := hubtest.Postgres(t)
	schema := newSchema(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			errs <- postgres.Migrate(t.Context(), postgres.Config{URL: hubtest.PostgresURL(), Schema: schema})
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	err := admin.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&n)
	files, _ := filepath.Glob("migrations/*.sql")
	if err != nil || n != len(files) || n == 0 {
		t.Errorf("schema_migrations: %d rows (%v), want %d", n, err, len(files))
	}
	s, err := postgres.Open(t.Context(), postgres.Config{URL: hubtest.PostgresURL(), Schema: schema})
	if err != nil {
		t.Fatalf("open after Migrate: %v", err)
	}
	s.Close()
}

// TestSchemaOf: the schema a configuration names, as Open uses it.
func TestSchemaOf(t *testing.T) {
	for _, tc := range []struct{ url, schema, want string }{
		{"postgres://u@h/db?search_path=hotel_1", "", "hotel_1"},
		{"postgres://u@h/db?search_path=hotel_1", "other", "other"},
		{"postgres://u@h/db", "", ""},
		{"postgres://u@h/db?search_path=a,b", "", ""},   // a list, not one schema
		{"postgres://u@h/db?search_path=Hotel", "", ""}, // would need quoting
		{"postgres://u@h:notaport/db?search_path=x", "", ""},
	} {
		if got := postgres.SchemaOf(postgres.Config{URL: tc.url, Schema: tc.schema}); got != tc.want {
			t.Errorf("SchemaOf(%q, Schema %q) = %q, want %q", tc.url, tc.schema, got, tc.want)
		}
	}
}

// TestCreateDropSchema: CreateSchema makes a schema that must be new,
// DropSchema removes it with the tables a store made in it.
func TestCreateDropSchema(t *testing.T) {
	t.Parallel()
	admin := hubtest.Postgres(t)
	dbURL, schema := hubtest.PostgresSchema(t) // the schema in the URL's search_path
	cfg := postgres.Config{URL: dbURL}
	exists := func() bool {
		t.Helper()
		var n int
		if err := admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if err := postgres.CreateSchema(t.Context(), cfg); err != nil || !exists() {
		t.Fatalf("CreateSchema: %v, exists %v", err, exists())
	}
	if err := postgres.CreateSchema(t.Context(), cfg); err == nil {
		t.Error("CreateSchema of an existing schema: no error")
	}
	s, err := postgres.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 { // a second drop finds nothing and is no error
		if err := postgres.DropSchema(t.Context(), cfg); err != nil || exists() {
			t.Fatalf("DropSchema: %v, exists %v", err, exists())
		}
	}
	if err := postgres.DropSchema(t.Context(), postgres.Config{URL: hubtest.PostgresURL()}); err == nil {
		t.Error("DropSchema without a schema: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := postgres.Config{URL: "postgres://u@h/db"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != postgres.DefaultMaxConns {
		t.Errorf("default MaxConns %d", cfg.MaxConns)
	}
	for _, bad := range []postgres.Config{{}, {URL: "postgres://u@h/db", MaxConns: -1}, {URL: "postgres://u@h:port/db"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v): no error", bad)
		}
	}
}

// TestMigrateDataShapes runs the migrations on a schema written before
// payment records: the stored Data of payments and printers is brought to
// the published shapes, the rest is left as it was.
func TestMigrateDataShapes(t *testing.T) {
	t.Parallel()
	admin := hubtest.Postgres(t)
	schema := newSchema(t)
	qs := []string{`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{schema}.Sanitize(), `SET search_path TO ` + pgx.Identifier{schema}.Sanitize(),
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`}
	for i, f := range []string{"0001_init.sql", "0002_rate_limits.sql"} {
		text, err := os.ReadFile("migrations/" + f)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, string(text), fmt.Sprintf(`INSERT INTO schema_migrations (version) VALUES (%d)`, i+1))
	}
	qs = append(qs, `INSERT INTO commands (id, enterprise_id, device_id, device_type, state, created, updated,
			creator_integration_id, creator_first_name, creator_last_name, data, progress, notes) VALUES
			('0190a000-0000-7000-8000-000000000001', 'e', 'd', 'PaymentTerminal', 'Pending', now(), now(), '', '', 'Lee',
				'{"PaymentTerminalId":"T","Type":"Preauthorization","BillId":null}', NULL, ''),
			('0190a000-0000-7000-8000-000000000002', 'e', 'd', 'Printer', 'Pending', now(), now(), '', '', 'Lee',
				'{"CopyCount":1,"PrinterDriverName":"","PrinterPortName":"LPT1"}', NULL, ''),
			('0190a000-0000-7000-8000-000000000003', 'e', 'd', 'KeyCutter', 'Pending', now(), now(), '', '', 'Lee',
				'{"Type":"kept","KeyCount":1}', NULL, ''),
			('0190a000-0000-7000-8000-000000000004', 'e', 'd', 'Printer', 'Pending', now(), now(), '', '', 'Lee', NULL, NULL, '')`,
		`RESET search_path`)
	for _, q := range qs {
		if _, err := admin.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	s := openConfig(t, postgres.Config{Schema: schema})
	got, err := s.GetCommands(t.Context(), []string{"0190a000-0000-7000-8000-000000000001",
		"0190a000-0000-7000-8000-000000000002", "0190a000-0000-7000-8000-000000000003", "0190a000-0000-7000-8000-000000000004"})
	if err != nil || len(got) != 4 {
		t.Fatalf("%v (%v)", got, err)
	}
	for i, want := range []map[string]any{{"PaymentTerminalId": "T", "BillId": nil},
		{"CopyCount": 1.0, "PrinterDriverName": "default", "PrinterPortName": "LPT1"}, {"Type": "kept", "KeyCount": 1.0}, nil} {
		var data map[string]any
		if got[i].Data != nil {
			if err := json.Unmarshal(got[i].Data, &data); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(data, want) {
			t.Errorf("%s: %s, want %v", got[i].DeviceType, got[i].Data, want)
		}
	}
}

// TestLoopbackPlain: a URL that names a loopback host and no sslmode
// connects without TLS first, and with TLS when that fails; any other URL
// keeps pgx's order (prefer: TLS first).
func TestLoopbackPlain(t *testing.T) {
	for _, tc := range []struct {
		url   string
		plain bool // the first try is without TLS, the second with it
	}{
		{"postgres://u@127.0.0.1:5432/db", true},
		{"postgres://u@localhost/db", true},
		{"postgres://u@[::1]:5432/db?search_path=s", true},
		{"host=127.0.0.1 dbname=db", true},
		{"postgres://u@db.example.com/db", false},
		{"postgres://u@10.0.0.7/db", false},
		{"postgres://u@127.0.0.1/db?sslmode=prefer", false},
		{"host=127.0.0.1 dbname=db sslmode=prefer", false},
	} {
		ccfg, err := postgres.ConnConfig(postgres.Config{URL: tc.url})
		if err != nil {
			t.Fatal(err)
		}
		if got := ccfg.TLSConfig == nil; got != tc.plain || len(ccfg.Fallbacks) != 1 || (ccfg.Fallbacks[0].TLSConfig == nil) == got {
			t.Errorf("%s: first try without TLS %v, want %v (fallbacks %+v)", tc.url, got, tc.plain, ccfg.Fallbacks)
		}
	}
	ccfg, err := postgres.ConnConfig(postgres.Config{URL: "postgres://u@127.0.0.1,db.example.com/db"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ccfg.Fallbacks) != 3 || ccfg.TLSConfig != nil || ccfg.Fallbacks[0].TLSConfig == nil ||
		ccfg.Fallbacks[1].TLSConfig == nil || ccfg.Fallbacks[2].TLSConfig != nil {
		t.Errorf("two hosts: %+v then %+v", ccfg.TLSConfig, ccfg.Fallbacks)
	}

	// On the test server, if it is this machine's: the store's connections
	// are plain.
	u, err := url.Parse(hubtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		t.Skip("the test server is not on a loopback address")
	}
	q := u.Query()
	q.Del("sslmode")
	u.RawQuery = q.Encode()
	ccfg, err = postgres.ConnConfig(postgres.Config{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(t.Context(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var ssl bool
	if err := conn.QueryRow(t.Context(), `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil || ssl {
		t.Errorf("connection with TLS %v (%v)", ssl, err)
	}
	// Explicitly preferred, it is with TLS when the server offers it.
	q.Set("sslmode", "prefer")
	u.RawQuery = q.Encode()
	pconn, err := pgx.Connect(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pconn.Close(t.Context())
	var offered string
	if err := pconn.QueryRow(t.Context(), `SELECT current_setting('ssl')`).Scan(&offered); err != nil {
		t.Fatal(err)
	}
	if err := pconn.QueryRow(t.Context(), `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil || ssl != (offered == "on") {
		t.Errorf("sslmode=prefer: TLS %v, server's ssl %s (%v)", ssl, offered, err)
	}
}
