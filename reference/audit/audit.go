// Package audit is the access log (NEN 7513; docs/logging.md) the bench's
// reference roles share: every read and search of a client's record, served
// or refused, becomes a FHIR R4 AuditEvent naming who read (the
// professional of the bearer token and her organisation), which client,
// what (the resource read or the query), when and the outcome. The log is
// kept apart from the record (a withdrawal or deletion request does not
// remove it) and is searchable by patient (her Patient, or her BSN) and
// date.
package audit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
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
	"github.com/bcbench/bcbench/token"
)

// Codes of the AuditEvents (FHIR R4 AuditEvent).
const (
	auditTypeSystem    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	interactionSystem  = "http://hl7.org/fhir/restful-interaction"
	entityTypeSystem   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sourceTypeSystem   = "http://terminology.hl7.org/CodeSystem/security-source-type"
	participationType  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	outcomeSuccess     = "0"
	outcomeMinorFailed = "4"
	// ObjectRoleSystem codes entity.role; code 1 is the Patient.
	ObjectRoleSystem = "http://terminology.hl7.org/CodeSystem/object-role"
)

// ErrBadParam marks a search value the log cannot read.
var ErrBadParam = errors.New("bad search parameter")

// maxEvents bounds a log kept in memory; beyond it the oldest half is
// dropped.
const maxEvents = 200_000

// Access is one read or search as a role saw it.
type Access struct {
	Remote string
	// Reader is nil when no token was checked (no trust configured) or none
	// was valid.
	Reader *token.Professional
	Search bool
	// Method is the request's: a search comes as GET or POST _search.
	Method string
	Type   string
	ID     string     // a read's id
	Query  url.Values // a search's parameters
	// Patients are the Patient ids the request concerned; BSNs the
	// clients it concerned by BSN alone (an index holds no Patient).
	Patients []string
	BSNs     []string
	Status   int
	At       time.Time
}

// NewAccess starts the access of a request, at now.
func NewAccess(r *http.Request, now time.Time) *Access {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return &Access{Remote: host, Method: r.Method, At: now.UTC()}
}

// Authenticate returns the professional of the request's bearer token,
// nil when trust is nil (no token is checked), and false when trust is set
// and the token is missing or invalid.
func Authenticate(trust *token.Verifier, r *http.Request, now time.Time) (*token.Professional, bool) {
	if trust == nil {
		return nil, true
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	p, err := trust.Verify(strings.TrimSpace(raw), now)
	if err != nil {
		return nil, false
	}
	return &p, true
}

// Unauthorized answers 401 for a request without a valid token.
func Unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	rest.Problem(w, http.StatusUnauthorized, "login", "reading: a valid bearer token of a trusted issuer is required")
}

// Log keeps the AuditEvents, oldest first, and by the clients they name: a
// search by patient reads her events only.
type Log struct {
	prefix    string // of the ids
	mu        sync.RWMutex
	events    []Entry
	byPatient map[string][]Entry // by "Patient/<id>" and "bsn:<bsn>"
	seq       int
}

// NewLog returns an empty log whose AuditEvent ids start with prefix.
func NewLog(prefix string) *Log { return &Log{prefix: prefix} }

// Entry is one AuditEvent, kept encoded (a population run logs hundreds of
// thousands of reads: as maps they took gigabytes), with what a search
// needs of it parsed once.
type Entry struct {
	Raw json.RawMessage
	ID  string
	seq int // the order of writing: the cursor of a page
	// Patients are the Patient ids the event names.
	Patients []string
	keys     []string
	at       time.Time
}

// BSNs are the clients the event names by BSN.
func (e Entry) BSNs() []string {
	var out []string
	for _, k := range e.keys {
		if bsn, ok := strings.CutPrefix(k, "bsn:"); ok {
			out = append(out, bsn)
		}
	}
	return out
}

// Add stores an AuditEvent recorded at at, giving it an id.
func (l *Log) Add(ev map[string]any, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	id := fmt.Sprintf("%s-%d", l.prefix, l.seq)
	ev["id"] = id
	raw, err := json.Marshal(ev)
	if err != nil {
		return // an AuditEvent built here always encodes
	}
	if len(l.events) >= maxEvents { // drop the oldest half, and index the rest again
		l.events = append([]Entry(nil), l.events[len(l.events)/2:]...)
		l.byPatient = nil
		for _, e := range l.events {
			l.index(e)
		}
	}
	e := Entry{Raw: raw, ID: id, seq: l.seq, Patients: patientsOf(ev), keys: keysOf(ev), at: at}
	l.events = append(l.events, e)
	l.index(e)
}

// index files an entry under the clients it names. Callers hold the lock.
func (l *Log) index(e Entry) {
	if l.byPatient == nil {
		l.byPatient = map[string][]Entry{}
	}
	for _, k := range e.keys {
		l.byPatient[k] = append(l.byPatient[k], e)
	}
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events, l.byPatient, l.seq = nil, nil, 0
}

// Get returns one AuditEvent by id.
func (l *Log) Get(id string) (Entry, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, e := range l.events {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Paging of a search of the log (FHIR R4 http.html#paging): _count
// entries a page (Page when not asked, at most MaxPage), and a next link
// that carries the cursor (_cursor: the last entry's sequence number) so
// that a page never repeats or skips what was logged meanwhile.
const (
	Page    = 100
	MaxPage = 1000
)

// Query is a search of the log: the clients every event must name (as
// "Patient/<id>" or "bsn:<bsn>"), the date criteria on recorded, and the
// page asked for.
type Query struct {
	Patients []string // Patient ids
	BSNs     []string
	Dates    []DateCriterion
	// Count is the page size, After the cursor (the entries after it).
	Count, After int
	// Used are the parameters read, for the self link.
	Used url.Values
	// Admit, when set, keeps out of the answer (and its total) an event
	// about a client the reader may not see: it gets the BSNs the event
	// names (an authorised view, docs/index.md).
	Admit func(bsns []string) bool
}

// ParseQuery reads a search of the log: patient (Patient/<id>, an absolute
// reference or an id), patient:identifier and entity:identifier
// (<bsn system>|<bsn>), date, _count and _cursor; other parameters are
// ignored.
func ParseQuery(q url.Values) (Query, error) {
	out := Query{Used: url.Values{}, Count: Page}
	for name, values := range q {
		for _, v := range values {
			switch name {
			case "_count", "_cursor":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || (name == "_count" && n == 0) {
					return out, fmt.Errorf("%w: %s %q is not a positive number", ErrBadParam, name, v)
				}
				if name == "_cursor" {
					out.After = n
				} else {
					out.Count = min(n, MaxPage)
				}
				continue // the self link names the page itself
			case "patient":
				pid := PatientParam(v)
				if pid == "" {
					return out, fmt.Errorf("%w: patient is empty", ErrBadParam)
				}
				out.Patients = append(out.Patients, pid)
			case "patient:identifier", "entity:identifier":
				system, bsn, ok := strings.Cut(v, "|")
				if !ok || system != fixtures.BSNSystem || bsn == "" {
					return out, fmt.Errorf("%w: %s takes %s|<BSN>", ErrBadParam, name, fixtures.BSNSystem)
				}
				out.BSNs = append(out.BSNs, bsn)
			case "date":
				d, err := ParseDate(v)
				if err != nil {
					return out, err
				}
				out.Dates = append(out.Dates, d)
			default:
				continue
			}
			out.Used.Add(name, v)
		}
	}
	return out, nil
}

// Find returns the AuditEvents after the query's cursor that name every
// client of the query and match every date criterion, oldest first: at
// most count of them, and how many match in all.
func (l *Log) Find(q Query, count int) ([]Entry, int) {
	keys := make([]string, 0, len(q.Patients)+len(q.BSNs))
	for _, pid := range q.Patients {
		keys = append(keys, "Patient/"+pid)
	}
	for _, bsn := range q.BSNs {
		keys = append(keys, "bsn:"+bsn)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	from := l.events
	if len(keys) > 0 {
		from = l.byPatient[keys[0]]
	}
	var out []Entry
	total := 0
	for _, e := range from {
		ok := true
		for _, k := range keys[min(1, len(keys)):] {
			ok = ok && slices.Contains(e.keys, k)
		}
		for _, d := range q.Dates {
			ok = ok && d.match(e.at)
		}
		if ok && q.Admit != nil {
			ok = q.Admit(e.BSNs())
		}
		if !ok {
			continue
		}
		total++
		if e.seq > q.After && len(out) < count {
			out = append(out, e)
		}
	}
	return out, total
}

// Searchset answers a query with one page of the log at base: a searchset
// Bundle with total over all pages and a next link when there is more.
func (l *Log) Searchset(base string, q Query, now time.Time) map[string]any {
	found, total := l.Find(q, q.Count+1)
	more := len(found) > q.Count
	found = found[:min(len(found), q.Count)]
	entries := make([]any, 0, len(found))
	for _, e := range found {
		entries = append(entries, map[string]any{"fullUrl": base + "/AuditEvent/" + e.ID, "resource": e.Raw, "search": map[string]any{"mode": "match"}})
	}
	used := maps.Clone(q.Used)
	used.Set("_count", strconv.Itoa(q.Count))
	links := []any{map[string]any{"relation": "self", "url": base + "/AuditEvent?" + used.Encode()}}
	if more {
		used.Set("_cursor", strconv.Itoa(found[len(found)-1].seq))
		links = append(links, map[string]any{"relation": "next", "url": base + "/AuditEvent?" + used.Encode()})
	}
	bundle := map[string]any{
		"resourceType": "Bundle",
		"id":           fmt.Sprintf("search-%d", now.UnixNano()),
		"type":         "searchset",
		"total":        total,
		"link":         links,
	}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	return bundle
}

// LoggedWriter writes the access's AuditEvent (with log) just before its
// answer leaves, with the answer's status, so a reader who has the answer
// finds its AuditEvent in the log. The returned func logs an access that
// wrote no answer at all; call it deferred.
func LoggedWriter(w http.ResponseWriter, a *Access, log func(*Access)) (http.ResponseWriter, func()) {
	lw := &logWriter{ResponseWriter: w, log: func(status int) {
		if status != 0 {
			a.Status = status
		}
		log(a)
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

// Event renders an access as a FHIR R4 AuditEvent; observer names the
// system that logged it (source.observer).
func Event(a *Access, observer string) map[string]any {
	subtype := map[string]any{"system": interactionSystem, "code": "read", "display": "read"}
	action := "R"
	if a.Search {
		subtype = map[string]any{"system": interactionSystem, "code": "search-type", "display": "search type"}
		action = "E"
	}
	outcome, desc := outcomeSuccess, ""
	if a.Status < 200 || a.Status > 299 {
		outcome, desc = outcomeMinorFailed, fmt.Sprintf("geweigerd of niet gevonden: HTTP %d", a.Status)
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"type":         map[string]any{"system": auditTypeSystem, "code": "rest", "display": "RESTful Operation"},
		"subtype":      []any{subtype},
		"action":       action,
		"recorded":     a.At.Format("2006-01-02T15:04:05.000Z07:00"),
		"outcome":      outcome,
		"agent":        agents(a),
		"source": map[string]any{
			"observer": map[string]any{"display": observer},
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
func agents(a *Access) []any {
	network := map[string]any{"address": a.Remote, "type": "2"}
	p := a.Reader
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

// client is the entity of a client the access concerned.
func client(what map[string]any) map[string]any {
	return map[string]any{
		"what": what,
		"type": map[string]any{"system": entityTypeSystem, "code": "1", "display": "Person"},
		"role": map[string]any{"system": ObjectRoleSystem, "code": "1", "display": "Patient"},
	}
}

// entities names the client(s) and what was read: the resource, or the
// query (base64, as R4 entity.query).
func entities(a *Access) []any {
	var out []any
	for _, pid := range a.Patients {
		out = append(out, client(map[string]any{"reference": "Patient/" + pid}))
	}
	bsns := a.BSNs
	if a.Search && a.Type == "Patient" && len(a.Patients) == 0 {
		// A search by BSN that found nobody (or nobody shared) still names
		// the client it asked for.
		for _, v := range a.Query["identifier"] {
			if system, bsn, ok := strings.Cut(v, "|"); ok && system == fixtures.BSNSystem && bsn != "" {
				bsns = append(bsns, bsn)
			}
		}
	}
	for _, bsn := range bsns {
		out = append(out, client(map[string]any{"identifier": map[string]any{"system": fixtures.BSNSystem, "value": bsn}}))
	}
	if a.Search {
		q := a.Type
		if len(a.Query) > 0 {
			q += "?" + a.Query.Encode()
		}
		out = append(out, map[string]any{
			"type":  map[string]any{"system": entityTypeSystem, "code": "2", "display": "System Object"},
			"role":  map[string]any{"system": ObjectRoleSystem, "code": "24", "display": "Query"},
			"query": base64.StdEncoding.EncodeToString([]byte(q)),
		})
	} else if a.Type != "" && (a.Type != "Patient" || len(a.Patients) == 0) {
		out = append(out, map[string]any{
			"what": map[string]any{"reference": a.Type + "/" + a.ID},
			"type": map[string]any{"system": entityTypeSystem, "code": "2", "display": "System Object"},
			"role": map[string]any{"system": ObjectRoleSystem, "code": "4", "display": "Domain Resource"},
		})
	}
	return out
}

// DateCriterion compares AuditEvent.recorded with a date search value.
type DateCriterion struct {
	prefix   string // eq, lt, le, gt, ge
	from, to time.Time
}

func (c DateCriterion) match(t time.Time) bool {
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

// ParseDate reads a date search value: [prefix]YYYY-MM-DD or a dateTime,
// as the interval it stands for.
func ParseDate(v string) (DateCriterion, error) {
	c := DateCriterion{prefix: "eq"}
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
	return c, fmt.Errorf("%w: date %q is not a date or a dateTime with time zone", ErrBadParam, v)
}

// PatientParam reads a patient search value: Patient/id, an absolute
// reference or a bare id.
func PatientParam(v string) string {
	if i := strings.LastIndex(v, "Patient/"); i >= 0 {
		return v[i+len("Patient/"):]
	}
	return v
}

// Clients lists what an AuditEvent's client entities name: Patient ids,
// and BSNs.
func Clients(ev map[string]any) (patients, bsns []string) {
	list, _ := ev["entity"].([]any)
	for _, e := range list {
		ent, _ := e.(map[string]any)
		what, _ := ent["what"].(map[string]any)
		if ref, _ := what["reference"].(string); strings.Contains(ref, "Patient/") {
			patients = append(patients, PatientParam(ref))
		}
		if id, _ := what["identifier"].(map[string]any); id["system"] == fixtures.BSNSystem {
			if bsn, _ := id["value"].(string); bsn != "" {
				bsns = append(bsns, bsn)
			}
		}
	}
	return patients, bsns
}

// patientsOf lists the Patient ids an AuditEvent names.
func patientsOf(ev map[string]any) []string {
	p, _ := Clients(ev)
	return p
}

// keysOf lists the keys an AuditEvent is found under.
func keysOf(ev map[string]any) []string {
	patients, bsns := Clients(ev)
	keys := make([]string, 0, len(patients)+len(bsns))
	for _, pid := range patients {
		keys = append(keys, "Patient/"+pid)
	}
	for _, bsn := range bsns {
		keys = append(keys, "bsn:"+bsn)
	}
	return keys
}

// AsAccount rewrites an AuditEvent as a defect of a mutant would: the
// requestor is the system's technical account (system|value, display), not
// the professional of the token.
func AsAccount(ev map[string]any, system, value, display string) {
	agents, _ := ev["agent"].([]any)
	for _, a := range agents {
		agent, _ := a.(map[string]any)
		if requestor, _ := agent["requestor"].(bool); requestor {
			agent["who"] = map[string]any{
				"identifier": map[string]any{"system": system, "value": value},
				"display":    display,
			}
			agent["name"] = display
			delete(agent, "altId")
			delete(agent, "role")
		}
	}
}

// WithoutClient rewrites an AuditEvent as a defect of a mutant would: it no
// longer names the client (by Patient or BSN).
func WithoutClient(ev map[string]any) {
	entities, _ := ev["entity"].([]any)
	var kept []any
	for _, e := range entities {
		ent, _ := e.(map[string]any)
		role, _ := ent["role"].(map[string]any)
		if role["system"] == ObjectRoleSystem && role["code"] == "1" {
			continue
		}
		kept = append(kept, e)
	}
	ev["entity"] = kept
}
