package fault

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

func TestFireIsDeterministicAndNearItsRate(t *testing.T) {
	for _, rate := range []float64{0.01, 0.1, 0.5, 0.9} {
		fired := 0
		for n := range int64(100000) {
			a, b := Fire(7, n, rate), Fire(7, n, rate)
			if a != b {
				t.Fatalf("Fire(7, %d, %g) changed its mind", n, rate)
			}
			if a {
				fired++
			}
		}
		if got := float64(fired) / 100000; got < rate*0.95 || got > rate*1.05 {
			t.Errorf("rate %g fired %.4f of the time", rate, got)
		}
	}
	for n := range int64(1000) {
		if !Fire(1, n, 1) {
			t.Fatalf("rate 1 did not fire at %d", n)
		}
	}
	same := 0
	for n := range int64(1000) {
		if Fire(1, n, 0.5) == Fire(2, n, 0.5) {
			same++
		}
	}
	if same > 600 {
		t.Fatalf("seeds 1 and 2 agree %d of 1000 times", same)
	}
}

func TestSpecDefaultsAndRefusals(t *testing.T) {
	sub := bellhop.NewID()
	for _, tt := range []struct {
		in    Spec
		want  string // "" for accepted
		check func(Spec) bool
	}{
		{in: Spec{Kind: Refuse, Rate: 1}, check: func(s Spec) bool { return s.Status == 503 && s.Seed != 0 }},
		{in: Spec{Kind: AppliedError, Rate: 1}, check: func(s Spec) bool { return s.Status == 500 }},
		{in: Spec{Kind: Refuse, Rate: 1, Status: 429}, check: func(s Spec) bool { return s.Delay == time.Second }},
		{in: Spec{Kind: Timeout, Rate: 1}, check: func(s Spec) bool { return s.Delay == 30*time.Second }},
		{in: Spec{Kind: Slow, Rate: 1}, check: func(s Spec) bool { return s.Delay == 2*time.Second }},
		{in: Spec{Kind: CloseSocket, Rate: 1}, check: func(s Spec) bool { return s.CloseCode == 1011 }},
		{in: Spec{Kind: Refuse, Rate: 1, Seed: 9, SubscriptionID: sub, Operations: []string{"commands/update", "commands/update"}},
			check: func(s Spec) bool { return s.Seed == 9 && len(s.Operations) == 1 }},
		{in: Spec{Kind: "boom", Rate: 1}, want: "Invalid Kind"},
		{in: Spec{Kind: Refuse}, want: "Invalid Rate"},
		{in: Spec{Kind: Refuse, Rate: -1}, want: "Invalid Rate"},
		{in: Spec{Kind: Refuse, Rate: 1, Status: 418}, want: "Invalid Status"},
		{in: Spec{Kind: Slow, Rate: 1, Status: 500}, want: "Invalid Status"},
		{in: Spec{Kind: CloseSocket, Rate: 1, CloseCode: 1005}, want: "Invalid CloseCode"},
		{in: Spec{Kind: Refuse, Rate: 1, CloseCode: 4000}, want: "Invalid CloseCode"},
		{in: Spec{Kind: Slow, Rate: 1, Delay: time.Hour}, want: "Invalid Delay"},
		{in: Spec{Kind: Refuse, Rate: 1, Times: -1}, want: "Invalid Times"},
		{in: Spec{Kind: DropEvent, Rate: 1, Operations: []string{"websocket"}}, want: "Invalid Operations"},
		{in: Spec{Kind: AppliedError, Rate: 1, Operations: []string{"websocket"}}, want: "Invalid Operations"},
		{in: Spec{Kind: Refuse, Rate: 1, Operations: []string{"commands/nope"}}, want: "Invalid Operations"},
		{in: Spec{Kind: Refuse, Rate: 1, SubscriptionID: sub, IntegrationID: sub}, want: "Invalid scope"},
		{in: Spec{Kind: Refuse, Rate: 1, SubscriptionID: "x"}, want: "Invalid SubscriptionId"},
	} {
		got, err := New(nil).Add(tt.in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.in, err)
		case tt.want == "" && !tt.check(got):
			t.Errorf("%+v became %+v", tt.in, got)
		case tt.want != "" && (err == nil || bellhop.ErrorCode(err) != bellhop.EINVALID || !contains(bellhop.ErrorMessage(err), tt.want)):
			t.Errorf("%+v: %v, want %q", tt.in, err, tt.want)
		}
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && s[:len(sub)] == sub }

func TestScopeOperationsAndTimes(t *testing.T) {
	in := New(nil)
	subA, subB, integA := bellhop.NewID(), bellhop.NewID(), bellhop.NewID()
	f, err := in.Add(Spec{Kind: Refuse, Rate: 1, SubscriptionID: subA, Operations: []string{"commands/update"}, Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	req := func(sub, integ, op string) bool {
		_, ok := in.ForRequest(Request{SubscriptionID: sub, IntegrationID: integ, Operation: op})
		return ok
	}
	if req(subB, integA, "commands/update") || req(subA, integA, "devices/getAll") || req(subA, integA, bellhop.OperationWebSocket) {
		t.Fatal("fired outside its scope or operations")
	}
	for range 2 {
		if !req(subA, integA, "commands/update") {
			t.Fatal("did not fire in scope")
		}
	}
	if req(subA, integA, "commands/update") {
		t.Fatal("fired a third time with Times 2")
	}
	st := in.List()
	if len(st) != 1 || st[0].Matched != 3 || st[0].Fired != 2 || !st[0].Spent {
		t.Fatalf("state %+v", st)
	}
	// Without operations a request fault takes the WebSocket's opening,
	// except AppliedError, which has nothing to apply there.
	in.Remove(f.ID)
	in.Add(Spec{Kind: AppliedError, Rate: 1, IntegrationID: integA})
	if req(subB, integA, bellhop.OperationWebSocket) || !req(subB, integA, "commands/getAllActive") {
		t.Fatal("applied-error and the WebSocket")
	}
	in.Add(Spec{Kind: Refuse, Rate: 1})
	if !req(bellhop.NewID(), bellhop.NewID(), bellhop.OperationWebSocket) {
		t.Fatal("a fault without scope did not apply to everyone")
	}
	if in.Clear() != 2 || in.EventsOn() {
		t.Fatal("clear")
	}
	if _, ok := in.ForRequest(Request{Operation: "devices/getAll"}); ok {
		t.Fatal("fired with no fault set")
	}
}

// TestEachFaultKeepsItsOwnSequence: a fault's decisions depend on its own
// seed and count, not on whether an earlier fault fired.
func TestEachFaultKeepsItsOwnSequence(t *testing.T) {
	in := New(nil)
	in.Add(Spec{Kind: Refuse, Rate: 0.5, Seed: 1})
	second, _ := in.Add(Spec{Kind: Slow, Rate: 0.5, Seed: 2})
	var got, want string
	for n := range int64(200) {
		d, ok := in.ForRequest(Request{Operation: "devices/getAll"})
		first := Fire(1, n, 0.5)
		switch {
		case first:
			want += "r"
		case Fire(2, n, 0.5):
			want += "s"
		default:
			want += "."
		}
		switch {
		case !ok:
			got += "."
		case d.Kind == Refuse:
			got += "r"
		case d.FaultID == second.ID:
			got += "s"
		}
	}
	if got != want {
		t.Fatalf("decisions\n%s\nwant\n%s", got, want)
	}
}

func TestFiringsRing(t *testing.T) {
	in := New(nil)
	f, _ := in.Add(Spec{Kind: DropEvent, Rate: 1})
	for i := range MaxFirings + 10 {
		if _, ok := in.ForEvent("s", "i", fmt.Sprint(i), "Pending"); !ok {
			t.Fatal("did not fire")
		}
	}
	all := in.Firings("", 0)
	if len(all) != MaxFirings || all[0].CommandID != fmt.Sprint(MaxFirings+9) || all[len(all)-1].CommandID != "10" {
		t.Fatalf("%d firings from %s to %s", len(all), all[0].CommandID, all[len(all)-1].CommandID)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq-1 {
			t.Fatalf("firing %d has seq %d after %d", i, all[i].Seq, all[i-1].Seq)
		}
	}
	if got := in.Firings(f.ID, 3); len(got) != 3 || got[0].N != MaxFirings+9 {
		t.Fatalf("last 3: %+v", got)
	}
	if got := in.Firings(bellhop.NewID(), 0); len(got) != 0 {
		t.Fatalf("another fault's firings: %d", len(got))
	}
}

func TestNilInjector(t *testing.T) {
	var in *Injector
	if _, ok := in.ForRequest(Request{}); ok {
		t.Fatal("nil injector fired")
	}
	if _, ok := in.ForEvent("", "", "", ""); ok || in.EventsOn() || in.List() != nil || len(in.Firings("", 0)) != 0 {
		t.Fatal("nil injector")
	}
}

// TestConcurrentUse is for the race detector: decisions while faults change.
func TestConcurrentUse(t *testing.T) {
	in := New(nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				in.ForRequest(Request{Operation: "devices/getAll"})
				in.ForEvent("s", "i", "c", "Pending")
			}
		})
	}
	for i := range 200 {
		f, _ := in.Add(Spec{Kind: Kinds[i%len(Kinds)], Rate: 0.5, Times: 3})
		in.List()
		in.Firings("", 10)
		in.Remove(f.ID)
	}
	close(stop)
	wg.Wait()
}

// BenchmarkNoFault is the cost a request pays when no fault is set.
func BenchmarkNoFault(b *testing.B) {
	in := New(nil)
	r := Request{SubscriptionID: "s", IntegrationID: "i", Operation: "commands/update"}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := in.ForRequest(r); ok {
			b.Fatal("fired")
		}
	}
}

func TestParseAndString(t *testing.T) {
	sub := bellhop.NewID()
	in := "refuse,rate=0.25,seed=42,subscription=" + sub + ",ops=commands/update+commands/addPrinter,status=429,delay=3s,times=5"
	s, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(nil).Add(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != in {
		t.Fatalf("String %q, want %q", got.String(), in)
	}
	again, err := Parse(got.String())
	if err != nil || again.String() != in {
		t.Fatalf("round trip: %q %v", again.String(), err)
	}
	if s, err := Parse("kind=close-socket,rate=1,code=4000"); err != nil || s.Kind != CloseSocket || s.CloseCode != 4000 {
		t.Fatalf("kind=: %+v %v", s, err)
	}
	for _, bad := range []string{"", "rate=1", "refuse,rate=x", "refuse,boom=1", "refuse,delay=soon", "refuse,oops"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
