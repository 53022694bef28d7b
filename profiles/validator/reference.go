package validator

import (
	"slices"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/snapshot"
)

// reference checks a Reference's target type and, when the target resolves
// (contained, or an entry of the Bundle being validated), its profiles.
func (r *run) reference(obj map[string]any, e *elem, path string, res map[string]any) {
	ref, _ := obj["reference"].(string)
	if ref == "" {
		return
	}
	if hasSpace(ref) {
		r.issue(outcome.Error, outcome.CodeValue, path+".reference", "%q is not a valid reference (it contains white space)", ref)
		return
	}
	if !strings.HasPrefix(ref, "#") && !strings.HasPrefix(ref, "urn:") {
		s := ref
		if i := strings.Index(s, "/_history/"); i >= 0 {
			s = s[:i]
		}
		if parts := strings.Split(s, "/"); len(parts) >= 2 {
			if t := parts[len(parts)-2]; t != "" && t[0] >= 'A' && t[0] <= 'Z' && !r.v.isResourceType(t) && !strings.Contains(t, ".") && !strings.Contains(t, ":") {
				r.issue(outcome.Error, outcome.CodeValue, path+".reference", "reference %s names the resource type %s, which FHIR %s does not have", ref, t, r.v.version)
				return
			}
		}
	}
	target, typ := r.resolve(ref, res)
	if target != nil && !strings.HasPrefix(ref, "#") && !strings.Contains(ref, ":") {
		if parts := strings.Split(ref, "/"); len(parts) >= 2 && parts[len(parts)-2] != typ && r.v.isResourceType(parts[len(parts)-2]) {
			r.issue(outcome.Error, outcome.CodeStructure, path+".reference", "reference %s resolves in the Bundle to a %s", ref, typ)
		}
	}
	if strings.HasPrefix(ref, "#") && target == nil {
		r.issue(outcome.Error, outcome.CodeStructure, path+".reference", "reference %s: no contained resource with id %q", ref, ref[1:])
		return
	}
	if target == nil && r.root != nil && str(r.root, "resourceType") == "Bundle" && str(r.root, "type") == "document" &&
		!strings.Contains(ref, ":") && !strings.HasPrefix(ref, "#") && strings.Count(ref, "/") == 1 {
		r.issue(outcome.Error, outcome.CodeNotFound, path+".reference", "reference %s: no entry of this document Bundle has it (references in a document must resolve inside the Bundle)", ref)
	}
	if target == nil && !strings.HasPrefix(ref, "#") && !strings.Contains(ref, ":") && typ != "" {
		// A relative reference Type/id that resolves nowhere.
		if r.mustResolve {
			r.issue(outcome.Error, outcome.CodeNotFound, path+".reference", "reference %s does not resolve (references must resolve here)", ref)
			return
		}
		if r.uncheckedREST {
			typ = "" // the type its text names is not taken as the target's
		}
	}
	if t, ok := obj["type"].(string); ok && typ == "" {
		typ = t
	}
	var targets []string
	for _, t := range e.types {
		if t.code == "Reference" {
			targets = append(targets, t.targets...)
		}
	}
	if len(targets) == 0 || typ == "" {
		return
	}
	var names []string // the types allowed
	for _, t := range targets {
		name := r.typeOf(t)
		if name == "Resource" {
			return // any resource
		}
		if name == "" {
			// A target profile that is not loaded: the HL7 validator
			// reports it as an error, bcbench as undecided (the packages
			// lack it, which is no defect of the resource).
			if r.hl7Policy {
				r.issue(outcome.Error, outcome.CodeNotFound, path+".reference", "target profile %s of %s is not loaded", t, e.path)
			} else {
				r.undecided(outcome.Warning, outcome.CodeNotFound, path+".reference", "target profile %s of %s is not loaded, so the type of %s was not checked", t, e.path, ref)
			}
			return
		}
		names = append(names, name)
	}
	if !slices.Contains(names, typ) {
		r.issue(outcome.Error, outcome.CodeStructure, path+".reference", "reference %s points to a %s, but %s allows only %s (%s)", ref, typ, e.path, strings.Join(names, ", "), label(e))
		return
	}
	if r.nest > maxNest {
		return
	}
	var profiles []string
	for _, t := range targets {
		if r.typeOf(t) != typ {
			continue
		}
		if t == snapshot.TypeURL(typ) {
			return // the base type: any resource of that type
		}
		profiles = append(profiles, t)
	}
	if len(profiles) == 0 {
		return
	}
	if target == nil {
		r.undecided(outcome.Information, outcome.CodeNotFound, path+".reference", "reference %s could not be resolved, so whether it conforms to the target profile %s of %s was not checked", ref, strings.Join(profiles, ", "), e.path)
		return
	}
	for _, p := range profiles {
		s, err := r.v.comp.structure(p)
		if err != nil {
			r.undecided(outcome.Warning, outcome.CodeNotFound, path+".reference", "target profile %s of %s could not be used, so %s was not checked against it: %v", p, e.path, ref, err)
			return
		}
		if s.typ != typ {
			continue
		}
		if r.trial(func(t *run) {
			t.nest++
			l := local{res: target}
			if strings.HasPrefix(ref, "#") {
				l = local{res: t.localRoot(), contained: true}
			}
			t.locals = append(t.locals[:len(t.locals):len(t.locals)], l)
			t.structure(target, s, path, target)
		}) {
			return
		}
	}
	r.issue(outcome.Error, outcome.CodeStructure, path+".reference", "reference %s resolves to a %s that conforms to none of the target profiles %s of %s", ref, typ, strings.Join(profiles, ", "), e.path)
}

// typeOf returns the resource type a target profile constrains.
// The answers are remembered: the canonicals come from the definitions.
func (r *run) typeOf(canonical string) string {
	if t, ok := r.v.typeNames.get(canonical); ok {
		return t
	}
	t := ""
	if e, ok := r.v.reg.Lookup(canonical); ok && e.Type != "" {
		t = e.Type
	} else if strings.HasPrefix(canonical, "http://hl7.org/fhir/StructureDefinition/") {
		t = strings.TrimPrefix(canonical, "http://hl7.org/fhir/StructureDefinition/")
	}
	r.v.typeNames.put(canonical, t)
	return t
}

// resolve finds the resource a reference points to (contained in res, in
// the Bundle under validation, or through Request.Resolve) and the referenced type (from the resource or
// from the reference text).
func (r *run) resolve(ref string, res map[string]any) (map[string]any, string) {
	if strings.HasPrefix(ref, "#") {
		if ref == "#" {
			return res, str(res, "resourceType")
		}
		// In a contained resource, "#id" points into the container.
		holders := []map[string]any{res}
		if n := len(r.containers); n > 0 {
			holders = append(holders, r.containers[n-1])
		}
		for _, h := range holders {
			for _, c := range asList(h["contained"]) {
				cm, _ := c.(map[string]any)
				if str(cm, "id") == ref[1:] {
					return cm, str(cm, "resourceType")
				}
			}
		}
		return nil, ""
	}
	if b := r.root; b != nil && str(b, "resourceType") == "Bundle" {
		for _, en := range asList(b["entry"]) {
			em, _ := en.(map[string]any)
			rm, _ := em["resource"].(map[string]any)
			if rm == nil {
				continue
			}
			full := str(em, "fullUrl")
			rel := str(rm, "resourceType") + "/" + str(rm, "id")
			if full == ref || full == "" && rel == ref || strings.HasSuffix(full, "/"+ref) && !strings.Contains(ref, "://") {
				return rm, str(rm, "resourceType")
			}
		}
	}
	if p := r.root; p != nil && str(p, "resourceType") == "Parameters" && !strings.Contains(ref, ":") {
		if t := parameterResource(asList(p["parameter"]), ref, 0); t != nil {
			return t, str(t, "resourceType")
		}
	}
	if r.resolver != nil && !strings.HasPrefix(ref, "urn:") {
		if t, ok := r.resolver(ref); ok && t != nil {
			return t, str(t, "resourceType")
		}
	}
	// Type from the text: [base/]Type/id[/_history/v]
	s := ref
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, "/")
	if len(parts) >= 2 {
		t := parts[len(parts)-2]
		if e, ok := r.v.reg.Lookup(snapshot.TypeURL(t)); ok && e.Kind == "resource" {
			return nil, t
		}
	}
	return nil, ""
}

// parameterResource finds the resource Type/id among the resources of
// Parameters parameters (and their parts, to a bounded depth).
func parameterResource(params []any, ref string, depth int) map[string]any {
	if depth > maxNest {
		return nil
	}
	for _, p := range params {
		pm, _ := p.(map[string]any)
		if rm, ok := pm["resource"].(map[string]any); ok && str(rm, "id") != "" && str(rm, "resourceType")+"/"+str(rm, "id") == ref {
			return rm
		}
		if t := parameterResource(asList(pm["part"]), ref, depth+1); t != nil {
			return t
		}
	}
	return nil
}
