package validator

import (
	"encoding/json"
	"testing"
)

// TestPlainHoldsAgreesWithFHIRPath: where a shortcut of plainHolds says a
// core invariant holds, FHIRPath evaluation of the invariant says so too;
// and each shortcut leaves some objects to FHIRPath.
func TestPlainHoldsAgreesWithFHIRPath(t *testing.T) {
	v := r4(t)
	const (
		ref1  = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))"
		ref1r = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %resource.contained.id.trace('ids'))"
		dom6  = "text.`div`.exists()"
		obs7  = "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"
		obs6  = "dataAbsentReason.empty() or value.empty()"
		qty3  = "code.empty() or system.exists()"
		cpt2  = "value.empty() or system.exists()"
		con4  = "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()"
		con5  = "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()"
		own   = "family.extension('http://hl7.org/fhir/StructureDefinition/humanname-own-prefix').empty().not() implies family.extension('http://hl7.org/fhir/StructureDefinition/humanname-own-name').empty().not()"
		con3  = "clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or category.select($this='problem-list-item').empty()"
		text  = "(family.exists() or given.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier').where(value != 'IN').exists()) implies text.hasValue()"
		vs2   = "(component.empty() and hasMember.empty()) implies (dataAbsentReason.exists() or value.exists())"
		org1  = "(identifier.count() + name.count()) > 0"
	)
	const ccActive = `"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}`
	for _, tc := range []struct {
		name      string
		expr      string
		focusType string
		obj       string
		shortcut  bool // plainHolds decides it (then FHIRPath must agree); else FHIRPath is asked
	}{
		{"ref-1 relative reference", ref1, "Reference", `{"reference":"Patient/1"}`, true},
		{"ref-1 absolute reference", ref1r, "Reference", `{"reference":"https://x.org/fhir/Patient/1"}`, true},
		{"ref-1 local reference", ref1, "Reference", `{"reference":"#p1"}`, false},
		{"ref-1 no reference", ref1, "Reference", `{"display":"a"}`, false},
		{"ref-1 empty reference", ref1, "Reference", `{"reference":""}`, false},
		{"dom-6 narrative", dom6, "", `{"resourceType":"Basic","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a</div>"}}`, true},
		{"dom-6 no narrative", dom6, "", `{"resourceType":"Basic"}`, false},
		{"obs-7 no value", obs7, "", `{"resourceType":"Observation","code":{"text":"a"},"component":[{"code":{"text":"a"}}]}`, true},
		{"obs-7 no component", obs7, "", `{"resourceType":"Observation","code":{"text":"a"},"valueString":"x"}`, true},
		{"obs-7 value and component", obs7, "", `{"resourceType":"Observation","code":{"text":"a"},"valueString":"x","component":[{"code":{"text":"b"}}]}`, false},
		{"obs-6 no dataAbsentReason", obs6, "", `{"resourceType":"Observation","valueQuantity":{"value":1}}`, true},
		{"obs-6 no value", obs6, "", `{"resourceType":"Observation","dataAbsentReason":{"text":"a"}}`, true},
		{"obs-6 value only as extension", obs6, "", `{"resourceType":"Observation","dataAbsentReason":{"text":"a"},"_valueString":{"extension":[{"url":"http://x.org/e","valueString":"b"}]}}`, false},
		{"qty-3 no code", qty3, "Quantity", `{"value":1,"unit":"kg"}`, true},
		{"qty-3 code and system", qty3, "Quantity", `{"value":1,"code":"kg","system":"http://unitsofmeasure.org"}`, true},
		{"qty-3 code without system", qty3, "Quantity", `{"value":1,"code":"kg"}`, false},
		{"cpt-2 value and system", cpt2, "ContactPoint", `{"system":"phone","value":"0612345678"}`, true},
		{"cpt-2 no value", cpt2, "ContactPoint", `{"use":"home"}`, true},
		{"cpt-2 value without system", cpt2, "ContactPoint", `{"value":"0612345678"}`, false},
		{"con-4 no abatement", con4, "", `{"resourceType":"Condition",` + ccActive + `}`, true},
		{"con-4 abatement while active", con4, "", `{"resourceType":"Condition",` + ccActive + `,"abatementDateTime":"2020-01-01"}`, false},
		{"con-5 no verification status", con5, "", `{"resourceType":"Condition",` + ccActive + `}`, true},
		{"con-5 no clinical status", con5, "", `{"resourceType":"Condition","verificationStatus":{"text":"x"}}`, true},
		{"con-5 both", con5, "", `{"resourceType":"Condition",` + ccActive + `,"verificationStatus":{"text":"x"}}`, false},
		{"own prefix: family without extensions", own, "HumanName", `{"family":"Jansen"}`, true},
		{"own prefix: no family", own, "HumanName", `{"given":["Anna"]}`, true},
		{"own prefix: family with extensions", own, "HumanName", `{"family":"van Jansen","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"van"}]}}`, false},
		{"con-3 clinical status", con3, "", `{"resourceType":"Condition",` + ccActive + `,"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}]}`, true},
		{"con-3 no clinical status", con3, "", `{"resourceType":"Condition","category":[{"text":"x"}]}`, false},
		{"name text: text given", text, "HumanName", `{"family":"Jansen","text":"Anna Jansen"}`, true},
		{"name text: no text", text, "HumanName", `{"family":"Jansen"}`, false},
		{"vs-2 value", vs2, "", `{"resourceType":"Observation","code":{"text":"a"},"valueQuantity":{"value":1}}`, true},
		{"vs-2 data absent", vs2, "", `{"resourceType":"Observation","code":{"text":"a"},"dataAbsentReason":{"text":"a"}}`, true},
		{"vs-2 value only as extension", vs2, "", `{"resourceType":"Observation","code":{"text":"a"},"_valueString":{"extension":[{"url":"http://x.org/e","valueString":"b"}]}}`, false},
		{"vs-2 empty value", vs2, "", `{"resourceType":"Observation","code":{"text":"a"},"valueString":""}`, false},
		{"org-1 identifier", org1, "", `{"resourceType":"Organization","identifier":[{"system":"http://x.org/i","value":"1"}]}`, true},
		{"org-1 name", org1, "", `{"resourceType":"Organization","name":"Zorg"}`, true},
		{"org-1 neither", org1, "", `{"resourceType":"Organization","active":true}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(tc.obj), &obj); err != nil {
				t.Fatal(err)
			}
			holds := plainHolds[tc.expr]
			if holds == nil {
				t.Fatalf("no shortcut for %s", tc.expr)
			}
			if got := holds(obj); got != tc.shortcut {
				t.Fatalf("shortcut decides: %v, want %v", got, tc.shortcut)
			}
			res := obj
			if _, ok := obj["resourceType"]; !ok {
				res = map[string]any{"resourceType": "Basic"}
			}
			val, ok, err := v.inv.check(tc.expr, obj, tc.focusType, res, res)
			if err != nil {
				t.Fatalf("FHIRPath: %v", err)
			}
			if tc.shortcut && (!ok || !val) {
				t.Fatalf("the shortcut says it holds, FHIRPath says: value %v, answered %v", val, ok)
			}
		})
	}
}

// TestPlainValueHoldsAgreesWithFHIRPath: where plainValueHolds says an
// invariant holds on a primitive's value, FHIRPath evaluation says so too.
func TestPlainValueHoldsAgreesWithFHIRPath(t *testing.T) {
	v := r4(t)
	const nameInfo2 = "(extension('http://hl7.org/fhir/StructureDefinition/humanname-own-prefix').exists() or extension('http://hl7.org/fhir/StructureDefinition/humanname-own-name').exists() or extension('http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix').exists() or extension('http://hl7.org/fhir/StructureDefinition/humanname-partner-name').exists()) implies $this.hasValue()"
	for _, tc := range []struct {
		name     string
		expr     string
		value    any
		shortcut bool
	}{
		{"nl-core-NameInformation-02 on a family name", nameInfo2, "Jansen", true},
		{"nl-core-NameInformation-02 on a number", nameInfo2, json.Number("1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			holds := plainValueHolds[tc.expr]
			if holds == nil {
				t.Fatalf("no shortcut for %s", tc.expr)
			}
			if got := holds(tc.value); got != tc.shortcut {
				t.Fatalf("shortcut decides: %v, want %v", got, tc.shortcut)
			}
			res := map[string]any{"resourceType": "Patient"}
			val, ok, err := v.inv.check(tc.expr, tc.value, "string", res, res)
			if err != nil {
				t.Fatalf("FHIRPath: %v", err)
			}
			if tc.shortcut && ok && !val {
				t.Fatalf("the shortcut says it holds, FHIRPath says it fails")
			}
		})
	}
}

// TestPlainHoldsInAgreesWithFHIRPath: where plainHoldsIn says an invariant
// holds on an object in a resource, FHIRPath evaluation with that resource
// as %resource says so too; where it cannot say, FHIRPath is asked.
func TestPlainHoldsInAgreesWithFHIRPath(t *testing.T) {
	v := r4(t)
	const (
		obs7 = "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"
		bp   = `{"system":"http://loinc.org","code":"85354-9"}`
		sys  = `{"system":"http://loinc.org","code":"8480-6"}`
		obs  = `"resourceType":"Observation","code":{"coding":[` + bp + `]},"valueString":"x"`
	)
	for _, tc := range []struct {
		name     string
		obj      string
		res      string // %resource; the object itself when empty
		shortcut bool   // plainHoldsIn decides it (then FHIRPath must agree)
		holds    bool   // what FHIRPath says, when the shortcut does not decide
	}{
		{"obs-7 component codes differ from the code", `{` + obs + `,"component":[{"code":{"coding":[` + sys + `]}}]}`, "", true, true},
		{"obs-7 component without coding", `{` + obs + `,"component":[{"code":{"text":"a"}}]}`, "", true, true},
		{"obs-7 component code is the code", `{` + obs + `,"component":[{"code":{"coding":[` + sys + `]}},{"code":{"coding":[` + bp + `]}}]}`, "", false, false},
		{"obs-7 same system and code, another display", `{` + obs + `,"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"BP"}]}}]}`, "", false, true},
		{"obs-7 system as extension", `{` + obs + `,"component":[{"code":{"coding":[{"_system":{"extension":[{"url":"http://x.org/e","valueString":"b"}]},"code":"8480-6"}]}}]}`, "", false, true},
		{"obs-7 %resource is another resource with the component's code", `{` + obs + `,"component":[{"code":{"coding":[` + sys + `]}}]}`, `{"resourceType":"Observation","code":{"coding":[` + sys + `]}}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj, res map[string]any
			if err := json.Unmarshal([]byte(tc.obj), &obj); err != nil {
				t.Fatal(err)
			}
			res = obj
			if tc.res != "" {
				if err := json.Unmarshal([]byte(tc.res), &res); err != nil {
					t.Fatal(err)
				}
			}
			holds := plainHoldsIn[obs7]
			if holds == nil {
				t.Fatalf("no shortcut for %s", obs7)
			}
			if got := holds(obj, res); got != tc.shortcut {
				t.Fatalf("shortcut decides: %v, want %v", got, tc.shortcut)
			}
			val, ok, err := v.inv.check(obs7, obj, "", res, res)
			if err != nil {
				t.Fatalf("FHIRPath: %v", err)
			}
			want := tc.holds || tc.shortcut
			if got := ok && val; got != want {
				t.Fatalf("FHIRPath says the invariant holds: %v (answered %v), want %v", val, ok, want)
			}
		})
	}
}
