package terminology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

func TestIdentifiers(t *testing.T) {
	cases := []struct {
		name, system, code string
		bad                bool
	}{
		{"SNOMED myocardial infarction", systemSNOMED, "22298006", false},
		{"SNOMED pregnancy", systemSNOMED, "77386006", false},
		{"SNOMED Dutch extension concept", systemSNOMED, "151701000146105", false},
		{"SNOMED synonym type", systemSNOMED, "900000000000013009", false},
		{"SNOMED wrong check digit", systemSNOMED, "22298007", true},
		{"SNOMED description id", systemSNOMED, "751689013", true},
		{"SNOMED too short", systemSNOMED, "12345", true},
		{"SNOMED leading zero", systemSNOMED, "022298006", true},
		{"SNOMED expression not judged", systemSNOMED, "71388002:405815000=122456005", false},
		{"LOINC systolic", systemLOINC, "8480-6", false},
		{"LOINC diastolic", systemLOINC, "8462-4", false},
		{"LOINC apgar 1 minute", systemLOINC, "9272-6", false},
		{"LOINC wrong check digit", systemLOINC, "8480-5", true},
		{"LOINC part", systemLOINC, "LP43571-6", false},
		{"LOINC answer", systemLOINC, "LA6576-8", false},
		{"LOINC no dash", systemLOINC, "84806", true},
		{"LOINC garbage", systemLOINC, "abc-1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, bad := badIdentifier(tc.system, tc.code)
			if bad != tc.bad {
				t.Fatalf("badIdentifier(%s, %q) = %v (%s), want %v", tc.system, tc.code, bad, msg, tc.bad)
			}
		})
	}
}

// TestCorpusIdentifiers runs the SNOMED CT and LOINC identifier checks over
// every code the corpus ValueSets list or filter on and every code the
// Nictiz examples use: real codes must pass (thousands of them, among them
// the 6,401 LOINC codes of c80-doc-typecodes).
func TestCorpusIdentifiers(t *testing.T) {
	counts := map[string]int{}
	check := func(where, system, code string) {
		if system != systemSNOMED && system != systemLOINC {
			return
		}
		counts[system]++
		if msg, bad := badIdentifier(system, code); bad {
			t.Errorf("%s: %s", where, msg)
		}
	}
	for _, src := range []mapSource{corpus(t), corpusSTU3(t)} {
		for k, r := range src {
			if str(r, "resourceType") != "ValueSet" || strings.Contains(k, "|") {
				continue
			}
			comp, _ := r["compose"].(map[string]any)
			for _, part := range append(arr(comp, "include"), arr(comp, "exclude")...) {
				pm, _ := part.(map[string]any)
				sys := str(pm, "system")
				for _, c := range arr(pm, "concept") {
					cm, _ := c.(map[string]any)
					check(k, sys, str(cm, "code"))
				}
				for _, f := range arr(pm, "filter") {
					fm, _ := f.(map[string]any)
					if p := str(fm, "property"); (p == "concept" || p == "code") && str(fm, "op") != "regex" && str(fm, "op") != "in" {
						check(k+" filter", sys, str(fm, "value"))
					}
				}
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "nictiz-r4-zib2020", "examples", "*.xml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fhirxml.Decode(data)
		if err != nil {
			continue
		}
		walkCodings(res, func(c Coding) { check(filepath.Base(f), c.System, c.Code) })
	}
	t.Logf("identifiers checked: %v", counts)
	if counts[systemLOINC] < 6000 || counts[systemSNOMED] < 1000 {
		t.Errorf("too few identifiers found: %v", counts)
	}
}
