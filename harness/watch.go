package harness

import (
	"context"
	"sync"
	"time"
)

// Death is a role of a candidate that stopped running during a run.
type Death struct {
	Role string
	// At is when the bench noticed it.
	At time.Time
	// Err says why, as far as the target can tell (exit status, container
	// state).
	Err error
}

// Watch asks every role whose target can tell (processes, containers)
// every interval whether it still runs, and calls died once, for the first
// role found stopped, from its own goroutine. The returned function ends
// the watch and waits for it; call it before Stop, which the watch would
// otherwise report as every role stopping.
func (c *Candidate) Watch(ctx context.Context, every time.Duration, died func(Death)) (end func()) {
	if every <= 0 {
		every = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, r := range c.Roles {
				if _, ok := r.Target.(Prober); !ok {
					continue
				}
				err := r.Alive(ctx)
				if err == nil || ctx.Err() != nil {
					continue
				}
				died(Death{Role: r.Name, At: time.Now(), Err: err})
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}
