package index

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/rest"
)

// Page sizes of a search (_count).
const (
	defaultCount = 100
	maxCount     = 500
)

// criterion decides whether a pointer matches one search parameter; the
// values of one parameter are joined with OR (a comma), the parameters with
// AND.
type criterion struct {
	name  string
	match func(*pointer) bool
}

// search is ITI-67 Find Document References, by GET or by POST
// DocumentReference/_search (form-encoded): IHE MHD 2:3.67.4.1.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.Search, a.Query = "DocumentReference", true, r.URL.Query()
	a.BSNs = bsnsOf(a.Query["patient.identifier"]) // a refusal names her too
	w, done, ok := s.reading(w, r, a)
	if !ok {
		return
	}
	defer done()
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			rest.Problem(w, http.StatusBadRequest, "invalid", fmt.Sprintf("reading search form: %v", err))
			return
		}
		q = r.Form
		a.Query, a.BSNs = q, bsnsOf(q["patient.identifier"])
	}
	crit, used, clients, err := s.parseCriteria(q)
	if err != nil {
		rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	count, offset, err := paging(q)
	if err != nil {
		rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	leak := s.defect.leaks(r)
	for _, bsn := range clients {
		if !leak && !s.authorised(a, bsn) {
			refuse(w, a)
			return
		}
	}
	var matches []*pointer
	now := s.opts.Now()
	for _, p := range s.store.live(clients) {
		if matchesAll(crit, p, "") && !s.defect.hidden(p, now) && (clients != nil || leak || s.authorised(a, p.client())) {
			matches = append(matches, p)
		}
	}
	if s.defect != nil && s.defect.otherClient && len(matches) > 0 {
		// another client's pointer that meets every other criterion
		for _, p := range s.store.live(nil) {
			if p.patient != matches[0].patient && matchesAll(crit, p, "patient") {
				matches = append(matches, p)
				break
			}
		}
	}
	base := rest.Base(r)
	var entries []any
	for i := offset; i < len(matches) && i < offset+count; i++ {
		d := s.served(matches[i].res, base)
		if s.defect.misleads(matches[i], now) {
			d = pointAt(d, base)
		}
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/DocumentReference/" + d["id"].(string),
			"resource": d,
			"search":   map[string]any{"mode": "match"},
		})
	}
	link := func(off int) string {
		v := url.Values{}
		for k, vs := range used {
			v[k] = vs
		}
		v.Set("_count", strconv.Itoa(count))
		if off > 0 {
			v.Set("_offset", strconv.Itoa(off))
		}
		return base + "/DocumentReference?" + v.Encode()
	}
	links := []any{map[string]any{"relation": "self", "url": link(offset)}}
	if offset+count < len(matches) {
		links = append(links, map[string]any{"relation": "next", "url": link(offset + count)})
	}
	bundle := map[string]any{
		"resourceType": "Bundle",
		"id":           fmt.Sprintf("search-%d", s.opts.Now().UnixNano()),
		"type":         "searchset",
		"total":        len(matches),
		"link":         links,
	}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	rest.FHIR(w, http.StatusOK, bundle)
}

// matchesAll says whether p meets every criterion but the one named skip.
func matchesAll(crit []criterion, p *pointer, skip string) bool {
	for _, c := range crit {
		if c.name != skip && !c.match(p) {
			return false
		}
	}
	return true
}

// parseCriteria reads the supported search parameters. A consumer MUST send
// patient or patient.identifier (IHE MHD 2:3.67.4.1.2.1); other parameters
// the index does not support are ignored and left out of the self link
// (lenient handling, FHIR R4 search.html). clients are the identifier
// values (BSNs) the search is limited to; nil when it names a patient by
// reference.
func (s *Server) parseCriteria(q url.Values) ([]criterion, url.Values, []string, error) {
	var crit []criterion
	used := url.Values{}
	patient, byReference := false, false
	clients := []string{}
	for name, values := range q {
		for _, v := range values {
			if s.defect != nil && s.defect.ignore == name {
				continue
			}
			var c criterion
			switch name {
			case "patient.identifier":
				patient = true
				for _, t := range strings.Split(v, ",") {
					_, value, ok := strings.Cut(t, "|")
					if !ok {
						value = t
					}
					clients = append(clients, value)
				}
				c = criterion{"patient", anyOf(v, func(p *pointer, t string) bool { return tokenMatches(t, p.patient) })}
			case "patient":
				patient, byReference = true, true
				c = criterion{"patient", anyOf(v, func(p *pointer, ref string) bool { return sameReference(asMap(p.res["subject"])["reference"], ref) })}
			case "status":
				c = criterion{name, anyOf(v, func(p *pointer, code string) bool { return p.res["status"] == code })}
			case "identifier":
				c = criterion{name, anyOf(v, func(p *pointer, t string) bool {
					ids := append([]any{p.res["masterIdentifier"]}, truth.Items(p.res["identifier"])...)
					for _, id := range ids {
						m := asMap(id)
						sys, _ := m["system"].(string)
						val, _ := m["value"].(string)
						if val != "" && tokenMatches(t, sys+"|"+val) {
							return true
						}
					}
					return false
				})}
			case "type", "category":
				field := name
				c = criterion{name, anyOf(v, func(p *pointer, t string) bool {
					for _, concept := range truth.Items(p.res[field]) {
						for _, cd := range truth.Items(asMap(concept)["coding"]) {
							m := asMap(cd)
							sys, _ := m["system"].(string)
							code, _ := m["code"].(string)
							if tokenMatches(t, sys+"|"+code) {
								return true
							}
						}
					}
					return false
				})}
			case "_id":
				c = criterion{name, anyOf(v, func(p *pointer, id string) bool { return p.res["id"] == id })}
			default:
				continue
			}
			if strings.TrimSpace(v) == "" {
				return nil, nil, nil, fmt.Errorf("searching DocumentReference: %s is empty", name)
			}
			crit = append(crit, c)
			used.Add(name, v)
		}
	}
	if !patient {
		return nil, nil, nil, fmt.Errorf("searching DocumentReference: ITI-67 needs patient or patient.identifier (IHE MHD 2:3.67.4.1.2.1)")
	}
	if byReference {
		clients = nil
	}
	return crit, used, clients, nil
}

// anyOf matches when one of the comma-separated values matches.
func anyOf(values string, match func(*pointer, string) bool) func(*pointer) bool {
	list := strings.Split(values, ",")
	return func(p *pointer) bool {
		for _, v := range list {
			if match(p, v) {
				return true
			}
		}
		return false
	}
}

// tokenMatches matches a token search value (code, system|code or |code)
// against "system|code".
func tokenMatches(token, systemCode string) bool {
	system, code, _ := strings.Cut(systemCode, "|")
	ts, tc, hasSystem := strings.Cut(token, "|")
	if !hasSystem {
		return token == code
	}
	return ts == system && tc == code
}

// sameReference matches a subject reference with a patient search value:
// the same reference, or the same Patient id.
func sameReference(held any, ref string) bool {
	h, _ := held.(string)
	if h == "" || ref == "" {
		return false
	}
	return h == ref || strings.HasSuffix(h, "/"+strings.TrimPrefix(ref, "Patient/")) && strings.Contains(h, "Patient/")
}

// paging reads _count and _offset.
func paging(q url.Values) (count, offset int, err error) {
	count = defaultCount
	if v := q.Get("_count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil || count < 1 {
			return 0, 0, fmt.Errorf("searching DocumentReference: _count %q is no positive number", v)
		}
		count = min(count, maxCount)
	}
	if v := q.Get("_offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, fmt.Errorf("searching DocumentReference: _offset %q is no number ≥ 0", v)
		}
	}
	return count, offset, nil
}
