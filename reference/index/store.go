package index

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxPointers bounds the store so that a runaway publisher cannot exhaust
// memory (withdrawn pointers count until a reset).
const maxPointers = 500_000

// store keeps the pointers (DocumentReferences) and SubmissionSets in
// memory. Withdrawn pointers are kept as tombstones so that a read says 410
// Gone, not 404.
type store struct {
	mu sync.RWMutex
	// docs holds the pointers by id, in registration order in order.
	docs     map[string]*pointer
	order    []string
	byUnique map[string]string   // masterIdentifier value → id
	byClient map[string][]string // subject identifier value (the BSN) → ids, in order
	lists    map[string]map[string]any
	bySubmit map[string]string // SubmissionSet unique id → List id
	seq      int
}

// pointer is one registered DocumentReference.
type pointer struct {
	res     map[string]any // as served: with id and meta
	patient string         // subject identifier as "system|value"
	gone    bool           // withdrawn (deleted)
	seq     int            // registration order
	at      time.Time      // when it was stored
}

// client is the pointer's subject identifier value (the BSN).
func (p *pointer) client() string {
	_, value, _ := strings.Cut(p.patient, "|")
	return value
}

func newStore() *store {
	s := &store{}
	s.reset()
	return s
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs, s.order, s.byUnique, s.byClient = map[string]*pointer{}, nil, map[string]string{}, map[string][]string{}
	s.lists, s.bySubmit = map[string]map[string]any{}, map[string]string{}
}

// nextID returns a new server id. Callers hold the lock.
func (s *store) nextID(prefix string) string {
	s.seq++
	return prefix + "-" + strconv.Itoa(s.seq)
}

// document returns a pointer by id and the status a read answers: 200, 410
// (withdrawn) or 404.
func (s *store) document(id string) (map[string]any, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.docs[id]
	switch {
	case !ok:
		return nil, http.StatusNotFound
	case p.gone:
		return nil, http.StatusGone
	}
	return p.res, http.StatusOK
}

func (s *store) list(id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.lists[id]
	return l, ok
}

// listClients are the clients (BSNs) of the pointers a SubmissionSet
// lists, withdrawn ones included.
func (s *store) listClients(l map[string]any) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, e := range asList(l["entry"]) {
		ref, _ := asMap(asMap(e)["item"])["reference"].(string)
		if p, ok := s.docs[strings.TrimPrefix(ref, "DocumentReference/")]; ok && !slices.Contains(out, p.client()) {
			out = append(out, p.client())
		}
	}
	return out
}

// withdraw marks a pointer deleted; false when the id was never known.
func (s *store) withdraw(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.docs[id]
	if ok {
		p.gone = true
		delete(s.byUnique, uniqueID(p.res))
	}
	return ok
}

// live returns the pointers not withdrawn, in registration order: of the
// clients with the given identifier values, or of everyone when clients is
// nil (a search by patient reference).
func (s *store) live(clients []string) []*pointer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.order
	if clients != nil {
		ids = nil
		for _, c := range clients {
			ids = append(ids, s.byClient[c]...)
		}
	}
	out := make([]*pointer, 0, len(ids))
	for _, id := range ids {
		if p := s.docs[id]; !p.gone {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *pointer) int { return a.seq - b.seq })
	return slices.CompactFunc(out, func(a, b *pointer) bool { return a == b })
}

// add stores a new pointer and returns its id. Callers hold the lock.
func (s *store) add(res map[string]any, patient string, now string, at time.Time) (string, error) {
	if len(s.docs) >= maxPointers {
		return "", fmt.Errorf("storing pointer: the index is full (%d pointers)", maxPointers)
	}
	id := s.nextID("dr")
	res["id"] = id
	res["meta"] = withVersion(res["meta"], now)
	s.docs[id] = &pointer{res: res, patient: patient, seq: s.seq, at: at}
	s.order = append(s.order, id)
	_, value, _ := strings.Cut(patient, "|")
	s.byClient[value] = append(s.byClient[value], id)
	if u := uniqueID(res); u != "" {
		s.byUnique[u] = id
	}
	return id, nil
}

// addList stores a SubmissionSet and returns its id. Callers hold the lock.
func (s *store) addList(res map[string]any, unique, now string) string {
	id := s.nextID("ss")
	res["id"] = id
	res["meta"] = withVersion(res["meta"], now)
	s.lists[id] = res
	if unique != "" {
		s.bySubmit[unique] = id
	}
	return id
}

// withVersion returns meta with versionId 1 and lastUpdated set.
func withVersion(meta any, now string) map[string]any {
	m, _ := meta.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m["versionId"] = "1"
	m["lastUpdated"] = now
	return m
}

// uniqueID is a DocumentReference's masterIdentifier value.
func uniqueID(doc map[string]any) string {
	v, _ := asMap(doc["masterIdentifier"])["value"].(string)
	return v
}
