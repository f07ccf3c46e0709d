package agent

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/client"
)

// TestOutboxRetries drives the outbox with a sender that fails the way a
// hub and a network do, and checks what it retries and what it settles.
func TestOutboxRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]int{}
	send := func(_ context.Context, req client.UpdateRequest) error {
		mu.Lock()
		defer mu.Unlock()
		calls[req.CommandId]++
		switch {
		case req.CommandId == "flaky" && calls["flaky"] <= 3:
			return errors.New("connection reset")
		case req.CommandId == "down" && calls["down"] <= 2:
			return &client.Error{StatusCode: http.StatusServiceUnavailable, Message: "Service Unavailable"}
		case req.CommandId == "unauthorized" && calls["unauthorized"] <= 1:
			return &client.Error{StatusCode: http.StatusUnauthorized, Message: "Invalid tokens"}
		case req.CommandId == "cancelled":
			return &client.Error{StatusCode: http.StatusBadRequest, Message: "Invalid State"}
		}
		return nil
	}
	accepted := make(chan string, 10)
	o := NewOutbox(send, func(id string) { accepted <- id }, nil)
	o.min, o.max = time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { o.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	notes := "ok"
	for _, id := range []string{"flaky", "down", "unauthorized", "cancelled"} {
		o.Put(client.UpdateRequest{CommandId: id, State: client.StateProcessed, Notes: &notes})
	}
	got := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(got) < 4 {
		select {
		case id := <-accepted:
			got[id] = true
		case <-timeout:
			t.Fatalf("accepted only %v", got)
		}
	}
	<-o.Idle()
	mu.Lock()
	defer mu.Unlock()
	if calls["flaky"] != 4 || calls["down"] != 3 || calls["unauthorized"] != 2 || calls["cancelled"] != 1 {
		t.Errorf("calls = %v", calls)
	}
}

// TestOutboxFinalWins checks that progress never overtakes an outcome.
func TestOutboxFinalWins(t *testing.T) {
	t.Parallel()
	release, entered := make(chan struct{}), make(chan struct{}, 2)
	var mu sync.Mutex
	var sent []client.UpdateRequest
	send := func(ctx context.Context, req client.UpdateRequest) error {
		entered <- struct{}{}
		<-release
		mu.Lock()
		sent = append(sent, req)
		mu.Unlock()
		return nil
	}
	accepted := make(chan string, 1)
	o := NewOutbox(send, func(id string) { accepted <- id }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { o.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	p := 0.5
	o.Put(client.UpdateRequest{CommandId: "a", State: client.StateProcessing, Progress: &p})
	<-entered // the progress update is in flight
	notes := "done"
	o.Put(client.UpdateRequest{CommandId: "a", State: client.StateProcessed, Notes: &notes})
	o.Put(client.UpdateRequest{CommandId: "a", State: client.StateProcessing, Progress: &p}) // late: dropped
	close(release)
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("final update not accepted")
	}
	<-o.Idle()
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 2 || sent[0].State != client.StateProcessing || sent[1].State != client.StateProcessed {
		t.Fatalf("sent %+v, want Processing then Processed", sent)
	}
}
