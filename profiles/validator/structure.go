package validator

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bcbench/bcbench/profiles/snapshot"
)

// structure is a compiled StructureDefinition: its snapshot as a tree.
type structure struct {
	url, version, name string
	typ, kind          string
	root               *elem
	contexts           []extContext // where an extension may be used
	contextInvariants  []string     // FHIRPath that must hold on the element an extension is used on
	versions           versionRange // the FHIR versions an extension may be used in
	modifier           bool         // the root is a modifier (a modifier extension)
}

// extContext is one place an extension definition allows itself, in the
// FHIR versions its range gives.
type extContext struct {
	typ, expr string
	versions  versionRange
}

// versionRange is a range of FHIR versions from the extension
// version-specific-use (startFhirVersion, endFhirVersion: "4.0", "4.3");
// an empty bound is open.
type versionRange struct{ start, end string }

const versionSpecificUse = "http://hl7.org/fhir/StructureDefinition/version-specific-use"

// versionsOf reads version-specific-use from the extensions of m.
func versionsOf(m map[string]any) versionRange {
	var vr versionRange
	for _, x := range asList(m["extension"]) {
		xm, _ := x.(map[string]any)
		if str(xm, "url") != versionSpecificUse {
			continue
		}
		for _, y := range asList(xm["extension"]) {
			ym, _ := y.(map[string]any)
			switch str(ym, "url") {
			case "startFhirVersion":
				vr.start = str(ym, "valueCode")
			case "endFhirVersion":
				vr.end = str(ym, "valueCode")
			}
		}
	}
	return vr
}

// holds says whether FHIR version v ("3.0.1") is in the range; versions are
// compared by as many parts as the bound gives ("4.3" holds 4.3.0).
func (vr versionRange) holds(v string) bool {
	return (vr.start == "" || compareVersion(v, vr.start) >= 0) && (vr.end == "" || compareVersion(v, vr.end) <= 0)
}

func (vr versionRange) String() string {
	return strings.TrimSpace(vr.start + " to " + vr.end)
}

// compareVersion compares version v with bound b on the parts b has.
func compareVersion(v, b string) int {
	vs, bs := strings.Split(v, "."), strings.Split(b, ".")
	for i, bp := range bs {
		vp := "0"
		if i < len(vs) {
			vp = vs[i]
		}
		x, errX := strconv.Atoi(vp)
		y, errY := strconv.Atoi(bp)
		if errX != nil || errY != nil {
			if c := strings.Compare(vp, bp); c != 0 {
				return c
			}
			continue
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// label names the structure in messages.
func (s *structure) label() string {
	if s.name != "" {
		return s.name + " (" + s.url + ")"
	}
	return s.url
}

// elem is one element definition of a compiled snapshot.
type elem struct {
	id, path, name string // name is the last path segment ("value[x]")
	basePath       string // ElementDefinition.base.path: the path where the element was first defined
	min, max       int    // max -1: unbounded
	arrayInJSON    bool   // base max != 1: the element is an array in JSON
	types          []typeRef
	fixed, pattern any
	fixedKey       string // "fixedCode", "patternCodeableConcept"
	binding        *binding
	additional     []*binding // R5 additional bindings with a checkable purpose
	constraints    []constraint
	slicing        *slicing
	slices         []*elem
	byURL          bool                      // sliced by extension url alone, each slice its own url
	urls           atomic.Pointer[urlSlices] // byURL: the slices by url, made on first use (slice.go)
	sliceName      string
	children       []*elem
	index          int // position among the parent's children
	byName         map[string]*elem
	byChoice       map[string]choiceHit // valueQuantity → value[x], Quantity
	byKey          map[string]choiceHit // byName and byChoice in one, with the type code (child)
	contentRef     string
	maxLength      int
	minLength      int
	// mustHaveValue and valueAlternatives (R5 element properties, used in
	// R4 through cross-version extensions): a primitive must carry a value,
	// or else one of the listed extensions.
	mustHaveValue     bool
	valueAlternatives []string
	// narrativeLanguage is the narrative-language-control of a Narrative
	// element: _yes, _no, _resource, or language codes.
	narrativeLanguage []string
	// narrativeSource is the narrative-source-control of a Narrative
	// element: every top-level part of the narrative must say its source.
	narrativeSource string
	minValue        any // minValue[x]
	maxValue        any // maxValue[x]
	owner           *structure
}

// choiceHit is the choice element a property name selects, and its type.
type choiceHit struct {
	e    *elem
	code string
}

type typeRef struct {
	code     string
	profiles []string
	targets  []string
}

type binding struct{ strength, valueSet string }

// additionalBindingURLs are the extensions that carry R5's additional
// bindings in R4 (the cross-version extension and the tools one).
var additionalBindingURLs = map[string]bool{
	"http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional": true,
	"http://hl7.org/fhir/tools/StructureDefinition/additional-binding":                           true,
}

// additionalBindings reads the additional bindings of a binding whose
// purpose makes them checkable: required (the code must be in that value
// set too) and extensible. The other purposes (preferred, ui, starter,
// component, current …) are guidance and not checked.
func additionalBindings(b map[string]any) []*binding {
	var out []*binding
	for _, x := range asList(b["extension"]) {
		xm, _ := x.(map[string]any)
		if !additionalBindingURLs[str(xm, "url")] {
			continue
		}
		var purpose, vs string
		for _, sub := range asList(xm["extension"]) {
			sm, _ := sub.(map[string]any)
			switch str(sm, "url") {
			case "purpose":
				purpose = str(sm, "valueCode")
			case "valueSet":
				vs = str(sm, "valueCanonical")
			}
		}
		if vs != "" && (purpose == "required" || purpose == "extensible") {
			out = append(out, &binding{strength: purpose, valueSet: vs})
		}
	}
	return out
}

type constraint struct {
	key, severity, human, expr, source string
	// holds, when set, says without FHIRPath that the constraint holds on
	// an object (false: evaluate it).
	holds func(map[string]any) bool
	// holdsValue, when set, says so on any value, primitives included.
	holdsValue func(any) bool
	// holdsIn, when set, says so on an object in the resource (%resource).
	holdsIn func(obj, resource map[string]any) bool
}

type slicing struct {
	discriminators []discriminator
	ordered        bool
	rules          string
}

type discriminator struct {
	typ, path string
	segs      []string // the path split (splitPath), x.reference.resolve() read as x.resolve()
}

func newDiscriminator(typ, path string) discriminator {
	segs := splitPath(path)
	// x.reference.resolve() is x.resolve(): the target profiles are on x.
	for i := 1; i < len(segs); i++ {
		if segs[i] == "resolve()" && segs[i-1] == "reference" {
			segs = append(segs[:i-1], segs[i:]...)
			break
		}
	}
	return discriminator{typ: typ, path: path, segs: segs}
}

// choice reports whether the element is a choice of types (value[x]).
func (e *elem) choice() bool { return strings.HasSuffix(e.name, "[x]") }

// typeCodes lists the type codes of the element.
func (e *elem) typeCodes() []string {
	out := make([]string, len(e.types))
	for i, t := range e.types {
		out[i] = t.code
	}
	return out
}

// compiler caches compiled structures. Safe for concurrent use.
type compiler struct {
	gen    *snapshot.Generator
	src    snapshot.Resolver
	mu     sync.Mutex
	cache  map[string]*compiled
	byType memo[string, *compiled] // type code → the types the packages define, without building its URL again
}

type compiled struct {
	once sync.Once
	s    *structure
	err  error
}

func (c *compiler) structure(canonical string) (*structure, error) {
	c.mu.Lock()
	cs, ok := c.cache[canonical]
	if !ok {
		cs = &compiled{}
		c.cache[canonical] = cs
	}
	c.mu.Unlock()
	cs.once.Do(func() { cs.s, cs.err = c.compile(canonical) })
	return cs.s, cs.err
}

// typeStructure returns the base definition of a type or resource type.
func (c *compiler) typeStructure(code string) (*structure, error) {
	if cs, ok := c.byType.get(code); ok {
		return cs.s, cs.err
	}
	s, err := c.structure(snapshot.TypeURL(code))
	if err == nil { // the types the packages define: a bounded set
		c.byType.put(code, &compiled{s: s})
	}
	return s, err
}

func (c *compiler) compile(canonical string) (*structure, error) {
	sd, ok := c.src.Resource(canonical)
	if !ok {
		return nil, fmt.Errorf("StructureDefinition %s is not loaded", canonical)
	}
	if rt, _ := sd["resourceType"].(string); rt != "StructureDefinition" {
		return nil, fmt.Errorf("%s is a %s, not a StructureDefinition", canonical, rt)
	}
	elems, err := c.gen.Snapshot(canonical)
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("StructureDefinition %s has no elements", canonical)
	}
	s := &structure{url: str(sd, "url"), version: str(sd, "version"), name: str(sd, "name"), typ: str(sd, "type"), kind: str(sd, "kind")}
	for _, c := range asList(sd["context"]) {
		switch x := c.(type) {
		case map[string]any: // R4
			s.contexts = append(s.contexts, extContext{typ: str(x, "type"), expr: str(x, "expression"), versions: versionsOf(x)})
		case string: // STU3: contextType applies to all
			t := str(sd, "contextType")
			if t == "resource" || t == "datatype" {
				t = "element"
			}
			s.contexts = append(s.contexts, extContext{typ: t, expr: x})
		}
	}
	s.versions = versionsOf(sd)
	s.modifier, _ = elems[0]["isModifier"].(bool)
	for _, c := range asList(sd["contextInvariant"]) {
		if x, ok := c.(string); ok && x != "" {
			s.contextInvariants = append(s.contextInvariants, x)
		}
	}
	if s.typ == "" { // STU3 logical or old style: root path
		s.typ = str(elems[0], "path")
	}
	byID := make(map[string]*elem, len(elems))
	for i, raw := range elems {
		e := newElem(raw, s)
		id := snapshot.ID(raw)
		e.id = id
		byID[id] = e
		if i == 0 {
			s.root = e
			continue
		}
		parent, slice := findParent(byID, id)
		if parent == nil {
			continue // malformed snapshot: orphan element
		}
		if slice {
			parent.slices = append(parent.slices, e)
			continue
		}
		parent.children = append(parent.children, e)
		if parent.byName == nil {
			parent.byName = map[string]*elem{}
		}
		if _, dup := parent.byName[e.name]; !dup {
			parent.byName[e.name] = e
		}
	}
	// R4 type slices of a choice without explicit slicing: by type.
	var fix func(e *elem)
	fix = func(e *elem) {
		if e.choice() && len(e.slices) > 0 && e.slicing == nil {
			e.slicing = &slicing{rules: "open", discriminators: []discriminator{newDiscriminator("type", "$this")}}
		}
		// Extensions are sliced by url unless a profile says otherwise.
		if (e.name == "extension" || e.name == "modifierExtension") && len(e.slices) > 0 && (e.slicing == nil || len(e.slicing.discriminators) == 0) {
			rules := "open"
			if e.slicing != nil && e.slicing.rules != "" {
				rules = e.slicing.rules
			}
			e.slicing = &slicing{rules: rules, discriminators: []discriminator{newDiscriminator("value", "url")}}
		}
		e.byURL = byURL(e)
		for i, c := range e.children {
			c.index = i
			if !c.choice() {
				continue
			}
			// valueQuantity → value[x] with type Quantity, found by name.
			prefix := strings.TrimSuffix(c.name, "[x]")
			for _, t := range c.types {
				if t.code == "" {
					continue
				}
				n := prefix + strings.ToUpper(t.code[:1]) + t.code[1:]
				if _, taken := e.byName[n]; taken {
					continue
				}
				if _, taken := e.byChoice[n]; taken {
					continue
				}
				if e.byChoice == nil {
					e.byChoice = map[string]choiceHit{}
				}
				e.byChoice[n] = choiceHit{c, t.code}
			}
		}
		if n := len(e.byName) + len(e.byChoice); n > 0 {
			e.byKey = make(map[string]choiceHit, n)
			for name, c := range e.byName {
				hit := choiceHit{e: c}
				if len(c.types) == 1 {
					hit.code = c.types[0].code
				}
				e.byKey[name] = hit
			}
			for name, hit := range e.byChoice { // never a name of byName
				e.byKey[name] = hit
			}
		}
		for _, c := range e.children {
			fix(c)
		}
		for _, c := range e.slices {
			fix(c)
		}
	}
	fix(s.root)
	return s, nil
}

// findParent finds the element an id hangs from: the longest known prefix
// ending before a '.' (child) or ':' (slice).
func findParent(byID map[string]*elem, id string) (*elem, bool) {
	for j := len(id) - 1; j > 0; j-- {
		if id[j] != '.' && id[j] != ':' {
			continue
		}
		if p, ok := byID[id[:j]]; ok {
			return p, id[j] == ':'
		}
	}
	return nil, false
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, s := range x {
			if t, ok := s.(string); ok {
				out = append(out, t)
			}
		}
		return out
	}
	return nil
}

func toInt(v any, def int) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case interface{ String() string }:
		if n, err := strconv.Atoi(x.String()); err == nil {
			return n
		}
	case string:
		if n, err := strconv.Atoi(x); err == nil {
			return n
		}
	}
	return def
}

func parseMax(v any) int {
	s, _ := v.(string)
	if s == "*" {
		return -1
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return -1
}

func newElem(raw map[string]any, s *structure) *elem {
	path := str(raw, "path")
	e := &elem{path: path, owner: s, sliceName: str(raw, "sliceName"), contentRef: str(raw, "contentReference")}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		e.name = path[i+1:]
	} else {
		e.name = path
	}
	e.min = toInt(raw["min"], 0)
	e.max = parseMax(raw["max"])
	if _, ok := raw["max"]; !ok {
		e.max = -1
	}
	e.arrayInJSON = e.max != 1 && e.max != 0
	if b, ok := raw["base"].(map[string]any); ok {
		e.basePath = str(b, "path")
		bm := parseMax(b["max"])
		e.arrayInJSON = bm != 1 && bm != 0
	}
	if e.maxLength = toInt(raw["maxLength"], 0); e.maxLength < 0 {
		e.maxLength = 0
	}
	for _, t := range asList(raw["type"]) {
		tm, _ := t.(map[string]any)
		code := str(tm, "code")
		if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") || code == "" {
			code = "string"
			for _, x := range asList(tm["extension"]) {
				xm, _ := x.(map[string]any)
				if strings.HasSuffix(str(xm, "url"), "structuredefinition-fhir-type") {
					if v := str(xm, "valueUrl"); v != "" {
						code = v
					} else if v := str(xm, "valueUri"); v != "" {
						code = v
					}
				}
			}
			if strings.HasSuffix(path, ".id") || path == "id" {
				code = "id"
				if strings.Count(path, ".") > 1 || s.kind != "resource" {
					code = "string" // Element.id is a string
				}
			}
		}
		profiles := strList(tm["profile"])
		if snapshot.ProfileElement(tm) != "" {
			// The content follows one element of the profile, which the
			// snapshot holds as this element's children.
			profiles = nil
		}
		e.types = append(e.types, typeRef{code: code, profiles: profiles, targets: strList(tm["targetProfile"])})
	}
	// STU3 Reference type entries keep target profiles in profile.
	for i, t := range e.types {
		if t.code == "Reference" && len(t.targets) == 0 && len(t.profiles) > 0 {
			e.types[i].targets, e.types[i].profiles = t.profiles, nil
		}
	}
	for _, x := range asList(raw["extension"]) {
		xm, _ := x.(map[string]any)
		switch str(xm, "url") {
		case "http://hl7.org/fhir/StructureDefinition/minLength":
			e.minLength = toInt(xm["valueInteger"], 0)
		case "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue":
			e.mustHaveValue, _ = xm["valueBoolean"].(bool)
		case "http://hl7.org/fhir/StructureDefinition/narrative-source-control":
			e.narrativeSource = str(xm, "valueCode")
		case "http://hl7.org/fhir/StructureDefinition/narrative-language-control":
			if c := str(xm, "valueCode"); c != "" {
				e.narrativeLanguage = append(e.narrativeLanguage, c)
			}
		case "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.valueAlternatives":
			if u := str(xm, "valueCanonical"); u != "" {
				e.valueAlternatives = append(e.valueAlternatives, u)
			}
		}
	}
	for k, v := range raw {
		switch {
		case strings.HasPrefix(k, "minValue"):
			e.minValue = v
		case strings.HasPrefix(k, "maxValue"):
			e.maxValue = v
		case strings.HasPrefix(k, "fixed"):
			e.fixed, e.fixedKey = v, k
		case strings.HasPrefix(k, "pattern"):
			e.pattern, e.fixedKey = v, k
		}
	}
	if b, ok := raw["binding"].(map[string]any); ok {
		vs := str(b, "valueSet")
		if vs == "" {
			vs = str(b, "valueSetUri")
		}
		if vs == "" {
			if r, ok := b["valueSetReference"].(map[string]any); ok {
				vs = str(r, "reference")
			}
		}
		if strings.HasPrefix(vs, "#") && s != nil && s.url != "" {
			vs = s.url + vs // a value set contained in the definition
		}
		if vs != "" {
			e.binding = &binding{strength: str(b, "strength"), valueSet: vs}
		}
		e.additional = additionalBindings(b)
	}
	for _, c := range asList(raw["constraint"]) {
		cm, _ := c.(map[string]any)
		k, expr := str(cm, "key"), str(cm, "expression")
		if expr == "" || skipInvariants[k] {
			continue // nothing to evaluate, or checked by the validator itself
		}
		e.constraints = append(e.constraints, constraint{key: k, severity: str(cm, "severity"), human: str(cm, "human"), expr: expr, source: str(cm, "source"), holds: plainHolds[expr], holdsValue: plainValueHolds[expr], holdsIn: plainHoldsIn[expr]})
	}
	if sl, ok := raw["slicing"].(map[string]any); ok {
		e.slicing = &slicing{rules: str(sl, "rules")}
		if o, ok := sl["ordered"].(bool); ok {
			e.slicing.ordered = o
		}
		for _, d := range asList(sl["discriminator"]) {
			dm, _ := d.(map[string]any)
			e.slicing.discriminators = append(e.slicing.discriminators, newDiscriminator(str(dm, "type"), str(dm, "path")))
		}
		// STU3 allows discriminator as a plain path list (value type implied).
		for _, p := range strList(sl["discriminator"]) {
			e.slicing.discriminators = append(e.slicing.discriminators, newDiscriminator("value", p))
		}
	}
	return e
}

func isResourceRoot(path string) bool { return strings.Count(path, ".") == 1 }

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x}
	}
}
