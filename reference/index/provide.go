package index

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/rest"
)

// plan is a transaction read and checked, ready to apply.
type plan struct {
	entries int
	list    *listStep
	creates []createStep
	updates []updateStep
}

type listStep struct {
	entry  int
	res    map[string]any
	unique string
}

type createStep struct {
	entry    int
	res      map[string]any
	patient  string // subject identifier, "system|value"
	replaces []string
	// existing is set when the same registration is already held: the
	// transaction is a republish and keeps the existing pointer.
	existing string
}

type updateStep struct {
	entry  int
	id     string
	status string
}

// transaction is ITI-65 Provide Document Bundle: a FHIR transaction,
// processed atomically (IHE MHD 2:3.65.4.1.3): it is checked in full
// first, and one bad entry stores nothing.
func (s *Server) transaction(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if body["resourceType"] != "Bundle" || body["type"] != "transaction" {
		rest.Problem(w, http.StatusBadRequest, "structure", fmt.Sprintf("reading Provide Document Bundle: resourceType %v, type %v; want a Bundle of type transaction", body["resourceType"], body["type"]))
		return
	}
	p, issues := readPlan(body)
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	issues = append(issues, s.store.resolve(&p, s.defect != nil && s.defect.duplicate)...)
	now := s.opts.Now().UTC().Format(time.RFC3339)
	if len(issues) > 0 {
		if s.defect != nil && s.defect.half {
			first := slices.MinFunc(issues, func(a, b entryIssue) int { return a.entry - b.entry }).entry
			_, _ = s.apply(p.before(first), now)
		}
		list := make([]rest.Issue, len(issues))
		for i, is := range issues {
			list[i] = is.Issue
		}
		rest.Problems(w, http.StatusUnprocessableEntity, list)
		return
	}
	responses, err := s.apply(p, now)
	if err != nil {
		rest.Problem(w, http.StatusInsufficientStorage, "too-costly", err.Error())
		return
	}
	entries := make([]any, len(responses))
	for i, resp := range responses {
		entries[i] = map[string]any{"response": resp}
	}
	rest.FHIR(w, http.StatusOK, map[string]any{
		"resourceType": "Bundle",
		"type":         "transaction-response",
		"entry":        entries,
	})
}

// create is the simpler region option: one DocumentReference created with
// a plain FHIR create, no SubmissionSet.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	res, ok := readBody(w, r)
	if !ok {
		return
	}
	p := plan{entries: 1}
	var issues []entryIssue
	p.creates, issues = readPointer(0, res)
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	issues = append(issues, s.store.resolve(&p, s.defect != nil && s.defect.duplicate)...)
	if len(issues) > 0 {
		list := make([]rest.Issue, len(issues))
		for i, is := range issues {
			list[i] = is.Issue
			list[i].Expression = strings.Replace(is.Expression, "Bundle.entry[0].resource", "DocumentReference", 1)
		}
		rest.Problems(w, http.StatusUnprocessableEntity, list)
		return
	}
	responses, err := s.apply(p, s.opts.Now().UTC().Format(time.RFC3339))
	if err != nil {
		rest.Problem(w, http.StatusInsufficientStorage, "too-costly", err.Error())
		return
	}
	loc, _ := responses[0]["location"].(string)
	w.Header().Set("Location", rest.Base(r)+"/"+loc)
	status := http.StatusCreated
	if responses[0]["status"] == "200 OK" {
		status = http.StatusOK
	}
	id := strings.Split(loc, "/")[1]
	d := s.store.docs[id]
	if d == nil {
		w.WriteHeader(status) // a mutant that lost it
		return
	}
	rest.FHIR(w, status, s.served(d.res, rest.Base(r)))
}

// entryIssue is an issue of one entry of a transaction.
type entryIssue struct {
	entry int
	rest.Issue
}

func problem(entry int, path, code, format string, args ...any) entryIssue {
	expr := fmt.Sprintf("Bundle.entry[%d]", entry)
	if path != "" {
		expr += "." + path
	}
	return entryIssue{entry: entry, Issue: rest.Issue{Code: code, Expression: expr, Message: fmt.Sprintf(format, args...)}}
}

// readPlan reads a transaction's entries and checks what can be checked
// without the store.
func readPlan(bundle map[string]any) (plan, []entryIssue) {
	entries := truth.Items(bundle["entry"])
	p := plan{entries: len(entries)}
	var issues []entryIssue
	if len(entries) == 0 || len(entries) > maxEntries {
		return p, []entryIssue{{entry: -1, Issue: rest.Issue{Code: "structure", Expression: "Bundle.entry", Message: fmt.Sprintf("a Provide Document Bundle has 1 to %d entries, this one %d", maxEntries, len(entries))}}}
	}
	// Every fullUrl of the bundle, to resolve the SubmissionSet's items.
	created := map[string]bool{}
	for i, e := range entries {
		entry := asMap(e)
		res := asMap(entry["resource"])
		req := asMap(entry["request"])
		method, _ := req["method"].(string)
		target, _ := req["url"].(string)
		typ, _ := res["resourceType"].(string)
		full, _ := entry["fullUrl"].(string)
		switch {
		case res == nil:
			issues = append(issues, problem(i, "resource", "required", "the entry holds no resource"))
		case method == "POST" && typ == "List" && target == "List":
			if p.list != nil {
				issues = append(issues, problem(i, "resource", "business-rule", "a Provide Document Bundle holds exactly one SubmissionSet; this is a second List"))
				continue
			}
			step, more := readSubmissionSet(i, res)
			p.list, issues = &step, append(issues, more...)
		case method == "POST" && typ == "DocumentReference" && target == "DocumentReference":
			steps, more := readPointer(i, res)
			p.creates, issues = append(p.creates, steps...), append(issues, more...)
			if full != "" {
				created[full] = true
			}
		case method == "PUT" && typ == "DocumentReference" && strings.HasPrefix(target, "DocumentReference/"):
			status, _ := res["status"].(string)
			if !slices.Contains([]string{"current", "superseded", "entered-in-error"}, status) {
				issues = append(issues, problem(i, "resource.status", "value", "status %q is not current, superseded or entered-in-error", status))
				continue
			}
			p.updates = append(p.updates, updateStep{entry: i, id: strings.TrimPrefix(target, "DocumentReference/"), status: status})
		default:
			issues = append(issues, problem(i, "request", "not-supported", "%s %s with a %s is not supported: the index takes a SubmissionSet List (POST List), pointers (POST DocumentReference) and status updates of its pointers (PUT DocumentReference/id)", method, target, typ))
		}
	}
	if p.list == nil {
		issues = append(issues, entryIssue{entry: len(entries), Issue: rest.Issue{Code: "required", Expression: "Bundle.entry", Message: "a Provide Document Bundle holds exactly one SubmissionSet List (code submissionset); this one none"}})
	} else {
		for _, item := range truth.Items(p.list.res["entry"]) {
			ref, _ := asMap(asMap(item)["item"])["reference"].(string)
			if !created[ref] {
				issues = append(issues, problem(p.list.entry, "resource.entry", "business-rule", "the SubmissionSet lists %q, which is no DocumentReference created in this bundle", ref))
			}
		}
	}
	return p, issues
}

func readSubmissionSet(i int, res map[string]any) (listStep, []entryIssue) {
	var issues []entryIssue
	step := listStep{entry: i, res: res}
	if !hasCoding(res["code"], truth.MHDListTypes, "submissionset") {
		issues = append(issues, problem(i, "resource.code", "value", "the List is no SubmissionSet (code %s#submissionset)", truth.MHDListTypes))
	}
	for _, id := range truth.Items(res["identifier"]) {
		if v, _ := asMap(id)["value"].(string); v != "" {
			step.unique = v
		}
	}
	if step.unique == "" {
		issues = append(issues, problem(i, "resource.identifier", "required", "the SubmissionSet has no unique id (identifier)"))
	}
	return step, issues
}

// readPointer checks a DocumentReference registered as a pointer.
func readPointer(i int, res map[string]any) ([]createStep, []entryIssue) {
	var issues []entryIssue
	bad := func(path, code, format string, args ...any) {
		issues = append(issues, problem(i, "resource."+path, code, format, args...))
	}
	if res["resourceType"] != "DocumentReference" {
		bad("resourceType", "structure", "resourceType %v, want DocumentReference", res["resourceType"])
		return nil, issues
	}
	if status, _ := res["status"].(string); status != "current" {
		bad("status", "value", "a new pointer has status current, not %q", status)
	}
	if uniqueID(res) == "" {
		bad("masterIdentifier", "required", "the pointer has no unique id (masterIdentifier.value)")
	}
	subject := asMap(asMap(res["subject"])["identifier"])
	system, _ := subject["system"].(string)
	value, _ := subject["value"].(string)
	switch {
	case system == "" || value == "":
		bad("subject.identifier", "required", "the pointer names no client: subject.identifier needs system and value (the BSN)")
	case system == truth.BSNSystem && !fixtures.ValidBSN(value):
		bad("subject.identifier.value", "value", "%q is no valid BSN (elfproef)", value)
	}
	contents := truth.Items(res["content"])
	if len(contents) == 0 {
		bad("content", "required", "the pointer has no content.attachment")
	}
	for n, c := range contents {
		att := asMap(asMap(c)["attachment"])
		raw, _ := att["url"].(string)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
			bad(fmt.Sprintf("content[%d].attachment.url", n), "value", "the pointer's url %q is no absolute http(s) URL of at most 2048 characters", raw)
		}
		if ct, _ := att["contentType"].(string); ct == "" {
			bad(fmt.Sprintf("content[%d].attachment.contentType", n), "required", "the pointer's attachment has no contentType")
		}
	}
	var replaces []string
	for n, rel := range truth.Items(res["relatesTo"]) {
		m := asMap(rel)
		code, _ := m["code"].(string)
		ref, _ := asMap(m["target"])["reference"].(string)
		if code != "replaces" {
			continue
		}
		id, ok := documentID(ref)
		if !ok {
			bad(fmt.Sprintf("relatesTo[%d].target", n), "value", "the replaced pointer %q is no DocumentReference/id", ref)
			continue
		}
		replaces = append(replaces, id)
	}
	if len(issues) > 0 {
		return nil, issues
	}
	return []createStep{{entry: i, res: res, patient: system + "|" + value, replaces: replaces}}, nil
}

// documentID reads the id of a relative or absolute DocumentReference
// reference.
func documentID(ref string) (string, bool) {
	segs := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	n := len(segs)
	if n < 2 || segs[n-2] != "DocumentReference" || segs[n-1] == "" {
		return "", false
	}
	return segs[n-1], true
}

// resolve checks a plan against what the index holds: replaced and updated
// pointers exist and are the same client's, and a unique id is registered
// once (the same registration again is a republish, kept as it is).
// Callers hold the lock.
func (s *store) resolve(p *plan, duplicate bool) []entryIssue {
	var issues []entryIssue
	seen := map[string]bool{}
	for n := range p.creates {
		c := &p.creates[n]
		u := uniqueID(c.res)
		if seen[u] {
			issues = append(issues, problem(c.entry, "resource.masterIdentifier", "duplicate", "the unique id %s is registered twice in one bundle", u))
			continue
		}
		seen[u] = true
		if id, ok := s.byUnique[u]; ok && !duplicate {
			held := s.docs[id]
			if held.patient != c.patient || attachment(held.res) != attachment(c.res) {
				issues = append(issues, problem(c.entry, "resource.masterIdentifier", "duplicate", "the unique id %s is already registered for another client or record", u))
				continue
			}
			c.existing = id
		}
		for _, target := range c.replaces {
			held, ok := s.docs[target]
			switch {
			case !ok || held.gone:
				issues = append(issues, problem(c.entry, "resource.relatesTo", "not-found", "the replaced pointer DocumentReference/%s is not held", target))
			case held.patient != c.patient:
				issues = append(issues, problem(c.entry, "resource.relatesTo", "business-rule", "the replaced pointer DocumentReference/%s is another client's", target))
			}
		}
	}
	for _, u := range p.updates {
		held, ok := s.docs[u.id]
		if !ok || held.gone {
			issues = append(issues, problem(u.entry, "request.url", "not-found", "DocumentReference/%s is not held", u.id))
		}
	}
	return issues
}

// before is the part of a plan made of the entries before entry first (a
// mutant applies it although the transaction failed).
func (p plan) before(first int) plan {
	out := plan{entries: p.entries}
	if p.list != nil && p.list.entry < first {
		out.list = p.list
	}
	for _, c := range p.creates {
		if c.entry < first {
			out.creates = append(out.creates, c)
		}
	}
	for _, u := range p.updates {
		if u.entry < first {
			out.updates = append(out.updates, u)
		}
	}
	return out
}

// apply stores a checked plan and returns the transaction-response entry
// of each request entry, in order. Callers hold the lock.
func (s *Server) apply(p plan, now string) ([]map[string]any, error) {
	out := make([]map[string]any, p.entries)
	ids := map[int]string{} // entry → id of the pointer it made
	if p.list != nil {
		if id, ok := s.store.bySubmit[p.list.unique]; ok {
			out[p.list.entry] = map[string]any{"status": "200 OK", "location": "List/" + id + "/_history/1"}
		} else {
			id := s.store.addList(truth.Clone(p.list.res), p.list.unique, now)
			out[p.list.entry] = map[string]any{"status": "201 Created", "location": "List/" + id + "/_history/1"}
		}
	}
	for n, c := range p.creates {
		if c.existing != "" {
			out[c.entry] = map[string]any{"status": "200 OK", "location": "DocumentReference/" + c.existing + "/_history/1"}
			ids[c.entry] = c.existing
			continue
		}
		var id string
		if s.defect != nil && s.defect.loseSecond && n == 1 {
			id = s.store.nextID("dr") // answered, never stored
		} else {
			var err error
			if id, err = s.store.add(truth.Clone(c.res), c.patient, now, s.opts.Now()); err != nil {
				return nil, err
			}
		}
		out[c.entry] = map[string]any{"status": "201 Created", "location": "DocumentReference/" + id + "/_history/1", "lastModified": now}
		ids[c.entry] = id
		if s.defect == nil || !s.defect.keepCurrent {
			for _, target := range c.replaces {
				s.store.docs[target].res["status"] = "superseded"
			}
		}
	}
	for _, u := range p.updates {
		if s.defect == nil || !s.defect.keepCurrent {
			s.store.docs[u.id].res["status"] = u.status
		}
		out[u.entry] = map[string]any{"status": "200 OK", "location": "DocumentReference/" + u.id + "/_history/1"}
	}
	// The SubmissionSet lists the pointers by their ids at the index.
	if p.list != nil {
		if l := s.store.lists[strings.Split(out[p.list.entry]["location"].(string), "/")[1]]; l != nil {
			var items []any
			for _, c := range p.creates {
				items = append(items, map[string]any{"item": map[string]any{"reference": "DocumentReference/" + ids[c.entry]}})
			}
			if items != nil {
				l["entry"] = items
			}
		}
	}
	return out, nil
}

// attachment is a pointer's first attachment url.
func attachment(doc map[string]any) string {
	for _, c := range truth.Items(doc["content"]) {
		if u, _ := asMap(asMap(c)["attachment"])["url"].(string); u != "" {
			return u
		}
	}
	return ""
}

func hasCoding(concept any, system, code string) bool {
	for _, c := range truth.Items(asMap(concept)["coding"]) {
		m := asMap(c)
		if m["system"] == system && m["code"] == code {
			return true
		}
	}
	return false
}
