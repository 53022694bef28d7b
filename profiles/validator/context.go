package validator

import (
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// host describes the element an extension sits on.
type host struct {
	paths  []string // element paths: "Patient.name", "HumanName", "Address.line"
	types  []string // type codes: "HumanName", "string", or the resource type
	root   bool     // the extension is on a resource
	extURL string   // the url of the extension it sits in (complex extensions)
}

// extensionContext checks that extension definition s may be used on h.
func (r *run) extensionContext(s *structure, h host, path string) {
	if len(s.contexts) == 0 {
		return
	}
	var allowed []string
	for _, c := range s.contexts {
		if r.contextAllows(c, h) {
			return
		}
		allowed = append(allowed, c.expr)
	}
	where := strings.Join(h.paths, ", ")
	// A warning, not an error: the context rules are checked by element path
	// and type only (fhirpath contexts are not evaluated), so a mismatch is
	// reported without failing the resource.
	r.issue(outcome.Warning, outcome.CodeBusinessRule, path, "extension %s is not allowed here (on %s); its definition allows it on %s", s.url, where, strings.Join(allowed, ", "))
}

func (r *run) contextAllows(c extContext, h host) bool {
	switch c.typ {
	case "extension":
		return c.expr == h.extURL || strings.TrimSuffix(c.expr, "|") == h.extURL
	case "element", "":
	default:
		return true // fhirpath contexts are not evaluated: allowed
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
