package validator

import "sync"

// memo remembers answers that do not change (they depend only on the loaded
// definitions), up to limit of them; safe for concurrent use. A typed map
// behind a read lock: cheaper on the hot path than a sync.Map, whose keys
// are hashed as interfaces.
type memo[K comparable, V any] struct {
	mu    sync.RWMutex
	m     map[K]V
	limit int // 0: no limit (keys from a bounded set, such as the definitions)
}

func (m *memo[K, V]) get(k K) (V, bool) {
	m.mu.RLock()
	v, ok := m.m[k]
	m.mu.RUnlock()
	return v, ok
}

// put remembers v for k unless the memo is full.
func (m *memo[K, V]) put(k K, v V) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[K]V{}
	}
	if m.limit <= 0 || len(m.m) < m.limit {
		m.m[k] = v
	}
	m.mu.Unlock()
}
