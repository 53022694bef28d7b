package validator

import (
	"reflect"
	"strings"

	"github.com/bcbench/bcbench/profiles/fhirpath"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// host describes the element an extension sits on.
type host struct {
	paths  []string       // element paths: "Patient.name", "HumanName", "Address.line"
	types  []string       // type codes: "HumanName", "string", or the resource type
	root   bool           // the extension is on a resource
	extURL string         // the url of the extension it sits in (complex extensions)
	obj    map[string]any // the object holding the extension
	res    map[string]any // the resource it is in
}

// extensionContext checks that extension definition s may be used on h:
// one of its contexts allows the place, and each of its context invariants
// holds there. ext is the extension itself.
func (r *run) extensionContext(s *structure, h host, ext map[string]any, path string) {
	if contextFree(path) || s.url == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" {
		return
	}
	if !s.versions.holds(r.v.version) {
		r.issue(outcome.Error, outcome.CodeBusinessRule, path, "extension %s may be used in FHIR versions %s only (version-specific-use), not in %s", s.url, s.versions, r.v.version)
		return
	}
	if len(s.contexts) > 0 {
		ok := false
		var allowed []string
		for _, c := range s.contexts {
			if !c.versions.holds(r.v.version) {
				continue // a context for other FHIR versions
			}
			if r.contextAllows(c, h) {
				ok = true
				break
			}
			allowed = append(allowed, c.expr)
		}
		if !ok {
			where := strings.Join(h.paths, ", ")
			if len(allowed) == 0 {
				allowed = []string{"no element (none of its contexts is for this version)"}
			}
			r.issue(outcome.Error, outcome.CodeBusinessRule, path, "extension %s is not allowed here (on %s); in FHIR %s its definition allows it on %s", s.url, where, r.v.version, strings.Join(allowed, ", "))
			return
		}
	}
	for _, inv := range s.contextInvariants {
		r.contextInvariant(s.url, inv, h, ext, path)
	}
}

// contextInvariant evaluates a context invariant of extension definition
// url on the element the extension is used on (the focus, %extension the
// extension): false is an error, an expression that cannot be evaluated
// leaves the use undecided.
func (r *run) contextInvariant(url, expr string, h host, ext map[string]any, path string) {
	f, ok := r.v.inv.(*fhirpathEngine)
	if !ok || h.obj == nil {
		r.undecided(outcome.Information, outcome.CodeNotSupported, path, "context invariant %q of extension %s could not be evaluated: no FHIRPath engine or no element to evaluate it on", expr, url)
		return
	}
	e, err := f.compile(expr)
	if err != nil {
		r.undecided(outcome.Information, outcome.CodeNotSupported, path, "context invariant %q of extension %s could not be evaluated: %v", expr, url, err)
		return
	}
	focusType := ""
	if !h.root && len(h.types) > 0 {
		focusType = h.types[0]
	}
	val, decided, err := e.EvaluateBool(h.obj, &fhirpath.Env{Resource: h.res, RootResource: r.root, FocusType: focusType, Types: f.types(), MaxSteps: 100000, Variables: map[string]any{"extension": ext}})
	switch {
	case err != nil:
		r.undecided(outcome.Information, outcome.CodeNotSupported, path, "context invariant %q of extension %s could not be evaluated: %v", expr, url, err)
	case decided && !val:
		r.issue(outcome.Error, outcome.CodeBusinessRule, path, "extension %s is not allowed here: its context invariant %q does not hold on %s", url, expr, strings.Join(h.paths, ", "))
	}
}

func (r *run) contextAllows(c extContext, h host) bool {
	switch c.typ {
	case "extension":
		return c.expr == h.extURL || strings.TrimSuffix(c.expr, "|") == h.extURL
	case "element", "":
	case "fhirpath":
		return r.fhirpathContext(c.expr, h)
	default:
		return true
	}
	e := c.expr
	if i := strings.Index(e, "#"); i >= 0 { // url#path form
		e = e[i+1:]
	}
	switch e {
	case "Element", "Base", "*", "Any", "CanonicalResource", "MetadataResource":
		return true
	case "Resource", "DomainResource":
		return h.root
	}
	if rest, ok := strings.CutPrefix(e, "Resource."); ok {
		for _, p := range h.paths {
			if i := strings.IndexByte(p, '.'); i >= 0 && p[i+1:] == rest {
				return true
			}
		}
	}
	for _, p := range h.paths {
		if p == e {
			return true
		}
		// STU3 contexts name a resource path and allow the elements in it.
		if r.v.stu3 && strings.HasPrefix(p, e+".") {
			return true
		}
		// A context on a data type element (HumanName.family) allows that
		// element wherever the type is used (Patient.name.family).
		if dot := strings.IndexByte(e, '.'); dot > 0 && !r.v.isResourceType(e[:dot]) && strings.HasSuffix(p, e[dot:]) {
			return true
		}
	}
	for _, t := range h.types {
		for t != "" {
			if t == e {
				return true
			}
			t = r.v.baseType(t)
		}
	}
	return false
}

// contextFree reports locations where extensions are data, not use: values
// of any type inside definitions (ElementDefinition fixed[x], pattern[x],
// example, defaultValue[x], min/maxValue[x]) and Parameters values.
func contextFree(path string) bool {
	for _, p := range []string{".fixed", ".pattern", ".example", ".defaultValue", ".minValue", ".maxValue", "Parameters.parameter"} {
		if strings.Contains(path, p) {
			return true
		}
	}
	return false
}

// fhirpathContext evaluates a fhirpath context on the resource and reports
// whether the holding object is among the elements it selects.
func (r *run) fhirpathContext(expr string, h host) bool {
	f, ok := r.v.inv.(*fhirpathEngine)
	if !ok || h.obj == nil || h.res == nil {
		return true // cannot evaluate: allow
	}
	e, err := f.compile(expr)
	if err != nil {
		return true
	}
	out, err := e.Evaluate(h.res, &fhirpath.Env{Resource: h.res, RootResource: r.root, Types: f.types(), MaxSteps: 100000})
	if err != nil {
		return true
	}
	want := reflect.ValueOf(h.obj).Pointer()
	for _, v := range out {
		if el, ok := v.(*fhirpath.Element); ok {
			if m, ok := el.Data().(map[string]any); ok && reflect.ValueOf(m).Pointer() == want {
				return true
			}
		}
	}
	return false
}
