package xis

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reference/rest"
	bearer "github.com/bcbench/bcbench/token"
)

// Access logging (NEN 7513; docs/logging.md): every read and search of the
// FHIR API, served or refused, becomes an AuditEvent naming who read (the
// professional of the bearer token and her organisation), which client,
// what (the resource read or the query), when and the outcome. The log is
// kept apart from the record: a withdrawal or deletion request does not
// remove it, and it is searchable by patient and date.

// Codes of the AuditEvents the reference XIS writes (FHIR R4 AuditEvent).
const (
	auditTypeSystem    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	interactionSystem  = "http://hl7.org/fhir/restful-interaction"
	entityTypeSystem   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	objectRoleSystem   = "http://terminology.hl7.org/CodeSystem/object-role"
	sourceTypeSystem   = "http://terminology.hl7.org/CodeSystem/security-source-type"
	participationType  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	outcomeSuccess     = "0"
	outcomeMinorFailed = "4"
)

// maxAudit bounds the access log kept in memory; beyond it the oldest
// entries are dropped.
const maxAudit = 200_000

// access is one read or search as the XIS saw it.
type access struct {
	remote string
	reader *bearer.Professional // nil: no token was checked (no trust configured) or none was valid
	search bool
	typ    string
	id     string     // a read's id
	query  url.Values // a search's parameters
	// patients are the Patient ids the request concerned.
	patients []string
	status   int
	at       time.Time
}

// auditLog keeps the AuditEvents, oldest first, and by the Patients they
// name: a search by patient reads her events only.
type auditLog struct {
	mu        sync.RWMutex
	events    []auditEntry
	byPatient map[string][]auditEntry
	seq       int
}

// auditEntry is one AuditEvent, kept encoded (a population run logs
// hundreds of thousands of reads: as maps they took gigabytes), with what a
// search needs of it parsed once.
type auditEntry struct {
	raw      json.RawMessage
	id       string
	seq      int // the order of writing: the cursor of a page
	patients []string
	at       time.Time
}

func (l *auditLog) add(ev map[string]any, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	id := fmt.Sprintf("toegang-%d", l.seq)
	ev["id"] = id
	raw, err := json.Marshal(ev)
	if err != nil {
		return // an AuditEvent the XIS built itself always encodes
	}
	if len(l.events) >= maxAudit { // drop the oldest half, and index the rest again
		l.events = append([]auditEntry(nil), l.events[len(l.events)/2:]...)
		l.byPatient = nil
		for _, e := range l.events {
			l.index(e)
		}
	}
	e := auditEntry{raw: raw, id: id, seq: l.seq, patients: auditPatients(ev), at: at}
	l.events = append(l.events, e)
	l.index(e)
}

// index files an entry under the Patients it names. Callers hold the lock.
func (l *auditLog) index(e auditEntry) {
	if l.byPatient == nil {
		l.byPatient = map[string][]auditEntry{}
	}
	for _, pid := range e.patients {
		l.byPatient[pid] = append(l.byPatient[pid], e)
	}
}

func (l *auditLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events, l.byPatient, l.seq = nil, nil, 0
}

// Paging of an AuditEvent search (FHIR R4 http.html#paging): _count
// entries a page (auditPage when not asked, at most maxAuditPage), and a
// next link that carries the cursor (_cursor: the last entry's sequence
// number) so that a page never repeats or skips what was logged meanwhile.
const (
	auditPage    = 100
	maxAuditPage = 1000
)

// find returns the AuditEvents after the cursor that name every patient
// and match every date criterion, oldest first: at most count of them,
// and how many match in all.
func (l *auditLog) find(patients []string, dates []dateCriterion, after, count int) ([]auditEntry, int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	from := l.events
	if len(patients) > 0 {
		from = l.byPatient[patients[0]]
	}
	var out []auditEntry
	total := 0
	for _, e := range from {
		ok := true
		for _, pid := range patients[min(1, len(patients)):] {
			ok = ok && slices.Contains(e.patients, pid)
		}
		for _, d := range dates {
			ok = ok && d.match(e.at)
		}
		if !ok {
			continue
		}
		total++
		if e.seq > after && len(out) < count {
			out = append(out, e)
		}
	}
	return out, total
}

// get returns one AuditEvent by id.
func (l *auditLog) get(id string) (auditEntry, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, e := range l.events {
		if e.id == id {
			return e, true
		}
	}
	return auditEntry{}, false
}

// authenticate returns the professional of the request's bearer token. With
// no trust configured it returns nil and lets the request through; with one,
// a missing or invalid token is refused (401) and the refusal is logged.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, a *access) bool {
	if s.opts.Trust == nil {
		return true
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok {
		p, err := s.opts.Trust.Verify(strings.TrimSpace(raw), s.opts.Now())
		if err == nil {
			a.reader = &p
			return true
		}
	}
	a.status = http.StatusUnauthorized
	s.logAccess(a) // before the answer: who has the refusal finds it logged
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	rest.Problem(w, http.StatusUnauthorized, "login", "reading: a valid bearer token of a trusted issuer is required")
	return false
}

// mayRead says whether the reader has a care relationship with the patient
// (always, when no token is checked).
func (s *Server) mayRead(a *access, patientID string) bool {
	return a.reader == nil || patientID == "" || s.store.related(patientID, a.reader.OrgURA)
}

// refuse answers 403 for a reader without a care relationship.
func refuse(w http.ResponseWriter, a *access) {
	rest.Problem(w, http.StatusForbidden, "forbidden",
		fmt.Sprintf("%s of %s has no care relationship with this client", a.reader.Name, a.reader.OrgName))
	a.status = http.StatusForbidden
}

func newAccess(r *http.Request, now time.Time) *access {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return &access{remote: host, at: now.UTC()}
}

// logAccess writes the AuditEvent of one read or search, unless the mutant
// drops or changes it.
func (s *Server) logAccess(a *access) {
	ev := s.auditEvent(a)
	if s.defect != nil && s.defect.audit != nil && !s.defect.audit(a, ev) {
		return
	}
	s.audit.add(ev, a.at)
}

// loggedWriter writes the access's AuditEvent just before its answer
// leaves (with the answer's status), so a reader who has the answer finds
// its AuditEvent in the log. The returned func logs an access that wrote
// no answer at all; call it deferred.
func (s *Server) loggedWriter(w http.ResponseWriter, a *access) (http.ResponseWriter, func()) {
	lw := &logWriter{ResponseWriter: w, log: func(status int) {
		if status != 0 {
			a.status = status
		}
		s.logAccess(a)
	}}
	return lw, func() { lw.once(0) }
}

// logWriter calls log once, before the first byte of the answer.
type logWriter struct {
	http.ResponseWriter
	log  func(status int)
	done bool
}

func (l *logWriter) once(status int) {
	if !l.done {
		l.done = true
		l.log(status)
	}
}

func (l *logWriter) WriteHeader(status int) {
	l.once(status)
	l.ResponseWriter.WriteHeader(status)
}

func (l *logWriter) Write(b []byte) (int, error) {
	l.once(http.StatusOK)
	return l.ResponseWriter.Write(b)
}

// auditEvent renders an access as a FHIR R4 AuditEvent.
func (s *Server) auditEvent(a *access) map[string]any {
	subtype := map[string]any{"system": interactionSystem, "code": "read", "display": "read"}
	action := "R"
	if a.search {
		subtype = map[string]any{"system": interactionSystem, "code": "search-type", "display": "search type"}
		action = "E"
	}
	outcome, desc := outcomeSuccess, ""
	if a.status < 200 || a.status > 299 {
		outcome, desc = outcomeMinorFailed, fmt.Sprintf("geweigerd of niet gevonden: HTTP %d", a.status)
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"type":         map[string]any{"system": auditTypeSystem, "code": "rest", "display": "RESTful Operation"},
		"subtype":      []any{subtype},
		"action":       action,
		"recorded":     a.at.Format("2006-01-02T15:04:05.000Z07:00"),
		"outcome":      outcome,
		"agent":        s.agents(a),
		"source": map[string]any{
			"observer": map[string]any{"display": Software},
			"type":     []any{map[string]any{"system": sourceTypeSystem, "code": "4", "display": "Application Server"}},
		},
		"entity": entities(a),
	}
	if desc != "" {
		ev["outcomeDesc"] = desc
	}
	return ev
}

// agents names the professional (the requestor) and her organisation.
func (s *Server) agents(a *access) []any {
	network := map[string]any{"address": a.remote, "type": "2"}
	p := a.reader
	if p == nil {
		return []any{map[string]any{
			"type":      concept(participationType, "AUT", "author (originator)"),
			"who":       map[string]any{"display": "onbekend: geen geldig token"},
			"requestor": true,
			"network":   network,
		}}
	}
	person := map[string]any{
		"type":      concept(participationType, "AUT", "author (originator)"),
		"who":       map[string]any{"identifier": identifier(p.UZI, p.AGB), "display": p.Name},
		"name":      p.Name,
		"requestor": true,
		"network":   network,
	}
	if p.UZI != "" && p.AGB != "" {
		person["altId"] = p.AGB
	}
	if p.Role != "" {
		person["role"] = []any{concept(fixtures.UZIRole, p.Role, p.RoleDisplay)}
	}
	out := []any{person}
	if p.OrgURA != "" || p.OrgAGB != "" {
		org := map[string]any{"system": fixtures.URASystem, "value": p.OrgURA}
		if p.OrgURA == "" {
			org = map[string]any{"system": fixtures.AGBSystem, "value": p.OrgAGB}
		}
		out = append(out, map[string]any{
			"type":      concept(participationType, "PROV", "healthcare provider"),
			"who":       map[string]any{"identifier": org, "display": p.OrgName},
			"requestor": false,
		})
	}
	return out
}

// identifier is the professional's UZI number, else her AGB code.
func identifier(uzi, agb string) map[string]any {
	if uzi != "" {
		return map[string]any{"system": fixtures.UZISystem, "value": uzi}
	}
	return map[string]any{"system": fixtures.AGBSystem, "value": agb}
}

func concept(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return map[string]any{"coding": []any{c}}
}

// entities names the client(s) and what was read: the resource, or the
// query (base64, as R4 entity.query).
func entities(a *access) []any {
	var out []any
	for _, pid := range a.patients {
		out = append(out, map[string]any{
			"what": map[string]any{"reference": "Patient/" + pid},
			"type": map[string]any{"system": entityTypeSystem, "code": "1", "display": "Person"},
			"role": map[string]any{"system": objectRoleSystem, "code": "1", "display": "Patient"},
		})
	}
	if a.search && a.typ == "Patient" && len(a.patients) == 0 {
		// A search by BSN that found nobody (or nobody shared) still names
		// the client it asked for.
		for _, v := range a.query["identifier"] {
			if system, bsn, ok := strings.Cut(v, "|"); ok && system == fixtures.BSNSystem && bsn != "" {
				out = append(out, map[string]any{
					"what": map[string]any{"identifier": map[string]any{"system": fixtures.BSNSystem, "value": bsn}},
					"type": map[string]any{"system": entityTypeSystem, "code": "1", "display": "Person"},
					"role": map[string]any{"system": objectRoleSystem, "code": "1", "display": "Patient"},
				})
			}
		}
	}
	if a.search {
		q := a.typ
		if len(a.query) > 0 {
			q += "?" + a.query.Encode()
		}
		out = append(out, map[string]any{
			"type":  map[string]any{"system": entityTypeSystem, "code": "2", "display": "System Object"},
			"role":  map[string]any{"system": objectRoleSystem, "code": "24", "display": "Query"},
			"query": base64.StdEncoding.EncodeToString([]byte(q)),
		})
	} else if a.typ != "" && (a.typ != "Patient" || len(a.patients) == 0) {
		out = append(out, map[string]any{
			"what": map[string]any{"reference": a.typ + "/" + a.id},
			"type": map[string]any{"system": entityTypeSystem, "code": "2", "display": "System Object"},
			"role": map[string]any{"system": objectRoleSystem, "code": "4", "display": "Domain Resource"},
		})
	}
	return out
}

// dateCriterion compares AuditEvent.recorded with a date search value.
type dateCriterion struct {
	prefix   string // eq, lt, le, gt, ge
	from, to time.Time
}

func (c dateCriterion) match(t time.Time) bool {
	switch c.prefix {
	case "lt":
		return t.Before(c.from)
	case "le":
		return t.Before(c.to)
	case "gt":
		return !t.Before(c.to)
	case "ge":
		return !t.Before(c.from)
	default:
		return !t.Before(c.from) && t.Before(c.to)
	}
}

// parseDate reads a date search value: [prefix]YYYY-MM-DD or a dateTime,
// as the interval it stands for.
func parseDate(v string) (dateCriterion, error) {
	c := dateCriterion{prefix: "eq"}
	if len(v) > 2 {
		switch v[:2] {
		case "eq", "lt", "le", "gt", "ge":
			c.prefix, v = v[:2], v[2:]
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v, fixtures.Amsterdam); err == nil {
		c.from, c.to = t, t.AddDate(0, 0, 1)
		return c, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			c.from, c.to = t, t.Add(time.Second)
			return c, nil
		}
	}
	return c, fmt.Errorf("%w: date %q is not a date or a dateTime with time zone", errBadParam, v)
}

// searchAudit answers AuditEvent?patient=…&date=… from the access log.
func (s *Server) searchAudit(w http.ResponseWriter, r *http.Request, a *access) {
	var patients []string
	var dates []dateCriterion
	used := url.Values{}
	count, after := auditPage, 0
	for name, values := range r.URL.Query() {
		for _, v := range values {
			switch name {
			case "_count", "_cursor":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || (name == "_count" && n == 0) {
					rest.Problem(w, http.StatusBadRequest, "invalid", fmt.Sprintf("%s %q is not a positive number", name, v))
					a.status = http.StatusBadRequest
					return
				}
				if name == "_cursor" {
					after = n
					continue // not part of the self link's query
				}
				count = min(n, maxAuditPage)
				continue
			case "patient":
				pid := patientParam(v)
				if pid == "" {
					rest.Problem(w, http.StatusBadRequest, "invalid", "patient is empty")
					a.status = http.StatusBadRequest
					return
				}
				if !s.mayRead(a, pid) {
					refuse(w, a)
					return
				}
				a.patients = append(a.patients, pid)
				patients = append(patients, pid)
			case "date":
				d, err := parseDate(v)
				if err != nil {
					rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
					a.status = http.StatusBadRequest
					return
				}
				dates = append(dates, d)
			default:
				continue
			}
			used.Add(name, v)
		}
	}
	found, total := s.audit.find(patients, dates, after, count+1)
	base := rest.Base(r)
	more := len(found) > count
	found = found[:min(len(found), count)]
	entries := make([]any, 0, len(found))
	for _, e := range found {
		entries = append(entries, map[string]any{"fullUrl": base + "/AuditEvent/" + e.id, "resource": e.raw, "search": map[string]any{"mode": "match"}})
	}
	used.Set("_count", strconv.Itoa(count))
	bundle := searchset(base, "AuditEvent", used, entries, s.opts.Now())
	bundle["total"] = total
	if more {
		next := maps.Clone(used)
		next.Set("_cursor", strconv.Itoa(found[len(found)-1].seq))
		bundle["link"] = append(bundle["link"].([]any), map[string]any{"relation": "next", "url": base + "/AuditEvent?" + next.Encode()})
	}
	a.status = http.StatusOK
	rest.FHIR(w, http.StatusOK, bundle)
}

// patientParam reads a patient search value: Patient/id, an absolute
// reference or a bare id.
func patientParam(v string) string {
	if i := strings.LastIndex(v, "Patient/"); i >= 0 {
		return v[i+len("Patient/"):]
	}
	return v
}

// auditPatients lists the Patient ids an AuditEvent names.
func auditPatients(ev map[string]any) []string {
	var out []string
	for _, e := range asList(ev["entity"]) {
		ent, _ := e.(map[string]any)
		what, _ := ent["what"].(map[string]any)
		if ref, _ := what["reference"].(string); strings.Contains(ref, "Patient/") {
			out = append(out, patientParam(ref))
		}
	}
	return out
}
