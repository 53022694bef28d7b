package xis

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// maxResources bounds the store so that a runaway client cannot exhaust memory.
const maxResources = 200_000

// store keeps resources in memory, by type and id.
type store struct {
	mu        sync.RWMutex
	resources map[string]map[string]map[string]any // type → id → resource
	count     int
	// withdrawn holds the Patient ids whose consent was withdrawn: nothing of
	// theirs is shared until consent is given again.
	withdrawn map[string]bool
}

func newStore() *store {
	return &store{resources: map[string]map[string]map[string]any{}, withdrawn: map[string]bool{}}
}

// put stores a resource, replacing one with the same type and id.
func (s *store) put(r map[string]any) (string, error) {
	typ, _ := r["resourceType"].(string)
	id, _ := r["id"].(string)
	if typ == "" || id == "" {
		return "", fmt.Errorf("storing resource: resourceType and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byID := s.resources[typ]
	if byID == nil {
		byID = map[string]map[string]any{}
		s.resources[typ] = byID
	}
	if _, exists := byID[id]; !exists {
		if s.count >= maxResources {
			return "", fmt.Errorf("storing resource: store is full (%d resources)", maxResources)
		}
		s.count++
	}
	byID[id] = r
	return typ + "/" + id, nil
}

func (s *store) get(typ, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.resources[typ][id]
	if !ok || s.hidden(r) {
		return nil, false
	}
	return r, true
}

// all returns the shared resources of a type, ordered by id.
func (s *store) all(typ string) []map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	byID := s.resources[typ]
	out := make([]map[string]any, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		if r := byID[id]; !s.hidden(r) {
			out = append(out, r)
		}
	}
	return out
}

// hidden says whether a resource belongs to a patient who withdrew consent.
// Callers hold the lock.
func (s *store) hidden(r map[string]any) bool {
	if len(s.withdrawn) == 0 {
		return false
	}
	owner := patientOf(r)
	return owner != "" && s.withdrawn[owner]
}

func (s *store) setConsent(patientID string, given bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if given {
		delete(s.withdrawn, patientID)
	} else {
		s.withdrawn[patientID] = true
	}
}

// erase removes the patient and everything that refers to her.
func (s *store) erase(patientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, byID := range s.resources {
		for id, r := range byID {
			if patientOf(r) == patientID {
				delete(byID, id)
				n++
			}
		}
	}
	s.count -= n
	return n
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resources = map[string]map[string]map[string]any{}
	s.withdrawn = map[string]bool{}
	s.count = 0
}

// patientOf returns the id of the Patient a resource belongs to: the Patient
// itself, or the target of subject / patient.
func patientOf(r map[string]any) string {
	if r["resourceType"] == "Patient" {
		id, _ := r["id"].(string)
		return id
	}
	for _, field := range []string{"subject", "patient"} {
		if ref, ok := r[field].(map[string]any); ok {
			if s, ok := ref["reference"].(string); ok {
				if id, found := strings.CutPrefix(s, "Patient/"); found {
					return id
				}
			}
		}
	}
	return ""
}
