package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// attacker is someone who calls the Connector API about a victim's devices
// and commands with tokens that must not reach them.
type attacker struct {
	name string
	tn   *tenant
	// unauthorized: the token pair itself is refused (401); otherwise the
	// tokens work, and the victim's ids must look like ids that do not exist.
	unauthorized bool
	// portfolio: the caller's token covers several enterprises, so
	// add-operations must name one.
	portfolio bool
}

// TestAbuseTokens runs every Connector operation, aimed at a victim's devices
// and commands, with every kind of token that must not reach them: each gets
// the documented denial (401, or 400 `Invalid <Field>`, or an answer that
// leaves the victim's ids out, as if they did not exist) and changes nothing.
// The WebSocket gets the same: 401 before the upgrade, or no victim event.
func TestAbuseTokens(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	victim := e.tenant("Victim")
	printCmd := e.addPrinter(victim)
	fiscalCmd := e.addFiscal(victim)
	victimIDs := []string{printCmd, fiscalCmd, victim.Enterprise.Id, victim.Reservation.Id, victim.Customer.Id}
	for _, d := range victim.Devices {
		victimIDs = append(victimIDs, d.Id)
	}

	other := e.tenant("Other") // another enterprise, with its own devices
	third := e.tenant("Third")

	// A portfolio token over two enterprises that are not the victim's.
	portSub, err := e.Admin.CreateSubscription(ctx, other.Integration.Id, other.Enterprise.Id, third.Enterprise.Id)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []*tenant{other, third} {
		if err := e.Admin.Connect(ctx, portSub.Id, tn.Devices[bellhop.Printer].Id); err != nil {
			t.Fatal(err)
		}
	}
	portfolio := &tenant{Enterprise: other.Enterprise, ClientToken: other.ClientToken, AccessToken: portSub.AccessToken}

	// An integration subscribed to the victim's enterprise whose devices
	// were connected and then disconnected.
	former := victim.NewIntegration(t, "Former vendor")
	formerSub := former.Subscription
	for _, d := range victim.Devices {
		if err := e.Admin.Connect(ctx, formerSub.Id, d.Id); err != nil {
			t.Fatal(err)
		}
		if err := e.Admin.Disconnect(ctx, formerSub.Id, d.Id); err != nil {
			t.Fatal(err)
		}
	}

	// A second token of the victim's own integration, revoked.
	revokedSub, err := e.Admin.CreateSubscription(ctx, victim.Integration.Id, victim.Enterprise.Id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range victim.Devices {
		if err := e.Admin.Connect(ctx, revokedSub.Id, d.Id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Admin.RevokeSubscription(ctx, revokedSub.Id); err != nil {
		t.Fatal(err)
	}
	revokedAccess := revokedSub.AccessToken

	attackers := []attacker{
		{name: "no token", tn: &tenant{}, unauthorized: true},
		{name: "wrong client token", tn: &tenant{ClientToken: bellhop.NewToken(), AccessToken: victim.AccessToken}, unauthorized: true},
		{name: "another integration's client token", tn: &tenant{ClientToken: other.ClientToken, AccessToken: victim.AccessToken}, unauthorized: true},
		{name: "revoked token", tn: &tenant{ClientToken: victim.ClientToken, AccessToken: revokedAccess}, unauthorized: true},
		{name: "another enterprise's token", tn: other},
		{name: "disconnected devices", tn: former},
		{name: "portfolio outside scope", tn: portfolio, portfolio: true},
	}
	// Each operation aimed at the victim, and the denial a caller that may
	// use the API but not see the victim gets (status 200: an answer that
	// leaves every victim id out).
	limit := map[string]any{"Count": 100}
	ops := []struct {
		name, op string
		fields   []any
		status   int
		message  string
	}{
		{"devices", "devices/getAll", nil, 200, ""},
		{"active", "commands/getAllActive", nil, 200, ""},
		{"by ids", "commands/getAllByIds", []any{"CommandIds", []string{printCmd, fiscalCmd}}, 200, ""},
		{"update", "commands/update", []any{"CommandId", printCmd, "State", "Processed"}, 400, "Invalid CommandId"},
		{"cancel", "commands/update", []any{"CommandId", printCmd, "State", "Cancelled"}, 400, "Invalid CommandId"},
		{"print", "commands/addPrinter", []any{"PrinterId", victim.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1}, 400, "Invalid PrinterId"},
		{"keys", "commands/addKeyCutter", []any{"KeyCutterId", victim.Devices[bellhop.KeyCutter].Id, "ReservationId", victim.Reservation.Id, "KeyCount", 1}, 400, "Invalid KeyCutterId"},
		{"payment", "commands/addPaymentTerminal", []any{"TerminalId", victim.Devices[bellhop.PaymentTerminal].Id, "CustomerId", victim.Customer.Id,
			"Type", "Payment", "Amount", map[string]any{"Currency": "EUR", "Value": 10}}, 400, "Invalid TerminalId"},
		{"fiscal by ids", "fiscalMachineCommands/getAll", []any{"CommandIds", []string{fiscalCmd}, "Limitation", limit}, 200, ""},
		{"fiscal by devices", "fiscalMachineCommands/getAll", []any{"DeviceIds", []string{victim.Devices[bellhop.FiscalMachine].Id},
			"States", []string{"Pending", "Received"}, "Limitation", limit}, 200, ""},
	}
	before := e.snapshot(victim, other, third)
	for _, a := range attackers {
		for _, op := range ops {
			t.Run(a.name+"/"+op.name, func(t *testing.T) {
				// Name the victim's enterprise, as a portfolio caller must.
				fields := append([]any{"EnterpriseId", victim.Enterprise.Id}, op.fields...)
				body := reqBody(a.tn, fields...)
				if a.tn.ClientToken == "" {
					delete(body, "ClientToken")
					delete(body, "AccessToken")
				}
				r := e.post(op.op, body)
				status, message := op.status, op.message
				switch {
				case a.unauthorized:
					status, message = 401, "Invalid ClientToken"
				case a.portfolio && (op.op == "commands/addPrinter" || op.op == "commands/addKeyCutter"):
					message = "Invalid EnterpriseId" // the victim's enterprise is outside its scope
				}
				if status != 200 {
					expectError(t, r, status, message)
				} else if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				for _, id := range victimIDs {
					if bytes.Contains(r.Body, []byte(id)) {
						t.Fatalf("the answer reveals the victim's %s: %s", id, r.Body)
					}
				}
				if after := e.snapshot(victim, other, third); after != before {
					t.Fatalf("a refused request changed the queue:\n%s\n%s", before, after)
				}
			})
		}
	}

	// The WebSocket: token problems are 401 before the upgrade; working
	// tokens get a socket that hears nothing of the victim. A marker event
	// that the attacker may see must come first.
	victimWS := e.dial(victim)
	var watching []*socket
	for _, a := range attackers {
		s, resp, err := e.dialRaw(a.tn.ClientToken, a.tn.AccessToken, false)
		if a.unauthorized {
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: WebSocket %v %v, want 401 before the upgrade", a.name, resp, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		watching = append(watching, s)
	}
	id := e.addPrinter(victim)
	victimWS.expect(t, id, bellhop.Pending)
	if _, err := e.Service.CancelCommand(ctx, id, "test", ""); err != nil {
		t.Fatal(err)
	}
	victimWS.expect(t, id, bellhop.Cancelled)
	// Markers: other and the portfolio see other's printer; the former
	// integration gets the victim's passport scanner connected.
	if err := e.Admin.Connect(ctx, formerSub.Id, victim.Devices[bellhop.PassportScanner].Id); err != nil {
		t.Fatal(err)
	}
	markerOther := e.addPrinter(other)
	markerFormer, err := e.Service.CreateCommand(ctx, victim.Devices[bellhop.PassportScanner].Id, []byte(`{}`), "pms", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range watching {
		marker := markerOther
		if i == 1 {
			marker = markerFormer.ID
		}
		if ev := s.next(t); ev["Id"] != marker {
			t.Fatalf("%s: first event %v, want the marker %s", attackers[4+i].name, ev, marker)
		}
	}
}

// TestAbuseBodies sends bodies built to hurt a parser or the store: over the
// size limit (413), nested deeper than the limit, and arrays with more items
// than an operation takes (400). None changes anything.
func TestAbuseBodies(t *testing.T) {
	e := start(t, func(c *node.Config) { c.MaxBody = 1 << 20 })
	tn := e.tenant("Bodies")
	id := e.addPrinter(tn)
	printer := tn.Devices[bellhop.Printer].Id
	many := func(n int, v string) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	limit := map[string]any{"Count": 10}
	tests := []struct {
		name, op string
		body     any
		status   int
		message  string
	}{
		{"oversize body", "commands/addPrinter", reqBody(tn, "PrinterId", printer, "Data", strings.Repeat("A", 1<<20), "CopyCount", 1), 413, "Request body too large"},
		{"oversize garbage", "devices/getAll", strings.Repeat("x", 2<<20), 413, "Request body too large"},
		{"deep arrays", "devices/getAll", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 400, "Invalid JSON"},
		{"deep objects in a field", "commands/getAllActive", `{"ClientToken":"` + tn.ClientToken + `","AccessToken":"` + tn.AccessToken + `","Limitation":` + deep(65) + `}`, 400, "Invalid JSON"},
		{"deep in an unknown field", "devices/getAll", `{"X":` + deep(10000) + `}`, 400, "Invalid JSON"},
		{"1001 command ids", "commands/getAllByIds", reqBody(tn, "CommandIds", many(1001, id)), 400, "Invalid CommandIds"},
		{"100000 command ids", "commands/getAllByIds", reqBody(tn, "CommandIds", many(100000, "")), 400, "Invalid CommandIds"},
		{"1001 fiscal ids", "fiscalMachineCommands/getAll", reqBody(tn, "CommandIds", many(1001, id), "Limitation", limit), 400, "Invalid CommandIds"},
		{"101 fiscal devices", "fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", many(101, printer), "States", []string{"Pending"}, "Limitation", limit), 400, "Invalid DeviceIds"},
		{"1001 enterprises", "fiscalMachineCommands/getAll", reqBody(tn, "DeviceIds", []string{printer}, "States", []string{"Pending"}, "EnterpriseIds", many(1001, tn.Enterprise.Id), "Limitation", limit), 400, "Invalid EnterpriseIds"},
		{"huge count", "commands/getAllActive", reqBody(tn, "Limitation", map[string]any{"Count": 1e18}), 400, "Invalid Limitation"},
		{"long token", "devices/getAll", map[string]any{"ClientToken": strings.Repeat("a", 100000), "AccessToken": tn.AccessToken}, 401, "Invalid ClientToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot(tn)
			expectError(t, e.post(tt.op, tt.body), tt.status, tt.message)
			if after := e.snapshot(tn); after != before {
				t.Fatalf("a refused request changed the queue:\n%s\n%s", before, after)
			}
		})
	}
	t.Run("admin oversize", func(t *testing.T) {
		r := e.do(http.MethodPost, "/api/admin/v1/enterprises", []byte(`{"Name":"`+strings.Repeat("a", 2<<20)+`"}`), "Authorization", "Bearer "+e.AdminToken)
		expectError(t, r, 413, "Request body too large")
	})
	t.Run("admin deep", func(t *testing.T) {
		r := e.do(http.MethodPost, "/api/admin/v1/enterprises", []byte(`{"Name":"a","X":`+deep(1000)+`}`), "Authorization", "Bearer "+e.AdminToken)
		expectError(t, r, 400, "Invalid JSON")
	})
}

// TestSlowClients holds connections open by sending slowly: headers byte by
// byte (slowloris) are cut off by ReadHeaderTimeout, a body that never
// finishes by ReadTimeout, and other clients are served meanwhile.
func TestSlowClients(t *testing.T) {
	e := start(t, func(c *node.Config) { c.ReadHeaderTimeout, c.ReadTimeout = 300*time.Millisecond, time.Second })
	tn := e.tenant("Slow")
	addr := e.Addr()
	// dribble writes head at once, then slow one byte every 20 ms (an
	// attack paced on purpose), and reports whether the hub cut the
	// connection before the end, and what it answered.
	dribble := func(t *testing.T, head, slow string) (cut bool, answer string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		msg := slow
		read := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn) // until the hub closes the connection
			read <- string(b)
		}()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(msg); i++ {
			select {
			case answer := <-read:
				return true, answer
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{msg[i]}); err != nil {
				return true, <-read
			}
		}
		conn.(*net.TCPConn).CloseWrite()
		return false, <-read
	}
	// Long enough to take 20 s at this pace, far beyond the timeouts.
	pad := strings.Repeat("X-Pad: slowloris\r\n", 60)
	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		cut, answer := dribble(t, "", "POST /api/connector/v1/devices/getAll HTTP/1.1\r\nHost: hub\r\n"+pad+"\r\n")
		if !cut {
			t.Fatalf("a client that took 20 s to send its headers was served: %q", answer)
		}
	})
	t.Run("body", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(reqBody(tn))
		if err != nil {
			t.Fatal(err)
		}
		body := string(b) + strings.Repeat(" ", 1000)
		cut, answer := dribble(t, "POST /api/connector/v1/devices/getAll HTTP/1.1\r\nHost: hub\r\nContent-Length: "+fmt.Sprint(len(body))+"\r\n\r\n", body)
		if !cut {
			t.Fatalf("a client that took 20 s to send its body was served: %q", answer)
		}
		if answer != "" && !strings.HasPrefix(answer, "HTTP/1.1 400") {
			t.Fatalf("answer to a body cut off: %q", answer)
		}
	})
	t.Run("others are served", func(t *testing.T) {
		t.Parallel()
		for range 20 {
			if r := e.post("devices/getAll", reqBody(tn)); r.Status != 200 {
				t.Fatalf("status %d", r.Status)
			}
		}
	})
}

// TestSocketCap opens more WebSockets with one AccessToken than allowed: the
// one over the cap is refused with 429 before the upgrade; other tokens and
// the open sockets are not affected.
func TestSocketCap(t *testing.T) {
	e := start(t, func(c *node.Config) { c.Realtime.MaxSocketsPerSubscription = 3 })
	tn := e.tenant("Cap")
	other := e.tenant("Other")
	var open []*socket
	for range 3 {
		open = append(open, e.dial(tn))
	}
	_, resp, err := e.dialRaw(tn.ClientToken, tn.AccessToken, false)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th socket: %v %v, want 429", resp, err)
	}
	e.dial(other)
	id := e.addPrinter(tn)
	for _, s := range open {
		s.expect(t, id, bellhop.Pending)
	}
}
func TestRateLimit(t *testing.T) {
	e := start(t, func(c *node.Config) { c.RateLimit, c.RateWindow = 5, time.Hour })
	tn := e.tenant("Rate")
	for i := 0; i < 5; i++ {
		if r := e.post("devices/getAll", reqBody(tn)); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := e.post("devices/getAll", reqBody(tn))
	expectError(t, r, 429, "Too many requests")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// WebSocket upgrades count against the same limit.
	_, resp, err := e.dialRaw(tn.ClientToken, tn.AccessToken, false)
	if err == nil || resp == nil || resp.StatusCode != 429 {
		t.Fatalf("upgrade over the limit: %v %v", resp, err)
	}
	// Another token is not affected.
	other := e.tenant("Other")
	if r := e.post("devices/getAll", reqBody(other)); r.Status != 200 {
		t.Fatalf("other token: %d", r.Status)
	}
}

// TestRateLimitAcrossUpgrades spends a token's rate limit on WebSocket
// upgrades: the next REST call is refused too (TestRateLimit does the
// reverse).
func TestRateLimitAcrossUpgrades(t *testing.T) {
	e := start(t, func(c *node.Config) { c.RateLimit, c.RateWindow = 3, time.Hour })
	tn := e.tenant("Rate")
	for range 3 {
		e.dial(tn)
	}
	r := e.post("devices/getAll", reqBody(tn))
	expectError(t, r, 429, "Too many requests")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another token pair is answered for what it is, not rate limited.
	expectError(t, e.post("devices/getAll", map[string]any{"ClientToken": "x", "AccessToken": "y"}), 401, "Invalid ClientToken")
}

// TestAdminBruteForce guesses admin tokens from one address: after 20
// failures in a minute the hub answers 429 instead of saying whether a
// guess was wrong; the real token keeps working.
func TestAdminBruteForce(t *testing.T) {
	e := start(t)
	guess := func() reply {
		return e.do(http.MethodGet, "/api/admin/v1/enterprises", nil, "Authorization", "Bearer "+bellhop.NewToken())
	}
	for i := range 20 {
		if r := guess(); r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	for range 5 {
		r := guess()
		expectError(t, r, 429, "Too many requests")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	}
	expectError(t, e.do(http.MethodGet, "/api/admin/v1/enterprises", nil), 429, "Too many requests") // no token at all
	if r := e.do(http.MethodGet, "/api/admin/v1/enterprises", nil, "Authorization", "Bearer "+e.AdminToken); r.Status != 200 {
		t.Fatalf("the real admin token after the throttle: %d %s", r.Status, r.Body)
	}
}

// TestNoTokensInLogs runs a hub that logs everything (debug) and makes
// requests with valid and invalid tokens in every place a token travels
// (Connector bodies, WebSocket cookies and the deprecated query string, the
// admin bearer), then breaks the store so that requests fail inside and are
// logged: no token may appear in the log, nor in the database files.
func TestNoTokensInLogs(t *testing.T) {
	logs := &hubtest.Buffer{}
	data := t.TempDir()
	e := start(t, func(c *node.Config) {
		c.DataDir = data
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.RateLimit, c.RateWindow = 1000, time.Hour
	})
	tn := e.tenant("Logs")
	wrongClient, wrongAccess, wrongAdmin := bellhop.NewToken(), bellhop.NewToken(), bellhop.NewToken()
	secrets := []string{tn.ClientToken, tn.AccessToken, e.AdminToken, wrongClient, wrongAccess, wrongAdmin}

	exercise := func() {
		id := e.addPrinter(tn)
		e.post("commands/update", reqBody(tn, "CommandId", id, "State", "Processing"))
		e.post("commands/update", reqBody(tn, "CommandId", id, "State", "Bogus"))
		e.post("devices/getAll", map[string]any{"ClientToken": wrongClient, "AccessToken": wrongAccess})
		e.post("devices/getAll", `{"ClientToken":"`+tn.ClientToken+`","AccessToken":"`+tn.AccessToken+`",}`) // invalid JSON
		e.post("devices/"+tn.AccessToken, reqBody(tn))                                                       // not an operation
		e.do(http.MethodGet, "/api/admin/v1/enterprises", nil, "Authorization", "Bearer "+e.AdminToken)
		e.do(http.MethodGet, "/api/admin/v1/enterprises", nil, "Authorization", "Bearer "+wrongAdmin)
		e.do(http.MethodGet, "/api/admin/v1/commands/"+e.AdminToken, nil, "Authorization", "Bearer "+e.AdminToken)
		for _, pair := range [][2]string{{tn.ClientToken, tn.AccessToken}, {wrongClient, wrongAccess}} {
			for _, query := range []bool{false, true} {
				if s, _, err := e.dialRaw(pair[0], pair[1], query); err == nil {
					s.conn.CloseNow()
				}
			}
		}
	}
	exercise()
	e.post("commands/addPrinter", reqBody(tn, "PrinterId", tn.Devices[bellhop.Printer].Id, "Data", pdf, "CopyCount", 1)) // a good one before the store fails

	// Now every request that reaches the store fails inside and is logged.
	e.Store.Close()
	for _, r := range []reply{
		e.post("devices/getAll", reqBody(tn)),
		e.post("devices/getAll", map[string]any{"ClientToken": wrongClient, "AccessToken": wrongAccess}),
		e.do(http.MethodGet, "/api/admin/v1/enterprises", nil, "Authorization", "Bearer "+e.AdminToken),
		e.do(http.MethodGet, "/api/admin/v1/enterprises", nil, "Authorization", "Bearer "+wrongAdmin),
	} {
		if r.Status != 500 {
			t.Fatalf("with the store closed: %d %s", r.Status, r.Body)
		}
	}
	for _, query := range []bool{false, true} {
		if _, resp, err := e.dialRaw(tn.ClientToken, tn.AccessToken, query); err == nil || resp == nil || resp.StatusCode != 500 {
			t.Fatalf("WebSocket with the store closed: %v %v", resp, err)
		}
	}

	// Nor in the database, WAL included: it keeps only hashes. (On
	// PostgreSQL the files are the server's; the store suite checks hashes.)
	if os.Getenv("BELLHOP_TEST_STORE") == "postgres" {
		return
	}
	files, err := filepath.Glob(filepath.Join(data, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v %v", files, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("a token is stored in clear in %s", filepath.Base(name))
			}
		}
	}

	out := logs.String()
	if !strings.Contains(out, "request failed") {
		t.Fatalf("the failures were not logged, so the test proves nothing:\n%s", out)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, s := range secrets {
			if strings.Contains(sc.Text(), s) {
				t.Errorf("a token is in the log: %s", sc.Text())
			}
		}
	}
}
