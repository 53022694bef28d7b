package audit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/token"
)

// read is one read or search the bench made at the XIS, as recorded.
type read struct {
	method  string // GET, or POST for a search by form (Type/_search)
	url     string // as recorded (secrets redacted)
	who     string // the professional's ID
	search  bool
	typ, id string
	params  url.Values
	status  int
	started time.Time
	end     time.Time
	// subject is the Patient id a served read's resource refers to.
	subject string
}

// succeeded says whether the XIS served the read (2xx).
func (r read) succeeded() bool { return r.status >= 200 && r.status <= 299 }

// interaction names the read in Dutch for a problem.
func (r read) String() string {
	return fmt.Sprintf("%s %s (HTTP %d, %s)", r.method, r.url, r.status, r.started.UTC().Format("15:04:05.000Z"))
}

// parseRead turns a recorded exchange under the FHIR base into a read: a
// GET, or a search by form (POST Type/_search, its parameters in the body);
// false for anything else: another method, the CapabilityStatement, the
// access log itself, an exchange that failed, one the bench did not tag.
func parseRead(e harness.Entry, base, who string) (read, bool) {
	if who == "" || (e.Request.Method != "GET" && e.Request.Method != "POST") || e.Error != "" || e.Response.Status == 0 {
		return read{}, false
	}
	// The proxy records the URL it forwarded to (the candidate's own
	// address): compare paths under the FHIR base.
	b, err1 := url.Parse(base)
	u, err2 := url.Parse(e.Request.URL)
	if err1 != nil || err2 != nil {
		return read{}, false
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), strings.TrimSuffix(b.EscapedPath(), "/")+"/")
	if !ok {
		return read{}, false
	}
	query := u.RawQuery
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		segs[i], _ = url.PathUnescape(seg)
	}
	if e.Request.Method == "POST" {
		switch e.Response.Status {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			// a search by form not served (as IDX-09 takes it): IDX-04's
			// finding, no refused read
			return read{}, false
		}
		if len(segs) != 2 || segs[1] != "_search" || e.Request.PostData == nil {
			return read{}, false // a registration, a transaction: no read
		}
		form, err := url.ParseQuery(e.Request.PostData.Text)
		if err != nil {
			return read{}, false
		}
		if query != "" {
			query += "&"
		}
		query += form.Encode()
		segs = segs[:1]
	}
	rd := read{method: e.Request.Method, url: e.Request.URL, who: who, typ: segs[0], status: e.Response.Status, started: e.Started}
	if rd.started.IsZero() {
		rd.started, _ = time.Parse(time.RFC3339Nano, e.StartedDateTime)
	}
	rd.end = rd.started.Add(time.Duration(e.Time * float64(time.Millisecond)))
	if rd.typ == "" || rd.typ == "metadata" || rd.typ == "AuditEvent" || strings.HasPrefix(rd.typ, "_") {
		return read{}, false
	}
	switch len(segs) {
	case 1:
		rd.search = true
		rd.params, _ = url.ParseQuery(query)
	case 2:
		rd.id = segs[1]
		if rd.succeeded() && !e.Truncated() {
			var body map[string]any
			if json.Unmarshal([]byte(e.Response.Content.Text), &body) == nil {
				rd.subject = subjectOf(body)
			}
		}
	default:
		return read{}, false // history, operations: not judged
	}
	return rd, true
}

// subjectOf is the Patient id a resource belongs to: the Patient itself or
// the target of subject / patient.
func subjectOf(r map[string]any) string {
	if r["resourceType"] == "Patient" {
		id, _ := r["id"].(string)
		return id
	}
	for _, field := range []string{"subject", "patient"} {
		ref, _ := r[field].(map[string]any)
		if s, _ := ref["reference"].(string); s != "" {
			if pid := patientID(s); pid != "" {
				return pid
			}
		}
	}
	return ""
}

// patientID reads Patient/id (relative or absolute) as the id; "" for any
// other reference.
func patientID(ref string) string {
	i := strings.LastIndex(ref, "Patient/")
	if i < 0 || (i > 0 && ref[i-1] != '/') {
		return ""
	}
	return ref[i+len("Patient/"):]
}

// person is someone whose record the bench read: the client or a child.
type person struct {
	fixtures.Client
	patientIDs []string
	held       map[string]bool // "Type/id" served of her before a withdrawal or deletion
	// byBSN marks a role that knows her by BSN alone (the index): its log
	// is searched with patient:identifier.
	byBSN bool
	// stopped is when the bench withdrew her consent or asked for deletion
	// (zero: never): after it a candidate may no longer hold or resolve her
	// Patient, and may name her by BSN alone.
	stopped time.Time
}

// concerns says whether a read concerned the person, and whether the bench
// can tell the candidate which client it was: a search by her Patient or
// BSN, a read of her Patient, or a served resource of hers. A refused read
// of another resource of hers (known from what was served before) concerns
// her, but a candidate that erased it cannot say whose it was.
func (p *person) concerns(r read) (concerns, knowable bool) {
	if r.search {
		for _, name := range []string{"patient", "subject"} {
			for _, v := range r.params[name] {
				if pid := patientID(v); slices.Contains(p.patientIDs, pid) || slices.Contains(p.patientIDs, v) {
					return true, true
				}
			}
		}
		if slices.Contains(r.params["patient.identifier"], fixtures.BSNSystem+"|"+p.BSN) {
			return true, true // ITI-67 at the index
		}
		if r.typ == "Patient" {
			if slices.Contains(r.params["identifier"], fixtures.BSNSystem+"|"+p.BSN) {
				return true, true
			}
			for _, id := range r.params["_id"] {
				if slices.Contains(p.patientIDs, id) {
					return true, true
				}
			}
		}
		return false, false
	}
	switch {
	case r.typ == "Patient" && slices.Contains(p.patientIDs, r.id):
		return true, true
	case r.subject != "" && slices.Contains(p.patientIDs, r.subject):
		return true, true
	case p.held[r.typ+"/"+r.id]:
		return true, r.succeeded()
	}
	return false, false
}

// event is one AuditEvent of the candidate's log.
type event struct {
	id       string
	res      map[string]any
	recorded time.Time
	// byPatient is set when a search of the log by patient found it.
	byPatient bool
}

// sameWhat says whether an AuditEvent records the interaction of a read:
// subtype read (or vread) and an entity that is the resource read, or
// subtype search and an entity whose query holds the same parameters (and
// the same resource type, when it names one).
func sameWhat(r read, ev map[string]any) bool {
	subtypes := codes(ev["subtype"])
	if r.search {
		if !slices.ContainsFunc(subtypes, func(c string) bool { return strings.HasPrefix(c, "search") }) {
			return false
		}
		for _, e := range list(ev["entity"]) {
			ent, _ := e.(map[string]any)
			q, _ := ent["query"].(string)
			raw, err := base64.StdEncoding.DecodeString(q)
			if q == "" || err != nil {
				continue
			}
			typ, params := splitQuery(string(raw))
			if (typ == "" || typ == r.typ) && sameParams(params, r.params) {
				return true
			}
		}
		return false
	}
	if !slices.Contains(subtypes, "read") && !slices.Contains(subtypes, "vread") {
		return false
	}
	// The object read: an entity that is the resource. An event of a read
	// of another resource names its client too, so a read of her Patient
	// pairs only with an event that reads nothing else.
	want := r.typ + "/" + r.id
	found, other := false, false
	for _, e := range list(ev["entity"]) {
		ent, _ := e.(map[string]any)
		what, _ := ent["what"].(map[string]any)
		ref, _ := what["reference"].(string)
		switch {
		case ref == "":
		case ref == want || strings.HasSuffix(ref, "/"+want):
			found = true
		case patientID(ref) == "":
			other = true
		}
	}
	return found && (r.typ != "Patient" || !other)
}

// splitQuery reads a logged query: [base/]Type?params, ?params or params.
func splitQuery(q string) (string, url.Values) {
	before, params, found := strings.Cut(q, "?")
	if !found {
		v, _ := url.ParseQuery(q)
		return "", v
	}
	v, _ := url.ParseQuery(params)
	segs := strings.Split(strings.TrimSuffix(before, "/"), "/")
	return segs[len(segs)-1], v
}

func sameParams(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if len(va) != len(vb) {
			return false
		}
		sa, sb := slices.Sorted(slices.Values(va)), slices.Sorted(slices.Values(vb))
		if !slices.Equal(sa, sb) {
			return false
		}
	}
	return true
}

// pair gives each read (oldest first) the unused AuditEvent of the same
// interaction recorded nearest to it; reads without one map to nil. It
// pairs in two passes: first each read with an event that names its own
// professional (who(read) as the requestor), then the reads left with any
// event left — so that, when reads of the same object by two professionals
// (the reader's, the outsider's refused one) are not all logged, one
// professional's event is not taken for the other's read, and an event
// under a technical account still pairs (LOG-02 judges it).
func pair(reads []read, events []*event, who func(read) token.Professional) []*event {
	out := make([]*event, len(reads))
	used := map[*event]bool{}
	order := make([]int, len(reads))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return reads[a].started.Compare(reads[b].started) })
	for _, sameWho := range []bool{true, false} {
		for _, i := range order {
			if out[i] != nil {
				continue
			}
			var best *event
			var bestGap time.Duration
			for _, ev := range events {
				if used[ev] || !sameWhat(reads[i], ev.res) || (sameWho && (who == nil || !requestedBy(ev, who(reads[i])))) {
					continue
				}
				gap := ev.recorded.Sub(reads[i].started).Abs()
				if ev.recorded.IsZero() {
					gap = 1 << 62
				}
				if best == nil || gap < bestGap {
					best, bestGap = ev, gap
				}
			}
			if best != nil {
				used[best] = true
				out[i] = best
			}
		}
	}
	return out
}

// requestedBy says whether an AuditEvent's requestor is the professional,
// by her UZI number or AGB code.
func requestedBy(ev *event, p token.Professional) bool {
	for _, a := range list(ev.res["agent"]) {
		agent, _ := a.(map[string]any)
		if requestor, _ := agent["requestor"].(bool); !requestor {
			continue
		}
		who, _ := agent["who"].(map[string]any)
		ident, _ := who["identifier"].(map[string]any)
		system, _ := ident["system"].(string)
		value, _ := ident["value"].(string)
		if (system == fixtures.UZISystem && value == p.UZI && p.UZI != "") || (system == fixtures.AGBSystem && value == p.AGB && p.AGB != "") {
			return true
		}
	}
	return false
}

// tolerance is how far AuditEvent.recorded may lie from the exchange: the
// bench and the candidate read different clocks.
const tolerance = 5 * time.Second

// whenProblem judges AuditEvent.recorded against the exchange.
func whenProblem(r read, ev *event) string {
	if ev.recorded.IsZero() {
		return fmt.Sprintf("%s: het AuditEvent %s heeft geen (leesbare) recorded", r, ev.id)
	}
	if ev.recorded.Before(r.started.Add(-tolerance)) || ev.recorded.After(r.end.Add(tolerance)) {
		return fmt.Sprintf("%s: het AuditEvent %s zegt %s, meer dan %s ernaast", r, ev.id, ev.recorded.UTC().Format(time.RFC3339Nano), tolerance)
	}
	return ""
}

// outcomeProblem judges AuditEvent.outcome: 0 (success) for a served read,
// another code for a refused one.
func outcomeProblem(r read, ev *event) string {
	outcome, _ := ev.res["outcome"].(string)
	switch {
	case outcome == "":
		return fmt.Sprintf("%s: het AuditEvent %s heeft geen outcome", r, ev.id)
	case r.succeeded() && outcome != "0":
		return fmt.Sprintf("%s: de raadpleging lukte, maar het AuditEvent %s zegt outcome %s", r, ev.id, outcome)
	case !r.succeeded() && outcome == "0":
		return fmt.Sprintf("%s: de raadpleging werd geweigerd, maar het AuditEvent %s zegt outcome 0 (gelukt)", r, ev.id)
	}
	return ""
}

// whoProblem judges the agents: the requestor is the professional (her UZI
// number or AGB code) with her UZI role, and an agent is her organisation
// (URA or AGB).
func whoProblem(r read, ev *event, p token.Professional) string {
	var person, org bool
	var roles []string
	for _, a := range list(ev.res["agent"]) {
		agent, _ := a.(map[string]any)
		who, _ := agent["who"].(map[string]any)
		ident, _ := who["identifier"].(map[string]any)
		system, _ := ident["system"].(string)
		value, _ := ident["value"].(string)
		if requestor, _ := agent["requestor"].(bool); requestor &&
			((system == fixtures.UZISystem && value == p.UZI && p.UZI != "") || (system == fixtures.AGBSystem && value == p.AGB && p.AGB != "")) {
			person = true
			roles = append(codes(agent["role"]), codes(agent["type"])...)
		}
		if (system == fixtures.URASystem && value == p.OrgURA && p.OrgURA != "") || (system == fixtures.AGBSystem && value == p.OrgAGB && p.OrgAGB != "") {
			org = true
		}
	}
	var missing []string
	if !person {
		missing = append(missing, fmt.Sprintf("de zorgverlener %s (UZI %s, AGB %s) als aanvrager (requestor)", p.Name, p.UZI, p.AGB))
	}
	if person && p.Role != "" && !slices.Contains(roles, p.Role) {
		missing = append(missing, fmt.Sprintf("haar rol (UZI-rolcode %s %s)", p.Role, p.RoleDisplay))
	}
	if !org {
		missing = append(missing, fmt.Sprintf("haar organisatie %s (URA %s)", p.OrgName, p.OrgURA))
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: het AuditEvent %s noemt niet %s; het noemt %s", r, ev.id, strings.Join(missing, ", "), agentsOf(ev.res))
}

// clientProblem judges the entities: one is the client, by her Patient or
// her BSN; and, for a read before her sharing stopped, a search of the log
// by her Patient found the event.
func clientProblem(r read, ev *event, p *person) string {
	named := false
	for _, e := range list(ev.res["entity"]) {
		ent, _ := e.(map[string]any)
		what, _ := ent["what"].(map[string]any)
		if ref, _ := what["reference"].(string); ref != "" && slices.Contains(p.patientIDs, patientID(ref)) {
			named = true
		}
		ident, _ := what["identifier"].(map[string]any)
		if ident["system"] == fixtures.BSNSystem && ident["value"] == p.BSN {
			named = true
		}
	}
	switch {
	case !named:
		return fmt.Sprintf("%s: het AuditEvent %s noemt de cliënt %s %s niet (entity.what: haar Patient of BSN)", r, ev.id, p.Given, p.Family)
	case p.byBSN && !ev.byPatient:
		return fmt.Sprintf("%s: het AuditEvent %s is niet te vinden met AuditEvent?patient:identifier=%s|%s", r, ev.id, fixtures.BSNSystem, p.BSN)
	case len(p.patientIDs) > 0 && !ev.byPatient && (p.stopped.IsZero() || r.started.Before(p.stopped)):
		return fmt.Sprintf("%s: het AuditEvent %s is niet te vinden met AuditEvent?patient=Patient/%s", r, ev.id, p.patientIDs[0])
	}
	return ""
}

// agentsOf describes the agents of an AuditEvent for a problem.
func agentsOf(ev map[string]any) string {
	var out []string
	for _, a := range list(ev["agent"]) {
		agent, _ := a.(map[string]any)
		who, _ := agent["who"].(map[string]any)
		ident, _ := who["identifier"].(map[string]any)
		d, _ := who["display"].(string)
		out = append(out, fmt.Sprintf("%v|%v %q", ident["system"], ident["value"], d))
	}
	if len(out) == 0 {
		return "geen agent"
	}
	return strings.Join(out, ", ")
}

// codes lists the codes of a Coding, a CodeableConcept, or a list of them.
func codes(v any) []string {
	var out []string
	for _, x := range list(v) {
		m, _ := x.(map[string]any)
		if c, _ := m["code"].(string); c != "" {
			out = append(out, c)
		}
		for _, cd := range list(m["coding"]) {
			coding, _ := cd.(map[string]any)
			if c, _ := coding["code"].(string); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}
