package othervis

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options choose this XIS's valid variants.
type Options struct {
	FHIRBase string // default /fhir
	Adapter  string // default /bench
	UTC      bool   // write instants in UTC ("Z") instead of with the Amsterdam offset
	Absolute bool   // write references absolute on the FHIR base the request came in on
	PageSize int    // search page size (default 8); _count overrides up to 500
	// Contained puts the product of an MP9 block in the block as a contained
	// Medication ("#product") instead of a Medication resource of its own.
	Contained bool
	// Narrative gives every resource a generated human-readable text.
	Narrative bool
	// BareReferences leaves Reference.type out (FHIR does not require it).
	BareReferences bool
	// NoTotal leaves Bundle.total out of searchsets (FHIR does not require it).
	NoTotal bool
	// Millis writes instants with milliseconds ("…T10:15:00.000+01:00").
	Millis bool
	// Duration writes an MP9 period of use as start + duration instead of start + end.
	Duration bool
	// LabRole names the lab professional's PractitionerRole as a lab result's
	// performer instead of the laboratory (Organization).
	LabRole bool
	// OwnOIDs writes MP9 block identifiers under this XIS's own OID root.
	OwnOIDs bool
	// Defect seeds one realistic defect (see Defects); "" for none.
	Defect string
	Log    *log.Logger
}

// Server is the XIS: adapter and FHIR API on one handler.
type Server struct {
	opt Options
	rd  renderer
	st  *store
	// known maps an MP9 block id to its block name, to write prior references.
	known map[string]string
}

// New returns a ready XIS.
func New(opt Options) *Server {
	if opt.FHIRBase == "" {
		opt.FHIRBase = "/fhir"
	}
	if opt.Adapter == "" {
		opt.Adapter = "/bench"
	}
	opt.FHIRBase = "/" + strings.Trim(opt.FHIRBase, "/")
	opt.Adapter = "/" + strings.Trim(opt.Adapter, "/")
	if opt.PageSize <= 0 {
		opt.PageSize = 8
	}
	if opt.Log == nil {
		opt.Log = log.New(io.Discard, "", 0)
	}
	st := newStore()
	st.defect = opt.Defect
	return &Server{opt: opt, rd: renderer{utc: opt.UTC, millis: opt.Millis, duration: opt.Duration, ownOIDs: opt.OwnOIDs}, st: st, known: map[string]string{}}
}

const maxBody = 1 << 20

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == s.opt.Adapter+"/health":
		writeJSON(w, http.StatusOK, "application/json", map[string]any{"status": "ok"})
	case p == s.opt.Adapter+"/events":
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, "application/json", map[string]any{"error": "POST only"})
			return
		}
		s.events(w, r)
	case p == s.opt.Adapter+"/reset":
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, "application/json", map[string]any{"error": "POST only"})
			return
		}
		s.st.mu.Lock()
		fresh := newStore()
		s.st.byKey, s.st.gone, s.st.clients = fresh.byKey, fresh.gone, fresh.clients
		s.known = map[string]string{}
		s.st.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case p == s.opt.FHIRBase || strings.HasPrefix(p, s.opt.FHIRBase+"/"):
		s.fhir(w, r, strings.Trim(strings.TrimPrefix(p, s.opt.FHIRBase), "/"))
	default:
		writeJSON(w, http.StatusNotFound, "application/json", map[string]any{"error": "not found"})
	}
}

func writeJSON(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, "application/json", map[string]any{"error": "reading body: " + err.Error()})
		return
	}
	if len(body) > maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, "application/json", map[string]any{"error": "body over 1 MiB"})
		return
	}
	var reg registration
	if err := json.Unmarshal(body, &reg); err != nil {
		writeJSON(w, http.StatusBadRequest, "application/json", map[string]any{"error": "decoding registration: " + err.Error()})
		return
	}
	if err := reg.check(); err != nil {
		writeJSON(w, http.StatusBadRequest, "application/json", map[string]any{"error": "registration: " + err.Error()})
		return
	}
	ids, err := s.register(&reg)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, "application/json", map[string]any{"error": "registering: " + err.Error()})
		return
	}
	s.opt.Log.Printf("event %s/%s %s: %d resources", reg.Scenario, reg.Event, reg.Kind, len(ids))
	writeJSON(w, http.StatusCreated, "application/json", map[string]any{
		"registered": time.Now().UTC().Format(time.RFC3339Nano),
		"resources":  ids,
	})
}

func clientKey(p person) string {
	if p.BSN != "" {
		return "bsn:" + p.BSN
	}
	return "id:" + p.ID
}

// register stores what one event registered and says which resources it wrote.
func (s *Server) register(reg *registration) ([]string, error) {
	when, _ := parseTime(reg.Time)
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()

	owner := clientKey(reg.Client)
	c := st.client(owner)
	switch reg.Kind {
	case "toestemming":
		if reg.Consent != nil {
			c.consent = *reg.Consent
		}
	case "vernietiging":
		n := st.erase(owner)
		c.deleted = true
		s.opt.Log.Printf("deletion for %s: %d resources erased", owner, n)
		return nil, nil
	}
	if c.deleted && reg.Kind != "vernietiging" && len(reg.Facts) > 0 {
		c.deleted = false // new care after a deletion starts a new record
	}

	motherID := newID("pa", owner)
	st.put("Patient", motherID, owner, patientResource(reg.Client, ""))
	written := []string{"Patient/" + motherID}
	motherRef := ref("Patient", motherID, strings.TrimSpace(reg.Client.Given+" "+reg.Client.Family))

	// the author
	var by authorRefs
	a := reg.Author
	if a.ID != "" || a.AGB != "" || a.URA != "" {
		orgID := newID("or", a.ID, a.AGB, a.URA)
		st.put("Organization", orgID, "", organizationResource(a))
		by.org = ref("Organization", orgID, a.Name)
		if p := a.Professional; p != nil && (p.Name != "" || p.UZI != "") {
			pracID := newID("pr", p.UZI, p.AGB, p.Name)
			roleID := newID("ro", p.UZI, p.AGB, p.Name, orgID)
			st.put("Practitioner", pracID, "", practitionerResource(*p))
			st.put("PractitionerRole", roleID, "", roleResource(*p, pracID, orgID, a.Name))
			by.role = ref("PractitionerRole", roleID, p.Name)
		}
	}

	subjectRef := motherRef
	factOwner := owner
	if s.opt.Defect == "shared-after-withdrawal" && !c.consent && len(reg.Facts) > 0 {
		factOwner = "late:" + owner
		st.client(factOwner).consent = true
	}
	var childID string
	if ch := reg.Subject; ch != nil && (ch.ID != reg.Client.ID || ch.BSN != reg.Client.BSN) {
		childID = c.children[ch.ID]
		if childID == "" {
			childID = newID("pa", owner, "child", ch.ID)
			c.children[ch.ID] = childID
		}
		gender := ""
		for _, f := range reg.Facts {
			if f.ResourceType == "Patient" && f.Value.Coding != nil {
				gender = f.Value.Coding.Code
			}
		}
		if old, ok := st.byKey["Patient/"+childID]; ok && gender == "" {
			if g, _ := old.res["gender"].(string); g != "" {
				gender = g
			}
		}
		if s.opt.Defect == "child-own-record" {
			factOwner = "child:" + clientKey(*ch)
			st.client(factOwner).consent = true
		}
		child := patientResource(*ch, gender)
		if s.opt.Defect == "child-birthdate-missing" {
			delete(child, "birthDate")
		}
		st.put("Patient", childID, factOwner, child)
		written = append(written, "Patient/"+childID)
		subjectRef = ref("Patient", childID, strings.TrimSpace(ch.Given+" "+ch.Family))
	}

	for _, f := range reg.Facts {
		key := []string{reg.Scenario, reg.Event, f.Key}
		switch {
		case f.Medication != nil:
			m := f.Medication
			var medRef, contained map[string]any
			switch {
			case m.Product.Code == "":
			case s.opt.Contained:
				contained = productResource(m.Product)
				contained["resourceType"] = "Medication"
				contained["id"] = "product"
				medRef = map[string]any{"reference": "#product", "type": "Medication", "display": m.Product.Display}
			default:
				medID := newID("md", m.Product.System, m.Product.Code)
				st.put("Medication", medID, "", productResource(m.Product))
				medRef = ref("Medication", medID, m.Product.Display)
			}
			if m.ID != "" {
				s.known[m.ID] = m.Block
			}
			typ, res, err := s.rd.medicationBlock(f, when, subjectRef, medRef, by, s.known)
			if err != nil {
				return written, fmt.Errorf("fact %s: %w", f.Key, err)
			}
			if contained != nil {
				res["contained"] = []any{contained}
			}
			s.spoil(reg, f, res)
			id := newID(strings.ToLower(typ[:2])+"b", key...)
			st.put(typ, id, factOwner, res)
			written = append(written, typ+"/"+id)
		case f.ResourceType == "Patient":
			// a fact about the person herself (the child's sex): written on her Patient above
		case f.ResourceType == "ServiceRequest":
			id := newID("sr", key...)
			res := s.rd.serviceRequest(f, when, subjectRef, by.person())
			s.spoil(reg, f, res)
			st.put("ServiceRequest", id, factOwner, res)
			written = append(written, "ServiceRequest/"+id)
		default:
			lab := f.Profile == profLab
			performer := by.person()
			if lab && by.org != nil && !s.opt.LabRole {
				performer = by.org
			}
			id := newID("ob", key...)
			res := s.rd.observation(f, when, subjectRef, performer, lab)
			s.spoil(reg, f, res)
			st.put("Observation", id, factOwner, res)
			written = append(written, "Observation/"+id)
			if s.opt.Defect == "apgar-also-on-mother" && childID != "" && f.Code.Code == "9272-6" {
				dup := s.rd.observation(f, when, motherRef, performer, lab)
				st.put("Observation", newID("ob", append(key, "mother")...), owner, dup)
			}
		}
	}
	return written, nil
}

// fhir serves the FHIR API below the base.
func (s *Server) fhir(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.Method == http.MethodPost && strings.HasSuffix(rest, "/_search")) {
		s.outcome(w, http.StatusMethodNotAllowed, "not-supported", "alleen lezen en zoeken: "+r.Method)
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case rest == "metadata":
		writeJSON(w, http.StatusOK, "application/fhir+json", s.capability())
	case rest == "":
		s.outcome(w, http.StatusBadRequest, "not-supported", "geen zoekvraag over alle typen")
	case len(parts) == 1 || (len(parts) == 2 && parts[1] == "_search"):
		if !knownType(parts[0]) {
			s.outcome(w, http.StatusNotFound, "not-supported", "onbekend resourcetype "+parts[0])
			return
		}
		q := r.URL.Query()
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err == nil {
				for k, v := range r.PostForm {
					q[k] = append(q[k], v...)
				}
			}
		}
		s.search(w, r, parts[0], q)
	case len(parts) == 2:
		s.read(w, r, parts[0], parts[1])
	default:
		s.outcome(w, http.StatusNotFound, "not-found", "onbekend pad "+rest)
	}
}

var types = []string{"Patient", "Observation", "ServiceRequest", "MedicationRequest", "MedicationDispense", "MedicationStatement", "Medication", "Organization", "Practitioner", "PractitionerRole"}

func knownType(t string) bool {
	for _, k := range types {
		if k == t {
			return true
		}
	}
	return false
}

func (s *Server) outcome(w http.ResponseWriter, status int, code, text string) {
	writeJSON(w, status, "application/fhir+json", map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []any{map[string]any{"severity": "error", "code": code, "diagnostics": text}},
	})
}

// base is the absolute FHIR base the request came in on.
func (s *Server) base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + host + s.opt.FHIRBase
}

// publish copies a stored resource for the wire, making references absolute when asked.
func (s *Server) publish(res map[string]any, base string) map[string]any {
	b, _ := json.Marshal(res)
	var out map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	_ = d.Decode(&out)
	if s.opt.Absolute {
		absolutize(out, base)
	}
	if s.opt.BareReferences {
		bare(out)
	}
	if s.opt.Narrative {
		out["text"] = narrative(out)
	}
	return out
}

// bare drops Reference.type beside a literal reference.
func bare(v any) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["reference"].(string); ok {
			delete(t, "type")
		}
		for _, x := range t {
			bare(x)
		}
	case []any:
		for _, x := range t {
			bare(x)
		}
	}
}

func absolutize(v any, base string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok && k == "reference" {
				if i := strings.IndexByte(s, '/'); i > 0 && knownType(s[:i]) && !strings.Contains(s, "://") {
					t[k] = base + "/" + s
				}
				continue
			}
			absolutize(x, base)
		}
	case []any:
		for _, x := range t {
			absolutize(x, base)
		}
	}
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, typ, id string) {
	if !knownType(typ) {
		s.outcome(w, http.StatusNotFound, "not-supported", "onbekend resourcetype "+typ)
		return
	}
	s.st.mu.Lock()
	rec, ok := s.st.byKey[typ+"/"+id]
	gone := s.st.gone[typ+"/"+id]
	var out map[string]any
	if ok && s.st.visible(rec) {
		out = s.publish(rec.res, s.base(r))
	}
	s.st.mu.Unlock()
	switch {
	case out != nil:
		writeJSON(w, http.StatusOK, "application/fhir+json", out)
	case gone:
		s.outcome(w, http.StatusGone, "deleted", typ+"/"+id+" is verwijderd")
	default:
		s.outcome(w, http.StatusNotFound, "not-found", typ+"/"+id+" bestaat niet of wordt niet gedeeld")
	}
}

// a search parameter this XIS understands: name and matcher.
type matcher func(s *Server, rec *record, value string) bool

var params = map[string]matcher{
	"_id":        func(_ *Server, rec *record, v string) bool { return rec.id == v },
	"identifier": matchIdentifier,
	"patient":    matchPatient,
	"subject":    matchPatient,
	"code":       matchCode,
	"category":   matchCategory,
}

func tokenMatch(c map[string]any, v string) bool {
	sys, code, hasSys := strings.Cut(v, "|")
	if !hasSys {
		code, sys = v, ""
	}
	cs, _ := c["system"].(string)
	cc, _ := c["code"].(string)
	if cc == "" {
		cc, _ = c["value"].(string)
	}
	if hasSys && sys != cs {
		return false
	}
	return code == "" || code == cc
}

func list(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case nil:
		return nil
	}
	return []any{v}
}

func matchIdentifier(_ *Server, rec *record, v string) bool {
	for _, id := range list(rec.res["identifier"]) {
		if m, ok := id.(map[string]any); ok && tokenMatch(m, v) {
			return true
		}
	}
	return false
}

func codingsOf(cc any) []map[string]any {
	var out []map[string]any
	for _, c := range list(cc) {
		m, _ := c.(map[string]any)
		for _, cd := range list(m["coding"]) {
			if x, ok := cd.(map[string]any); ok {
				out = append(out, x)
			}
		}
	}
	return out
}

func matchCode(s *Server, rec *record, v string) bool {
	cc := rec.res["code"]
	if mr, ok := rec.res["medicationReference"].(map[string]any); ok {
		if med, ok := s.st.byKey[fmt.Sprint(mr["reference"])]; ok {
			cc = med.res["code"]
		}
	}
	for _, c := range codingsOf(cc) {
		if tokenMatch(c, v) {
			return true
		}
	}
	return false
}

func matchCategory(_ *Server, rec *record, v string) bool {
	for _, c := range codingsOf(rec.res["category"]) {
		if tokenMatch(c, v) {
			return true
		}
	}
	return false
}

// matchPatient accepts Patient/id, id, or an absolute URL ending in Patient/id.
func matchPatient(_ *Server, rec *record, v string) bool {
	if i := strings.LastIndex(v, "Patient/"); i >= 0 {
		v = v[i+len("Patient/"):]
	}
	subj, _ := rec.res["subject"].(map[string]any)
	if subj == nil {
		return false
	}
	return fmt.Sprint(subj["reference"]) == "Patient/"+v
}

// search answers a search with a searchset Bundle, paged by this XIS's own _offset.
func (s *Server) search(w http.ResponseWriter, r *http.Request, typ string, q url.Values) {
	base := s.base(r)
	count := s.opt.PageSize
	if c := q.Get("_count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			s.outcome(w, http.StatusBadRequest, "invalid", "_count is geen getal: "+c)
			return
		}
		count = min(n, 500)
	}
	offset := 0
	if o := q.Get("_offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			s.outcome(w, http.StatusBadRequest, "invalid", "_offset is geen getal: "+o)
			return
		}
		offset = n
	}
	applied := url.Values{}
	var names []string
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		name, _, _ := strings.Cut(k, ":")
		if _, ok := params[name]; ok && name == k {
			applied[k] = q[k]
		} else if !strings.HasPrefix(k, "_") || (k != "_count" && k != "_offset" && k != "_format") {
			s.opt.Log.Printf("search %s: parameter %q ignored", typ, k)
		}
	}
	s.st.mu.Lock()
	var hits []*record
	for _, rec := range s.st.ofType(typ) {
		ok := true
		for k, vals := range applied {
			for _, v := range vals { // repeated parameters: AND; commas: OR
				any := false
				for _, alt := range strings.Split(v, ",") {
					if params[k](s, rec, alt) {
						any = true
						break
					}
				}
				if !any {
					ok = false
				}
			}
		}
		if ok {
			hits = append(hits, rec)
		}
	}
	if s.opt.Defect == "search-leak" && typ == "Observation" && len(applied["patient"]) > 0 && len(hits) > 0 {
		mine := fmt.Sprint(hits[0].res["subject"].(map[string]any)["reference"])
		for _, rec := range s.st.ofType(typ) {
			if subj, _ := rec.res["subject"].(map[string]any); subj != nil && fmt.Sprint(subj["reference"]) != mine {
				hits = append(hits, rec)
				break
			}
		}
	}
	var entries []any
	end := min(offset+count, len(hits))
	for i := offset; i < end; i++ {
		rec := hits[i]
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/" + rec.typ + "/" + rec.id,
			"resource": s.publish(rec.res, base),
			"search":   map[string]any{"mode": "match"},
		})
	}
	s.st.mu.Unlock()

	page := func(off int) string {
		v := url.Values{}
		for k, x := range applied {
			v[k] = x
		}
		v.Set("_count", strconv.Itoa(count))
		if off > 0 {
			v.Set("_offset", strconv.Itoa(off))
		}
		return base + "/" + typ + "?" + v.Encode()
	}
	links := []any{map[string]any{"relation": "self", "url": page(offset)}}
	if end < len(hits) && count > 0 {
		links = append(links, map[string]any{"relation": "next", "url": page(end)})
	}
	if offset > 0 {
		links = append(links, map[string]any{"relation": "previous", "url": page(max(offset-count, 0))})
	}
	bundle := map[string]any{
		"resourceType": "Bundle",
		"id":           newID("zk", time.Now().String(), r.URL.String()),
		"meta":         map[string]any{"lastUpdated": s.rd.instant(time.Now())},
		"type":         "searchset",
		"total":        len(hits),
		"link":         links,
	}
	if entries != nil {
		bundle["entry"] = entries
	}
	if s.opt.NoTotal {
		delete(bundle, "total")
	}
	writeJSON(w, http.StatusOK, "application/fhir+json", bundle)
}

func (s *Server) capability() map[string]any {
	var res []any
	for _, t := range types {
		sp := []any{map[string]any{"name": "_id", "type": "token"}}
		switch t {
		case "Patient", "Organization", "Practitioner", "MedicationRequest", "MedicationDispense", "MedicationStatement":
			sp = append(sp, map[string]any{"name": "identifier", "type": "token"})
		}
		switch t {
		case "Observation", "ServiceRequest", "MedicationRequest", "MedicationDispense", "MedicationStatement":
			sp = append(sp,
				map[string]any{"name": "patient", "type": "reference"},
				map[string]any{"name": "subject", "type": "reference"},
				map[string]any{"name": "code", "type": "token"},
				map[string]any{"name": "category", "type": "token"})
		}
		res = append(res, map[string]any{
			"type":        t,
			"interaction": []any{map[string]any{"code": "read"}, map[string]any{"code": "search-type"}},
			"searchParam": sp,
		})
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-12-01",
		"kind":         "instance",
		"software":     map[string]any{"name": "othervis", "version": "1.0"},
		"fhirVersion":  "4.0.1",
		"format":       []any{"json", "application/fhir+json"},
		"rest":         []any{map[string]any{"mode": "server", "resource": res}},
	}
}
