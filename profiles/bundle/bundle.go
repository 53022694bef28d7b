// Package bundle checks the Bundle rules of the FHIR specification that the
// Bundle StructureDefinition and its FHIRPath invariants cannot express:
// reference resolution inside the Bundle (bundle.html "Resolving references
// in Bundles"), the document rules (documents.html: what the Composition
// references must be in the Bundle), the message rules (messaging.html), the
// search set rules (search modes, ids, the types the self link asked for),
// and the STU3 document and message rules that R4 moved into invariants
// (bdl-10, bdl-11, bdl-12); and, as warnings, updates in transactions and
// batches whose resource does not carry the id of the URL.
//
// Input is a JSON-shaped tree (map[string]any, []any, string, json.Number,
// bool), as encoding/json or profiles/fhirxml produce it. Check is bounded
// (entries, depth and issues are capped) and does not panic on any tree.
package bundle

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// Limits that keep Check bounded on hostile input.
const (
	// MaxEntries is the number of entries examined; beyond it Check says so.
	MaxEntries = 100000
	// MaxDepth is how deep Check descends into an entry's resource when it
	// looks for references.
	MaxDepth = 200
	// MaxIssues bounds the issues one Check returns.
	MaxIssues = 1000
)

// idPattern is the FHIR id datatype.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

// entry is one Bundle entry with a resource.
type entry struct {
	index   int
	fullURL string
	res     map[string]any
	rtype   string
	id      string
	version string // meta.versionId
}

// checker holds one run of Check.
type checker struct {
	stu3    bool
	types   map[string]bool
	btype   string
	entries []*entry
	byFull  map[string][]*entry // fullUrl → entries
	byLocal map[string][]*entry // "Type/id" → entries
	byID    map[string][]*entry // resource id → entries
	issues  []outcome.Issue
	capped  bool
	flagged map[string]bool // locations already reported as ambiguous
}

// Check returns the Bundle-level issues of b for the FHIR version
// ("4.0.1", "4.0", "3.0.1", "3.0"; anything not starting with "3." is
// treated as R4). A tree that is not a Bundle gives no issues. The rules
// the core Bundle invariants already state for the version (bdl-1 … bdl-12)
// and the fullUrl form and duplicate checks of profiles/validator are not
// repeated here.
func Check(b map[string]any, fhirVersion string) []outcome.Issue {
	if b == nil || str(b, "resourceType") != "Bundle" {
		return nil
	}
	c := &checker{
		stu3:    strings.HasPrefix(fhirVersion, "3."),
		btype:   str(b, "type"),
		byFull:  map[string][]*entry{},
		byLocal: map[string][]*entry{},
		byID:    map[string][]*entry{},
		flagged: map[string]bool{},
	}
	c.types = r4Types
	if c.stu3 {
		c.types = stu3Types
	}
	list, _ := b["entry"].([]any)
	if len(list) > MaxEntries {
		c.add(outcome.Warning, outcome.CodeTooCostly, "Bundle.entry", "the Bundle has %d entries; only the first %d were checked against the Bundle rules", len(list), MaxEntries)
		list = list[:MaxEntries]
	}
	for i, en := range list {
		em, _ := en.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if res == nil {
			continue
		}
		e := &entry{index: i, fullURL: str(em, "fullUrl"), res: res, rtype: str(res, "resourceType"), id: str(res, "id")}
		if meta, ok := res["meta"].(map[string]any); ok {
			e.version = str(meta, "versionId")
		}
		c.entries = append(c.entries, e)
		if e.fullURL != "" {
			c.byFull[e.fullURL] = append(c.byFull[e.fullURL], e)
		}
		if e.id != "" {
			c.byID[e.id] = append(c.byID[e.id], e)
		}
		if e.rtype != "" && e.id != "" {
			c.byLocal[e.rtype+"/"+e.id] = append(c.byLocal[e.rtype+"/"+e.id], e)
		}
	}
	switch c.btype {
	case "searchset":
		c.searchset(b, list)
	case "document":
		c.document(b, list)
	case "message":
		c.message(list)
	case "transaction", "batch":
		c.updates(list)
	}
	if c.btype != "history" {
		c.references()
	}
	return c.issues
}

// add records an issue unless the cap is reached.
func (c *checker) add(severity, code, expression, format string, args ...any) {
	if len(c.issues) >= MaxIssues {
		if !c.capped {
			c.capped = true
			c.issues = append(c.issues, outcome.Issue{Severity: outcome.Information, Code: outcome.CodeTooCostly,
				Diagnostics: fmt.Sprintf("more than %d Bundle issues; the rest are not reported", MaxIssues), Expression: []string{"Bundle"}})
		}
		return
	}
	is := outcome.Issue{Severity: severity, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expression != "" {
		is.Expression = []string{expression}
	}
	c.issues = append(c.issues, is)
}

// first returns the resource of the first entry and whether there is one.
func first(list []any) (map[string]any, bool) {
	if len(list) == 0 {
		return nil, false
	}
	em, _ := list[0].(map[string]any)
	res, _ := em["resource"].(map[string]any)
	return res, res != nil
}

// document checks a document Bundle (documents.html): in STU3 the
// Composition first and the date (meta.lastUpdated, as Bundle.timestamp
// only came in R4); in both versions that what the Composition references
// (subject, author, encounter, custodian, attester.party, event.detail,
// section.entry) is in the Bundle, exactly once.
func (c *checker) document(b map[string]any, list []any) {
	comp, ok := first(list)
	if c.stu3 {
		if meta, _ := b["meta"].(map[string]any); str(meta, "lastUpdated") == "" {
			c.add(outcome.Error, outcome.CodeRequired, "Bundle", "a document must have a date: in FHIR STU3 that is Bundle.meta.lastUpdated, which is missing")
		}
		if !ok || str(comp, "resourceType") != "Composition" {
			c.add(outcome.Error, outcome.CodeInvalid, "Bundle.entry[0]", "the first entry of a document Bundle must be a Composition")
			return
		}
	}
	if !ok || str(comp, "resourceType") != "Composition" {
		return // R4: bdl-11 reports it
	}
	from := c.entryAt(0)
	p := "Bundle.entry[0].resource"
	for _, field := range []string{"subject", "author", "encounter", "custodian"} {
		for i, r := range each(comp[field]) {
			c.mustResolve(r, from, at(p+"."+field, comp[field], i), "Composition."+field)
		}
	}
	for i, a := range each(comp["attester"]) {
		am, _ := a.(map[string]any)
		c.mustResolve(am["party"], from, at(p+".attester", comp["attester"], i)+".party", "Composition.attester.party")
	}
	for i, ev := range each(comp["event"]) {
		evm, _ := ev.(map[string]any)
		evp := at(p+".event", comp["event"], i)
		for j, d := range each(evm["detail"]) {
			c.mustResolve(d, from, at(evp+".detail", evm["detail"], j), "Composition.event.detail")
		}
	}
	c.sections(comp["section"], from, p+".section", 0)
}

// sections checks the entries of (nested) Composition sections.
func (c *checker) sections(v any, from *entry, path string, depth int) {
	if depth > MaxDepth {
		return
	}
	for i, s := range each(v) {
		sm, _ := s.(map[string]any)
		sp := at(path, v, i)
		for j, en := range each(sm["entry"]) {
			c.mustResolve(en, from, at(sp+".entry", sm["entry"], j), "Composition.section.entry")
		}
		c.sections(sm["section"], from, sp+".section", depth+1)
	}
}

// mustResolve reports a reference of a document's Composition that is not
// in the Bundle exactly once.
func (c *checker) mustResolve(v any, from *entry, path, what string) {
	rm, _ := v.(map[string]any)
	ref := str(rm, "reference")
	if ref == "" || strings.HasPrefix(ref, "#") {
		return
	}
	found, ok := c.resolve(ref, from)
	if !ok {
		return // not a form we can resolve; the structure checks see to it
	}
	switch {
	case len(found) == 0:
		c.add(outcome.Error, outcome.CodeNotFound, path, "%s %q is not in the document Bundle (a document contains what its Composition references)%s", what, ref, c.hint(ref, from))
	case len(found) > 1:
		c.flagged[path] = true
		c.add(outcome.Error, outcome.CodeInvalid, path, "%s %q matches %d entries of the Bundle (%s); a reference must identify one", what, ref, len(found), indexes(found))
	}
}

// hint explains why a relative reference did not resolve when an entry
// has the same type and id under another base.
func (c *checker) hint(ref string, from *entry) string {
	local := ref
	if i := strings.Index(local, "/_history/"); i >= 0 {
		local = local[:i]
	}
	if strings.Contains(local, ":") {
		return ""
	}
	n := len(c.byLocal[local])
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d entr%s the type and id %s, but a relative reference resolves against the base of the referring entry's fullUrl (%s) and the version, if given, must match meta.versionId", n, plural(n, "y has", "ies have"), local, from.fullURL)
}

// message checks a message Bundle (messaging.html): in STU3 the
// MessageHeader first (R4 has bdl-12); the focus of the message is carried
// in the Bundle (a warning when not: the specification says the data is
// always included, the HL7 validator does not enforce it).
func (c *checker) message(list []any) {
	mh, ok := first(list)
	if !ok || str(mh, "resourceType") != "MessageHeader" {
		if c.stu3 {
			c.add(outcome.Error, outcome.CodeInvalid, "Bundle.entry[0]", "the first entry of a message Bundle must be a MessageHeader")
		}
		return
	}
	from := c.entryAt(0)
	for i, f := range each(mh["focus"]) {
		fm, _ := f.(map[string]any)
		ref := str(fm, "reference")
		if ref == "" || strings.HasPrefix(ref, "#") {
			continue
		}
		found, ok := c.resolve(ref, from)
		if ok && len(found) == 0 {
			c.add(outcome.Warning, outcome.CodeNotFound, at("Bundle.entry[0].resource.focus", mh["focus"], i), "MessageHeader.focus %q is not in the message Bundle; the focus of a message is carried in the Bundle", ref)
		}
	}
}

// updates checks the PUT entries of a transaction or batch: http.html
// says the resource of an update SHALL carry the id of the URL
// ([type]/[id]), or the server answers 400. A warning: the Bundle itself
// is well formed, the interaction will fail.
func (c *checker) updates(list []any) {
	for i, en := range list {
		em, _ := en.(map[string]any)
		req, _ := em["request"].(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if res == nil || str(req, "method") != "PUT" {
			continue
		}
		u := str(req, "url")
		if strings.ContainsAny(u, "?:") {
			continue // conditional update, or not a [type]/[id] URL
		}
		typ, id, ok := strings.Cut(strings.TrimPrefix(u, "/"), "/")
		if !ok || !c.types[typ] || !idPattern.MatchString(id) {
			continue
		}
		p := fmt.Sprintf("Bundle.entry[%d]", i)
		switch rt, rid := str(res, "resourceType"), str(res, "id"); {
		case rt != typ:
			c.add(outcome.Warning, outcome.CodeInvalid, p+".request.url", "the update %s puts a %s to a %s URL", u, rt, typ)
		case rid != id:
			c.add(outcome.Warning, outcome.CodeInvalid, p+".resource", "the update %s needs a resource with id %q (the server answers 400 otherwise), found %q", u, id, rid)
		}
	}
}

// searchset checks a search set Bundle the way search.html describes it:
// the self link says what was searched; entries say their search mode; a
// match has an id (it is a resource on the server; an include without one is
// a warning, as Nictiz fixtures have them); a match is
// of a type that was searched for; an outcome is an OperationOutcome.
func (c *checker) searchset(b map[string]any, list []any) {
	self := ""
	for _, l := range each(b["link"]) {
		if lm, _ := l.(map[string]any); str(lm, "relation") == "self" {
			self = str(lm, "url")
			break
		}
	}
	var types []string
	if self == "" {
		c.add(outcome.Warning, outcome.CodeInvalid, "Bundle", "a search set Bundle should have a self link that says what the search was")
	} else {
		types = c.searchTypes(self)
	}
	withMode := false
	for _, en := range list {
		em, _ := en.(map[string]any)
		if sm, _ := em["search"].(map[string]any); str(sm, "mode") != "" {
			withMode = true
			break
		}
	}
	if !withMode {
		if len(list) > 0 {
			c.add(outcome.Warning, outcome.CodeInvalid, "Bundle", "the entries of a search set Bundle should say their search mode (entry.search.mode)")
		}
		return
	}
	for i, en := range list {
		em, _ := en.(map[string]any)
		p := fmt.Sprintf("Bundle.entry[%d]", i)
		sm, _ := em["search"].(map[string]any)
		mode := str(sm, "mode")
		res, _ := em["resource"].(map[string]any)
		if mode == "" {
			c.add(outcome.Warning, outcome.CodeInvalid, p, "the entry of a search set Bundle should say its search mode (entry.search.mode)")
		}
		if res == nil {
			continue // bdl-5 and the cardinality checks report it
		}
		rt := str(res, "resourceType")
		switch mode {
		case "match":
			if str(res, "id") == "" {
				c.add(outcome.Error, outcome.CodeRequired, p+".resource", "a search result (search mode match) must have an id: it is a resource on the server")
			}
			if len(types) > 0 && !contains(types, rt) {
				c.add(outcome.Error, outcome.CodeInvalid, p+".resource", "a %s is not a match for the search %q, which asked for %s", rt, self, strings.Join(types, ", "))
			}
		case "include":
			if str(res, "id") == "" {
				c.add(outcome.Warning, outcome.CodeRequired, p+".resource", "an included search result (search mode include) should have an id: it is a resource on the server")
			}
		case "outcome":
			if rt != "OperationOutcome" {
				c.add(outcome.Error, outcome.CodeInvalid, p+".resource", "an entry with search mode outcome must be an OperationOutcome, not a %s", rt)
			}
		}
	}
}

// searchTypes reads the resource types a search URL asks for: the type
// before the query ([base]/Type?...), else the _type parameter.
func (c *checker) searchTypes(u string) []string {
	head, query, _ := strings.Cut(u, "?")
	head = strings.TrimSuffix(head, "/")
	head = strings.TrimSuffix(head, "/_search")
	if i := strings.LastIndexByte(head, '/'); i >= 0 {
		head = head[i+1:]
	}
	if c.types[head] {
		return []string{head}
	}
	var out []string
	for _, kv := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(kv, "_type="); ok {
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// references walks every entry's resource for References and reports one
// that matches more than one entry, and a relative reference whose type
// and id identify, by id, an entry of another type only.
func (c *checker) references() {
	for _, e := range c.entries {
		if e.rtype == "Bundle" {
			continue // a nested Bundle's references resolve in itself
		}
		base := fmt.Sprintf("Bundle.entry[%d].resource", e.index)
		walk(e.res, base, 0, func(rm map[string]any, path string) {
			ref := str(rm, "reference")
			if ref == "" || strings.HasPrefix(ref, "#") {
				return
			}
			found, ok := c.resolve(ref, e)
			if !ok {
				return
			}
			if len(found) > 1 && !c.flagged[path] {
				c.add(outcome.Error, outcome.CodeInvalid, path, "reference %q matches %d entries of the Bundle (%s); a reference must identify one (give the version: .../_history/[versionId])", ref, len(found), indexes(found))
				return
			}
			if len(found) == 0 {
				c.wrongType(ref, path)
			}
		})
	}
}

// wrongType reports a relative reference Type/id that resolves in no way
// but whose id is that of an entry of another type (its resource id, or
// its urn:uuid fullUrl).
func (c *checker) wrongType(ref, path string) {
	local := ref
	if i := strings.Index(local, "/_history/"); i >= 0 {
		local = local[:i]
	}
	typ, id, ok := strings.Cut(local, "/")
	if !ok || strings.Contains(local, ":") || !c.types[typ] || !idPattern.MatchString(id) {
		return
	}
	var other *entry
	for _, e := range append(c.byID[id], c.byFull["urn:uuid:"+id]...) {
		if e.rtype == typ {
			return
		}
		other = e
	}
	if other != nil {
		c.add(outcome.Error, outcome.CodeStructure, path, "reference %q names a %s, but the entry of the Bundle with that id (entry[%d], %s) is a %s", ref, typ, other.index, orDash(other.fullURL), other.rtype)
	}
}

// resolve finds the entries a reference identifies (bundle.html
// "Resolving references in Bundles"): an absolute reference (URL or URN)
// is a fullUrl; a relative one Type/id is taken against the base of the
// referring entry's RESTful fullUrl, or, when that fullUrl is not RESTful,
// matched on the resource's type and id; a version (/_history/v) must be
// the entry's meta.versionId. ok is false for a reference that is neither
// (a logical or malformed one), which this package does not judge.
func (c *checker) resolve(ref string, from *entry) (found []*entry, ok bool) {
	if i := strings.IndexByte(ref, '#'); i > 0 {
		ref = ref[:i]
	}
	target, version := ref, ""
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		target, version = ref[:i], ref[i+len("/_history/"):]
	}
	var cands []*entry
	switch {
	case strings.Contains(target, ":"):
		if strings.Contains(target, "?") {
			return nil, false // conditional reference (transactions)
		}
		cands = c.byFull[target]
	default:
		typ, id, two := strings.Cut(target, "/")
		if !two || !c.types[typ] || !idPattern.MatchString(id) {
			return nil, false
		}
		if b := restBase(from, c.types); b != "" {
			cands = c.byFull[b+"/"+target]
		} else {
			cands = c.byLocal[target]
		}
	}
	if version == "" {
		return cands, true
	}
	for _, e := range cands {
		if e.version == version {
			found = append(found, e)
		}
	}
	return found, true
}

// restBase returns the server base of an entry's fullUrl when it is a
// RESTful URL ([base]/Type/id), else "".
func restBase(e *entry, types map[string]bool) string {
	if e == nil || !strings.Contains(e.fullURL, "://") {
		return ""
	}
	u := e.fullURL
	if i := strings.Index(u, "/_history/"); i >= 0 {
		u = u[:i]
	}
	j := strings.LastIndexByte(u, '/')
	if j <= 0 {
		return ""
	}
	k := strings.LastIndexByte(u[:j], '/')
	if k < 0 || !types[u[k+1:j]] || !idPattern.MatchString(u[j+1:]) {
		return ""
	}
	return u[:k]
}

// entryAt returns the entry with the given index, or nil.
func (c *checker) entryAt(i int) *entry {
	for _, e := range c.entries {
		if e.index == i {
			return e
		}
		if e.index > i {
			break
		}
	}
	return nil
}

// walk calls fn for every object with a "reference" string below v,
// without entering nested Bundles (their references resolve in
// themselves) and no deeper than MaxDepth.
func walk(v any, path string, depth int, fn func(map[string]any, string)) {
	if depth > MaxDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if depth > 0 && str(x, "resourceType") == "Bundle" {
			return
		}
		if _, ok := x["reference"].(string); ok {
			fn(x, path)
		}
		keys := make([]string, 0, len(x))
		for k, child := range x {
			switch child.(type) {
			case map[string]any, []any:
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(x[k], path+"."+k, depth+1, fn)
		}
	case []any:
		for i, child := range x {
			walk(child, fmt.Sprintf("%s[%d]", path, i), depth+1, fn)
		}
	}
}

// each returns v as a list: the elements of an array, a single value as
// one element, nothing for nil.
func each(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// at is the FHIRPath location of element i of v under path: indexed when
// v is an array.
func at(path string, v any, i int) string {
	if _, ok := v.([]any); ok {
		return fmt.Sprintf("%s[%d]", path, i)
	}
	return path
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func indexes(es []*entry) string {
	var parts []string
	for i, e := range es {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(es)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("entry[%d]", e.index))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "no fullUrl"
	}
	return s
}

// CheckAt is Check for a Bundle found at path (a nested Bundle, such as
// "Bundle.entry[3].resource"): the locations of the issues start at path
// instead of "Bundle".
func CheckAt(b map[string]any, fhirVersion, path string) []outcome.Issue {
	issues := Check(b, fhirVersion)
	if path == "" || path == "Bundle" {
		return issues
	}
	for i := range issues {
		for j, e := range issues[i].Expression {
			if rest, ok := strings.CutPrefix(e, "Bundle"); ok {
				issues[i].Expression[j] = path + rest
			}
		}
	}
	return issues
}

// Select returns the indexes of the entries a bundle validation rule
// names, as the HL7 validator's -bundle option (and the manifest's
// "bundle-param") writes them: "Type" is every entry whose resource is of
// that type, "Type:N" the N-th of them counting from 0, "Type:id" the one
// whose resource has that id. The caller validates the selected entries'
// resources against the rule's profile.
func Select(b map[string]any, rule string) ([]int, error) {
	typ, which, hasWhich := strings.Cut(rule, ":")
	if typ == "" || (hasWhich && which == "") {
		return nil, fmt.Errorf("select bundle entries: rule %q is not Type, Type:index or Type:id", rule)
	}
	n := -1
	if hasWhich {
		if v, err := strconv.Atoi(which); err == nil {
			if v < 0 {
				return nil, fmt.Errorf("select bundle entries: rule %q has a negative index", rule)
			}
			n = v
		}
	}
	list, _ := b["entry"].([]any)
	var out []int
	count := 0
	for i, en := range list {
		if i >= MaxEntries {
			break
		}
		em, _ := en.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if str(res, "resourceType") != typ {
			continue
		}
		switch {
		case !hasWhich:
			out = append(out, i)
		case n >= 0:
			if count == n {
				out = append(out, i)
			}
		case str(res, "id") == which:
			out = append(out, i)
		}
		count++
	}
	return out, nil
}
