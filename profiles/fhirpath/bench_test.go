package fhirpath

import (
	"encoding/json"
	"testing"
)

// benchObservation is a synthetic blood-pressure Observation in FHIR JSON,
// shaped like what a birth-care system sends (codes, components, references,
// a primitive extension), written for these benchmarks.
const benchObservation = `{
  "resourceType": "Observation",
  "id": "bp-zwanger-1",
  "meta": {"profile": ["http://nictiz.nl/fhir/StructureDefinition/nl-core-BloodPressure"], "lastUpdated": "2026-03-01T10:15:00+01:00"},
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Bloeddruk 120/80 mmHg</div>"},
  "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.3.11.999.7.6", "value": "obs-0001"}],
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}, {"system": "http://snomed.info/sct", "code": "75367002", "display": "bloeddruk"}]},
  "subject": {"reference": "Patient/client-1", "display": "A. Jansen"},
  "effectiveDateTime": "2026-03-01T10:10:00+01:00",
  "_effectiveDateTime": {"extension": [{"url": "http://example.org/fhir/StructureDefinition/precision", "valueCode": "minute"}]},
  "performer": [{"reference": "PractitionerRole/vlk-1", "display": "verloskundige"}],
  "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "368209003", "display": "right upper arm"}]},
  "method": {"coding": [{"system": "http://snomed.info/sct", "code": "37931006", "display": "auscultation"}]},
  "component": [
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
     "valueQuantity": {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]},
     "valueQuantity": {"value": 80, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8478-0", "display": "Mean blood pressure"}]},
     "valueQuantity": {"value": 93.3, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
  ],
  "referenceRange": [{"low": {"value": 90, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
                      "high": {"value": 140, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]
}`

// Invariants of the R4 base specification, as the validator evaluates them.
var benchInvariants = map[string]string{
	"ele-1": `hasValue() or (children().count() > id.count())`,
	"obs-6": `dataAbsentReason.empty() or value.empty()`,
	"obs-7": `value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()`,
	"per-1": `start.hasValue().not() or end.hasValue().not() or (start <= end)`,
	"dom-3": `contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()`,
}

func benchTree(b *testing.B) map[string]any {
	b.Helper()
	m, err := decodeJSON([]byte(benchObservation))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDecodeBaseline is encoding/json decoding of the benchmark
// Observation: the yardstick for the validator's 5× budget.
func BenchmarkDecodeBaseline(b *testing.B) {
	data := []byte(benchObservation)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, name := range []string{"ele-1", "obs-7", "per-1", "dom-3"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Compile(benchInvariants[name]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInvariant evaluates single invariants on their usual focus.
func BenchmarkInvariant(b *testing.B) {
	tree := benchTree(b)
	env := &Env{Resource: tree}
	model := loadR4Model(b)
	typed := &Env{Resource: tree, Types: model}
	period := map[string]any{"start": "2026-03-01T10:10:00+01:00", "end": "2026-03-01T10:20:00+01:00"}
	cases := []struct {
		name, inv string
		focus     any
		env       *Env
	}{
		{"ele-1/untyped", "ele-1", tree, env},
		{"ele-1/typed", "ele-1", tree, typed},
		{"obs-6/typed", "obs-6", tree, typed},
		{"obs-7/typed", "obs-7", tree, typed},
		{"per-1/typed", "per-1", NewElement(period, "Period"), typed},
		{"dom-3/typed", "dom-3", tree, typed},
	}
	for _, c := range cases {
		expr := MustCompile(benchInvariants[c.inv])
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := expr.Evaluate(c.focus, c.env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEle1EveryElement evaluates ele-1 on every element of the
// Observation, as a validator does; compare with BenchmarkDecodeBaseline.
func BenchmarkEle1EveryElement(b *testing.B) {
	tree := benchTree(b)
	model := loadR4Model(b)
	env := &Env{Resource: tree, Types: model}
	all, err := MustCompile("descendants()").Evaluate(tree, env)
	if err != nil {
		b.Fatal(err)
	}
	ele1 := MustCompile(benchInvariants["ele-1"])
	defer b.ReportMetric(float64(len(all)+1), "elements")
	all = append(all, NewElement(tree, ""))
	for b.Loop() {
		for _, el := range all {
			ok, known, err := ele1.EvaluateBool(el, env)
			if err != nil || !known || !ok {
				b.Fatalf("ele-1 on %s: %v %v %v", renderValue(el), ok, known, err)
			}
		}
	}
}
