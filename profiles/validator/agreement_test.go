package validator

import (
	"context"
	"strings"
	"testing"
)

// agreementProfiles are small profiles for the engine corrections that
// brought the comparison with the HL7 validator's test cases to its bar.
var agreementProfiles = map[string]string{
	// Patient.birthDate at most 100 years back and at most 10 years ahead.
	"duration.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/duration","name":"Duration","status":"draft","kind":"resource","abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint","differential":{"element":[
		{"id":"Patient.birthDate","path":"Patient.birthDate","minValueDuration":{"value":100,"system":"http://unitsofmeasure.org","code":"a"},"maxValueDuration":{"value":10,"system":"http://unitsofmeasure.org","code":"a"}}]}}`,
	"patient-name.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/patient-name","name":"PatientName","status":"draft","kind":"resource","abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint","differential":{"element":[
		{"id":"Patient.name","path":"Patient.name","min":1}]}}`,
	"patient-gender.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/patient-gender","name":"PatientGender","status":"draft","kind":"resource","abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint","differential":{"element":[
		{"id":"Patient.gender","path":"Patient.gender","min":1}]}}`,
	// A differential naming an element Patient does not have: no snapshot.
	"patient-broken.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/patient-broken","name":"PatientBroken","status":"draft","kind":"resource","abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint","differential":{"element":[
		{"id":"Patient.dateOfBirth","path":"Patient.dateOfBirth","min":1}]}}`,
	// A parameter whose resource is one of two Patient profiles; its name
	// is fixed, which must not carry over to its parts (contentReference).
	"one-of.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/one-of","name":"OneOf","status":"draft","kind":"resource","abstract":false,"type":"Parameters","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Parameters","derivation":"constraint","differential":{"element":[
		{"id":"Parameters.parameter","path":"Parameters.parameter","max":"1"},
		{"id":"Parameters.parameter.name","path":"Parameters.parameter.name","patternString":"patient"},
		{"id":"Parameters.parameter.resource","path":"Parameters.parameter.resource","type":[{"code":"Resource","profile":["http://bcbench.test/sd/patient-name","http://bcbench.test/sd/patient-gender"]}]}]}}`,
	"one-of-broken.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/one-of-broken","name":"OneOfBroken","status":"draft","kind":"resource","abstract":false,"type":"Parameters","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Parameters","derivation":"constraint","differential":{"element":[
		{"id":"Parameters.parameter.resource","path":"Parameters.parameter.resource","type":[{"code":"Resource","profile":["http://bcbench.test/sd/patient-name","http://bcbench.test/sd/patient-broken"]}]}]}}`,
	// Observation.category sliced by the profile of its text: a string
	// profile with a fixed value.
	"fixed-text.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/fixed-text","name":"FixedText","status":"draft","kind":"primitive-type","abstract":false,"type":"string","baseDefinition":"http://hl7.org/fhir/StructureDefinition/string","derivation":"constraint","differential":{"element":[
		{"id":"string","path":"string","fixedString":"spoed"}]}}`,
	"text-slice.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/text-slice","name":"TextSlice","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.category","path":"Observation.category","slicing":{"discriminator":[{"type":"profile","path":"text"}],"rules":"open"}},
		{"id":"Observation.category:urgent","path":"Observation.category","sliceName":"urgent","min":1},
		{"id":"Observation.category:urgent.text","path":"Observation.category.text","type":[{"code":"string","profile":["http://bcbench.test/sd/fixed-text"]}]}]}}`,
	// An extension with a code, and a Patient profile that slices it and
	// reslices it by its value: kind/a requires the code a.
	"kind.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/kind","name":"Kind","status":"draft","kind":"complex-type","abstract":false,"context":[{"type":"element","expression":"Patient"}],"type":"Extension","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint","differential":{"element":[
		{"id":"Extension.url","path":"Extension.url","fixedUri":"http://bcbench.test/sd/kind"},
		{"id":"Extension.value[x]","path":"Extension.value[x]","type":[{"code":"code"}]}]}}`,
	"reslice.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/reslice","name":"Reslice","status":"draft","kind":"resource","abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint","differential":{"element":[
		{"id":"Patient.extension:kind","path":"Patient.extension","sliceName":"kind","type":[{"code":"Extension","profile":["http://bcbench.test/sd/kind"]}]},
		{"id":"Patient.extension:kind/a","path":"Patient.extension","sliceName":"kind/a","min":1,"max":"1","type":[{"code":"Extension","profile":["http://bcbench.test/sd/kind"]}]},
		{"id":"Patient.extension:kind/a.value[x]","path":"Patient.extension.value[x]","fixedCode":"a"}]}}`,
	// A library of section definitions, and a Composition whose section
	// slice follows one of them (profile-element).
	"library.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/library","name":"Library","status":"draft","kind":"complex-type","abstract":false,"type":"Composition","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Composition","derivation":"constraint","differential":{"element":[
		{"id":"Composition.section","path":"Composition.section","slicing":{"discriminator":[{"type":"pattern","path":"code"}],"rules":"open"}},
		{"id":"Composition.section:a","path":"Composition.section","sliceName":"a"},
		{"id":"Composition.section:a.title","path":"Composition.section.title","min":1},
		{"id":"Composition.section:a.code","path":"Composition.section.code","min":1,"patternCodeableConcept":{"coding":[{"system":"http://bcbench.test/cs","code":"a"}]}}]}}`,
	"document.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/document","name":"Document","status":"draft","kind":"resource","abstract":false,"type":"Composition","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Composition","derivation":"constraint","differential":{"element":[
		{"id":"Composition.section","path":"Composition.section","slicing":{"discriminator":[{"type":"pattern","path":"code"}],"rules":"closed"}},
		{"id":"Composition.section:a","path":"Composition.section","sliceName":"a","min":1,"type":[{"code":"BackboneElement","profile":["http://bcbench.test/sd/library"],"_profile":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/elementdefinition-profile-element","valueString":"Composition.section:a"}]}]}]}]}}`,
	// An additional binding (R5, through the cross-version extension) with
	// purpose required on a code whose own binding is only an example.
	"weights.json": `{"resourceType":"ValueSet","url":"http://bcbench.test/vs/weights","status":"draft","compose":{"include":[{"system":"http://loinc.org","concept":[{"code":"29463-7"}]}]}}`,
	"additional.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/additional","name":"Additional","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.code","path":"Observation.code","binding":{"strength":"example","valueSet":"http://hl7.org/fhir/ValueSet/observation-codes","extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional","extension":[{"url":"purpose","valueCode":"required"},{"url":"valueSet","valueCanonical":"http://bcbench.test/vs/weights"}]}]}}]}}`,
	// An extension on Patient allowed only where the Patient is not active.
	"ext-inactive.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/ext-inactive","name":"ExtInactive","status":"draft","kind":"complex-type","abstract":false,"context":[{"type":"element","expression":"Patient"}],"contextInvariant":["Patient.active.not()"],"type":"Extension","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint","differential":{"element":[
		{"id":"Extension.url","path":"Extension.url","fixedUri":"http://bcbench.test/sd/ext-inactive"},
		{"id":"Extension.value[x]","path":"Extension.value[x]","type":[{"code":"boolean"}]}]}}`,
	// An extension for FHIR R5 and later only.
	"ext-r5.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/ext-r5","name":"ExtR5","status":"draft","kind":"complex-type","abstract":false,
		"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/version-specific-use","extension":[{"url":"startFhirVersion","valueCode":"5.0"}]}],
		"context":[{"type":"element","expression":"Patient"}],"type":"Extension","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint","differential":{"element":[
		{"id":"Extension.url","path":"Extension.url","fixedUri":"http://bcbench.test/sd/ext-r5"},
		{"id":"Extension.value[x]","path":"Extension.value[x]","type":[{"code":"code"}]}]}}`,
	// An extension for R3 to R4: on Patient from R4 to R4B, on Basic always.
	"ext-ranged.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/ext-ranged","name":"ExtRanged","status":"draft","kind":"complex-type","abstract":false,
		"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/version-specific-use","extension":[{"url":"startFhirVersion","valueCode":"3.0"},{"url":"endFhirVersion","valueCode":"4.3"}]}],
		"context":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/version-specific-use","extension":[{"url":"startFhirVersion","valueCode":"5.0"}]}],"type":"element","expression":"Patient"},{"type":"element","expression":"Basic"}],"type":"Extension","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint","differential":{"element":[
		{"id":"Extension.url","path":"Extension.url","fixedUri":"http://bcbench.test/sd/ext-ranged"},
		{"id":"Extension.value[x]","path":"Extension.value[x]","type":[{"code":"code"}]}]}}`,
	// Medication.code.coding sliced by value: each slice bound to a value
	// set contained in the profile, at most one coding per slice.
	"contained-vs.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/contained-vs","name":"ContainedVS","status":"draft","kind":"resource","abstract":false,
		"contained":[{"resourceType":"ValueSet","id":"v1","status":"draft","compose":{"include":[{"system":"http://bcbench.test/cs","concept":[{"code":"s1"}]}]}},
			{"resourceType":"ValueSet","id":"v2","status":"draft","compose":{"include":[{"system":"http://bcbench.test/cs","concept":[{"code":"s2"}]}]}}],
		"type":"Medication","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Medication","derivation":"constraint","differential":{"element":[
		{"id":"Medication.code.coding","path":"Medication.code.coding","slicing":{"discriminator":[{"type":"value","path":"$this"}],"rules":"open"}},
		{"id":"Medication.code.coding:s1","path":"Medication.code.coding","sliceName":"s1","max":"1","binding":{"strength":"required","valueSet":"#v1"}},
		{"id":"Medication.code.coding:s2","path":"Medication.code.coding","sliceName":"s2","max":"1","binding":{"strength":"required","valueSet":"#v2"}}]}}`,
	// Observation.subject a Patient; Observation.subject and code with a
	// target and a type profile no package has.
	"subject-patient.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/subject-patient","name":"SubjectPatient","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.subject","path":"Observation.subject","type":[{"code":"Reference","targetProfile":["http://hl7.org/fhir/StructureDefinition/Patient"]}]}]}}`,
	"missing-target.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/missing-target","name":"MissingTarget","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.subject","path":"Observation.subject","type":[{"code":"Reference","targetProfile":["http://bcbench.test/sd/not-published"]}]}]}}`,
	"missing-type.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/missing-type","name":"MissingType","status":"draft","kind":"resource","abstract":false,"type":"Observation","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation","derivation":"constraint","differential":{"element":[
		{"id":"Observation.code","path":"Observation.code","type":[{"code":"CodeableConcept","profile":["http://bcbench.test/sd/not-published"]}]}]}}`,
	// A modifier extension on Patient.
	"ext-modifier.json": `{"resourceType":"StructureDefinition","url":"http://bcbench.test/sd/ext-modifier","name":"ExtModifier","status":"draft","kind":"complex-type","abstract":false,"context":[{"type":"element","expression":"Patient"}],"type":"Extension","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint","differential":{"element":[
		{"id":"Extension","path":"Extension","isModifier":true,"isModifierReason":"the patient is a test animal"},
		{"id":"Extension.url","path":"Extension.url","fixedUri":"http://bcbench.test/sd/ext-modifier"},
		{"id":"Extension.value[x]","path":"Extension.value[x]","type":[{"code":"boolean"}]}]}}`,
}

// TestAgreementCorrections holds one case per engine correction made for
// the comparison with the HL7 validator's test cases (docs/validation.md,
// "Measured"): each failed before the correction and passes after it.
func TestAgreementCorrections(t *testing.T) {
	v := withProfiles(t, agreementProfiles)
	const obs = `"resourceType":"Observation","status":"final","code":{"text":"x"}`
	const div = `"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">%s</div>"}`
	narrative := func(x string) string { return `{"resourceType":"Patient",` + strings.Replace(div, "%s", x, 1) + `}` }
	coverage := func(ref string) string {
		return `{"resourceType":"Parameters","parameter":[{"name":"c","resource":{"resourceType":"Coverage","status":"active","contained":[{"resourceType":"Organization","id":"payer","name":"Verzekeraar"}],"beneficiary":{"reference":"Patient/1"},"payor":[{"reference":"` + ref + `"}]}}]}`
	}
	ext := func(url, value string) string {
		return `"extension":[{"url":"http://bcbench.test/sd/` + url + `",` + value + `}]`
	}
	med := func(codes ...string) string {
		var cs []string
		for _, c := range codes {
			cs = append(cs, `{"system":"http://bcbench.test/cs","code":"`+c+`"}`)
		}
		return `{"resourceType":"Medication","code":{"coding":[` + strings.Join(cs, ",") + `]}}`
	}
	composition := func(section string) string {
		return `{"resourceType":"Composition","status":"final","type":{"text":"verslag"},"date":"2026-01-01","author":[{"display":"verloskundige"}],"title":"Verslag","section":[` + section + `]}`
	}
	tests := []struct {
		name      string
		data      string
		req       Request
		wantErr   string // "" means no error
		undecided string // a word of an undecided issue that must be there
	}{
		{name: "ref-1: a resource in Parameters refers to its own contained resource",
			data: coverage("#payer")},
		{name: "ref-1: a local reference to no contained resource",
			data: coverage("#elsewhere"), wantErr: "ref-1"},
		{name: "ref-1: a contained resource refers to a sibling",
			data: `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"a","name":"x","partOf":{"reference":"#b"}},{"resourceType":"Organization","id":"b","name":"y"}],"managingOrganization":{"reference":"#a"}}`},
		{name: "narrative: a link with a scheme a reader cannot follow",
			data: narrative(`<a href=\"urn:uuid:8c0b6b4c-1ad7-4d55-9b4e-1d1b1e2b9c11\">huisarts</a>`), wantErr: "scheme"},
		{name: "narrative: a local link to no anchor",
			data: narrative(`<a href=\"#nergens\">zie boven</a>`), wantErr: "does not resolve"},
		{name: "narrative: a local link to an anchor",
			data: narrative(`<a name=\"boven\"/><p>x</p><a href=\"#boven\">zie boven</a>`)},
		{name: "narrative: web and mail links",
			data: narrative(`<a href=\"https://www.babyconnect.org\">site</a><a href=\"mailto:a@b.nl\">mail</a>`)},
		{name: "minValueDuration on a date: too far back",
			data: `{"resourceType":"Patient","birthDate":"1850-01-01"}`, req: Request{Profiles: []string{"http://bcbench.test/sd/duration"}}, wantErr: "earlier than the minimum"},
		{name: "maxValueDuration on a date: too far ahead",
			data: `{"resourceType":"Patient","birthDate":"2100-01-01"}`, req: Request{Profiles: []string{"http://bcbench.test/sd/duration"}}, wantErr: "later than the maximum"},
		{name: "a date within its Duration bounds",
			data: `{"resourceType":"Patient","birthDate":"1990-05-01"}`, req: Request{Profiles: []string{"http://bcbench.test/sd/duration"}}},
		{name: "a resource conforms to one of its profiles",
			data: `{"resourceType":"Parameters","parameter":[{"name":"patient","resource":{"resourceType":"Patient","gender":"female"}}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/one-of"}}},
		{name: "a resource that conforms to none of its profiles",
			data: `{"resourceType":"Parameters","parameter":[{"name":"patient","resource":{"resourceType":"Patient","active":true}}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/one-of"}}, wantErr: "conforms to none of the profiles"},
		{name: "a resource of a type none of its profiles is for",
			data: `{"resourceType":"Parameters","parameter":[{"name":"patient","resource":{"resourceType":"Organization","name":"x"}}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/one-of"}}, wantErr: "is not allowed here"},
		{name: "a profiled entry resource refers to its own contained resource",
			data: `{"resourceType":"Parameters","parameter":[{"name":"patient","resource":{"resourceType":"Patient","gender":"female","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/one-of"}}},
		{name: "one of the profiles cannot be used: undecided, not an error",
			data: `{"resourceType":"Parameters","parameter":[{"name":"patient","resource":{"resourceType":"Patient","active":true}}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/one-of-broken"}}, undecided: "was not checked"},
		{name: "a profile's constraints on parameter do not apply to its parts (contentReference)",
			data: `{"resourceType":"Parameters","parameter":[{"name":"patient","part":[{"name":"anders","valueString":"x"}]}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/one-of"}}},
		{name: "a profile discriminator on a string: the slice is found",
			data: `{` + obs + `,"category":[{"text":"spoed"}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/text-slice"}}},
		{name: "a profile discriminator on a string: no slice",
			data: `{` + obs + `,"category":[{"text":"later"}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/text-slice"}}, wantErr: "slice urgent requires at least 1"},
		{name: "a value in a slice and its reslice is in one slice",
			data: `{"resourceType":"Patient","extension":[{"url":"http://bcbench.test/sd/kind","valueCode":"a"}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/reslice"}}},
		{name: "a value of the slice that breaks its reslice (sliced by url alone) is judged by the reslice",
			data: `{"resourceType":"Patient","extension":[{"url":"http://bcbench.test/sd/kind","valueCode":"b"}]}`, req: Request{Profiles: []string{"http://bcbench.test/sd/reslice"}}, wantErr: "fixed value"},
		{name: "a section that follows the element of a library profile (profile-element)",
			data: composition(`{"title":"Zwangerschap","code":{"coding":[{"system":"http://bcbench.test/cs","code":"a"}]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`), req: Request{Profiles: []string{"http://bcbench.test/sd/document"}}},
		{name: "a section that breaks the element of a library profile",
			data: composition(`{"code":{"coding":[{"system":"http://bcbench.test/cs","code":"a"}]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`), req: Request{Profiles: []string{"http://bcbench.test/sd/document"}}, wantErr: "minimum required = 1"},
		{name: "a required additional binding: a code outside it",
			data: `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]}}`, req: Request{Profiles: []string{"http://bcbench.test/sd/additional"}}, wantErr: "not in the required value set http://bcbench.test/vs/weights"},
		{name: "a required additional binding: a code in it",
			data: `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]}}`, req: Request{Profiles: []string{"http://bcbench.test/sd/additional"}}},
		{name: "a wrong display of an unbound Coding is an error when asked",
			data: `{` + obs + `,"valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"C","display":"Buurvrouw"}]}}`, req: Request{WrongDisplayIsError: true}, wantErr: "not a known display"},
		{name: "a wrong display is a warning by default",
			data: `{` + obs + `,"valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"C","display":"Buurvrouw"}]}}`},
		{name: "a right display is no error when asked",
			data: `{` + obs + `,"valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"C","display":"Emergency Contact"}]}}`, req: Request{WrongDisplayIsError: true}},
		{name: "an example.org URL where examples are not allowed",
			data: `{"resourceType":"Patient","photo":[{"url":"http://images.example.org/p.png"}]}`, req: Request{NoExampleURLs: true}, wantErr: "example URLs"},
		{name: "an unknown example.org extension where examples are not allowed",
			data: `{"resourceType":"Patient","extension":[{"url":"http://example.org/fhir/StructureDefinition/x","valueString":"y"}]}`, req: Request{NoExampleURLs: true}, wantErr: "unknown"},
		{name: "context invariant holds: the extension on an inactive Patient is valid",
			data: `{"resourceType":"Patient",` + ext("ext-inactive", `"valueBoolean":true`) + `,"active":false}`},
		{name: "context invariant fails: the extension on an active Patient is an error",
			data: `{"resourceType":"Patient",` + ext("ext-inactive", `"valueBoolean":true`) + `,"active":true}`, wantErr: "context invariant"},
		{name: "an extension for R5 and later used in R4 is an error",
			data: `{"resourceType":"Patient",` + ext("ext-r5", `"valueCode":"x"`) + `}`, wantErr: "version-specific-use"},
		{name: "an extension for R3 to R4B used on Basic in R4 is valid",
			data: `{"resourceType":"Basic","code":{"text":"x"},` + ext("ext-ranged", `"valueCode":"x"`) + `}`},
		{name: "an extension whose Patient context is for R5 only, used on Patient in R4, is an error",
			data: `{"resourceType":"Patient",` + ext("ext-ranged", `"valueCode":"x"`) + `}`, wantErr: "is not allowed here"},
		{name: "slices bound to value sets contained in the profile: one coding per slice",
			data: med("s1", "s2"), req: Request{Profiles: []string{"http://bcbench.test/sd/contained-vs"}}},
		{name: "slices bound to value sets contained in the profile: two codings in a slice of at most one",
			data: med("s1", "s1", "s2"), req: Request{Profiles: []string{"http://bcbench.test/sd/contained-vs"}}, wantErr: "slice s1 allows at most 1"},
		{name: "a reference that resolves nowhere is an error where references must resolve (beneficiary Patient/1)",
			data: coverage("#payer"), req: Request{ReferencesMustResolve: true}, wantErr: "does not resolve"},
		{name: "a reference to a resource of the Parameters resolves",
			data: `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","id":"1"}},{"name":"c","resource":{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/1"},"payor":[{"display":"x"}]}}]}`, req: Request{ReferencesMustResolve: true}},
		{name: "a reference that resolves nowhere is judged by its text by default",
			data: `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","id":"1"}},{"name":"c","resource":{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/2"},"payor":[{"display":"x"}]}}]}`},
		{name: "the type a REST reference names is checked by default",
			data: `{` + obs + `,"subject":{"reference":"Group/1"}}`, req: Request{Profiles: []string{"http://bcbench.test/sd/subject-patient"}}, wantErr: "points to a Group"},
		{name: "the type a REST reference names is left unchecked when asked (HL7 default)",
			data: `{` + obs + `,"subject":{"reference":"Group/1"}}`, req: Request{Profiles: []string{"http://bcbench.test/sd/subject-patient"}, UncheckedRESTReferences: true}},
		{name: "a target profile no package has is undecided",
			data: `{` + obs + `,"subject":{"reference":"Patient/1"}}`, req: Request{Profiles: []string{"http://bcbench.test/sd/missing-target"}}, undecided: "is not loaded"},
		{name: "a target profile no package has is an error with the HL7 policy",
			data: `{` + obs + `,"subject":{"reference":"Patient/1"}}`, req: Request{Profiles: []string{"http://bcbench.test/sd/missing-target"}, HL7Policy: true}, wantErr: "is not loaded"},
		{name: "a type profile no package has is undecided",
			data: `{` + obs + `}`, req: Request{Profiles: []string{"http://bcbench.test/sd/missing-type"}}, undecided: "type profile could not be used"},
		{name: "a type profile no package has is an error with the HL7 policy",
			data: `{` + obs + `}`, req: Request{Profiles: []string{"http://bcbench.test/sd/missing-type"}, HL7Policy: true}, wantErr: "type profile could not be used"},
		{name: "a modifier extension in modifierExtension is valid",
			data: `{"resourceType":"Patient","modifierExtension":[{"url":"http://bcbench.test/sd/ext-modifier","valueBoolean":true}]}`},
		{name: "a modifier extension in extension is an error",
			data: `{"resourceType":"Patient","extension":[{"url":"http://bcbench.test/sd/ext-modifier","valueBoolean":true}]}`, wantErr: "must be in modifierExtension"},
		{name: "a regular extension in modifierExtension is an error",
			data: `{"resourceType":"Patient","modifierExtension":[{"url":"http://bcbench.test/sd/kind","valueCode":"a"}]}`, wantErr: "must be in extension"},
		{name: "an unknown example.org extension is undecided by default",
			data: `{"resourceType":"Patient","extension":[{"url":"http://example.org/fhir/StructureDefinition/x","valueString":"y"}]}`, undecided: "not in the loaded packages"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := v.Validate(context.Background(), []byte(tc.data), tc.req)
			expectIssues(t, out, tc.wantErr, tc.undecided)
		})
	}
}
