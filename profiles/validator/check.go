package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/profiles/bundle"
	"github.com/bcbench/bcbench/profiles/measure"
	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/questionnaire"
	"github.com/bcbench/bcbench/profiles/snapshot"
	"github.com/bcbench/bcbench/profiles/terminology"
)

// maxNest bounds how deep validation descends (resources in resources, type
// profiles in type profiles).
const maxNest = 64

// run is the state of one validation.
type run struct {
	v     *Validator
	ctx   context.Context
	out   *outcome.OperationOutcome
	xml   bool
	root  map[string]any
	seen  map[string]bool
	nest  int
	quiet bool // trial validation (slice matching): count errors only
	errs  int
	// security: text that looks like HTML in strings is an error
	security bool
	// noHTMLInMarkdown: HTML in markdown is an error, not a warning
	noHTMLInMarkdown bool
	hl7Policy        bool // Request.HL7Policy
	mustResolve      bool // Request.ReferencesMustResolve
	uncheckedREST    bool // Request.UncheckedRESTReferences
	noExamples       bool // Request.NoExampleURLs
	displayErrors    bool // Request.WrongDisplayIsError
	// displayDone holds the locations of Codings whose display a binding
	// check has already judged.
	displayDone map[string]bool
	anchorSet   *map[string]bool // the narrative anchors of the resource (narrative.go)
	// resolver finds resources outside the one validated (Request.Resolve)
	resolver func(reference string) (map[string]any, bool)

	containers []map[string]any // resources holding the one being validated
	items      []item           // the items of the objects being walked, a stack (object)
	props      []member         // the properties of the objects being walked, a stack (object)
	// locals are, per resource entered by inner, the resource whose
	// contained resources its local references ("#id") point to: the
	// container for a contained resource, else the resource itself.
	locals  []local
	checked map[memoKey]bool // primitive formats and invariants already evaluated, by location
	multi   bool             // a resource is walked against several structures

	vague bool // the last slice match was not decided by a value (slice.go)

	notEvaluated    int
	notEvaluatedWhy string
	truncated       bool

	paths *strings.Builder // the buffer item paths are cut from (subPath), shared with trial runs
}

// subPath returns path.name, or path.name[i] for i >= 0: the location of a
// property or an item. The paths of a run (and of its trial runs) are cut
// from one buffer, a new one when it is full (the paths already cut keep
// the old one), instead of being allocated one by one.
func (r *run) subPath(path, name string, i int) string {
	n := len(path) + 1 + len(name)
	if i >= 0 {
		n += 2 + 20
	}
	if r.paths == nil {
		r.paths = &strings.Builder{}
	}
	b := r.paths
	if c := b.Cap(); c-b.Len() < n {
		*b = strings.Builder{}
		b.Grow(max(n, min(2*c, maxPathBuf), minPathBuf))
	}
	start := b.Len()
	b.WriteString(path)
	b.WriteByte('.')
	b.WriteString(name)
	if i >= 0 {
		var d [20]byte
		b.WriteByte('[')
		b.Write(strconv.AppendInt(d[:0], int64(i), 10))
		b.WriteByte(']')
	}
	return b.String()[start:]
}

// minPathBuf and maxPathBuf bound the size of the buffers of subPath.
const minPathBuf, maxPathBuf = 512, 8 << 10

// item is one value of an element in an instance.
type item struct {
	val   any            // the value (nil when only _name is present)
	ext   map[string]any // the _name object of a primitive
	code  string         // type code, when known from a choice suffix
	path  string         // FHIRPath location
	child int            // index of its element among the holder's children (object)
}

func (r *run) issue(sev, code, path, format string, args ...any) {
	r.add(false, sev, code, path, format, args...)
}

// undecided reports a check the engine could not decide (a definition or
// code system not loaded, an invariant it could not evaluate, a target it
// could not resolve): severity warning or information, marked undecided.
func (r *run) undecided(sev, code, path, format string, args ...any) {
	r.add(true, sev, code, path, format, args...)
}

func (r *run) add(undecided bool, sev, code, path, format string, args ...any) {
	if r.quiet {
		if sev == outcome.Error || sev == outcome.Fatal {
			r.errs++
		}
		return
	}
	msg := fmt.Sprintf(format, args...)
	key := sev + "|" + path + "|" + msg
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	if len(r.out.Issue) >= maxIssues {
		r.truncated = true
		return
	}
	if undecided {
		r.out.AddUndecided(sev, code, path, "%s", msg)
		return
	}
	r.out.Add(sev, code, path, "%s", msg)
}

// trial validates with fn without reporting and says whether it found no error.
func (r *run) trial(fn func(t *run)) bool {
	t := &run{v: r.v, ctx: r.ctx, out: r.out, xml: r.xml, root: r.root, seen: r.seen, nest: r.nest, quiet: true, security: r.security, noHTMLInMarkdown: r.noHTMLInMarkdown, resolver: r.resolver, containers: r.containers, locals: r.locals, hl7Policy: r.hl7Policy, mustResolve: r.mustResolve, uncheckedREST: r.uncheckedREST, noExamples: r.noExamples, displayErrors: r.displayErrors, displayDone: r.displayDone, anchorSet: r.anchorSet, items: r.items, props: r.props}
	if r.paths == nil {
		r.paths = &strings.Builder{}
	}
	t.paths = r.paths
	fn(t)
	r.items = t.items[:len(r.items)] // the same stacks, perhaps grown
	r.props = t.props[:len(r.props)]
	return t.errs == 0
}

func (r *run) cancelled() bool {
	if r.ctx == nil {
		return false
	}
	return r.ctx.Err() != nil
}

// resource validates a resource against its base definition and profiles.
func (r *run) resource(res map[string]any, path string, base *structure, profiles []string, claimed bool, _ map[string]any) {
	if r.nest > maxNest {
		r.issue(outcome.Error, outcome.CodeTooCostly, path, "resources nested deeper than %d", maxNest)
		return
	}
	r.nest++
	defer func() { r.nest-- }()
	// A profile's snapshot holds every element and constraint of the base
	// definition, so the base is checked on its own only when no profile
	// of the resource's type can be used.
	switch str(res, "resourceType") {
	case "Bundle":
		r.bundle(res, path)
		r.issues(bundle.CheckAt(res, r.v.version, path))
	case "QuestionnaireResponse":
		r.issues(questionnaire.Validate(r.ctx, res, r.questionnaireEnv(path)))
	case "Questionnaire":
		r.issues(questionnaire.CheckQuestionnaire(res, path))
	case "MeasureReport", "Measure":
		r.issues(measure.CheckAt(r.ctx, res, path, r.v.reg.Resource))
	}
	var usable []*structure
	for _, p := range profiles {
		if s, err := r.v.comp.structure(p); err == nil && s.typ == base.typ {
			usable = append(usable, s)
		}
	}
	if len(usable) == 0 {
		r.structure(res, base, path, res)
	}
	if len(usable) > 1 {
		r.multi = true
	}
	for _, p := range profiles {
		s, err := r.v.comp.structure(p)
		if err != nil {
			if claimed && r.hl7Policy {
				r.undecided(outcome.Warning, outcome.CodeNotFound, path, "profile %s claimed in meta.profile could not be used, so it was not checked: %v", p, err)
			} else if claimed {
				// A claim the bench cannot check is not a conformance it
				// can confirm: an error, as the HL7 validator reports it.
				r.issue(outcome.Error, outcome.CodeNotFound, path, "profile %s claimed in meta.profile could not be used, so the claim cannot be checked: %v", p, err)
			} else {
				r.issue(outcome.Error, outcome.CodeNotFound, path, "profile %s could not be used: %v", p, err)
			}
			continue
		}
		if s.typ != base.typ {
			r.issue(outcome.Error, outcome.CodeStructure, path, "profile %s is for %s, but the resource is a %s", s.label(), s.typ, base.typ)
			continue
		}
		r.structure(res, s, path, res)
	}
}

// structure validates a resource (or complex value) against a structure's root.
func (r *run) structure(obj map[string]any, s *structure, path string, res map[string]any) {
	r.invariants(s.root, obj, s.typ, path, res)
	r.object(obj, s.root, s.typ, path, res)
}

// holder returns the element whose children describe the content of a value
// of element e with type code.
func (r *run) holder(e *elem, code string) *elem {
	if len(e.children) > 0 {
		return e
	}
	if e.contentRef != "" {
		// The content rules of the referenced element as the type defines
		// them: a profile's constraints and slices on that element (a
		// Parameters profile's named parameter) do not carry over to the
		// elements that reuse its content (parameter.part).
		ref := e.contentRef[strings.Index(e.contentRef, "#")+1:]
		if e.owner.url != snapshot.TypeURL(e.owner.typ) {
			if s, err := r.v.comp.structure(snapshot.TypeURL(e.owner.typ)); err == nil && s.root != nil {
				if t := find(s.root, ref); t != nil {
					return t
				}
			}
		}
		if t := find(e.owner.root, ref); t != nil {
			return t
		}
		return nil
	}
	if code == "" {
		if len(e.types) == 0 {
			return nil
		}
		code = e.types[0].code
	}
	for _, t := range e.types {
		if t.code == code && len(t.profiles) == 1 {
			if s, err := r.v.comp.structure(t.profiles[0]); err == nil && s.root != nil {
				return s.root
			}
		}
	}
	s, err := r.v.comp.typeStructure(code)
	if err != nil {
		return nil
	}
	return s.root
}

// find looks an element up by id below root.
func find(root *elem, id string) *elem {
	if root.id == id {
		return root
	}
	for _, c := range root.children {
		if c.id == id || strings.HasPrefix(id, c.id+".") {
			return find(c, id)
		}
	}
	return nil
}

// child finds the definition of an instance property name under holder; code
// is the type a choice suffix selects. typeErr is set when name selects a
// choice element with a type the element does not allow.
func child(holder *elem, name string) (c *elem, code string, typeErr string) {
	if hit, ok := holder.byKey[name]; ok { // byName, else byChoice
		return hit.e, hit.code, ""
	}
	for _, c := range holder.children {
		if !c.choice() {
			continue
		}
		prefix := strings.TrimSuffix(c.name, "[x]")
		if !strings.HasPrefix(name, prefix) || len(name) == len(prefix) {
			continue
		}
		suffix := name[len(prefix):]
		if suffix[0] < 'A' || suffix[0] > 'Z' {
			continue
		}
		for _, t := range c.types {
			if t.code == suffix || isPrimitive(t.code) && strings.EqualFold(t.code, suffix) && strings.ToUpper(t.code[:1])+t.code[1:] == suffix {
				return c, t.code, ""
			}
		}
		return c, "", suffix
	}
	return nil, "", ""
}

// object validates the properties of a complex value against the children
// of holder (found from e and its type code).
func (r *run) object(obj map[string]any, e *elem, code, path string, res map[string]any) {
	if r.cancelled() {
		return
	}
	h := r.holder(e, code)
	if h == nil {
		return
	}
	// The items of every child, on the run's stack; walks below push theirs
	// after them and take them off again.
	// The properties too, read once from the map.
	start, pstart := len(r.items), len(r.props)
	defer func() { r.items, r.props = r.items[:start], r.props[:pstart] }()
	var one, oneExt [1]any
	isRoot := str(obj, "resourceType") != "" && (e.owner == nil || e == e.owner.root)
	underscored := false // some property is a primitive's _name
	for k, kv := range obj {
		r.props = append(r.props, member{k, kv})
		underscored = underscored || strings.HasPrefix(k, "_")
	}
	props := r.props[pstart:]
	for _, p := range props {
		k, kv := p.name, p.val
		if k == "resourceType" && (isRoot || e.owner != nil && e == e.owner.root || h.owner != nil && h == h.owner.root || r.v.isResourceType(code)) {
			continue
		}
		if k == "fhir_comments" && r.v.stu3 {
			continue
		}
		name, val, present := k, kv, true
		if strings.HasPrefix(k, "_") {
			name, val, present = k[1:], nil, false
			if _, both := obj[name]; both {
				continue // handled with name
			}
		}
		c, ccode, typeErr := child(h, name)
		if c == nil {
			r.issue(outcome.Error, outcome.CodeStructure, path+"."+name, "unknown element %q: %s has no element %s", name, label(e), h.path+"."+name)
			continue
		}
		if typeErr != "" {
			r.issue(outcome.Error, outcome.CodeStructure, path+"."+name, "type %s is not allowed for %s (allowed: %s)", typeErr, c.path, strings.Join(c.typeCodes(), ", "))
			continue
		}
		if present && val == nil {
			r.issue(outcome.Error, outcome.CodeStructure, path+"."+name, "%s is null: a property must have a value (leave it out, or use _%s alone for extensions)", name, name)
		}
		vals, ok := r.shape(val, c, path, name, &one)
		if !ok {
			continue
		}
		var exts []any
		if x, has := kv, !present; has || underscored {
			if !has {
				x, has = underscore(props, name)
			}
			if has {
				if ccode != "" && !isPrimitive(ccode) {
					r.issue(outcome.Error, outcome.CodeStructure, path+"._"+name, "_%s is only allowed for primitive elements", name)
				}
				exts, _ = r.shape(x, c, path, "_"+name, &oneExt)
			}
		}
		var np string // the path of a single value; array items get [i]
		if !c.arrayInJSON {
			np = r.subPath(path, name, -1)
		}
		n := max(len(vals), len(exts))
		if len(vals) > 0 && len(exts) > 0 && len(vals) != len(exts) {
			r.issue(outcome.Error, outcome.CodeStructure, path+"."+name, "%s and _%s have different lengths (%d and %d)", name, name, len(vals), len(exts))
		}
		for i := 0; i < n; i++ {
			it := item{code: ccode, path: np, child: c.index}
			if c.arrayInJSON {
				it.path = r.subPath(path, name, i)
			}
			if i < len(vals) {
				it.val = vals[i]
			}
			if i < len(exts) {
				it.ext, _ = exts[i].(map[string]any)
				if exts[i] != nil && it.ext == nil {
					r.issue(outcome.Error, outcome.CodeStructure, it.path, "_%s must hold objects", name)
				}
			}
			if it.val == nil && it.ext == nil {
				if i < len(vals) && len(exts) == 0 {
					r.issue(outcome.Error, outcome.CodeStructure, it.path, "null is not a valid value for %s", c.path)
				}
				continue
			}
			r.items = append(r.items, it)
		}
	}
	// By child, and in their order within each property.
	all := r.items[start:]
	sortByChild(all)
	for ci, c := range h.children {
		n := 0
		for n < len(all) && all[n].child == ci {
			n++
		}
		items := all[:n:n]
		all = all[n:]
		assigned := r.slices(c, items, path, res)
		if n := len(items); n < c.min || c.max >= 0 && n > c.max {
			r.cardinality(c, e, n, path+"."+c.name)
		}
		if c.name == "extension" || c.name == "modifierExtension" {
			r.contexts(items, obj, e, h, code, res)
		}
		for i, it := range items {
			d := c
			if assigned != nil && assigned[i] != nil {
				d = assigned[i]
			}
			r.value(it, d, res)
			if d == c && (c.name == "extension" || c.name == "modifierExtension") && !(h.owner != nil && h.owner.url == extensionBase) {
				r.extensionByURL(it, res, h.owner != nil && h.owner.typ == "Extension", c.name == "modifierExtension")
			}
		}
	}
}

// sortByChild orders items by the index of their element, keeping the
// order of the items of one element: an insertion sort for the few items
// of most objects, slices.SortStableFunc beyond.
func sortByChild(items []item) {
	if len(items) > 16 {
		slices.SortStableFunc(items, func(a, b item) int { return a.child - b.child })
		return
	}
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j-1].child > items[j].child; j-- {
			items[j-1], items[j] = items[j], items[j-1]
		}
	}
}

// underscore returns the value of property _name among props.
func underscore(props []member, name string) (any, bool) {
	for _, p := range props {
		if len(p.name) == len(name)+1 && p.name[0] == '_' && p.name[1:] == name {
			return p.val, true
		}
	}
	return nil, false
}

// extensionBase is the base Extension definition: sub-extensions of an
// extension are checked by the extension's own definition, not by url alone.
const extensionBase = "http://hl7.org/fhir/StructureDefinition/Extension"

// label names the profile an element comes from.
func label(e *elem) string {
	if e.owner == nil {
		return "the definition"
	}
	return e.owner.label()
}

// shape checks the JSON array rule for property name of the object at path
// and returns the values as a list. A single value is returned in one.
func (r *run) shape(v any, c *elem, objPath, name string, one *[1]any) ([]any, bool) {
	list, isList := v.([]any)
	switch {
	case isList && !c.arrayInJSON:
		if r.xml && len(list) > 0 {
			return list, true // XML repeats are counted by cardinality
		}
		r.issue(outcome.Error, outcome.CodeStructure, objPath+"."+name, "%s must be a single value, not an array (%s max 1)", name, c.path)
		return nil, false
	case !isList && c.arrayInJSON:
		if !r.xml {
			r.issue(outcome.Error, outcome.CodeStructure, objPath+"."+name, "%s must be an array (%s repeats)", name, c.path)
		}
		one[0] = v
		return one[:], true
	case isList && len(list) == 0:
		r.issue(outcome.Error, outcome.CodeStructure, objPath+"."+name, "%s is an empty array (leave it out instead)", name)
		return nil, false
	case isList:
		return list, true
	}
	one[0] = v
	return one[:], true
}

func (r *run) cardinality(c, parent *elem, n int, path string) {
	if n < c.min {
		r.issue(outcome.Error, outcome.CodeRequired, path, "%s: minimum required = %d, but found %d (%s)", c.path, c.min, n, label(c))
	}
	if c.max >= 0 && n > c.max {
		if c.max == 0 {
			r.issue(outcome.Error, outcome.CodeStructure, path, "%s is not allowed by %s, but found %d", c.path, label(c), n)
			return
		}
		r.issue(outcome.Error, outcome.CodeStructure, path, "%s: maximum allowed = %d, but found %d (%s)", c.path, c.max, n, label(c))
	}
}

// value validates one value against element e.
func (r *run) value(it item, e *elem, res map[string]any) {
	code := it.code
	if code == "" && len(e.types) >= 1 {
		code = e.types[0].code
		if len(e.types) > 1 && !e.choice() {
			// Same code repeated with different targets (STU3 Reference).
			code = e.types[0].code
		}
	}
	if it.ext != nil {
		if _, hasExt := it.ext["extension"]; !hasExt && it.val == nil {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s has neither a value nor extensions (ele-1: all FHIR elements must have a value or children)", e.path)
		}
		r.object(it.ext, e, "Element", it.path, res)
		if it.val == nil && e.fixed != nil {
			r.issue(outcome.Error, outcome.CodeValue, it.path, "%s has no value, but %s requires the fixed value %s", e.path, label(e), show(e.fixed))
		}
		if it.val == nil {
			r.valuePresence(it, e)
		}
	}
	if it.val == nil {
		return
	}
	switch {
	case code == "Resource" || code == "DomainResource" || !isPrimitive(code) && r.v.isResourceType(code) || (e.owner != nil && e.owner.typ == "Bundle" && strings.HasSuffix(e.path, ".resource")):
		// (Resource type names are capitalised, primitive type codes not.)
		obj, ok := it.val.(map[string]any)
		if !ok {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s must be a resource (a JSON object)", e.path)
			return
		}
		r.inner(obj, it.path, e, res)
		rt := str(obj, "resourceType")
		if len(e.children) > 0 && rt != "" {
			// A profile constrains the resource in place.
			r.enter(obj, e)
			r.object(obj, e, rt, it.path, obj)
			r.leave()
		}
		for _, t := range e.types {
			if t.code != rt && t.code != "Resource" && t.code != "DomainResource" {
				continue
			}
			// Several profiles on a type: the resource conforms to one of
			// them (those of its own type).
			var own []*structure
			var broken []string // profiles that could not be used
			var types []string  // the resource types the profiles are for
			for _, p := range t.profiles {
				s, err := r.v.comp.structure(p)
				if err == nil && s.typ == rt {
					own = append(own, s)
				} else if err != nil && (r.typeOf(p) == rt || r.typeOf(p) == "") {
					broken = append(broken, fmt.Sprintf("%s (%v)", p, err))
				}
				if err == nil && !slices.Contains(types, s.typ) {
					types = append(types, s.typ)
				}
			}
			if len(own) == 0 && len(broken) == 0 && len(types) > 0 {
				// Bundle.entry.resource profiled as DocumentManifest holds
				// a Patient.
				r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s: a %s is not allowed here: the profiles %s ask for %s", e.path, rt, strings.Join(t.profiles, ", "), strings.Join(types, " or "))
			}
			if len(own) == 0 || r.nest > maxNest {
				continue
			}
			r.nest++
			r.enter(obj, e)
			if len(own) == 1 && len(broken) == 0 {
				r.structure(obj, own[0], it.path, obj)
			} else if !slices.ContainsFunc(own, func(s *structure) bool {
				return r.trial(func(t *run) { t.structure(obj, s, it.path, obj) })
			}) {
				var names []string
				for _, s := range own {
					names = append(names, s.label())
				}
				if len(broken) > 0 {
					r.undecided(outcome.Warning, outcome.CodeNotFound, it.path, "%s: the %s conforms to none of the profiles %s; whether it conforms to %s was not checked: that profile could not be used", e.path, rt, strings.Join(names, ", "), strings.Join(broken, ", "))
				} else {
					r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s: the %s conforms to none of the profiles %s", e.path, rt, strings.Join(names, ", "))
				}
			}
			r.leave()
			r.nest--
		}
		return
	case isPrimitive(code):
		r.bounds(it.val, code, e, it.path)
		if !r.multi {
			r.primitive(it.val, code, e, it.path)
		} else if k := (memoKey{it.path, code}); !r.checked[k] {
			if r.checked == nil {
				r.checked = map[memoKey]bool{}
			}
			r.checked[k] = true
			r.primitive(it.val, code, e, it.path)
		} else if e.maxLength > 0 {
			r.primitive(it.val, code, e, it.path) // the profile's maxLength
		}
		r.fixedPattern(it.val, e, it.path)
		r.bindingCheck(it.val, code, e, it.path)
		r.invariants(e, it.val, code, it.path, res)
		if r.noExamples && (code == "uri" || code == "url" || code == "canonical") {
			if s, _ := it.val.(string); exampleURL(s) {
				r.issue(outcome.Error, outcome.CodeInvalid, it.path, "%s: example URLs (example.org) are not allowed here: %s", e.path, s)
			}
		}
		return
	}
	obj, ok := it.val.(map[string]any)
	if !ok {
		r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s must be an object (type %s), not %s", e.path, code, jsonKind(it.val))
		return
	}
	if len(obj) == 0 {
		r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s is an empty object: FHIR elements must have a value or children", e.path)
		return
	}
	r.fixedPattern(obj, e, it.path)
	r.bindingCheck(obj, code, e, it.path)
	r.ucum(obj, code, it.path)
	r.bounds(obj, code, e, it.path)
	if len(e.narrativeLanguage) > 0 {
		r.narrativeLanguage(obj, e, it.path, res)
	}
	if e.narrativeSource != "" {
		r.narrativeSource(obj, e, it.path)
	}
	if code == "Attachment" {
		r.attachment(obj, it.path)
	}
	if code == "Reference" {
		r.reference(obj, e, it.path, res)
	}
	if code == "Coding" {
		if sys := str(obj, "system"); sys != "" && !strings.Contains(sys, ":") {
			r.issue(outcome.Error, outcome.CodeValue, it.path+".system", "Coding.system %q must be an absolute URI, not a local reference", sys)
		}
		r.display(obj, it.path)
	}
	r.object(obj, e, code, it.path, res)
	r.invariants(e, obj, code, it.path, res)
	if len(e.children) == 0 && !typeProfiled(e, code) {
		// The constraints of the data type itself (per-1 on Period, qty-3
		// on Quantity, eld-13 on ElementDefinition) live on the type's root.
		if s, err := r.v.comp.typeStructure(code); err == nil && s.root != nil && s.root != e {
			r.invariants(s.root, obj, code, it.path, res)
		}
	}
	if code == "Extension" {
		if u, _ := obj["url"].(string); u == "" {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "an extension must have a url")
		}
	}
	// Profiles on the type (nl-core-HumanName, an extension definition).
	for _, t := range e.types {
		if t.code != code || len(t.profiles) == 0 || r.nest > maxNest {
			continue
		}
		ok := false
		var firstErr error
		for _, p := range t.profiles {
			s, err := r.v.comp.structure(p)
			if err != nil {
				firstErr = err
				continue
			}
			if len(t.profiles) == 1 {
				// object() already walked the profile's elements (holder
				// picks the single type profile); its root constraints remain.
				if len(e.children) == 0 {
					r.invariants(s.root, obj, s.typ, it.path, res)
				} else {
					r.nest++
					r.structure(obj, s, it.path, res)
					r.nest--
				}
				ok = true
				break
			}
			if r.trial(func(t *run) { t.structure(obj, s, it.path, res) }) {
				ok = true
				break
			}
		}
		if why, doc := documentationOnly(t.profiles); !ok && firstErr != nil && doc {
			r.issue(outcome.Information, outcome.CodeInformational, it.path, "%s: type profile %s is not loaded: %s", e.path, strings.Join(t.profiles, ", "), why)
		} else if !ok && firstErr != nil && r.hl7Policy {
			r.issue(outcome.Error, outcome.CodeNotFound, it.path, "%s: type profile could not be used: %v", e.path, firstErr)
		} else if !ok && firstErr != nil {
			r.undecided(outcome.Warning, outcome.CodeNotFound, it.path, "%s: type profile could not be used, so it was not checked: %v", e.path, firstErr)
		} else if !ok {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s does not conform to any of the profiles %s", e.path, strings.Join(t.profiles, ", "))
		}
	}
}

// inner validates a contained or Bundle-entry resource against its base
// definition and the profiles it claims.
func (r *run) inner(obj map[string]any, path string, e *elem, container map[string]any) {
	rt, _ := obj["resourceType"].(string)
	if rt == "" {
		r.issue(outcome.Error, outcome.CodeStructure, path, "%s holds a resource without resourceType", e.path)
		return
	}
	base, err := r.v.comp.typeStructure(rt)
	if err != nil || base.kind != "resource" {
		r.issue(outcome.Error, outcome.CodeStructure, path, "unknown resource type %q", rt)
		return
	}
	r.containers = append(r.containers, container)
	r.enter(obj, e)
	r.resource(obj, path, base, metaProfiles(obj), true, nil)
	r.leave()
	r.containers = r.containers[:len(r.containers)-1]
}

// enter makes obj, held by element e, the resource whose local references
// are resolved, until leave.
func (r *run) enter(obj map[string]any, e *elem) {
	l := local{res: obj}
	if e.name == "contained" {
		l = local{res: r.localRoot(), contained: true}
	}
	r.locals = append(r.locals, l)
}

func (r *run) leave() { r.locals = r.locals[:len(r.locals)-1] }

// local is where the local references of a resource resolve.
type local struct {
	res       map[string]any // the resource holding the contained resources
	contained bool           // the resource is itself contained
}

// localRoot is the resource whose contained resources the local
// references of the resource being validated point to.
func (r *run) localRoot() map[string]any {
	if n := len(r.locals); n > 0 {
		return r.locals[n-1].res
	}
	return r.root
}

// extensionByURL validates an extension that no slice matched against its
// definition, found by url.
func (r *run) extensionByURL(it item, res map[string]any, inExt, modifier bool) {
	obj, ok := it.val.(map[string]any)
	if !ok {
		return
	}
	url, _ := obj["url"].(string)
	if url == "" {
		return
	}
	if !strings.Contains(url, ":") {
		if inExt {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "sub-extension url %q is not defined by the extension that holds it", url)
		} else {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "extension url %q must be an absolute URL", url)
		}
		return
	}
	s, err := r.v.comp.structure(url)
	if err != nil {
		// HL7's own extensions live in packages that are often not loaded
		// (the extensions pack), and example.org is the domain examples use
		// (the HL7 validator accepts it): undecided. Any other unknown
		// extension is an error, as the HL7 validator reports it, and so is
		// every unknown modifier extension: it may change the meaning of
		// everything around it, so nothing that holds it can be read safely.
		switch {
		case modifier && !(r.hl7Policy && (strings.HasPrefix(url, "http://hl7.org/fhir/") || exampleDomain(url))):
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "modifier extension %s is unknown (not in the loaded packages): the meaning of what holds it cannot be known", url)
		case strings.HasPrefix(url, "http://hl7.org/fhir/") || exampleDomain(url) && !r.noExamples:
			r.undecided(outcome.Warning, outcome.CodeStructure, it.path, "extension %s is not in the loaded packages, so its content was not checked", url)
		default:
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "extension %s is unknown (not in the loaded packages), so it is not allowed here", url)
		}
		return
	}
	if s.typ != "Extension" {
		r.issue(outcome.Error, outcome.CodeStructure, it.path, "extension url %s names a %s definition, not an extension", url, s.typ)
		return
	}
	if !inExt && s.modifier != modifier {
		// A modifier extension changes the meaning of what holds it and
		// must stand where readers look for such: in modifierExtension,
		// and only there.
		if s.modifier {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "extension %s is a modifier extension: it must be in modifierExtension, not in extension", url)
		} else {
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "extension %s is not a modifier extension: it must be in extension, not in modifierExtension", url)
		}
	}
	if r.nest > maxNest {
		return
	}
	r.nest++
	r.structure(obj, s, it.path, res)
	r.nest--
}

// fixedPattern checks fixed[x] (exact) and pattern[x] (subset) values.
func (r *run) fixedPattern(v any, e *elem, path string) {
	if e.fixed != nil && !equal(v, e.fixed) {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: value %s does not equal the fixed value %s required by %s", e.path, show(v), show(e.fixed), label(e))
	}
	if e.pattern != nil && !matchPattern(v, e.pattern) {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: value %s does not match the pattern %s required by %s", e.path, show(v), show(e.pattern), label(e))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// equal compares two tree values exactly (numbers by value).
func equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equal(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok {
			return len(x) == 1 && equal(x[0], b)
		}
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		return numEqual(string(x), b)
	case float64:
		return numEqual(strconv.FormatFloat(x, 'f', -1, 64), b)
	}
	if y, ok := b.([]any); ok && len(y) == 1 {
		return equal(a, y[0])
	}
	switch b.(type) {
	case json.Number, float64:
		return equal(b, a)
	}
	return a == b
}

func numEqual(a string, b any) bool {
	var bs string
	switch y := b.(type) {
	case json.Number:
		bs = string(y)
	case float64:
		bs = strconv.FormatFloat(y, 'f', -1, 64)
	case string:
		bs = y
	default:
		return false
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(bs, 64)
	return err1 == nil && err2 == nil && x == y
}

// matchPattern reports whether v has at least the content of pattern.
func matchPattern(v, pattern any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		if list, ok := v.([]any); ok {
			for _, x := range list {
				if matchPattern(x, p) {
					return true
				}
			}
			return false
		}
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			if k == "id" || k == "extension" && false {
				continue
			}
			mv, ok := m[k]
			if !ok || !matchPattern(mv, pv) {
				return false
			}
		}
		return true
	case []any:
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		for _, pi := range p {
			found := false
			for _, x := range list {
				if matchPattern(x, pi) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if list, ok := v.([]any); ok {
		for _, x := range list {
			if equal(x, pattern) {
				return true
			}
		}
		return false
	}
	return equal(v, pattern)
}

// bindingCheck checks coded values against the element's binding.
func (r *run) bindingCheck(v any, code string, e *elem, path string) {
	r.checkBinding(e.binding, v, code, e, path)
	for _, b := range e.additional {
		r.checkBinding(b, v, code, e, path)
	}
}

// checkBinding checks coded values against one binding of element e.
func (r *run) checkBinding(b *binding, v any, code string, e *elem, path string) {
	if b == nil || (b.strength != "required" && b.strength != "extensible") {
		return
	}
	var codings []terminology.Coding
	at := func(int) string { return path } // the location of the i-th Coding
	switch code {
	case "code", "string", "uri":
		s, _ := v.(string)
		if s == "" {
			return
		}
		codings = []terminology.Coding{{Code: s}}
	case "Coding":
		m, _ := v.(map[string]any)
		codings = []terminology.Coding{coding(m)}
	case "CodeableConcept":
		m, _ := v.(map[string]any)
		for _, c := range asList(m["coding"]) {
			cm, _ := c.(map[string]any)
			codings = append(codings, coding(cm))
		}
		at = func(i int) string { return path + ".coding[" + strconv.Itoa(i) + "]" }
		if len(codings) == 0 {
			if b.strength == "required" {
				r.issue(outcome.Error, outcome.CodeCodeInvalid, path, "%s: no code given, but a code from %s is required (%s)", e.path, b.valueSet, label(e))
			}
			return
		}
	case "Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity":
		m, _ := v.(map[string]any)
		c := str(m, "code")
		if c == "" {
			if b.strength == "required" {
				r.issue(outcome.Error, outcome.CodeCodeInvalid, path, "%s: the quantity has no code, but a unit code from %s is required (%s)", e.path, b.valueSet, label(e))
			}
			return
		}
		codings = []terminology.Coding{{System: str(m, "system"), Code: c}}
	default:
		return
	}
	var unknown []string
	var notMember []string
	for i, c := range codings {
		if c.Code == "" {
			continue
		}
		res := r.validateCode(b.valueSet, c)
		if res.Outcome != terminology.NotMember && c.Display != "" && c.System != "" {
			// Judged here, with the value set's displays; or not at all
			// when the value set cannot be read (its displays may be its
			// own).
			if r.displayDone == nil {
				r.displayDone = map[string]bool{}
			}
			r.displayDone[at(i)] = true
		}
		switch res.Outcome {
		case terminology.Member:
			if res.DisplayWarning != "" {
				r.issue(r.displaySeverity(), outcome.CodeInvalid, path, "%s: %s", e.path, res.DisplayWarning)
			}
			return
		case terminology.Unknown:
			unknown = append(unknown, res.Message)
		default:
			notMember = append(notMember, fmt.Sprintf("%s|%s: %s", c.System, c.Code, res.Message))
		}
	}
	if len(unknown) == 0 && len(notMember) == 0 {
		return
	}
	if len(notMember) > 0 && len(unknown) == 0 {
		sev := outcome.Error
		if b.strength == "extensible" {
			sev = outcome.Warning
		}
		r.issue(sev, outcome.CodeCodeInvalid, path, "%s: code not in the %s value set %s (%s): %s", e.path, b.strength, b.valueSet, label(e), strings.Join(notMember, "; "))
		return
	}
	sev := outcome.Warning
	if b.strength == "extensible" {
		sev = outcome.Information
	}
	r.undecided(sev, outcome.CodeNotSupported, path, "%s: membership in the %s value set %s could not be checked: %s", e.path, b.strength, b.valueSet, strings.Join(unknown, "; "))
}

func coding(m map[string]any) terminology.Coding {
	return terminology.Coding{System: str(m, "system"), Version: str(m, "version"), Code: str(m, "code"), Display: str(m, "display")}
}

// displaySeverity is the severity of a display that is not one of the
// code's known displays: a warning, as the HL7 validator's
// display-issues-are-warnings mode has it (the Nictiz examples carry Dutch
// and abbreviated displays, e.g. "Inpatient" for v3-ActCode IMP), unless
// Request.WrongDisplayIsError.
func (r *run) displaySeverity() string {
	if r.displayErrors {
		return outcome.Error
	}
	return outcome.Warning
}

// display checks the display of a Coding against its code system, bound
// or not, unless a binding check has judged it already (the value set's
// displays count there too).
func (r *run) display(obj map[string]any, path string) {
	d, sys, c := str(obj, "display"), str(obj, "system"), str(obj, "code")
	if d == "" || sys == "" || c == "" || r.displayDone[path] {
		return
	}
	res := r.v.displayIn(terminology.Coding{System: sys, Version: str(obj, "version"), Code: c, Display: d})
	if res.Outcome == terminology.Member && res.DisplayWarning != "" {
		r.issue(r.displaySeverity(), outcome.CodeInvalid, path+".display", "%s", res.DisplayWarning)
	}
}

// exampleURL says whether a URL is on example.org or one of its
// subdomains.
func exampleURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "https://"); !ok {
			return false
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, ":")
	return host == "example.org" || strings.HasSuffix(host, ".example.org")
}

// expander is the optional part of Terminology used for codes without a system.
type expander interface {
	Expand(valueSet string) (*terminology.Expansion, error)
}

// validateCode checks a coding; a bare code (a code primitive, whose system
// the ValueSet implies) is looked up in the ValueSet's expansion by code.
func (r *run) validateCode(vs string, c terminology.Coding) terminology.Result {
	if c.System != "" {
		return r.v.codes.validate(r.v.term, vs, c)
	}
	x, ok := r.v.term.(expander)
	if !ok {
		return r.v.term.ValidateCode(vs, c)
	}
	exp, codes, err := r.v.expansion(x, vs)
	if err != nil {
		return terminology.Result{Outcome: terminology.Unknown, Message: err.Error()}
	}
	if codes[c.Code] {
		return terminology.Result{Outcome: terminology.Member}
	}
	if exp.Complete {
		return terminology.Result{Outcome: terminology.NotMember, Message: fmt.Sprintf("code %q is not in value set %s", c.Code, vs)}
	}
	return terminology.Result{Outcome: terminology.Unknown, Message: fmt.Sprintf("code %q is not among the codes of %s that could be enumerated (%s)", c.Code, vs, strings.Join(exp.Incomplete, "; "))}
}

// contexts checks every extension in items against the contexts its
// definition allows; obj is the object holding them, described by e, h and code.
func (r *run) contexts(items []item, obj map[string]any, e, h *elem, code string, res map[string]any) {
	if e.owner != nil && e.owner.url == extensionBase {
		return // inside an extension walked generically: its definition's walk checks this
	}
	var hs *host // made for the first extension whose definition has contexts
	for _, it := range items {
		m, ok := it.val.(map[string]any)
		if !ok {
			continue
		}
		url := str(m, "url")
		if !strings.Contains(url, ":") {
			continue // a sub-extension of a complex extension
		}
		if s, err := r.v.comp.structure(url); err == nil && s.typ == "Extension" && (len(s.contexts)+len(s.contextInvariants) > 0 || s.versions != versionRange{}) {
			if hs == nil {
				hs = extensionHost(obj, e, h, code, res)
			}
			r.extensionContext(s, *hs, m, it.path)
		}
	}
}

// extensionHost describes obj, the object holding extensions, described by
// e, h and code, for the contexts of their definitions.
func extensionHost(obj map[string]any, e, h *elem, code string, res map[string]any) *host {
	hs := &host{paths: []string{e.path}, types: []string{code}, obj: obj, res: res}
	for _, p := range []string{h.path, e.basePath, h.basePath} {
		if p != "" && p != e.path {
			hs.paths = append(hs.paths, p)
		}
	}
	if code == "Element" { // the _name object of a primitive: the primitive's type
		hs.types = e.typeCodes()
	}
	if rt := str(obj, "resourceType"); rt != "" {
		hs.root = true
		hs.types = append(hs.types, rt)
	}
	if code == "Extension" {
		hs.extURL = str(obj, "url")
	} else if e.owner != nil && e.owner.typ == "Extension" && e.owner.url != extensionBase {
		hs.extURL = e.owner.url // inside an extension's value
	}
	return hs
}

// codeMemo remembers the answers of an offline terminology service, which
// answers a question the same way every time, up to maxCodeMemo of them.
type codeMemo struct {
	answers memo[codeQuestion, terminology.Result]
}

// maxCodeMemo bounds the answers a validator remembers.
const maxCodeMemo = 1 << 14

type codeQuestion struct {
	valueSet string
	coding   terminology.Coding
}

// validate asks term, or remembers its answer (m nil: asks every time).
func (m *codeMemo) validate(term Terminology, vs string, c terminology.Coding) terminology.Result {
	if m == nil {
		return term.ValidateCode(vs, c)
	}
	q := codeQuestion{vs, c}
	if res, ok := m.answers.get(q); ok {
		return res
	}
	res := term.ValidateCode(vs, c)
	m.answers.put(q, res)
	return res
}

// cachedExpansion is a ValueSet expansion with its codes as a set, for codes
// without a system.
type cachedExpansion struct {
	exp   *terminology.Expansion
	codes map[string]bool
	err   error
}

// expansion expands a ValueSet once per validator.
func (v *Validator) expansion(x expander, vs string) (*terminology.Expansion, map[string]bool, error) {
	if ce, ok := v.expansions.get(vs); ok {
		return ce.exp, ce.codes, ce.err
	}
	exp, err := x.Expand(vs)
	ce := &cachedExpansion{exp: exp, err: err, codes: map[string]bool{}}
	if exp != nil {
		for _, k := range exp.Contains {
			ce.codes[k.Code] = true
		}
	}
	v.expansions.put(vs, ce)
	return ce.exp, ce.codes, ce.err
}

// exampleDomain says whether a URL is on example.org, the domain FHIR
// examples use for made-up extensions.
func exampleDomain(url string) bool {
	for _, p := range []string{"http://example.org/", "https://example.org/"} {
		if strings.HasPrefix(url, p) {
			return true
		}
	}
	return false
}

// valuePresence checks a primitive that carries only extensions against the
// profile's mustHaveValue and valueAlternatives.
func (r *run) valuePresence(it item, e *elem) {
	if e.mustHaveValue {
		r.issue(outcome.Error, outcome.CodeRequired, it.path, "%s must have a value (%s requires it), not only extensions", e.path, label(e))
		return
	}
	if len(e.valueAlternatives) == 0 {
		return
	}
	for _, x := range asList(it.ext["extension"]) {
		xm, _ := x.(map[string]any)
		for _, alt := range e.valueAlternatives {
			if str(xm, "url") == alt {
				return
			}
		}
	}
	r.issue(outcome.Error, outcome.CodeRequired, it.path, "%s has no value, and none of the extensions allowed in its place (%s) (%s)", e.path, strings.Join(e.valueAlternatives, ", "), label(e))
}

// issues adds the findings of a rule package to the outcome.
func (r *run) issues(found []outcome.Issue) {
	for _, is := range found {
		loc := ""
		if len(is.Expression) > 0 {
			loc = is.Expression[0]
		}
		r.issue(is.Severity, is.Code, loc, "%s", is.Diagnostics)
	}
}

// questionnaireEnv gives the QuestionnaireResponse rules the validator's
// definitions and terminology.
func (r *run) questionnaireEnv(path string) questionnaire.Env {
	env := questionnaire.Env{Path: path, FHIRVersion: r.v.version, Resolve: r.v.reg.Resource, IsResourceType: r.v.isResourceType,
		MemberOf: func(vs, system, code string) (bool, bool) {
			res := r.validateCode(vs, terminology.Coding{System: system, Code: code})
			return res.Outcome == terminology.Member, res.Outcome != terminology.Unknown
		}}
	if cs, ok := r.v.term.(interface {
		ValidateCodeInSystem(terminology.Coding) terminology.Result
	}); ok {
		env.DisplayOK = func(system, code, display string) (bool, bool) {
			res := cs.ValidateCodeInSystem(terminology.Coding{System: system, Code: code, Display: display})
			return res.DisplayWarning == "", res.Outcome == terminology.Member
		}
	}
	return env
}

// typeProfiled says whether an element's type code carries profiles (whose
// root constraints are checked with them).
func typeProfiled(e *elem, code string) bool {
	for _, t := range e.types {
		if t.code == code && len(t.profiles) > 0 {
			return true
		}
	}
	return false
}

// ucumSystem is the code system of UCUM units.
const ucumSystem = "http://unitsofmeasure.org"

// quantityTypes are Quantity and the types that constrain it.
var quantityTypes = map[string]bool{"Quantity": true, "Age": true, "Duration": true, "Distance": true, "Count": true, "SimpleQuantity": true, "MoneyQuantity": true}

// ucum checks the unit code of a Quantity, or the code of a Coding, whose
// system is UCUM against the UCUM grammar and unit table, bound or not.
func (r *run) ucum(obj map[string]any, code, path string) {
	if (!quantityTypes[code] && code != "Coding") || str(obj, "system") != ucumSystem {
		return
	}
	c := str(obj, "code")
	if c == "" {
		return
	}
	res := r.v.inSystem(terminology.Coding{System: ucumSystem, Code: c})
	switch res.Outcome {
	case terminology.NotMember:
		r.issue(outcome.Error, outcome.CodeCodeInvalid, path+".code", "%s", res.Message)
	case terminology.Unknown:
		r.undecided(outcome.Information, outcome.CodeNotSupported, path+".code", "%s", res.Message)
	}
}
