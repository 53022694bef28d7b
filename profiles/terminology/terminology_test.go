package terminology

import (
	"strings"
	"testing"
)

const (
	v3ActCode   = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	snomed      = "http://snomed.info/sct"
	loinc       = "http://loinc.org"
	gender      = "http://hl7.org/fhir/administrative-gender"
	nictizVS    = "http://decor.nictiz.nl/fhir/ValueSet/"
	alertheidCS = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.20.1"
)

type codeCase struct {
	name     string
	valueSet string
	coding   Coding
	want     Outcome
	// msg lists fragments the message must contain (for NotMember / Unknown).
	msg []string
	// displayWarning says whether a display warning is expected.
	displayWarning bool
}

func runCodeCases(t *testing.T, svc *Service, cases []codeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := svc.ValidateCode(tc.valueSet, tc.coding)
			if got.Outcome != tc.want {
				t.Fatalf("ValidateCode(%s, %+v) = %v (%s), want %v", tc.valueSet, tc.coding, got.Outcome, got.Message, tc.want)
			}
			for _, frag := range tc.msg {
				if !strings.Contains(got.Message, frag) {
					t.Errorf("message %q does not mention %q", got.Message, frag)
				}
			}
			if tc.want != Member && got.Message == "" {
				t.Errorf("outcome %v without a message", got.Outcome)
			}
			if (got.DisplayWarning != "") != tc.displayWarning {
				t.Errorf("display warning = %q, want one: %v", got.DisplayWarning, tc.displayWarning)
			}
		})
	}
}

func TestCoreR4ValueSets(t *testing.T) {
	svc := New(corpus(t))
	runCodeCases(t, svc, []codeCase{
		{name: "administrative-gender male", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: gender, Code: "male", Display: "Male"}, want: Member},
		{name: "administrative-gender unknown is a code", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: gender, Code: "unknown"}, want: Member},
		{name: "administrative-gender wrong code", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: gender, Code: "man"}, want: NotMember, msg: []string{`"man"`, "administrative-gender"}},
		{name: "administrative-gender code is case sensitive", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: gender, Code: "Male"}, want: NotMember},
		{name: "administrative-gender wrong system", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: "http://example.org/gender", Code: "male"}, want: NotMember, msg: []string{"no codes from system http://example.org/gender"}},
		{name: "administrative-gender wrong display warns", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: gender, Code: "female", Display: "Vrouw"}, want: Member, displayWarning: true},
		{name: "administrative-gender display ignores case", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{System: gender, Code: "female", Display: "FEMALE"}, want: Member},
		{name: "administrative-gender by url|version", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1",
			coding: Coding{System: gender, Code: "other"}, want: Member},
		{name: "observation-status final", valueSet: "http://hl7.org/fhir/ValueSet/observation-status|4.0.1",
			coding: Coding{System: "http://hl7.org/fhir/observation-status", Code: "final"}, want: Member},
		{name: "observation-status done is not a status", valueSet: "http://hl7.org/fhir/ValueSet/observation-status",
			coding: Coding{System: "http://hl7.org/fhir/observation-status", Code: "done"}, want: NotMember},
		// is-a on v3-ActCode, with the root excluded.
		{name: "is-a filter descendant AMB", valueSet: "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
			coding: Coding{System: v3ActCode, Code: "AMB", Display: "ambulatory"}, want: Member},
		{name: "is-a filter deeper descendant ACUTE", valueSet: "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
			coding: Coding{System: v3ActCode, Code: "ACUTE"}, want: Member},
		{name: "is-a filter root excluded", valueSet: "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
			coding: Coding{System: v3ActCode, Code: "_ActEncounterCode"}, want: NotMember},
		{name: "is-a filter code outside the branch", valueSet: "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
			coding: Coding{System: v3ActCode, Code: "CASH"}, want: NotMember},
		{name: "is-not-a filter keeps other codes", valueSet: "http://hl7.org/fhir/ValueSet/patient-contactrelationship",
			coding: Coding{System: "http://terminology.hl7.org/CodeSystem/v2-0131", Code: "N"}, want: Member},
		{name: "is-not-a filter drops the code", valueSet: "http://hl7.org/fhir/ValueSet/patient-contactrelationship",
			coding: Coding{System: "http://terminology.hl7.org/CodeSystem/v2-0131", Code: "O"}, want: NotMember},
		// SNOMED CT is not in the packages: the filter decides, so Unknown.
		{name: "SNOMED is-a filter is unknown", valueSet: "http://hl7.org/fhir/ValueSet/route-codes",
			coding: Coding{System: snomed, Code: "26643006"}, want: Unknown, msg: []string{"is-a 284009009", snomed, "could not be checked"}},
		{name: "SNOMED filter, code with a wrong check digit", valueSet: "http://hl7.org/fhir/ValueSet/route-codes",
			coding: Coding{System: snomed, Code: "26643007"}, want: NotMember, msg: []string{"check digit"}},
		{name: "SNOMED filter value set, other system", valueSet: "http://hl7.org/fhir/ValueSet/route-codes",
			coding: Coding{System: loinc, Code: "26643006"}, want: NotMember},
		// A shipped expansion of a LOINC parent filter (total 8, all 8 listed).
		{name: "pre-expanded listed code", valueSet: "http://hl7.org/fhir/ValueSet/example-expansion",
			coding: Coding{System: loinc, Code: "14647-2"}, want: Member},
		{name: "pre-expanded nested code", valueSet: "http://hl7.org/fhir/ValueSet/example-expansion",
			coding: Coding{System: loinc, Code: "2093-3"}, want: Member},
		{name: "pre-expanded complete expansion (8 of 8) decides", valueSet: "http://hl7.org/fhir/ValueSet/example-expansion",
			coding: Coding{System: loinc, Code: "1234-5"}, want: NotMember},
		// Imports.
		{name: "import union second value set", valueSet: "http://hl7.org/fhir/ValueSet/event-or-request-resource-types",
			coding: Coding{System: "http://hl7.org/fhir/request-resource-types", Code: "ServiceRequest"}, want: Member},
		{name: "import union not in either", valueSet: "http://hl7.org/fhir/ValueSet/event-or-request-resource-types",
			coding: Coding{System: "http://hl7.org/fhir/request-resource-types", Code: "Patient"}, want: NotMember},
		// UCUM.
		{name: "ucum listed kg", valueSet: "http://hl7.org/fhir/ValueSet/ucum-bodyweight",
			coding: Coding{System: SystemUCUM, Code: "kg"}, want: Member},
		{name: "ucum listed excludes mg", valueSet: "http://hl7.org/fhir/ValueSet/ucum-bodyweight",
			coding: Coding{System: SystemUCUM, Code: "mg"}, want: NotMember},
		{name: "ucum-units whole system mm[Hg]", valueSet: "http://hl7.org/fhir/ValueSet/ucum-units",
			coding: Coding{System: SystemUCUM, Code: "mm[Hg]"}, want: Member},
		{name: "ucum-units whole system fmm[Hg]", valueSet: "http://hl7.org/fhir/ValueSet/ucum-units",
			coding: Coding{System: SystemUCUM, Code: "fmm[Hg]"}, want: NotMember, msg: []string{"fmm[Hg]"}},
		// Languages and MIME types.
		{name: "all-languages nl-NL", valueSet: "http://hl7.org/fhir/ValueSet/all-languages",
			coding: Coding{System: SystemBCP47, Code: "nl-NL"}, want: Member},
		{name: "all-languages bad tag", valueSet: "http://hl7.org/fhir/ValueSet/all-languages",
			coding: Coding{System: SystemBCP47, Code: "nl_NL"}, want: NotMember},
		{name: "languages listed nl-NL", valueSet: "http://hl7.org/fhir/ValueSet/languages",
			coding: Coding{System: SystemBCP47, Code: "nl-NL"}, want: Member},
		{name: "mimetypes fhir+json", valueSet: "http://hl7.org/fhir/ValueSet/mimetypes",
			coding: Coding{System: SystemMIME, Code: "application/fhir+json"}, want: Member},
		{name: "mimetypes no slash", valueSet: "http://hl7.org/fhir/ValueSet/mimetypes",
			coding: Coding{System: SystemMIME, Code: "pdf"}, want: NotMember},
		// ISO 3166 regex filters, checked by rule.
		{name: "iso3166-1-3 regex filter, alpha-3 unknown", valueSet: "http://hl7.org/fhir/ValueSet/iso3166-1-3",
			coding: Coding{System: SystemISO3166, Code: "NLD"}, want: Unknown, msg: []string{"alpha-3"}},
		{name: "iso3166-1-3 regex filter, alpha-2 fails regex", valueSet: "http://hl7.org/fhir/ValueSet/iso3166-1-3",
			coding: Coding{System: SystemISO3166, Code: "NL"}, want: NotMember},
		{name: "iso3166-1-2 listed", valueSet: "http://hl7.org/fhir/ValueSet/iso3166-1-2",
			coding: Coding{System: SystemISO3166, Code: "NL", Display: "Netherlands"}, want: Member},
		// Bare codes (code primitives): the value set's system is implied.
		{name: "bare code in a one-system value set", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{Code: "female"}, want: Member},
		{name: "bare code not in the value set", valueSet: "http://hl7.org/fhir/ValueSet/administrative-gender",
			coding: Coding{Code: "woman"}, want: NotMember},
		{name: "bare MIME type checked by rule", valueSet: "http://hl7.org/fhir/ValueSet/mimetypes",
			coding: Coding{Code: "application/pdf"}, want: Member},
		{name: "bare language checked by rule", valueSet: "http://hl7.org/fhir/ValueSet/all-languages",
			coding: Coding{Code: "nl_NL"}, want: NotMember},
		{name: "bare code, SNOMED filter", valueSet: "http://hl7.org/fhir/ValueSet/route-codes",
			coding: Coding{Code: "26643006"}, want: Unknown, msg: []string{"is-a 284009009"}},
		// Not loaded.
		{name: "value set not loaded", valueSet: "http://example.org/ValueSet/nothing",
			coding: Coding{System: gender, Code: "male"}, want: Unknown, msg: []string{"not in the loaded packages"}},
	})
}

func TestNictizValueSets(t *testing.T) {
	svc := New(corpus(t))
	alertheid := nictizVS + "2.16.840.1.113883.2.4.3.11.60.40.2.12.12.1--20200901000000"
	productType := nictizVS + "2.16.840.1.113883.2.4.3.11.60.40.2.10.1.1--20200901000000"
	hpk := nictizVS + "2.16.840.1.113883.2.4.3.11.60.40.2.9.7.5--20200901000000"
	land := nictizVS + "2.16.840.1.113883.2.4.3.11.60.121.11.10--20200901000000"
	runCodeCases(t, svc, []codeCase{
		{name: "AlertheidCodelijst listed code", valueSet: alertheid,
			coding: Coding{System: alertheidCS, Code: "Alert3", Display: "Drowsy"}, want: Member},
		{name: "AlertheidCodelijst unknown code", valueSet: alertheid,
			coding: Coding{System: alertheidCS, Code: "Alert9"}, want: NotMember},
		{name: "AlertheidCodelijst wrong display", valueSet: alertheid,
			coding: Coding{System: alertheidCS, Code: "Alert3", Display: "Wide awake"}, want: Member, displayWarning: true},
		{name: "ProductTypeCodelijst listed NullFlavor", valueSet: productType,
			coding: Coding{System: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", Code: "OTH"}, want: Member},
		{name: "ProductTypeCodelijst SNOMED descendent-of is unknown", valueSet: productType,
			coding: Coding{System: snomed, Code: "22852002"}, want: Unknown, msg: []string{"descendent-of 260787004", snomed}},
		{name: "ProductTypeCodelijst NullFlavor not listed", valueSet: productType,
			coding: Coding{System: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", Code: "UNK"}, want: NotMember},
		{name: "G-Standaard HPK whole system not present", valueSet: hpk,
			coding: Coding{System: "urn:oid:2.16.840.1.113883.2.4.4.7", Code: "12345678"}, want: Unknown,
			msg: []string{"urn:oid:2.16.840.1.113883.2.4.4.7", "not-present"}},
		{name: "LandCodelijsten import GBA table 34", valueSet: land,
			coding: Coding{System: "urn:oid:2.16.840.1.113883.2.4.4.16.34", Code: "5001", Display: "Canada"}, want: Member},
		{name: "LandCodelijsten import ISO 3166 NL", valueSet: land,
			coding: Coding{System: SystemISO3166, Code: "NL"}, want: Member},
		{name: "LandCodelijsten import ISO 3166 unassigned", valueSet: land,
			coding: Coding{System: SystemISO3166, Code: "XX"}, want: NotMember},
		{name: "LandCodelijsten import GBA unknown code", valueSet: land,
			coding: Coding{System: "urn:oid:2.16.840.1.113883.2.4.4.16.34", Code: "1234"}, want: NotMember},
	})
}

func TestValidateCodeInSystem(t *testing.T) {
	svc := New(corpus(t))
	cases := []struct {
		name   string
		coding Coding
		want   Outcome
		msg    string
	}{
		{"complete system known code", Coding{System: gender, Code: "female"}, Member, ""},
		{"complete system unknown code", Coding{System: gender, Code: "fem"}, NotMember, "unknown code"},
		{"v3 nested code", Coding{System: v3ActCode, Code: "ACUTE"}, Member, ""},
		{"version not loaded says so", Coding{System: gender, Version: "9.9", Code: "male"}, Member, `version "9.9" is not loaded`},
		{"snomed not loaded", Coding{System: snomed, Code: "22852002"}, Unknown, "could not be checked"},
		{"snomed description id is no concept", Coding{System: snomed, Code: "751689013"}, NotMember, "description"},
		{"loinc wrong check digit", Coding{System: loinc, Code: "8480-5"}, NotMember, "check digit"},
		{"loinc valid code unknown", Coding{System: loinc, Code: "8480-6"}, Unknown, "could not be checked"},
		{"G-Standaard not present", Coding{System: "urn:oid:2.16.840.1.113883.2.4.4.1.750", Code: "1"}, Unknown, "content not-present"},
		{"ucum rule", Coding{System: SystemUCUM, Code: "mg/dL"}, Member, ""},
		{"complete but empty code system", Coding{System: "http://hl7.org/fhir/message-events", Code: "admin-notify"}, Unknown, "without any concept"},
		{"no system", Coding{Code: "x"}, Unknown, "no system"},
		{"empty value set means code system", Coding{System: gender, Code: "nope"}, NotMember, "unknown code"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := svc.ValidateCodeInSystem(tc.coding)
			if tc.name == "empty value set means code system" {
				got = svc.ValidateCode("", tc.coding)
			}
			if got.Outcome != tc.want || !strings.Contains(got.Message, tc.msg) {
				t.Fatalf("got %v %q, want %v containing %q", got.Outcome, got.Message, tc.want, tc.msg)
			}
		})
	}
}

func TestExpandCoreR4(t *testing.T) {
	svc := New(corpus(t))
	cases := []struct {
		name     string
		valueSet string
		complete bool
		count    int // -1: do not check
		has      []string
		hasNot   []string
	}{
		// Counts cross-checked against the package JSON with a separate script.
		{"administrative-gender", "http://hl7.org/fhir/ValueSet/administrative-gender", true, 4, []string{"male", "female", "other", "unknown"}, nil},
		{"is-a minus root", "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode", true, 11, []string{"AMB", "VR", "OBSENC"}, []string{"_ActEncounterCode"}},
		{"snomed filter", "http://hl7.org/fhir/ValueSet/route-codes", false, 0, nil, nil},
		{"imports", "http://hl7.org/fhir/ValueSet/event-or-request-resource-types", true, -1, []string{"Observation", "ServiceRequest"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp, err := svc.Expand(tc.valueSet)
			if err != nil {
				t.Fatalf("Expand: %v", err)
			}
			if exp.Complete != tc.complete {
				t.Errorf("complete = %v, want %v (incomplete: %v)", exp.Complete, tc.complete, exp.Incomplete)
			}
			if !exp.Complete && len(exp.Incomplete) == 0 {
				t.Errorf("incomplete expansion without a reason")
			}
			if tc.count >= 0 && len(exp.Contains) != tc.count {
				t.Errorf("%d codes, want %d", len(exp.Contains), tc.count)
			}
			codes := map[string]bool{}
			for _, c := range exp.Contains {
				codes[c.Code] = true
			}
			for _, c := range tc.has {
				if !codes[c] {
					t.Errorf("expansion lacks %s", c)
				}
			}
			for _, c := range tc.hasNot {
				if codes[c] {
					t.Errorf("expansion has %s", c)
				}
			}
		})
	}
	if _, err := svc.Expand("http://example.org/ValueSet/none"); err == nil {
		t.Errorf("Expand of a missing value set: no error")
	}
}
