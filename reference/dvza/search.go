package dvza

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/reference/rest"
)

// searchTypes are the resource types of the MedMij Geboortezorg searches
// (EXCHANGE.md §A.5) and the parameters each takes.
var searchTypes = map[string][]string{
	"Patient":             {},
	"EpisodeOfCare":       {"type", "status"},
	"Condition":           {"context"},
	"Encounter":           {"episodeofcare"},
	"Observation":         {"context", "context:Encounter.episodeofcare"},
	"Procedure":           {"context"},
	"Coverage":            {},
	"FamilyMemberHistory": {},
	"DeviceUseStatement":  {},
	"CareTeam":            {"context"},
	"RelatedPerson":       {},
	"DiagnosticReport":    {"context"},
	"ReferralRequest":     {"context"},
	"Organization":        {},
	"Practitioner":        {},
	"PractitionerRole":    {"practitioner"},
}

// includes are the _include values and the elements they follow.
var includes = map[string][]string{
	"EpisodeOfCare:organization":    {"managingOrganization"},
	"EpisodeOfCare:care-manager":    {"careManager"},
	"EpisodeOfCare:patient":         {"patient"},
	"Encounter:practitioner":        {"participant.individual"},
	"Procedure:performer":           {"performer.actor"},
	"Procedure:based-on":            {"basedOn"},
	"DeviceUseStatement:device":     {"device"},
	"Observation:performer":         {"performer"},
	"Condition:context":             {"context"},
	"PractitionerRole:practitioner": {"practitioner"},
}

// forbidden are parameters that would carry who the client is: MedMij
// derives her from the token alone.
var forbidden = []string{"patient", "subject", "access_token", "identifier"}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	e := logEntry{what: "zoeken " + typ, correlation: correlation(r), request: requestID(r), when: s.opts.Now()}
	q := r.URL.Query()
	queryToken := s.has(func(m *Mutant) bool { return m.queryToken })
	for _, p := range forbidden {
		if !q.Has(p) || (p == "access_token" && queryToken) {
			continue
		}
		if p == "access_token" || !s.has(func(m *Mutant) bool { return m.patientParam }) {
			e.outcome, e.detail = "refused", "parameter "+p+" in de URL"
			s.log.add(e)
			if p == "access_token" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bcbench-dvza", error="invalid_request"`)
				rest.Problem(w, http.StatusBadRequest, "security", "the access token travels in the Authorization header only (RFC 6750 §2.1)")
				return
			}
			rest.Problem(w, http.StatusBadRequest, "security", fmt.Sprintf("search parameter %s is refused: the client is known from the token, no person-identifying data in the URL", p))
			return
		}
		q.Del(p) // the mutant takes it and ignores it
	}
	bsn, ok := s.auth.bearer(w, r)
	if !ok {
		e.outcome, e.detail = "refused", "geen geldig toegangstoken"
		s.log.add(e)
		rest.Problem(w, http.StatusUnauthorized, "login", "a valid bearer token is required")
		return
	}
	e.client = pseudonym(bsn)
	q.Del("access_token") // only the mutant that takes it gets here with one
	allowed, known := searchTypes[typ]
	if !known {
		e.outcome, e.detail = "refused", "type niet ondersteund"
		s.log.add(e)
		rest.Problem(w, http.StatusNotFound, "not-supported", fmt.Sprintf("resource type %s is not served", typ))
		return
	}
	for p := range q {
		if p == "_id" || p == "_include" || p == "_count" || p == "_format" || slices.Contains(allowed, p) {
			continue
		}
		e.outcome, e.detail = "refused", "parameter "+p
		s.log.add(e)
		rest.Problem(w, http.StatusBadRequest, "not-supported", fmt.Sprintf("search parameter %s is not supported on %s", p, typ))
		return
	}
	for _, inc := range q["_include"] {
		if _, ok := includes[inc]; !ok {
			e.outcome, e.detail = "refused", "_include "+inc
			s.log.add(e)
			rest.Problem(w, http.StatusBadRequest, "not-supported", fmt.Sprintf("_include=%s is not supported", inc))
			return
		}
	}
	mine := s.store.view(bsn)
	if len(mine) == 0 && s.has(func(m *Mutant) bool { return m.emptyNotFound }) {
		e.outcome, e.detail = "refused", "geen gegevens"
		s.log.add(e)
		rest.Problem(w, http.StatusNotFound, "not-found", "no data for this client")
		return
	}
	pool := mine
	if s.has(func(m *Mutant) bool { return m.leakContext }) && (q.Has("context") || q.Has("context:Encounter.episodeofcare")) {
		pool = s.store.all()
	}
	if s.has(func(m *Mutant) bool { return m.leakID }) && q.Has("_id") {
		pool = s.store.all()
	}
	if s.defect != nil && s.defect.ignoredParam != "" {
		if t, param, _ := strings.Cut(s.defect.ignoredParam, ":"); t == typ {
			q.Del(param) // the mutant takes it and ignores it
		}
	}
	matches := filter(pool, typ, q, s.store.selfID(bsn))
	included := map[string]map[string]any{}
	failing := false // the mutant's failing _include has something to include
	for _, inc := range q["_include"] {
		for _, m := range matches {
			for _, path := range includes[inc] {
				for _, ref := range references(m, path) {
					if t, ok := mine[ref]; ok && !containsRef(matches, ref) {
						included[ref] = t
						failing = failing || inc == s.failingInclude()
					}
				}
			}
		}
	}
	if failing {
		e.outcome, e.detail = "refused", "interne fout bij _include "+s.failingInclude()
		s.log.add(e)
		rest.Problem(w, http.StatusInternalServerError, "exception", fmt.Sprintf("resolving _include=%s failed", s.failingInclude()))
		return
	}
	base := rest.Base(r)
	entries := make([]any, 0, len(matches)+len(included))
	for _, m := range matches {
		entries = append(entries, s.entry(base, m, "match", bsn))
	}
	for _, k := range slices.Sorted(maps.Keys(included)) {
		entries = append(entries, s.entry(base, included[k], "include", bsn))
	}
	total := len(matches)
	if s.has(func(m *Mutant) bool { return m.totalIncludes }) {
		total = len(entries)
	}
	selfLink := base + "/" + typ
	if r.URL.RawQuery != "" {
		selfLink += "?" + r.URL.RawQuery
	}
	e.outcome, e.detail = "success", fmt.Sprintf("%d gevonden", total)
	s.log.add(e)
	bundle := map[string]any{
		"resourceType": "Bundle", "id": bundleID(), "type": "searchset", "total": total,
		"meta": map[string]any{"lastUpdated": s.opts.Now().UTC().Format(time.RFC3339)},
		"link": []any{map[string]any{"relation": "self", "url": selfLink}},
	}
	if len(entries) > 0 { // FHIR: no empty arrays
		bundle["entry"] = entries
	}
	rest.FHIR(w, http.StatusOK, bundle)
}

// failingInclude is the _include the mutant fails on, or "".
func (s *Server) failingInclude() string {
	if s.defect == nil {
		return ""
	}
	return s.defect.failingInclude
}

// bundleID is a fresh FHIR id (letters, digits, '-' and '.').
func bundleID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) entry(base string, res map[string]any, mode, bsn string) map[string]any {
	if s.has(func(m *Mutant) bool { return m.showBSN }) && res["resourceType"] == "Patient" {
		res = withBSN(res, bsn)
	}
	return map[string]any{
		"fullUrl":  fmt.Sprintf("%s/%v/%v", base, res["resourceType"], res["id"]),
		"resource": res,
		"search":   map[string]any{"mode": mode},
	}
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	e := logEntry{what: "lezen " + typ + "/" + id, correlation: correlation(r), request: requestID(r), when: s.opts.Now()}
	if r.URL.Query().Has("access_token") && !s.has(func(m *Mutant) bool { return m.queryToken }) {
		e.outcome, e.detail = "refused", "access_token in de URL"
		s.log.add(e)
		rest.Problem(w, http.StatusBadRequest, "security", "the access token travels in the Authorization header only (RFC 6750 §2.1)")
		return
	}
	bsn, ok := s.auth.bearer(w, r)
	if !ok {
		e.outcome, e.detail = "refused", "geen geldig toegangstoken"
		s.log.add(e)
		rest.Problem(w, http.StatusUnauthorized, "login", "a valid bearer token is required")
		return
	}
	e.client = pseudonym(bsn)
	pool := s.store.view(bsn)
	if s.has(func(m *Mutant) bool { return m.leakID }) {
		pool = s.store.all()
	}
	res, found := pool[typ+"/"+id]
	if !found {
		e.outcome, e.detail = "refused", "niet gevonden"
		s.log.add(e)
		rest.Problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("%s/%s is not known", typ, id))
		return
	}
	e.outcome = "success"
	s.log.add(e)
	if s.has(func(m *Mutant) bool { return m.showBSN }) && typ == "Patient" {
		res = withBSN(res, bsn)
	}
	rest.FHIR(w, http.StatusOK, res)
}

// filter returns the resources of typ in pool that the search matches,
// sorted by id; a Patient search finds her own Patient (self).
func filter(pool map[string]map[string]any, typ string, q map[string][]string, self string) []map[string]any {
	var out []map[string]any
	for _, k := range slices.Sorted(maps.Keys(pool)) {
		res := pool[k]
		if res["resourceType"] != typ {
			continue
		}
		if typ == "Patient" && res["id"] != self && q["_id"] == nil {
			continue // her Patient; her newborn's is reached by reference
		}
		if matches(pool, res, q) {
			out = append(out, res)
		}
	}
	return out
}

// anyOf splits comma-separated values (OR) of every occurrence of a parameter.
func anyOf(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

func matches(pool map[string]map[string]any, res map[string]any, q map[string][]string) bool {
	for p, vals := range q {
		want := anyOf(vals)
		switch p {
		case "_id":
			if !slices.Contains(want, fmt.Sprint(res["id"])) {
				return false
			}
		case "context", "episodeofcare":
			path := "context"
			if p == "episodeofcare" {
				path = "episodeOfCare"
			}
			if !refersToAny(references(res, path), want, "EpisodeOfCare") {
				return false
			}
		case "context:Encounter.episodeofcare":
			ok := false
			for _, enc := range references(res, "context") {
				if strings.HasPrefix(enc, "Encounter/") && pool[enc] != nil && refersToAny(references(pool[enc], "episodeOfCare"), want, "EpisodeOfCare") {
					ok = true
				}
			}
			if !ok {
				return false
			}
		case "status":
			if !slices.Contains(want, fmt.Sprint(res["status"])) {
				return false
			}
		case "type":
			if !hasCoding(res["type"], want) {
				return false
			}
		case "practitioner":
			if !refersToAny(references(res, "practitioner"), want, "Practitioner") {
				return false
			}
		}
	}
	return true
}

// refersToAny: one of refs ("Type/id") is one of want ("Type/id" or "id").
func refersToAny(refs, want []string, typ string) bool {
	for _, ref := range refs {
		for _, w := range want {
			if ref == w || ref == typ+"/"+w {
				return true
			}
		}
	}
	return false
}

func hasCoding(v any, want []string) bool {
	for _, cc := range items(v) {
		m, _ := cc.(map[string]any)
		for _, c := range items(m["coding"]) {
			cm, _ := c.(map[string]any)
			for _, w := range want {
				sys, code, has := strings.Cut(w, "|")
				if !has {
					code, sys = w, ""
				}
				if cm["code"] == code && (sys == "" || cm["system"] == sys) {
					return true
				}
			}
		}
	}
	return false
}

func items(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case nil:
		return nil
	default:
		return []any{t}
	}
}

// references returns the "Type/id" references at a dotted path.
func references(res map[string]any, path string) []string {
	cur := []any{res}
	for _, step := range strings.Split(path, ".") {
		var next []any
		for _, c := range cur {
			m, _ := c.(map[string]any)
			next = append(next, items(m[step])...)
		}
		cur = next
	}
	var out []string
	for _, c := range cur {
		m, _ := c.(map[string]any)
		if ref, _ := m["reference"].(string); ref != "" {
			out = append(out, ref)
		}
	}
	return out
}

func containsRef(list []map[string]any, ref string) bool {
	return slices.ContainsFunc(list, func(m map[string]any) bool { return fmt.Sprintf("%v/%v", m["resourceType"], m["id"]) == ref })
}

// capabilityStatement is the reference's STU3 CapabilityStatement: the
// searches of the MedMij Geboortezorg server capabilities.
func capabilityStatement(version string, now time.Time) map[string]any {
	var resources []any
	for _, typ := range slices.Sorted(maps.Keys(searchTypes)) {
		var params []any
		for _, p := range searchTypes[typ] {
			params = append(params, map[string]any{"name": p, "type": "reference"})
		}
		var inc []any
		for _, k := range slices.Sorted(maps.Keys(includes)) {
			if strings.HasPrefix(k, typ+":") {
				inc = append(inc, k)
			}
		}
		res := map[string]any{"type": typ, "interaction": []any{map[string]any{"code": "search-type"}, map[string]any{"code": "read"}}}
		if len(params) > 0 {
			res["searchParam"] = params
		}
		if len(inc) > 0 {
			res["searchInclude"] = inc
		}
		resources = append(resources, res)
	}
	return map[string]any{
		"resourceType": "CapabilityStatement", "status": "active", "date": now.UTC().Format("2006-01-02"),
		"kind": "instance", "fhirVersion": "3.0.2", "format": []any{"application/fhir+json"},
		"software":      map[string]any{"name": Software, "version": version},
		"instantiates":  []any{"http://nictiz.nl/fhir/CapabilityStatement/pregnancycard-servercapabilities"},
		"acceptUnknown": "no",
		"rest": []any{map[string]any{"mode": "server",
			"security": map[string]any{"service": []any{map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/restful-security-service", "code": "OAuth"}}}}},
			"resource": resources}},
	}
}
