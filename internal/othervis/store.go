package othervis

import (
	"crypto/sha256"
	"encoding/base32"
	"sort"
	"strings"
	"sync"
)

// record is one stored FHIR resource. References inside res are kept relative
// ("Type/id"); they are made absolute when served (see Server.Absolute).
type record struct {
	typ, id string
	owner   string // the mother's client key; "" for resources of no client (organisations, products)
	seq     int
	res     map[string]any
}

// client is what the XIS knows of one pregnant woman.
type client struct {
	key      string
	consent  bool // nothing is shared before consent is given (opt-in)
	deleted  bool
	children map[string]string // child's scenario id -> Patient id
}

type store struct {
	mu      sync.Mutex
	seq     int
	byKey   map[string]*record // "Type/id"
	gone    map[string]bool    // "Type/id" erased on a deletion request
	clients map[string]*client
	defect  string // the seeded defect that lives in the store (see Defects)
}

func newStore() *store {
	return &store{byKey: map[string]*record{}, gone: map[string]bool{}, clients: map[string]*client{}}
}

// newID gives this XIS's own resource ids: a lower-case base32 digest with a
// type prefix ("ob-…", "pa-…"), stable for the same natural key.
func newID(prefix string, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:13])
	return prefix + "-" + strings.ToLower(enc)
}

func (s *store) client(key string) *client {
	c := s.clients[key]
	if c == nil {
		c = &client{key: key, children: map[string]string{}}
		s.clients[key] = c
	}
	return c
}

// put stores or replaces a resource; the caller holds s.mu.
func (s *store) put(typ, id, owner string, res map[string]any) {
	res["resourceType"] = typ
	res["id"] = id
	k := typ + "/" + id
	delete(s.gone, k)
	if old, ok := s.byKey[k]; ok {
		old.res = res
		old.owner = owner
		return
	}
	s.seq++
	s.byKey[k] = &record{typ: typ, id: id, owner: owner, seq: s.seq, res: res}
}

// visible says whether a record may be shared now; the caller holds s.mu.
func (s *store) visible(r *record) bool {
	if r.owner == "" {
		return true
	}
	c := s.clients[r.owner]
	if c != nil && s.defect == "only-patient-hidden" && r.typ != "Patient" {
		return !c.deleted
	}
	return c != nil && c.consent && !c.deleted
}

// erase removes every resource of a client (her own and her children's).
func (s *store) erase(owner string) int {
	n := 0
	for k, r := range s.byKey {
		if r.owner == owner {
			if s.defect == "deletion-keeps-medication" && r.typ == "MedicationRequest" {
				r.owner = "kept:" + owner // forgotten by the deletion, so still shared
				s.client(r.owner).consent = true
				continue
			}
			delete(s.byKey, k)
			s.gone[k] = true
			n++
		}
	}
	return n
}

// ofType lists the visible records of one type in insertion order.
func (s *store) ofType(typ string) []*record {
	var out []*record
	for _, r := range s.byKey {
		if r.typ == typ && s.visible(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}
