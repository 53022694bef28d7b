package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// gate bounds the polls in flight. A free slot goes to the waiting poll
// that came due first (not to the one that asked first), so that an item's
// first poll does not queue behind the retries of thousands of older items;
// and the replay waits (room) while too many polls are due but have no
// slot, so that the queue cannot grow with the population and the figures
// measure the candidate rather than the bench's backlog.
type gate struct {
	mu      sync.Mutex
	free    int
	waiting waiters
	changed chan struct{} // closed and replaced whenever a waiter gets a slot
}

func newGate(slots int) *gate {
	return &gate{free: slots, changed: make(chan struct{})}
}

// waiter is one poll waiting for a slot.
type waiter struct {
	due     time.Time
	ready   chan struct{}
	granted bool
	index   int
}

// acquire waits for a slot for a poll that came due at due.
func (g *gate) acquire(ctx context.Context, due time.Time) error {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	w := &waiter{due: due, ready: make(chan struct{})}
	heap.Push(&g.waiting, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		granted := w.granted
		if !granted {
			heap.Remove(&g.waiting, w.index)
		}
		g.mu.Unlock()
		if granted {
			g.release()
		}
		return ctx.Err()
	}
}

// release frees a slot: it goes to the waiter that came due first.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.free++
		return
	}
	w := heap.Pop(&g.waiting).(*waiter)
	w.granted = true
	close(w.ready)
	close(g.changed)
	g.changed = make(chan struct{})
}

// room waits until fewer than max polls wait for a slot.
func (g *gate) room(ctx context.Context, max int) error {
	for {
		g.mu.Lock()
		n, changed := len(g.waiting), g.changed
		g.mu.Unlock()
		if n < max {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waiters is a heap of waiting polls, the one due first on top.
type waiters []*waiter

func (q waiters) Len() int           { return len(q) }
func (q waiters) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q waiters) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *waiters) Push(x any) {
	w := x.(*waiter)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *waiters) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return w
}
