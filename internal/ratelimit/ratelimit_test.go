package ratelimit

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestMemory(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemory(10, 30*time.Second, clk.now)
	for i := 0; i < 10; i++ {
		if ok, _ := m.Allow(t.Context(), "a"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, retry := m.Allow(t.Context(), "a")
	if ok || retry <= 0 || retry > 60*time.Second {
		t.Fatalf("11th request: ok=%v retry=%v", ok, retry)
	}
	if ok, _ := m.Allow(t.Context(), "b"); !ok {
		t.Fatal("another key is limited too")
	}
	// Halfway into the next window the previous one still weighs half.
	clk.t = clk.t.Add(45 * time.Second)
	allowed := 0
	for i := 0; i < 20; i++ {
		if ok, _ := m.Allow(t.Context(), "a"); ok {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("allowed %d in the next half window, want 5", allowed)
	}
	// Two windows later everything is forgotten.
	clk.t = clk.t.Add(time.Minute)
	for i := 0; i < 10; i++ {
		if ok, _ := m.Allow(t.Context(), "a"); !ok {
			t.Fatalf("after two windows: request %d refused", i)
		}
	}
}

func TestMemoryDefaults(t *testing.T) {
	m := NewMemory(0, 0, nil)
	if m.limit != 200 || m.window != 30*time.Second {
		t.Fatalf("defaults %d per %v", m.limit, m.window)
	}
}
