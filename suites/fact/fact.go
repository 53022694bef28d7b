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

// categoryCodings returns the codings of a resource's category (a list or,
// on MedicationDispense and MedicationStatement, a single concept).
func categoryCodings(r map[string]any) []map[string]any {
	return codings(r["category"])
}

// RefersTo says whether a resource's subject (or patient) is the Patient
// with the given id: a relative or absolute reference to Patient/<id>, one
// of the fullUrls the Patient was served under (urn:uuid:…), or a logical
// reference by one of her identifiers given as "system|value" in also.
func RefersTo(r map[string]any, patientID string, also ...string) bool {
	for _, field := range []string{"subject", "patient"} {
		ref, ok := r[field].(map[string]any)
		if !ok {
			continue
		}
		s, _ := ref["reference"].(string)
		if s == "" {
			id := asMap(ref["identifier"])
			sys, v := str(id["system"]), str(id["value"])
			return v != "" && slices.Contains(also, sys+"|"+v)
		}
		urls := also
		if slices.Contains(urls, s) {
			return true
		}
		typ, id, ok := TypeID(s)
		return ok && typ == "Patient" && id == patientID
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
		if Day(got) != want {
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

// dateFields are the elements that carry a resource's clinically relevant
// date, in the order they are looked for.
var dateFields = []string{"effectiveDateTime", "effectiveInstant", "onsetDateTime", "authoredOn", "occurrenceDateTime",
	"recordedDate", "performedDateTime", "dateAsserted", "whenHandedOver"}

// AdministrationAgreementDateURL is the MP9 extension with the date of a
// ToedieningsAfspraak.
const AdministrationAgreementDateURL = "http://nictiz.nl/fhir/StructureDefinition/ext-AdministrationAgreement.AdministrationAgreementDateTime"

// Date returns the resource's clinically relevant date (effective, onset,
// authoredOn, occurrence, …, the start of a period) and whether it falls on
// the given day (YYYY-MM-DD) in Europe/Amsterdam.
func Date(r map[string]any, day string) (string, bool) {
	s, _ := DateElement(r)
	return s, s != "" && Day(s) == day
}

// DateElement returns the resource's clinically relevant date and the
// element it was found in ("" when it has none).
func DateElement(r map[string]any) (string, string) {
	for _, field := range dateFields {
		if s, ok := r[field].(string); ok {
			return s, field
		}
	}
	for _, e := range list(r["extension"]) {
		if m, ok := e.(map[string]any); ok && m["url"] == AdministrationAgreementDateURL {
			if s, ok := m["valueDateTime"].(string); ok {
				return s, "extension(ext-AdministrationAgreement.AdministrationAgreementDateTime)"
			}
		}
	}
	for _, field := range []string{"effectivePeriod", "occurrencePeriod", "performedPeriod"} {
		if p, ok := r[field].(map[string]any); ok {
			s, _ := p["start"].(string)
			return s, field + ".start"
		}
	}
	return "", ""
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
// PractitionerRole) carries one of the provider's identifiers, system and
// value: the organisation's AGB or URA, the professional's UZI or AGB.
func Identifies(r map[string]any, p fixtures.Provider) bool {
	type id struct{ system, value string }
	var wanted []id
	switch r["resourceType"] {
	case "Organization":
		wanted = []id{{fixtures.AGBSystem, p.AGB}, {fixtures.URASystem, p.URA}}
	case "Practitioner", "PractitionerRole":
		wanted = []id{{fixtures.UZISystem, p.Professional.UZI}, {fixtures.AGBSystem, p.Professional.AGB}}
	}
	for _, i := range list(r["identifier"]) {
		got := id{str(asMap(i)["system"]), str(asMap(i)["value"])}
		if got.value != "" && slices.Contains(wanted, got) {
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

// Product returns the product codings of a medication resource: its
// medicationCodeableConcept, or the code of the Medication its
// medicationReference resolves to (contained, in the Bundle, or read).
func Product(r map[string]any, rv Resolver) []map[string]any {
	if cc, ok := r["medicationCodeableConcept"]; ok {
		return codings(cc)
	}
	if m := rv.Resolve(r, Reference(r["medicationReference"])); m != nil {
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

// BSNSystem is the naming system of the Dutch citizen service number.
const BSNSystem = "http://fhir.nl/fhir/NamingSystem/bsn"

// HasBSN says whether a Patient carries the BSN as an identifier.
func HasBSN(patient map[string]any, bsn string) bool {
	for _, i := range list(patient["identifier"]) {
		id := asMap(i)
		if id["system"] == BSNSystem && id["value"] == bsn {
			return true
		}
	}
	return false
}
