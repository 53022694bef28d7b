package validator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/registry"
)

// testProfiles are small profiles the corrections are checked against.
var testProfiles = map[string]string{
	// Observation.category sliced by pattern: one CodeableConcept can carry
	// the codings of both slices.
	"two-slices.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/two-slices","name":"TwoSlices","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.category","path":"Observation.category","slicing":{"discriminator":[{"type":"pattern","path":"$this"}],"rules":"open"}},
		{"id":"Observation.category:a","path":"Observation.category","sliceName":"a","max":"1","patternCodeableConcept":{"coding":[{"system":"http://bcbench.test/cs","code":"a"}]}},
		{"id":"Observation.category:b","path":"Observation.category","sliceName":"b","max":"1","patternCodeableConcept":{"coding":[{"system":"http://bcbench.test/cs","code":"b"}]}}]}}`,
	// Observation.valueQuantity bound (required) to body weight units.
	"bound-quantity.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/bound-quantity","name":"BoundQuantity","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.value[x]","path":"Observation.value[x]","type":[{"code":"Quantity"}],"binding":{"strength":"required","valueSet":"http://hl7.org/fhir/ValueSet/ucum-bodyweight"}}]}}`,
	// Observation.subject must be an nl-core-Patient.
	"target.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/target","name":"Target","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.subject","path":"Observation.subject","type":[{"code":"Reference","targetProfile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]}]}]}}`,
}

// withTestProfiles returns the R4 validator with testProfiles added.
func withTestProfiles(t *testing.T) *Validator { return withProfiles(t, testProfiles) }

// withProfiles returns the R4 validator with the given definitions (file
// name → JSON) added.
func withProfiles(t *testing.T, defs map[string]string) *Validator {
	t.Helper()
	dir := t.TempDir()
	for name, body := range defs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := r4(t).Registry().With(registry.Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{FHIRVersion: "4.0.1", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCorrections holds one case per correction of issue 8 (item 6 and 8):
// each failed before the correction and passes after it.
func TestCorrections(t *testing.T) {
	v := withTestProfiles(t)
	const lab = "http://nictiz.nl/fhir/StructureDefinition/nl-core-LaboratoryTestResult"
	const obs = `"resourceType":"Observation","status":"final","code":{"text":"x"}`
	goodPatient := map[string]any{"resourceType": "Patient", "id": "p", "identifier": []any{map[string]any{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120"}}}
	badPatient := map[string]any{"resourceType": "Patient", "id": "p", "gender": "vrouw"}
	resolveTo := func(p map[string]any) func(string) (map[string]any, bool) {
		return func(ref string) (map[string]any, bool) { return p, ref == "Patient/p" }
	}
	tests := []struct {
		name      string
		data      string
		profiles  []string
		resolve   func(string) (map[string]any, bool)
		wantErr   string // "" means no error
		undecided string // a word of an undecided issue that must be there
	}{
		{name: "open profile slicing: a PractitionerRole performer beside the Organization slice is valid",
			data:     `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-01-01T10:00:00+01:00","performer":[{"reference":"Organization/o"},{"reference":"PractitionerRole/r"}],"valueQuantity":{"value":7.5,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"}}`,
			profiles: []string{lab}},
		{name: "a value that matches two slices is an error",
			data:     `{` + obs + `,"category":[{"coding":[{"system":"http://bcbench.test/cs","code":"a"},{"system":"http://bcbench.test/cs","code":"b"}]}]}`,
			profiles: []string{"http://bcbench.test/sd/two-slices"}, wantErr: "matches more than one slice"},
		{name: "a value that matches one slice is valid",
			data:     `{` + obs + `,"category":[{"coding":[{"system":"http://bcbench.test/cs","code":"a"}]},{"coding":[{"system":"http://bcbench.test/cs","code":"b"}]}]}`,
			profiles: []string{"http://bcbench.test/sd/two-slices"}},
		{name: "dom-3: a contained resource nothing refers to",
			data: `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}]}`, wantErr: "dom-3"},
		{name: "dom-3: a contained resource referred to is valid",
			data: `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}`},
		{name: "dom-3: a contained resource the narrative links to is valid",
			data: `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"#o\">zorgaanbieder</a></div>"},"contained":[{"resourceType":"Organization","id":"o","name":"x"}]}`},
		{name: "a bound Quantity without a code",
			data:     `{` + obs + `,"valueQuantity":{"value":3500,"unit":"gram"}}`,
			profiles: []string{"http://bcbench.test/sd/bound-quantity"}, wantErr: "has no code"},
		{name: "a bound Quantity with a code of the value set is valid",
			data:     `{` + obs + `,"valueQuantity":{"value":3500,"unit":"gram","system":"http://unitsofmeasure.org","code":"g"}}`,
			profiles: []string{"http://bcbench.test/sd/bound-quantity"}},
		{name: "Period invariant inside a backbone element (per-1 wherever Period occurs)",
			data: `{` + obs + `,"component":[{"code":{"text":"y"},"valuePeriod":{"start":"2020-01-02","end":"2020-01-01"}}]}`, wantErr: "per-1"},
		{name: "Range invariant on a value (rng-2)",
			data: `{` + obs + `,"valueRange":{"low":{"value":2,"system":"http://unitsofmeasure.org","code":"kg"},"high":{"value":1,"system":"http://unitsofmeasure.org","code":"kg"}}}`, wantErr: "rng-2"},
		{name: "an unbound UCUM code outside the grammar",
			data: `{` + obs + `,"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"kg/[[m"}}`, wantErr: "not a valid UCUM unit"},
		{name: "an unbound UCUM code that names no unit",
			data: `{` + obs + `,"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"sec"}}`, wantErr: "not a valid UCUM unit"},
		{name: "a UCUM code in a Coding",
			data: `{` + obs + `,"valueCodeableConcept":{"coding":[{"system":"http://unitsofmeasure.org","code":"kgg"}]}}`, wantErr: "not a valid UCUM unit"},
		{name: "a valid UCUM expression",
			data: `{` + obs + `,"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"mmol/L"}}`},
		{name: "an unknown modifier extension under hl7.org is an error",
			data: `{"resourceType":"Patient","modifierExtension":[{"url":"http://hl7.org/fhir/StructureDefinition/does-not-exist","valueString":"x"}]}`, wantErr: "modifier extension"},
		{name: "an unknown extension under hl7.org is undecided, not an error",
			data: `{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/does-not-exist","valueString":"x"}]}`, undecided: "not in the loaded packages"},
		{name: "a claimed profile that cannot be loaded is an error",
			data: `{"resourceType":"Patient","meta":{"profile":["http://vendor.test/fhir/StructureDefinition/own-patient"]}}`, wantErr: "claimed in meta.profile"},
		{name: "a required binding that cannot be decided offline is undecided",
			data:     `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-01-01T10:00:00+01:00"}`,
			profiles: []string{lab}, undecided: "could not be checked"},
		{name: "a reference target that cannot be resolved is undecided",
			data:     `{` + obs + `,"subject":{"reference":"Patient/p"}}`,
			profiles: []string{"http://bcbench.test/sd/target"}, undecided: "could not be resolved"},
		{name: "a resolved reference target is checked against the target profile",
			data:     `{` + obs + `,"subject":{"reference":"Patient/p"}}`,
			profiles: []string{"http://bcbench.test/sd/target"}, resolve: resolveTo(badPatient), wantErr: "conforms to none of the target profiles"},
		{name: "a resolved reference target that conforms is valid",
			data:     `{` + obs + `,"subject":{"reference":"Patient/p"}}`,
			profiles: []string{"http://bcbench.test/sd/target"}, resolve: resolveTo(goodPatient)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := v.Validate(context.Background(), []byte(tc.data), Request{Profiles: tc.profiles, Resolve: tc.resolve})
			expectIssues(t, out, tc.wantErr, tc.undecided)
		})
	}
}

// expectIssues checks an outcome: an error containing wantErr (none when
// wantErr is ""), and an undecided issue containing undecided when given.
func expectIssues(t *testing.T, out *outcome.OperationOutcome, wantErr, undecided string) {
	t.Helper()
	errs := diagnostics(out.Errors())
	switch {
	case wantErr == "" && errs != "":
		t.Errorf("want no error, got:\n%s", out.Text())
	case wantErr != "" && !strings.Contains(errs, wantErr):
		t.Errorf("want an error containing %q, got:\n%s", wantErr, out.Text())
	}
	if undecided != "" && !strings.Contains(diagnostics(out.Undecided()), undecided) {
		t.Errorf("want an undecided issue containing %q, got:\n%s", undecided, out.Text())
	}
}

func diagnostics(issues []outcome.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		b.WriteString(is.Diagnostics)
		b.WriteString("\n")
	}
	return b.String()
}
