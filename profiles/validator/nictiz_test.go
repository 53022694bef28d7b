package validator

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestNictizExamples is the bar: every zib2020 / nl-core R4 example validates
// against the profiles it claims without error, unless the exception is
// written down in docs/validation-exceptions.md (listed in knownExceptions).
func TestNictizExamples(t *testing.T) {
	v := r4(t)
	root := corpus(t)
	files, _ := filepath.Glob(filepath.Join(root, "nictiz-r4-zib2020/examples/*.xml"))
	if len(files) == 0 {
		t.Skip("no Nictiz zib2020 examples in the corpus")
	}
	sort.Strings(files)
	pass, excepted := 0, 0
	var failed []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := v.Validate(context.Background(), data, Request{FillPlaceholders: true})
		name := filepath.Base(f)
		if !out.HasErrors() {
			pass++
			continue
		}
		if reason, ok := knownExceptions[name]; ok {
			excepted++
			t.Logf("exception %s: %s", name, reason)
			continue
		}
		var msgs []string
		for _, is := range out.Errors() {
			msgs = append(msgs, strings.Join(is.Expression, ",")+": "+is.Diagnostics)
		}
		failed = append(failed, name+"\n      "+strings.Join(msgs, "\n      "))
	}
	t.Logf("Nictiz zib2020/nl-core R4 examples: %d of %d pass with no error, %d written-down exceptions, %d unexplained failures", pass, len(files), excepted, len(failed))
	for _, f := range failed {
		t.Errorf("unexplained failure: %s", f)
	}
}

// knownExceptions are examples that fail because of an upstream defect,
// documented in docs/validation-exceptions.md.
var knownExceptions = map[string]string{
	"nl-core-LivingSituation.HouseAdaption-01.xml": houseAdaption,
	"nl-core-LivingSituation.HouseAdaption-02.xml": houseAdaption,
	"nl-core-LivingSituation.HouseAdaption-03.xml": houseAdaption,
}

const houseAdaption = "claims nl-core-LivingSituation.HouseAdaption, a profile no package defines (the package has nl-core-LivingSituation.HomeAdaption); a claim that cannot be checked is an error"

// TestNictizFixtures validates the MP9 R4 certification fixtures and the
// STU3 birth-care examples; every file must pass, except the example defects
// written down in docs/validation-exceptions.md.
func TestNictizFixtures(t *testing.T) {
	root := corpus(t)
	sets := []struct {
		name    string
		v       func(testing.TB) *Validator
		pattern string
		defects map[string]string
	}{
		{"MP9 R4 certification fixtures", r4, "nictiz-testscripts/output/R4/MP9-3-0-0-beta/MO/Cert/_reference/fixtures", nil},
		{"STU3 birth-care examples", stu3, "nictiz-stu3-geboortezorg/examples", map[string]string{
			"DocumentReference2df7051b-f3de-45c5-8e31-8a29e5da0b5d.json": "DocumentReference.context.encounter references an EpisodeOfCare (base allows only Encounter)",
			"BirthWeight.xml":         "Observation.interpretation.coding.system is \"PercentielGeboortegewicht\", not a URI",
			"FamilyMemberHistory.xml": "uses extension https://nictiz.nl/fhir/StructureDefinition/bc-familymemberhistory-condition, which no package defines",
			"UterusActivity.xml":      "Quantity codes \"sec\" and \"MVU\" with system UCUM are no UCUM units (UCUM writes seconds \"s\"; Montevideo units have no UCUM code)",
			"TreatmentDirective.xml":  "puts the modifier extension bc-treatmentdirective-specificationother in Consent.extension; its definition is a modifier and bc-TreatmentDirective slices it under Consent.modifierExtension",
		}},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			var files []string
			filepath.WalkDir(filepath.Join(root, set.pattern), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".xml") || strings.HasSuffix(p, ".json")) {
					files = append(files, p)
				}
				return nil
			})
			if len(files) == 0 {
				t.Skipf("no files under %s", set.pattern)
			}
			v := set.v(t)
			pass, excepted := 0, 0
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out := v.Validate(context.Background(), data, Request{FillPlaceholders: true})
				if !out.HasErrors() {
					pass++
					continue
				}
				if why, ok := set.defects[filepath.Base(f)]; ok {
					excepted++
					t.Logf("known example defect %s: %s", filepath.Base(f), why)
					continue
				}
				var msgs []string
				for _, is := range out.Errors() {
					msgs = append(msgs, strings.Join(is.Expression, ",")+": "+is.Diagnostics)
				}
				t.Errorf("%s:\n      %s", filepath.Base(f), strings.Join(msgs, "\n      "))
			}
			t.Logf("%s: %d of %d pass with no error, %d known example defects", set.name, pass, len(files), excepted)
		})
	}
}

// TestNictizMutations seeds one defect at a time into real Nictiz examples
// (which validate cleanly) and checks that each defect is reported as an
// error: a validator that passes everything would pass this test's
// baseline but fail every mutant.
func TestNictizMutations(t *testing.T) {
	v := r4(t)
	dir := filepath.Join(corpus(t), "nictiz-r4-zib2020/examples")
	tests := []struct {
		name, file, from, to, want string
	}{
		{"wrong code of the zib", "nl-core-Pregnancy.Gravidity-01.xml", `<code value="161732006"/>`, `<code value="161732007"/>`, "Observation.code"},
		{"integer that is not whole", "nl-core-Pregnancy.Gravidity-01.xml", `<valueInteger value="2"/>`, `<valueInteger value="2.5"/>`, "not a valid integer"},
		{"value type the element does not allow", "nl-core-Pregnancy.Gravidity-01.xml", `<valueInteger value="2"/>`, `<valueMoney><value value="2"/></valueMoney>`, "not allowed"},
		{"status outside the required value set", "nl-core-Pregnancy.Gravidity-01.xml", `<status value="final"/>`, `<status value="klaar"/>`, "required value set"},
		{"missing required status", "nl-core-BodyWeight-01.xml", `<status value="final"/>`, ``, "minimum required"},
		{"unknown element", "nl-core-BodyWeight-01.xml", `<valueQuantity>`, `<gewicht value="1"/><valueQuantity>`, "unknown element"},
		{"decimal that is no number", "nl-core-BodyWeight-01.xml", `<value value="2400"/>`, `<value value="2400g"/>`, "valueQuantity.value"},
		{"impossible date", "nl-core-BodyWeight-01.xml", `<effectiveDateTime value="2013-02-06"/>`, `<effectiveDateTime value="2013-02-30"/>`, "calendar date"},
		{"gender not a code of the value set", "nl-core-Patient-01.xml", `<gender value="female">`, `<gender value="vrouw">`, "gender"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Skip(err)
			}
			base := v.Validate(context.Background(), data, Request{FillPlaceholders: true})
			if base.HasErrors() {
				t.Fatalf("baseline %s has errors:\n%s", tc.file, base.Text())
			}
			mutant := strings.Replace(string(data), tc.from, tc.to, 1)
			if mutant == string(data) {
				t.Fatalf("mutation %q not applied to %s", tc.from, tc.file)
			}
			out := v.Validate(context.Background(), []byte(mutant), Request{FillPlaceholders: true})
			found := false
			for _, is := range out.Errors() {
				found = found || strings.Contains(is.Diagnostics+strings.Join(is.Expression, ","), tc.want)
			}
			if !found {
				t.Errorf("defect not reported as an error mentioning %q:\n%s", tc.want, out.Text())
			}
		})
	}
}
