package fhirpath

import (
	"strings"
)

// TypeResolver tells the evaluator the FHIR types of elements, so that
// primitives convert to the right System type (an XML "true" to a Boolean, a
// date string to a Date), choice elements (value[x]) resolve, and is/as/ofType
// test FHIR types and their base types. *Model implements it; a validator may
// supply its own (for instance one backed by its snapshot generator).
//
// A type key is a FHIR type name ("Patient", "HumanName", "string") or, for
// an element whose type is defined inline (BackboneElement or Element with
// children), the element path followed by '#' and that type name
// ("Patient.contact#BackboneElement").
type TypeResolver interface {
	// Child describes the child element name of a node whose type key is
	// parent. For a choice element, name is the base name ("value") and
	// Choice is true. ok is false when the parent has no such element.
	Child(parent, name string) (c ChildInfo, ok bool)
	// Base returns the type a FHIR type name derives from ("" at the root):
	// Age → Quantity, code → string, Patient → DomainResource.
	Base(typeName string) string
}

// ChildInfo describes one child element.
type ChildInfo struct {
	// Types are the type keys the element may have: one for ordinary
	// elements, every allowed type for a choice element.
	Types []string
	// Choice is true for choice elements (value[x]); their JSON property
	// names are the base name followed by the capitalised type name.
	Choice bool
}

// Model is a TypeResolver built from StructureDefinitions with snapshots
// (the base types and resources of a FHIR version). It is immutable after
// NewModel and safe for concurrent use.
type Model struct {
	children map[string]map[string]ChildInfo // path or type name → child name → info
	base     map[string]string
	alias    map[string]string // element path with a contentReference → the path it reuses
}

// NewModel builds a Model from StructureDefinitions (JSON-shaped trees) that
// carry snapshots. Only definitions that introduce a type (derivation
// "specialization", or the roots Element, Resource and Base) are used;
// profiles (constraints) are skipped: they do not introduce types.
func NewModel(defs []map[string]any) *Model {
	m := &Model{children: map[string]map[string]ChildInfo{}, base: map[string]string{}, alias: map[string]string{}}
	for _, sd := range defs {
		if sd["resourceType"] != "StructureDefinition" {
			continue
		}
		deriv, _ := sd["derivation"].(string)
		typ, _ := sd["type"].(string)
		if typ == "" || (deriv != "" && deriv != "specialization") {
			continue
		}
		if strings.Contains(typ, "/") || strings.Contains(typ, ".") {
			continue // logical models
		}
		if b, ok := sd["baseDefinition"].(string); ok {
			m.base[typ] = b[strings.LastIndexByte(b, '/')+1:]
		}
		snap, _ := sd["snapshot"].(map[string]any)
		elems, _ := snap["element"].([]any)
		for _, raw := range elems {
			el, _ := raw.(map[string]any)
			path, _ := el["path"].(string)
			dot := strings.LastIndexByte(path, '.')
			if dot < 0 {
				continue
			}
			parent, name := path[:dot], path[dot+1:]
			if !strings.HasPrefix(path, typ+".") {
				continue
			}
			if _, primitive := builtinPrimitives[typ]; primitive && name == "value" {
				continue
			}
			info := ChildInfo{}
			if ref, ok := el["contentReference"].(string); ok {
				target := ref[strings.IndexByte(ref, '#')+1:]
				info.Types = []string{target + "#" + m.elementType(elems, target)}
				m.alias[path] = target
			}
			types, _ := el["type"].([]any)
			for _, t := range types {
				tm, _ := t.(map[string]any)
				code, _ := tm["code"].(string)
				code = fhirTypeCode(code, tm)
				if code == "" {
					continue
				}
				if code == "BackboneElement" || code == "Element" {
					if hasChildren(elems, path) {
						code = path + "#" + code
					}
				}
				info.Types = append(info.Types, code)
			}
			if strings.HasSuffix(name, "[x]") {
				name = strings.TrimSuffix(name, "[x]")
				info.Choice = true
			}
			kids := m.children[parent]
			if kids == nil {
				kids = map[string]ChildInfo{}
				m.children[parent] = kids
			}
			kids[name] = info
		}
	}
	return m
}

func (m *Model) elementType(elems []any, path string) string {
	for _, raw := range elems {
		el, _ := raw.(map[string]any)
		if el["path"] == path {
			types, _ := el["type"].([]any)
			if len(types) > 0 {
				tm, _ := types[0].(map[string]any)
				if c, ok := tm["code"].(string); ok {
					return c
				}
			}
		}
	}
	return "BackboneElement"
}

func hasChildren(elems []any, path string) bool {
	prefix := path + "."
	for _, raw := range elems {
		el, _ := raw.(map[string]any)
		if p, _ := el["path"].(string); strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// fhirTypeCode maps the System type URLs used for the ids and primitive
// values in snapshots to a FHIR type, preferring the fhir-type extension.
func fhirTypeCode(code string, t map[string]any) string {
	if !strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return code
	}
	if exts, ok := t["extension"].([]any); ok {
		for _, e := range exts {
			em, _ := e.(map[string]any)
			if u, _ := em["url"].(string); strings.HasSuffix(u, "structuredefinition-fhir-type") {
				if v, ok := em["valueUrl"].(string); ok {
					return v
				}
				if v, ok := em["valueUri"].(string); ok {
					return v
				}
			}
		}
	}
	switch strings.TrimPrefix(code, "http://hl7.org/fhirpath/System.") {
	case "Boolean":
		return "boolean"
	case "Integer":
		return "integer"
	case "Decimal":
		return "decimal"
	case "Date":
		return "date"
	case "DateTime":
		return "dateTime"
	case "Time":
		return "time"
	}
	return "string"
}

// Child implements TypeResolver. Types without their own entry (profiles of
// a type, such as SimpleQuantity) are looked up along their base chain.
func (m *Model) Child(parent, name string) (ChildInfo, bool) {
	if i := strings.IndexByte(parent, '#'); i >= 0 {
		path := parent[:i]
		for k := 0; k < 10; k++ { // Questionnaire.item.item reuses Questionnaire.item
			target, ok := m.alias[path]
			if !ok {
				break
			}
			path = target
		}
		kids := m.children[path]
		c, ok := kids[name]
		if ok || kids != nil {
			return c, ok
		}
		parent = parent[i+1:]
	}
	for k := 0; k < 20 && parent != ""; k++ {
		if kids, found := m.children[parent]; found {
			c, ok := kids[name]
			return c, ok
		}
		parent = m.Base(parent)
	}
	return ChildInfo{}, false
}

// Base implements TypeResolver.
func (m *Model) Base(typeName string) string {
	if b, ok := m.base[typeName]; ok {
		return b
	}
	return builtinBase(typeName)
}

// Knows reports whether the model defines the type (has elements for it).
func (m *Model) Knows(typeName string) bool {
	_, ok := m.children[typeName]
	return ok
}

// builtin knowledge used when no model is given (and to read choice suffixes).

var builtinPrimitives = map[string]string{
	"base64Binary": "", "boolean": "", "canonical": "uri", "code": "string", "date": "",
	"dateTime": "", "decimal": "", "id": "string", "instant": "", "integer": "",
	"integer64": "", "markdown": "string", "oid": "uri", "positiveInt": "integer", "string": "",
	"time": "", "unsignedInt": "integer", "uri": "", "url": "uri", "uuid": "uri", "xhtml": "",
}

var builtinComplex = map[string]string{
	"Address": "Element", "Age": "Quantity", "Annotation": "Element", "Attachment": "Element",
	"CodeableConcept": "Element", "CodeableReference": "Element", "Coding": "Element",
	"ContactDetail": "Element", "ContactPoint": "Element", "Contributor": "Element",
	"Count": "Quantity", "DataRequirement": "Element", "Distance": "Quantity",
	"Dosage": "BackboneElement", "Duration": "Quantity", "Expression": "Element",
	"HumanName": "Element", "Identifier": "Element", "Meta": "Element", "Money": "Element",
	"MoneyQuantity": "Quantity", "Narrative": "Element", "ParameterDefinition": "Element",
	"Period": "Element", "Quantity": "Element", "Range": "Element", "Ratio": "Element",
	"RatioRange": "Element", "Reference": "Element", "RelatedArtifact": "Element",
	"SampledData": "Element", "Signature": "Element", "SimpleQuantity": "Quantity",
	"Timing": "BackboneElement", "TriggerDefinition": "Element", "UsageContext": "Element",
	"Extension": "Element", "BackboneElement": "Element", "ElementDefinition": "BackboneElement",
	"MarketingStatus": "BackboneElement", "Population": "BackboneElement",
	"ProdCharacteristic": "BackboneElement", "ProductShelfLife": "BackboneElement",
	"SubstanceAmount": "BackboneElement", "Element": "Base",
	"Resource": "Base", "DomainResource": "Resource",
}

func builtinBase(t string) string {
	if b, ok := builtinPrimitives[t]; ok {
		if b == "" {
			return "Element"
		}
		return b
	}
	if b, ok := builtinComplex[t]; ok {
		return b
	}
	if t == "Base" || t == "" {
		return ""
	}
	if t[0] >= 'A' && t[0] <= 'Z' {
		switch t {
		case "Bundle", "Binary", "Parameters":
			return "Resource"
		}
		return "DomainResource"
	}
	return ""
}

// choiceType maps the suffix of a choice element's property name
// ("Quantity", "DateTime") to a FHIR type name, or "" if it names none.
func choiceType(suffix string) string {
	if suffix == "" || suffix[0] < 'A' || suffix[0] > 'Z' {
		return ""
	}
	lower := strings.ToLower(suffix[:1]) + suffix[1:]
	if _, ok := builtinPrimitives[lower]; ok {
		return lower
	}
	if _, ok := builtinComplex[suffix]; ok {
		return suffix
	}
	return ""
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
