// Package fact compares what a candidate publishes with what a scenario
// registered: the mechanics behind the content-truth specs. It reads FHIR R4
// JSON trees and fixtures' facts, and knows nothing of Ginkgo.
package fact

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/bcbench/bcbench/fixtures"
)

// UCUM is the code system of units.
const UCUM = "http://unitsofmeasure.org"

// Finding is one difference between registration and publication.
type Finding struct {
	Event   string // event id
	Fact    string // fact key
	Element string // FHIR element, e.g. Observation.valueQuantity.code
	Want    string
	Got     string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s › %s: %s: geregistreerd %s, gepubliceerd %s", f.Event, f.Fact, f.Element, f.Want, f.Got)
}

// Report joins findings into one message, one per line.
func Report(findings []Finding) string {
	lines := make([]string, len(findings))
	for i, f := range findings {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// Candidates returns the published resources of the fact's resource type
// that carry the fact's code (in code.coding, or for medication facts the
// product code). Resources of another patient are left out.
// lookup resolves a reference to a published resource that is not the
// client's own (a referenced Medication); it may be nil.
func Candidates(published map[string][]map[string]any, patientID string, f fixtures.Fact, lookup func(ref string) map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range published[f.ResourceType] {
		if !refersTo(r, patientID) {
			continue
		}
		if f.Medication != nil {
			// MP9: the category is the only thing that tells the building
			// blocks sharing a resource type apart (fixtures set Fact.Code to it).
			if hasCoding(Product(r, lookup), f.Medication.Product) && (f.Code.Code == "" || categoryHas(r, f.Code)) {
				out = append(out, r)
			}
			continue
		}
		if hasCoding(codings(r["code"]), f.Code) {
			out = append(out, r)
		}
	}
	return out
}

// categoryHas says whether the resource's category (a list or, on
// MedicationDispense and MedicationStatement, a single concept) carries c.
func categoryHas(r map[string]any, c fixtures.Coding) bool {
	for _, cc := range list(r["category"]) {
		if hasCoding(codings(cc), c) {
			return true
		}
	}
	return false
}

// RefersTo says whether a resource's subject (or patient) is the Patient.
func RefersTo(r map[string]any, patientID string) bool { return refersTo(r, patientID) }

// refersTo says whether a resource's subject (or patient) is the Patient.
func refersTo(r map[string]any, patientID string) bool {
	for _, field := range []string{"subject", "patient"} {
		if ref, ok := r[field].(map[string]any); ok {
			s, _ := ref["reference"].(string)
			return s == "Patient/"+patientID || strings.HasSuffix(s, "/Patient/"+patientID)
		}
	}
	return false
}

// Value compares a published resource's value (and components) with the
// fact's registered value. It returns nothing when they agree.
func Value(r map[string]any, ev string, f fixtures.Fact, resolve func(day int) string) []Finding {
	var out []Finding
	typ, _ := r["resourceType"].(string)
	out = append(out, compareValue(r, typ, ev, f, resolve)...)
	for _, c := range f.Components {
		comp := findComponent(r, c.Code)
		if comp == nil {
			out = append(out, Finding{ev, f.Key + "." + c.Key, typ + ".component", codeText(c.Code), "niets"})
			continue
		}
		out = append(out, compareValue(comp, typ+".component", ev, fixtures.Fact{Key: f.Key + "." + c.Key, Value: c.Value}, resolve)...)
	}
	return out
}

func compareValue(r map[string]any, path, ev string, f fixtures.Fact, resolve func(day int) string) []Finding {
	v := f.Value
	miss := func(elem, want, got string) []Finding {
		return []Finding{{Event: ev, Fact: f.Key, Element: path + "." + elem, Want: want, Got: got}}
	}
	switch {
	case v.Integer != nil:
		got, ok := number(r["valueInteger"])
		want := big.NewRat(int64(*v.Integer), 1)
		if !ok || got.Cmp(want) != 0 {
			return miss("valueInteger", fmt.Sprint(*v.Integer), show(r["valueInteger"]))
		}
	case v.Quantity != nil:
		q, _ := r["valueQuantity"].(map[string]any)
		if q == nil {
			return miss("valueQuantity", v.Quantity.Value+" "+v.Quantity.Unit, "niets")
		}
		var out []Finding
		want, okWant := new(big.Rat).SetString(v.Quantity.Value)
		got, okGot := number(q["value"])
		if !okWant || !okGot || got.Cmp(want) != 0 {
			out = append(out, miss("valueQuantity.value", v.Quantity.Value, show(q["value"]))...)
		}
		if q["code"] != v.Quantity.Unit || q["system"] != UCUM {
			out = append(out, miss("valueQuantity.code", UCUM+"|"+v.Quantity.Unit, show(q["system"])+"|"+show(q["code"]))...)
		}
		return out
	case v.Coding != nil:
		elem := codedValueElement(r)
		if !hasCoding(codings(r[elem]), *v.Coding) {
			return miss(elem, codeText(*v.Coding), show(r[elem]))
		}
	case v.DateDay != nil:
		want := resolve(*v.DateDay)
		got, _ := r["valueDateTime"].(string)
		if !strings.HasPrefix(got, want) {
			return miss("valueDateTime", want, show(r["valueDateTime"]))
		}
	case v.String != nil:
		if r["valueString"] != *v.String {
			return miss("valueString", *v.String, show(r["valueString"]))
		}
	case v.Boolean != nil:
		if r["valueBoolean"] != *v.Boolean {
			return miss("valueBoolean", fmt.Sprint(*v.Boolean), show(r["valueBoolean"]))
		}
	}
	return nil
}

// codedValueElement names the element that carries a coded value: the
// value of an Observation, the kind of care asked for in a ServiceRequest.
func codedValueElement(r map[string]any) string {
	switch r["resourceType"] {
	case "ServiceRequest":
		return "performerType"
	case "Condition", "Procedure":
		return "code"
	}
	return "valueCodeableConcept"
}

// Date says whether the resource's clinically relevant date (effective,
// onset, authoredOn, occurrence) falls on the given day (YYYY-MM-DD).
func Date(r map[string]any, day string) (string, bool) {
	for _, field := range []string{"effectiveDateTime", "effectiveInstant", "onsetDateTime", "authoredOn", "occurrenceDateTime", "recordedDate", "performedDateTime", "dateAsserted", "whenHandedOver"} {
		if s, ok := r[field].(string); ok {
			return s, strings.HasPrefix(s, day)
		}
	}
	// MP9 ToedieningsAfspraak: its date is an extension.
	for _, e := range list(r["extension"]) {
		if m, ok := e.(map[string]any); ok && m["url"] == "http://nictiz.nl/fhir/StructureDefinition/ext-AdministrationAgreement.AdministrationAgreementDateTime" {
			if s, ok := m["valueDateTime"].(string); ok {
				return s, strings.HasPrefix(s, day)
			}
		}
	}
	for _, field := range []string{"effectivePeriod", "occurrencePeriod", "performedPeriod"} {
		if p, ok := r[field].(map[string]any); ok {
			s, _ := p["start"].(string)
			return s, strings.HasPrefix(s, day)
		}
	}
	return "niets", false
}

// Authors returns the references naming who registered a resource.
func Authors(r map[string]any) []map[string]any {
	var out []map[string]any
	for _, field := range []string{"performer", "requester", "recorder", "asserter", "informationSource"} {
		for _, v := range list(r[field]) {
			if ref, ok := v.(map[string]any); ok {
				if actor, ok := ref["actor"].(map[string]any); ok {
					ref = actor
				}
				out = append(out, ref)
			}
		}
	}
	return out
}

// Identifies says whether a resource (Organization, Practitioner or
// PractitionerRole) carries one of the provider's identifiers.
func Identifies(r map[string]any, p fixtures.Provider) bool {
	wanted := slices.DeleteFunc([]string{p.AGB, p.URA, p.Professional.UZI, p.Professional.AGB}, func(s string) bool { return s == "" })
	for _, i := range list(r["identifier"]) {
		id, _ := i.(map[string]any)
		if v, ok := id["value"].(string); ok && slices.Contains(wanted, v) {
			return true
		}
	}
	return false
}

func findComponent(r map[string]any, code fixtures.Coding) map[string]any {
	for _, c := range list(r["component"]) {
		comp, _ := c.(map[string]any)
		if comp != nil && hasCoding(codings(comp["code"]), code) {
			return comp
		}
	}
	return nil
}

// productCodings returns the product codes of a medication resource: its
// medicationCodeableConcept, or the code of the contained Medication it
// references.
func productCodings(r map[string]any) []map[string]any {
	if cc, ok := r["medicationCodeableConcept"]; ok {
		return codings(cc)
	}
	ref, _ := r["medicationReference"].(map[string]any)
	target, _ := ref["reference"].(string)
	if id, ok := strings.CutPrefix(target, "#"); ok {
		for _, c := range list(r["contained"]) {
			m, _ := c.(map[string]any)
			if m["id"] == id {
				return codings(m["code"])
			}
		}
	}
	return nil
}

// Product returns the product codings of a medication resource, looking up a
// referenced Medication with read when it is not contained.
func Product(r map[string]any, read func(ref string) map[string]any) []map[string]any {
	if cs := productCodings(r); cs != nil {
		return cs
	}
	ref, _ := r["medicationReference"].(map[string]any)
	target, _ := ref["reference"].(string)
	if target == "" || read == nil {
		return nil
	}
	if m := read(target); m != nil {
		return codings(m["code"])
	}
	return nil
}

// HasCoding says whether one of the codings has the code's system and code.
func HasCoding(cs []map[string]any, c fixtures.Coding) bool { return hasCoding(cs, c) }

func hasCoding(cs []map[string]any, c fixtures.Coding) bool {
	for _, coding := range cs {
		if coding["code"] == c.Code && (c.System == "" || coding["system"] == c.System) {
			return true
		}
	}
	return false
}

func codings(cc any) []map[string]any {
	var out []map[string]any
	for _, c := range list(cc) {
		concept, _ := c.(map[string]any)
		for _, cd := range list(concept["coding"]) {
			if coding, ok := cd.(map[string]any); ok {
				out = append(out, coding)
			}
		}
	}
	return out
}

func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// number reads a JSON number (json.Number, float64 or int) exactly.
func number(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case json.Number:
		return new(big.Rat).SetString(string(x))
	case float64:
		return new(big.Rat).SetFloat64(x), true
	case int:
		return big.NewRat(int64(x), 1), true
	case int64:
		return big.NewRat(x, 1), true
	}
	return nil, false
}

func codeText(c fixtures.Coding) string { return c.System + "|" + c.Code }

func show(v any) string {
	if v == nil {
		return "niets"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// Show renders a JSON value briefly for a message.
func Show(v any) string { return show(v) }
