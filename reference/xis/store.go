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
	// owned indexes the ids by type and owner (the Patient they belong to),
	// so that a search by patient does not scan every client's resources.
	owned map[string]map[string]map[string]bool // type → patient id → ids
	count int
	// withdrawn holds the Patient ids whose consent was withdrawn: nothing of
	// theirs (nor of their children) is shared until consent is given again.
	withdrawn map[string]bool
	// mother maps a child's Patient id to her mother's: the mother's consent
	// and deletion request cover the child's record.
	mother map[string]string
	// shareOnly, when set, is a mutant's defect: what it says is still
	// shared after consent is withdrawn.
	shareOnly func(map[string]any) bool
	// marked holds "Type/id" of resources a mutant's defect keeps after a
	// deletion request.
	marked map[string]bool
	// unhidden holds "Type/id" of resources a mutant's defect shares
	// despite withdrawn consent.
	unhidden map[string]bool
	// care holds, by Patient id, the URA numbers of the organisations that
	// registered something for her: those with a care relationship.
	care map[string]map[string]bool
}

// relate records that an organisation (by URA) registered something for
// the patient.
func (s *store) relate(patientID, ura string) {
	if ura == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.care[patientID] == nil {
		s.care[patientID] = map[string]bool{}
	}
	s.care[patientID][ura] = true
}

// related says whether an organisation has a care relationship with the
// patient: it registered for her, or for her mother (the birth-care record
// of mother and newborn is one record).
func (s *store) related(patientID, ura string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return ura != "" && (s.care[patientID][ura] || s.care[s.mother[patientID]][ura])
}

// held returns a resource the store holds, shared or not.
func (s *store) held(typ, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.resources[typ][id]
	return r, ok
}

// isWithdrawn says whether the patient withdrew consent.
func (s *store) isWithdrawn(patientID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.withdrawn[patientID]
}

// unhide records that a resource is shared despite withdrawn consent (a
// mutant's defect).
func (s *store) unhide(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unhidden == nil {
		s.unhidden = map[string]bool{}
	}
	s.unhidden[ref] = true
}

// mark records that a resource survives deletion (a mutant's defect).
func (s *store) mark(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.marked == nil {
		s.marked = map[string]bool{}
	}
	s.marked[ref] = true
}

func newStore() *store {
	return &store{resources: map[string]map[string]map[string]any{}, owned: map[string]map[string]map[string]bool{}, withdrawn: map[string]bool{}, mother: map[string]string{}, care: map[string]map[string]bool{}}
}

// link records that child is a child of mother.
func (s *store) link(mother, child string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mother[child] = mother
}

// family returns the Patient id and those of her children. Callers hold
// the lock.
func (s *store) family(patientID string) map[string]bool {
	out := map[string]bool{patientID: true}
	for child, mother := range s.mother {
		if mother == patientID {
			out[child] = true
		}
	}
	return out
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
	old, exists := byID[id]
	if !exists {
		if s.count >= maxResources {
			return "", fmt.Errorf("storing resource: store is full (%d resources)", maxResources)
		}
		s.count++
	} else {
		delete(s.owned[typ][patientOf(old)], id)
	}
	byID[id] = r
	if s.owned[typ] == nil {
		s.owned[typ] = map[string]map[string]bool{}
	}
	owner := patientOf(r)
	if s.owned[typ][owner] == nil {
		s.owned[typ][owner] = map[string]bool{}
	}
	s.owned[typ][owner][id] = true
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

// allOf returns the shared resources of a type that belong to one Patient,
// ordered by id: what all returns and patient=<id> matches, without a scan.
func (s *store) allOf(typ, patientID string) []map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.owned[typ][patientID]
	out := make([]map[string]any, 0, len(ids))
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if r := s.resources[typ][id]; r != nil && !s.hidden(r) {
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
	if owner == "" || !(s.withdrawn[owner] || s.withdrawn[s.mother[owner]]) {
		return false
	}
	typ, _ := r["resourceType"].(string)
	id, _ := r["id"].(string)
	if s.unhidden[typ+"/"+id] {
		return false
	}
	return s.shareOnly == nil || !s.shareOnly(r)
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

// erase removes the patient, her children, and everything that refers to
// them; keep, when set, spares what it says (a mutant's defect).
func (s *store) erase(patientID string, keep func(r map[string]any, child bool) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	family := s.family(patientID)
	n := 0
	for _, typ := range slices.Sorted(maps.Keys(s.resources)) {
		byID := s.resources[typ]
		for _, id := range slices.Sorted(maps.Keys(byID)) {
			r := byID[id]
			owner := patientOf(r)
			if family[owner] && !s.marked[typ+"/"+id] && (keep == nil || !keep(r, owner != patientID)) {
				delete(byID, id)
				delete(s.owned[typ][owner], id)
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
	s.owned = map[string]map[string]map[string]bool{}
	s.withdrawn = map[string]bool{}
	s.mother = map[string]string{}
	s.care = map[string]map[string]bool{}
	s.marked, s.unhidden = nil, nil
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
				// relative Patient/id or absolute …/Patient/id
				segs := strings.Split(s, "/")
				if n := len(segs); n >= 2 && segs[n-2] == "Patient" {
					return segs[n-1]
				}
			}
		}
	}
	return ""
}
