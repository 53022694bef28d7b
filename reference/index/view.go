package index

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/rest"
)

// The authorised view (IDX-09, docs/index.md): with trust configured, an
// organisation is served a client's pointers only when it has a care
// relationship with her. The index knows it from her current pointers: one
// of them names the organisation, as author or in context.related (an
// organisation that registered for her, or the one her care was handed
// over to). A search for, or read of, a client the reader's organisation
// has none with is refused (403) and logged.

// careOf lists the URAs a pointer names: its author and context.related.
func careOf(d map[string]any) []string {
	var out []string
	add := func(v any) {
		id := asMap(asMap(v)["identifier"])
		if ura, _ := id["value"].(string); id["system"] == fixtures.URASystem && ura != "" {
			out = append(out, ura)
		}
	}
	for _, a := range asList(d["author"]) {
		add(a)
	}
	for _, r := range asList(asMap(d["context"])["related"]) {
		add(r)
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// mothersOf lists the mothers' BSNs a child's pointer names
// (context.related Patient identifiers).
func mothersOf(d map[string]any) []string {
	var out []string
	for _, r := range asList(asMap(d["context"])["related"]) {
		id := asMap(asMap(r)["identifier"])
		if bsn, _ := id["value"].(string); id["system"] == fixtures.BSNSystem && bsn != "" {
			out = append(out, bsn)
		}
	}
	return out
}

// authorised says whether the reader of an access may see the client's
// pointers: always without trust (no reader is known) and for a client of
// whom the index holds no current pointer (there is nothing to show); for
// a child also when a pointer of hers names her mother and the reader may
// see the mother's.
func (s *Server) authorised(a *audit.Access, bsn string) bool {
	if s.opts.Trust == nil || a.Reader == nil || (s.defect != nil && s.defect.open) {
		return true
	}
	live := s.store.live([]string{bsn})
	if len(live) == 0 {
		return true
	}
	if a.Reader.OrgURA == "" {
		return false
	}
	names := func(p *pointer) bool { return slices.Contains(careOf(p.res), a.Reader.OrgURA) }
	if slices.ContainsFunc(live, names) {
		return true
	}
	for _, p := range live {
		for _, mother := range mothersOf(p.res) {
			if mother != bsn && slices.ContainsFunc(s.store.live([]string{mother}), names) {
				return true
			}
		}
	}
	return false
}

// admits is the authorised view of one access as a filter: whether its
// reader may see every one of the clients given (a log search asks it per
// event, so each client is decided once).
func (s *Server) admits(a *audit.Access) func(bsns []string) bool {
	seen := map[string]bool{}
	return func(bsns []string) bool {
		for _, bsn := range bsns {
			ok, known := seen[bsn]
			if !known {
				ok = s.authorised(a, bsn)
				seen[bsn] = ok
			}
			if !ok {
				return false
			}
		}
		return true
	}
}

// refuse answers 403 for a reader whose organisation has no care
// relationship with the client.
func refuse(w http.ResponseWriter, a *audit.Access) {
	rest.Problem(w, http.StatusForbidden, "forbidden",
		fmt.Sprintf("%s of %s has no care relationship with this client: the index serves only the requesting organisation's authorised view", a.Reader.Name, a.Reader.OrgName))
}
