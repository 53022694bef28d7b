package validator

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// invariantEngine evaluates FHIRPath invariants; nil when no engine is wired.
type invariantEngine interface {
	// check evaluates expr on focus. ok=false means there was no answer
	// (empty result); err means the expression could not be evaluated.
	check(expr string, focus any, focusType string, resource, root map[string]any) (value, ok bool, err error)
}

// skipInvariants are constraints whose checks the validator makes itself:
// ele-1 (every element has a value or children: empty objects, arrays and
// strings are errors), txt-1 and txt-2 (the narrative's xhtml rules and
// non-whitespace content: checkXHTML, far cheaper than htmlChecks()).
var skipInvariants = map[string]bool{"ele-1": true, "txt-1": true, "txt-2": true}

// invariants evaluates the FHIRPath constraints of element e on value v.
func (r *run) invariants(e *elem, v any, code, path string, res map[string]any) {
	if len(e.constraints) == 0 || r.cancelled() {
		return
	}
	for _, c := range e.constraints {
		if fast, ok := r.nativeInvariant(c, v, res); ok {
			if !fast {
				r.issue(outcome.Error, outcome.CodeInvariant, path, "constraint %s failed on %s: %s [%s]", c.key, e.path, c.human, c.expr)
			}
			continue
		}
		memo := memoKey{path: path, what: c.key}
		if r.checked[memo] {
			continue // inherited by several structures: evaluated once
		}
		if r.checked == nil {
			r.checked = map[memoKey]bool{}
		}
		r.checked[memo] = true
		if r.v.inv == nil {
			r.notEvaluated++
			r.notEvaluatedWhy = "no FHIRPath engine is wired into the validator"
			continue
		}
		focusType := code
		if code == "BackboneElement" || code == "Element" && e.path != "Element" {
			focusType = e.path + "#" + code
		}
		val, ok, err := r.v.inv.check(c.expr, v, focusType, res, r.root)
		if err != nil {
			r.undecided(outcome.Information, outcome.CodeNotSupported, path, "constraint %s (%s) could not be evaluated: %v", c.key, c.expr, err)
			continue
		}
		if !ok || val {
			continue
		}
		sev := outcome.Error
		if c.severity == "warning" {
			sev = outcome.Warning
		}
		r.issue(sev, outcome.CodeInvariant, path, "constraint %s failed on %s: %s [%s]", c.key, e.path, c.human, c.expr)
	}
}

// plainHolds are, by expression, frequent core (and nl-core) invariants of
// the form "A or B", "A implies B" (or "X.exists()") with a plain case in
// which they hold whatever else the object holds: when the object has no
// property A ("A.empty()" is true, an extension of A is absent), or has B as
// a string with content. Outside that case they are evaluated.
var plainHolds = map[string]func(map[string]any) bool{
	// ref-1 (R4 and STU3): not a local reference.
	"reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": notLocalReference,
	"reference.startsWith('#').not() or (reference.substring(1).trace('url') in %resource.contained.id.trace('ids'))":     notLocalReference,
	// dom-6: the narrative has a div.
	"text.`div`.exists()": func(m map[string]any) bool {
		text, _ := m["text"].(map[string]any)
		div, _ := text["div"].(string)
		return div != ""
	},
	// obs-7, obs-6.
	"value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()": func(m map[string]any) bool {
		return !hasProperty(m, "value") || !hasProperty(m, "component")
	},
	"dataAbsentReason.empty() or value.empty()": func(m map[string]any) bool {
		return !hasProperty(m, "dataAbsentReason") || !hasProperty(m, "value")
	},
	// con-4, con-5 (Condition).
	"abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()": func(m map[string]any) bool {
		return !hasProperty(m, "abatement")
	},
	"verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()": func(m map[string]any) bool {
		return !hasProperty(m, "verificationStatus") || !hasProperty(m, "clinicalStatus")
	},
	// nl-core-HumanName: a prefix extension on family needs its name.
	"family.extension('http://hl7.org/fhir/StructureDefinition/humanname-own-prefix').empty().not() implies family.extension('http://hl7.org/fhir/StructureDefinition/humanname-own-name').empty().not()":         noFamilyExtensions,
	"family.extension('http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix').empty().not() implies family.extension('http://hl7.org/fhir/StructureDefinition/humanname-partner-name').empty().not()": noFamilyExtensions,
	// qty-3 and the like.
	"code.empty() or system.exists()": func(m map[string]any) bool {
		return !hasProperty(m, "code") || isString(m["system"])
	},
	"value.empty() or system.exists()": func(m map[string]any) bool {
		return !hasProperty(m, "value") || isString(m["system"])
	},
	// con-3 (Condition): a clinical status.
	"clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or category.select($this='problem-list-item').empty()": func(m map[string]any) bool {
		return present(m["clinicalStatus"])
	},
	// nl-core-HumanName: a name with family or given parts has text.
	"(family.exists() or given.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier').where(value != 'IN').exists()) implies text.hasValue()": func(m map[string]any) bool {
		return isString(m["text"])
	},
	// vs-2 (vital signs): a value.
	"(component.empty() and hasMember.empty()) implies (dataAbsentReason.exists() or value.exists())": func(m map[string]any) bool {
		return present(m["dataAbsentReason"]) || hasChoiceValue(m, "value")
	},
	// org-1 (Organization): an identifier or a name.
	"(identifier.count() + name.count()) > 0": func(m map[string]any) bool {
		return present(m["identifier"]) || isString(m["name"])
	},
}

// plainHoldsIn are, by expression, invariants with a plain case that
// depends on the resource the object is in (%resource, the resource the
// FHIRPath engine is given). obs-7: no component code has a coding equal to
// one of the Observation's code — FHIRPath's intersect compares Codings by
// equality of every property, so Codings whose system or code differ (as
// strings, or one absent) are never equal.
var plainHoldsIn = map[string]func(obj, resource map[string]any) bool{
	"value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()": func(m, res map[string]any) bool {
		own, ok := codingKeys(res["code"])
		if !ok {
			return false
		}
		for _, c := range asList(m["component"]) {
			cm, isObj := c.(map[string]any)
			if !isObj {
				return false
			}
			keys, ok := codingKeys(cm["code"])
			if !ok {
				return false
			}
			for _, k := range keys {
				if slices.Contains(own, k) {
					return false // perhaps the same Coding: FHIRPath decides
				}
			}
		}
		return true
	},
}

// codingKey is a Coding's system and code, each "" when absent and set
// apart by has when present.
type codingKey struct {
	system, code       string
	hasSystem, hasCode bool
}

// codingKeys lists the system and code of the codings of the
// CodeableConcept(s) cc; false when one is not plain (a coding or
// CodeableConcept that is not an object, a system or code that is not a
// string, a _system or _code).
func codingKeys(cc any) ([]codingKey, bool) {
	var keys []codingKey
	for _, x := range asList(cc) {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		if _, under := m["_coding"]; under {
			return nil, false
		}
		for _, c := range asList(m["coding"]) {
			cm, ok := c.(map[string]any)
			if !ok {
				return nil, false
			}
			k, ok := keyOf(cm)
			if !ok {
				return nil, false
			}
			keys = append(keys, k)
		}
	}
	return keys, true
}

// keyOf is the system and code of Coding cm; false when one is not a
// string or has a _system or _code.
func keyOf(cm map[string]any) (k codingKey, ok bool) {
	if _, under := cm["_system"]; under {
		return k, false
	}
	if _, under := cm["_code"]; under {
		return k, false
	}
	if v, has := cm["system"]; has {
		if k.system, ok = v.(string); !ok {
			return k, false
		}
		k.hasSystem = true
	}
	if v, has := cm["code"]; has {
		if k.code, ok = v.(string); !ok {
			return k, false
		}
		k.hasCode = true
	}
	return k, true
}

// plainValueHolds are, by expression, invariants on primitive elements that
// hold on a primitive's value alone. nl-core-NameInformation-02 on
// HumanName.family: the extensions it asks about live in _family, which is
// not part of the value, so it is "{} implies …", never false.
var plainValueHolds = map[string]func(any) bool{
	"(extension('http://hl7.org/fhir/StructureDefinition/humanname-own-prefix').exists() or extension('http://hl7.org/fhir/StructureDefinition/humanname-own-name').exists() or extension('http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix').exists() or extension('http://hl7.org/fhir/StructureDefinition/humanname-partner-name').exists()) implies $this.hasValue()": isString,
}

// present says whether v is an object with content, or a list holding one.
func present(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) > 0
	case []any:
		for _, it := range x {
			if m, ok := it.(map[string]any); ok && len(m) > 0 {
				return true
			}
		}
	}
	return false
}

// hasChoiceValue says whether m holds choice property name[x] with a value
// (a string with content, a number, a boolean or an object with content).
func hasChoiceValue(m map[string]any, name string) bool {
	for k, v := range m {
		if len(k) <= len(name) || !strings.HasPrefix(k, name) || k[len(name)] < 'A' || k[len(name)] > 'Z' {
			continue
		}
		switch x := v.(type) {
		case string:
			if x != "" {
				return true
			}
		case json.Number, bool:
			return true
		case map[string]any:
			if len(x) > 0 {
				return true
			}
		}
	}
	return false
}

// noFamilyExtensions: family carries no extensions (no _family).
func noFamilyExtensions(m map[string]any) bool {
	_, has := m["_family"]
	return !has
}

func notLocalReference(m map[string]any) bool {
	ref, _ := m["reference"].(string)
	return ref != "" && !strings.HasPrefix(ref, "#")
}

// isString says whether v is a string with content.
func isString(v any) bool { s, _ := v.(string); return s != "" }

// hasProperty says whether m may hold property name: any property starting
// with name or _name (a choice value[x] is valueQuantity, valueString …).
func hasProperty(m map[string]any, name string) bool {
	for k := range m {
		if strings.HasPrefix(strings.TrimPrefix(k, "_"), name) {
			return true
		}
	}
	return false
}

// memoKey names a check already made at a location: an invariant key
// ("dom-2") or a primitive type code ("dateTime"); the two never coincide.
type memoKey struct{ path, what string }

// nativeInvariant decides the most frequent core invariants without
// FHIRPath where the answer is plain: dom-2..dom-5 hold trivially for a
// resource without contained resources, and ext-1 says an extension has a
// value or sub-extensions, not both and not neither.
func (r *run) nativeInvariant(c constraint, v any, res map[string]any) (holds, decided bool) {
	if c.holdsValue != nil && c.holdsValue(v) {
		return true, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false, false
	}
	if c.holds != nil && c.holds(m) {
		return true, true
	}
	if c.holdsIn != nil && c.holdsIn(m, res) {
		return true, true
	}
	switch c.key {
	case "dom-2", "dom-3", "dom-4", "dom-5":
		if _, has := m["contained"]; !has && strings.HasPrefix(c.expr, "contained.") {
			return true, true
		}
		if c.key == "dom-3" && strings.HasPrefix(c.expr, "contained.") {
			return containedReferred(m), true
		}
	case "ref-1":
		// A local reference points to a contained resource of the
		// resource that holds the contained ones (the container, for a
		// contained resource; the resource itself, for a Bundle entry or
		// a Parameters resource), or "#" to the container. Decided here
		// because R4 writes it with %rootResource, STU3 with %resource,
		// and neither names the right resource everywhere.
		if !strings.HasPrefix(c.expr, "reference.startsWith('#').not()") {
			return false, false
		}
		ref, _ := m["reference"].(string)
		if !strings.HasPrefix(ref, "#") {
			return true, true
		}
		if ref == "#" {
			n := len(r.locals)
			return n > 0 && r.locals[n-1].contained, true
		}
		for _, x := range asList(r.localRoot()["contained"]) {
			if xm, _ := x.(map[string]any); str(xm, "id") == ref[1:] {
				return true, true
			}
		}
		return false, true
	case "ext-1":
		if c.expr != "extension.exists() != value.exists()" {
			return false, false
		}
		_, hasExt := m["extension"]
		hasValue := false
		for k := range m {
			if strings.HasPrefix(k, "value") && len(k) > 5 && k[5] >= 'A' && k[5] <= 'Z' {
				hasValue = true
			}
		}
		return hasExt != hasValue, true
	}
	return false, false
}

// narrativeLocal finds the local targets (href="#id", src="#id") of a narrative.
var narrativeLocal = regexp.MustCompile(`(?:href|src)\s*=\s*["']#([^"']+)["']`)

// containedReferred is dom-3: every contained resource is referred to from
// elsewhere in the resource ("#id" in a reference, canonical or uri, or a
// link or image of the narrative, as the HL7 validator counts it), or itself
// refers to its container ("#").
func containedReferred(res map[string]any) bool {
	refs := localRefs(res, map[string]bool{})
	for _, c := range asList(res["contained"]) {
		cm, _ := c.(map[string]any)
		if !refs[str(cm, "id")] && !localRefs(cm, map[string]bool{})[""] {
			return false
		}
	}
	return true
}

// localRefs adds to set the ids of every local reference ("#id") in v.
func localRefs(v any, set map[string]bool) map[string]bool {
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, k)
			}
		case []any:
			for _, c := range x {
				walk(c, key)
			}
		case string:
			if strings.HasPrefix(x, "#") {
				set[x[1:]] = true
			}
			if key == "div" {
				for _, m := range narrativeLocal.FindAllStringSubmatch(x, -1) {
					set[m[1]] = true
				}
			}
		}
	}
	walk(v, "")
	return set
}
