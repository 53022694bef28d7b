package fhirxml

import (
	"encoding/json"
	"github.com/bcbench/bcbench/internal/shared"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const patientXML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- synthetic client -->
<Patient xmlns="http://hl7.org/fhir">
  <id value="p1"/>
  <meta><profile value="http://example.org/StructureDefinition/p"/></meta>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Anna <b>de Vries</b></p></div></text>
  <contained>
    <Organization><id value="o1"/><name value="Kraamzorg Test"/></Organization>
  </contained>
  <extension url="http://example.org/ext"><valueBoolean value="true"/></extension>
  <identifier><system value="http://fhir.nl/fhir/NamingSystem/bsn"/><value value="999999990"/></identifier>
  <active value="true"/>
  <name>
    <family value="Vries"><extension url="http://hl7.org/fhir/StructureDefinition/humanname-own-prefix"><valueString value="de"/></extension></family>
    <given value="Anna"/>
    <given><extension url="http://example.org/x"><valueCode value="unknown"/></extension></given>
  </name>
  <birthDate id="bd" value="1990-02-03"/>
  <multipleBirthInteger value="2"/>
  <contact><name><family value="Jansen"/></name></contact>
</Patient>`

func TestDecodePatient(t *testing.T) {
	got, err := Decode([]byte(patientXML))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resourceType": "Patient",
		"id":           "p1",
		"meta":         map[string]any{"profile": []any{"http://example.org/StructureDefinition/p"}},
		"text": map[string]any{"status": "generated",
			"div": `<div xmlns="http://www.w3.org/1999/xhtml"><p>Anna <b>de Vries</b></p></div>`},
		"contained":  []any{map[string]any{"resourceType": "Organization", "id": "o1", "name": "Kraamzorg Test"}},
		"extension":  []any{map[string]any{"url": "http://example.org/ext", "valueBoolean": true}},
		"identifier": []any{map[string]any{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999999990"}},
		"active":     true,
		"name": []any{map[string]any{
			"family":  "Vries",
			"_family": map[string]any{"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix", "valueString": "de"}}},
			"given":   []any{"Anna", nil},
			"_given":  []any{nil, map[string]any{"extension": []any{map[string]any{"url": "http://example.org/x", "valueCode": "unknown"}}}},
		}},
		"birthDate":            "1990-02-03",
		"_birthDate":           map[string]any{"id": "bd"},
		"multipleBirthInteger": json.Number("2"),
		"contact":              []any{map[string]any{"name": map[string]any{"family": "Jansen"}}},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
}

func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		path []string
		want any
	}{
		{"decimal keeps text", `<Observation xmlns="http://hl7.org/fhir"><valueQuantity><value value="3.10"/></valueQuantity></Observation>`,
			[]string{"valueQuantity", "value"}, json.Number("3.10")},
		{"content reference repeats", `<Questionnaire xmlns="http://hl7.org/fhir"><item><linkId value="1"/><item><linkId value="1.1"/></item></item></Questionnaire>`,
			[]string{"item", "0", "item", "0", "linkId"}, "1.1"},
		{"bundle entry resource", `<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource><Patient><id value="a"/></Patient></resource></entry></Bundle>`,
			[]string{"entry", "0", "resource", "resourceType"}, "Patient"},
		{"unknown element kept by shape", `<Patient xmlns="http://hl7.org/fhir"><foo value="x"/></Patient>`,
			[]string{"foo"}, "x"},
		{"invalid boolean stays text", `<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>`,
			[]string{"active"}, "yes"},
		{"stu3 element", `<MedicationRequest xmlns="http://hl7.org/fhir"><context><reference value="Encounter/1"/></context></MedicationRequest>`,
			[]string{"context", "reference"}, "Encounter/1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			var cur any = got
			for _, p := range tc.path {
				switch c := cur.(type) {
				case map[string]any:
					cur = c[p]
				case []any:
					cur = c[int(p[0]-'0')]
				default:
					t.Fatalf("path %v: hit %T", tc.path, cur)
				}
			}
			if !reflect.DeepEqual(cur, tc.want) {
				t.Errorf("got %#v, want %#v", cur, tc.want)
			}
		})
	}
}

func TestDecodeVersion(t *testing.T) {
	x := []byte(`<Condition xmlns="http://hl7.org/fhir"><clinicalStatus value="active"/></Condition>`)
	stu3, err := DecodeVersion(x, "3.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if stu3["clinicalStatus"] != "active" {
		t.Errorf("STU3 clinicalStatus = %#v, want the code \"active\"", stu3["clinicalStatus"])
	}
	r4, err := DecodeVersion([]byte(`<Condition xmlns="http://hl7.org/fhir"><clinicalStatus><text value="x"/></clinicalStatus></Condition>`), "4.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r4["clinicalStatus"].(map[string]any); !ok {
		t.Errorf("R4 clinicalStatus = %#v, want a CodeableConcept object", r4["clinicalStatus"])
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("<extension>", 10000) + strings.Repeat("</extension>", 10000)
	tests := []struct {
		name string
		xml  string
		want string
	}{
		{"empty", ``, "no root element"},
		{"not xml", `{"resourceType":"Patient"}`, "text before the root"},
		{"unclosed", `<Patient xmlns="http://hl7.org/fhir"><id value="1"/>`, "unexpected"},
		{"wrong namespace", `<Patient><id value="1"/></Patient>`, "FHIR namespace"},
		{"text content", `<Patient xmlns="http://hl7.org/fhir"><id>1</id></Patient>`, "text content"},
		{"too deep", `<Patient xmlns="http://hl7.org/fhir">` + deep + `</Patient>`, "nested deeper"},
		{"entity", `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><id value="&e;"/></Patient>`, "entity"},
		{"two roots", `<Patient xmlns="http://hl7.org/fhir"/><Patient xmlns="http://hl7.org/fhir"/>`, "second root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.xml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// corpus finds ../shared/corpus by walking up from the working directory.
func corpus(t testing.TB) string {
	return shared.Corpus(t, "corpus tests need the shared reference data")
}

// TestDecodeMatchesJSONTwins decodes the XML inputs of the FHIRPath suite that
// also exist as JSON in the corpus and compares the trees.
func TestDecodeCorpus(t *testing.T) {
	root := corpus(t)
	dirs := []string{"nictiz-r4-zib2020/examples", "fhir-test-cases/r4", "nictiz-stu3-geboortezorg/examples"}
	n := 0
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(root, d, "*.xml"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(data); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			n++
		}
	}
	t.Logf("decoded %d corpus XML files", n)
	if n == 0 {
		t.Error("no corpus XML files found")
	}
}
