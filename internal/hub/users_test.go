package hub

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/store/sqlite"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newUserService(t *testing.T) (*Service, *clock) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	svc, err := New(Config{Now: c.now}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, c
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := bellhop.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v, want code %q", what, err, code)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse battery", DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: want the PHC string of argon2id with its parameters", h)
	}
	h2, _ := hashPassword("correct horse battery", DefaultPasswordParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !checkPassword(h, "correct horse battery") || !checkPassword(h2, "correct horse battery") {
		t.Fatal("the right password does not match")
	}
	for _, bad := range []string{"correct horse batterY", "", "correct horse battery "} {
		if checkPassword(h, bad) {
			t.Fatalf("%q matches", bad)
		}
	}
	parts := strings.Split(h, "$")
	for _, tampered := range []string{
		"", "plain", strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Replace(h, "m=19456", "m=4194304", 1), // a cost this hub never writes
		strings.Join(append(parts[:5:5], "AAAA"), "$"),
	} {
		if checkPassword(tampered, "correct horse battery") {
			t.Fatalf("tampered hash %q matches", tampered)
		}
	}
}

func TestSignIn(t *testing.T) {
	svc, clk := newUserService(t)
	ctx := t.Context()
	admin := TokenActor("setup", "10.0.0.1")
	u, gen, err := svc.AddUser(ctx, admin, " Anna ", bellhop.Viewer, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "anna" || len(gen) != 32 {
		t.Fatalf("user %+v with generated password %q: want the name canonical and a 32-character password", u, gen)
	}
	_, _, err = svc.AddUser(ctx, admin, "ANNA", bellhop.Admin, "long enough password")
	wantCode(t, err, bellhop.ECONFLICT, "the same name in other case")
	_, _, err = svc.AddUser(ctx, admin, "bob", bellhop.Viewer, "short")
	wantCode(t, err, bellhop.EINVALID, "a short password")
	_, _, err = svc.AddUser(ctx, admin, "bob", "root", "long enough password")
	wantCode(t, err, bellhop.EINVALID, "an unknown role")
	_, _, err = svc.AddUser(ctx, admin, "bob smith", bellhop.Viewer, "long enough password")
	wantCode(t, err, bellhop.EINVALID, "a name with a space")

	_, _, err = svc.SignIn(ctx, "anna", "wrong password!", "10.0.0.2", time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "a wrong password")
	_, _, err2 := svc.SignIn(ctx, "nobody", "wrong password!", "10.0.0.2", time.Hour)
	if bellhop.ErrorMessage(err) != bellhop.ErrorMessage(err2) {
		t.Fatalf("unknown name %q and wrong password %q answer differently", err2, err)
	}
	id, se, err := svc.SignIn(ctx, "Anna", gen, "10.0.0.2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if se.Role != bellhop.Viewer || se.Name != "anna" || len(id) != 64 || se.IDHash == id {
		t.Fatalf("session %+v, id %q", se, id)
	}

	// A role change applies to the open session.
	if _, err := svc.SetRole(ctx, admin, u.ID, bellhop.Operator); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Session(ctx, id, time.Hour)
	if err != nil || got.Role != bellhop.Operator {
		t.Fatalf("session after the role change: %+v, %v", got, err)
	}
	_, err = svc.SetRole(ctx, SessionActor(got, ""), u.ID, bellhop.Admin)
	wantCode(t, err, bellhop.EFORBIDDEN, "a user raising their own role")
	wantCode(t, svc.RemoveUser(ctx, SessionActor(got, ""), u.ID), bellhop.EFORBIDDEN, "a user removing themselves")

	// Sliding expiry: used within the hour, the session lives on.
	clk.add(50 * time.Minute)
	if _, err := svc.Session(ctx, id, time.Hour); err != nil {
		t.Fatalf("after 50 min: %v", err)
	}
	clk.add(50 * time.Minute)
	if _, err := svc.Session(ctx, id, time.Hour); err != nil {
		t.Fatalf("after 100 min, used at 50: %v", err)
	}
	clk.add(61 * time.Minute)
	_, err = svc.Session(ctx, id, time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "an hour unused")
	_, err = svc.Session(ctx, strings.Repeat("0", 64), time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "an unknown session")

	// A new password ends the other sessions, but not the one that set it.
	id1, s1, _ := svc.SignIn(ctx, "anna", gen, "", time.Hour)
	id2, _, _ := svc.SignIn(ctx, "anna", gen, "", time.Hour)
	if err := svc.ChangeOwnPassword(ctx, SessionActor(s1, ""), "not it at all", "a brand new password"); bellhop.ErrorCode(err) != bellhop.EINVALID {
		t.Fatalf("a wrong current password: %v", err)
	}
	if err := svc.ChangeOwnPassword(ctx, SessionActor(s1, ""), gen, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Session(ctx, id1, time.Hour); err != nil {
		t.Fatalf("the session that changed the password: %v", err)
	}
	_, err = svc.Session(ctx, id2, time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "another session after a password change")
	if _, _, err := svc.SignIn(ctx, "anna", "a brand new password", "", time.Hour); err != nil {
		t.Fatalf("the new password: %v", err)
	}

	if err := svc.RemoveUser(ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Session(ctx, id1, time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "a removed user's session")

	list, _, err := svc.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := len(list) - 1; i >= 0; i-- {
		e := list[i]
		lines = append(lines, strings.TrimSpace(e.Actor+" | "+e.Action+" | "+e.Subject+" | "+e.Detail+" | "+e.Remote))
	}
	want := []string{
		"admin token setup | user added | anna | role viewer | 10.0.0.1",
		"anna | sign-in refused | anna | wrong password | 10.0.0.2",
		"(unknown name) | sign-in refused |  | unknown name | 10.0.0.2",
		"anna | sign-in |  | with password | 10.0.0.2",
		"admin token setup | role changed | anna | viewer → operator | 10.0.0.1",
		"anna | sign-in |  | with password |",
		"anna | sign-in |  | with password |",
		"anna | password changed | anna |  |",
		"anna | sign-in |  | with password |",
		"admin token setup | user removed | anna | was operator | 10.0.0.1",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit list:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSignInWithToken(t *testing.T) {
	svc, _ := newUserService(t)
	ctx := t.Context()
	tok := bellhop.NewToken()
	if err := svc.store.CreateAdminToken(ctx, "ops", bellhop.HashToken(tok)); err != nil {
		t.Fatal(err)
	}
	_, _, err := svc.SignInWithToken(ctx, "nope", "", time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "a wrong token")
	id, se, err := svc.SignInWithToken(ctx, tok, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if se.Role != bellhop.Admin || se.Name != "ops" || se.UserID != "" {
		t.Fatalf("token session %+v", se)
	}
	wantCode(t, svc.ChangeOwnPassword(ctx, SessionActor(se, ""), "x", "a brand new password"), bellhop.EFORBIDDEN, "a token's password")
	if err := svc.SignOut(ctx, se, ""); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Session(ctx, id, time.Hour)
	wantCode(t, err, bellhop.EUNAUTHORIZED, "after sign-out")
}

// BenchmarkCheckPassword is the cost of one sign-in's hash with the default
// parameters: what an attacker pays per guess, and a user per sign-in.
func BenchmarkCheckPassword(b *testing.B) {
	h, err := hashPassword("correct horse battery", DefaultPasswordParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !checkPassword(h, "correct horse battery") {
			b.Fatal("no match")
		}
	}
}
