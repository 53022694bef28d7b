package clock

import (
	"context"
	"testing"
	"time"
)

// A freed slot goes to the poll that came due first, whatever the order
// in which the polls asked; room waits while too many polls wait.
func TestGateOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		dues []time.Duration // in the order the polls ask, after the slot is taken
		want []int           // indexes of dues, in the order they get the slot
	}{
		{"due order, not arrival order", []time.Duration{3 * time.Second, time.Second, 2 * time.Second}, []int{1, 2, 0}},
		{"one waiter", []time.Duration{time.Second}, []int{0}},
		{"a retry due long ago first", []time.Duration{time.Minute, -time.Minute, 0}, []int{1, 2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			g := newGate(1)
			if err := g.acquire(ctx, t0); err != nil {
				t.Fatal(err)
			}
			got := make(chan int, len(tt.dues))
			for i, d := range tt.dues {
				go func() {
					if err := g.acquire(ctx, t0.Add(d)); err != nil {
						t.Error(err)
						return
					}
					got <- i
				}()
				waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == i+1 })
			}
			full, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			if err := g.room(full, len(tt.dues)); err == nil {
				t.Errorf("room with %d waiting and a bound of %d did not wait", len(tt.dues), len(tt.dues))
			}
			cancel()
			for _, want := range tt.want {
				g.release()
				if i := <-got; i != want {
					t.Fatalf("slot went to poll %d, want %d", i, want)
				}
			}
			if err := g.room(ctx, 1); err != nil {
				t.Errorf("room with nobody waiting: %v", err)
			}
		})
	}
}

// A poll that gives up while waiting leaves the queue, and one that gave
// up after it was granted a slot hands the slot on.
func TestGateCancel(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	if err := g.acquire(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- g.acquire(gone, time.Now()) }()
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled wait got a slot")
	}
	if n := len(g.waiting); n != 0 {
		t.Fatalf("%d waiting after the only waiter gave up", n)
	}
	g.release()
	if g.free != 1 {
		t.Fatalf("free slots %d after the release, want 1", g.free)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached within 5 s")
}
