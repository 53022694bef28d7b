package validator

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bcbench/bcbench/profiles/bundle"
	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/outcome"
)

// rules applies the rules of particular resource types that no profile
// states: they come from the resource pages of the FHIR specification.
func (r *run) rules(res map[string]any, rt string) {
	switch rt {
	case "SearchParameter":
		r.searchParameterRules(res)
	case "CapabilityStatement":
		r.capabilityRules(res)
	case "ValueSet":
		r.valueSetParameterRules(res)
	}
}

// searchParameterRules: a SearchParameter derived from another keeps its
// type and applies to (a subset of) its base resources.
func (r *run) searchParameterRules(sp map[string]any) {
	from := str(sp, "derivedFrom")
	if from == "" {
		return
	}
	parent, ok := r.v.reg.Resource(from)
	if !ok || str(parent, "resourceType") != "SearchParameter" {
		r.undecided(outcome.Warning, outcome.CodeNotFound, "SearchParameter.derivedFrom", "the SearchParameter %s it is derived from is not loaded, so the derivation was not checked", from)
		return
	}
	if t, pt := str(sp, "type"), str(parent, "type"); t != "" && pt != "" && t != pt {
		r.issue(outcome.Error, outcome.CodeInvalid, "SearchParameter.type", "the type %s differs from the type %s of %s, which it is derived from", t, pt, from)
	}
	parentBase := strList(parent["base"])
	for i, b := range strList(sp["base"]) {
		if !slices.Contains(parentBase, b) && !slices.Contains(parentBase, "Resource") && !slices.Contains(parentBase, "DomainResource") {
			r.issue(outcome.Error, outcome.CodeInvalid, fmt.Sprintf("SearchParameter.base[%d]", i), "the base %s is not among the bases %v of %s, which it is derived from", b, parentBase, from)
		}
	}
}

// capabilityRules: a search parameter a CapabilityStatement declares with a
// definition has the definition's type.
func (r *run) capabilityRules(cs map[string]any) {
	for i, rest := range asList(cs["rest"]) {
		restm, _ := rest.(map[string]any)
		for j, res := range asList(restm["resource"]) {
			resm, _ := res.(map[string]any)
			for k, p := range asList(resm["searchParam"]) {
				pm, _ := p.(map[string]any)
				def := str(pm, "definition")
				if def == "" {
					continue
				}
				sp, ok := r.v.reg.Resource(def)
				if !ok {
					continue
				}
				if t, want := str(pm, "type"), str(sp, "type"); t != "" && want != "" && t != want {
					r.issue(outcome.Error, outcome.CodeInvalid, fmt.Sprintf("CapabilityStatement.rest[%d].resource[%d].searchParam[%d]", i, j, k),
						"search parameter %s has type %s here, but its definition %s says %s", str(pm, "name"), t, def, want)
				}
			}
		}
	}
}

// bundleRules validates the entries each rule selects against its profile.
func (r *run) bundleRules(b map[string]any, rules []BundleRule) {
	entries := asList(b["entry"])
	for _, rule := range rules {
		picked, err := bundle.Select(b, rule.Rule)
		if err != nil {
			r.issue(outcome.Error, outcome.CodeProcessing, "Bundle", "bundle rule %q: %v", rule.Rule, err)
			continue
		}
		for _, i := range picked {
			if i < 0 || i >= len(entries) {
				continue
			}
			entry, _ := entries[i].(map[string]any)
			res, _ := entry["resource"].(map[string]any)
			rt := str(res, "resourceType")
			base, err := r.v.comp.typeStructure(rt)
			if res == nil || err != nil {
				continue
			}
			r.resource(res, fmt.Sprintf("Bundle.entry[%d].resource", i), base, []string{rule.Profile}, false, res)
		}
	}
}

// narrativeLanguage checks the language sections of a narrative (the
// top-level divs with a lang or xml:lang attribute) against the profile's
// narrative-language-control: _yes requires sections, _no forbids them,
// _resource requires one for the resource's language, and language codes
// require one each.
func (r *run) narrativeLanguage(narrative map[string]any, e *elem, path string, res map[string]any) {
	div, _ := narrative["div"].(string)
	langs := languageSections(div)
	for _, rule := range e.narrativeLanguage {
		switch rule {
		case "_yes":
			if len(langs) == 0 {
				r.issue(outcome.Error, outcome.CodeBusinessRule, path, "the narrative has no language sections, but %s requires them", label(e))
			}
		case "_no":
			if len(langs) > 0 {
				r.issue(outcome.Error, outcome.CodeBusinessRule, path, "the narrative has language sections (%s), but %s does not allow them", strings.Join(langs, ", "), label(e))
			}
		case "_resource":
			want := str(res, "language")
			if want != "" && !slices.Contains(langs, want) {
				r.issue(outcome.Error, outcome.CodeBusinessRule, path, "%s requires a narrative section for the resource's language %s, but found %s", label(e), want, strings.Join(langs, ", "))
			}
		default:
			if !slices.Contains(langs, rule) {
				r.issue(outcome.Error, outcome.CodeBusinessRule, path, "%s requires a narrative section in language %s, but found %s", label(e), rule, strings.Join(langs, ", "))
			}
		}
	}
}

// languageSections returns the lang (or xml:lang) of every child of the
// narrative's root div that has one.
func languageSections(div string) []string {
	var langs []string
	topLevel(div, func(el *xml.StartElement, _ string) {
		if el == nil {
			return
		}
		for _, a := range el.Attr {
			if a.Name.Local == "lang" && a.Value != "" && !slices.Contains(langs, a.Value) {
				langs = append(langs, a.Value)
			}
		}
	})
	slices.Sort(langs)
	return langs
}

// topLevel calls fn for every child of the narrative's root div: with the
// element, or with nil and the text of a bare text node.
func topLevel(div string, fn func(el *xml.StartElement, text string)) {
	dec := xml.NewDecoder(strings.NewReader(div))
	dec.Strict = false
	depth := 0
	for range 100000 {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				fn(&t, "")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 1 && strings.TrimSpace(string(t)) != "" {
				fn(nil, strings.TrimSpace(string(t)))
			}
		}
	}
}

// narrativeSource checks, for a profile with narrative-source-control, that
// every top-level part of the narrative says where it comes from: an element
// with class boilerplate, generated or original; bare text has no source.
func (r *run) narrativeSource(narrative map[string]any, e *elem, path string) {
	div, _ := narrative["div"].(string)
	topLevel(div, func(el *xml.StartElement, text string) {
		if el == nil {
			r.issue(outcome.Error, outcome.CodeBusinessRule, path, "the narrative text %q is not inside an element whose class says its source (boilerplate, generated or original), which %s requires", clip(text), label(e))
			return
		}
		for _, a := range el.Attr {
			if a.Name.Local != "class" {
				continue
			}
			for _, c := range strings.Fields(a.Value) {
				if c == "boilerplate" || c == "generated" || c == "original" {
					return
				}
			}
		}
		r.issue(outcome.Error, outcome.CodeBusinessRule, path, "a <%s> at the top of the narrative has no class boilerplate, generated or original to say its source, which %s requires", el.Name.Local, label(e))
	})
}

// Extensions of parameterised ValueSets.
const (
	valueSetParameterURL = "http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter"
	expressionURL        = "http://hl7.org/fhir/StructureDefinition/cqf-expression"
)

// environmentVariables are the FHIRPath variables every expression may use.
var environmentVariables = map[string]bool{"resource": true, "rootResource": true, "context": true, "ucum": true, "sct": true, "loinc": true}

// valueSetParameterRules: the expressions in a parameterised ValueSet's
// filters are FHIRPath and use only the parameters it declares.
func (r *run) valueSetParameterRules(vs map[string]any) {
	declared := map[string]bool{}
	for _, x := range asList(vs["extension"]) {
		xm, _ := x.(map[string]any)
		if str(xm, "url") != valueSetParameterURL {
			continue
		}
		for _, sub := range asList(xm["extension"]) {
			sm, _ := sub.(map[string]any)
			if str(sm, "url") == "name" {
				declared[str(sm, "valueCode")] = true
			}
		}
	}
	compose, _ := vs["compose"].(map[string]any)
	for _, part := range []string{"include", "exclude"} {
		for i, inc := range asList(compose[part]) {
			im, _ := inc.(map[string]any)
			for j, f := range asList(im["filter"]) {
				fm, _ := f.(map[string]any)
				holder, _ := fm["_value"].(map[string]any)
				for k, x := range asList(holder["extension"]) {
					xm, _ := x.(map[string]any)
					if str(xm, "url") != expressionURL {
						continue
					}
					path := fmt.Sprintf("ValueSet.compose.%s[%d].filter[%d].extension[%d].value.ofType(Expression)", part, i, j, k)
					ex, _ := xm["valueExpression"].(map[string]any)
					r.filterExpression(ex, declared, path)
				}
			}
		}
	}
}

func (r *run) filterExpression(ex map[string]any, declared map[string]bool, path string) {
	if lang := str(ex, "language"); lang != "text/fhirpath" {
		r.issue(outcome.Error, outcome.CodeInvalid, path, "a ValueSet filter expression must be in text/fhirpath, not %q", lang)
		return
	}
	expr := str(ex, "expression")
	if _, err := fhirpath.Compile(expr); err != nil {
		r.issue(outcome.Error, outcome.CodeInvalid, path, "the filter expression %q is not valid FHIRPath: %v", clip(expr), err)
		return
	}
	for _, m := range variableRef.FindAllStringSubmatch(expr, -1) {
		if name := m[1]; !declared[name] && !environmentVariables[name] {
			r.issue(outcome.Error, outcome.CodeInvalid, path, "the filter expression refers to the parameter %s, which the ValueSet does not declare", name)
		}
	}
}

// variableRef finds %name references in a FHIRPath expression.
var variableRef = regexp.MustCompile(`%([A-Za-z][A-Za-z0-9_-]*)`)
