package terminology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

// TestNictizExampleCodings checks every Coding (system + code) in the Nictiz
// zib2020 / nl-core examples against its code system: codes of complete
// CodeSystems in the packages must exist, UCUM units must parse. Unknown is
// fine (SNOMED CT, LOINC, G-Standaard are not in the packages). It prints the
// counts and every display that differs from the code system's.
func TestNictizExampleCodings(t *testing.T) {
	t.Run("R4 zib2020", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(corpusDir(t), "nictiz-r4-zib2020", "examples", "*.xml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no examples: %v", err)
		}
		checkExampleCodings(t, New(corpus(t)), files, 100)
	})
	t.Run("STU3 birth care and zib2017", func(t *testing.T) {
		var files []string
		for _, dir := range []string{"nictiz-stu3-geboortezorg", "nictiz-stu3-zib2017"} {
			err := filepath.WalkDir(filepath.Join(corpusDir(t), dir), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".xml") && strings.Contains(strings.ToLower(p), "example") {
					files = append(files, p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		checkExampleCodings(t, New(corpusSTU3(t)), files, 50,
			// Upstream defects in nictiz-stu3-geboortezorg/examples/UterusActivity.xml:
			// "sec" is not UCUM (the second is "s") and Montevideo units have no
			// UCUM code. Our NotMember verdict is right.
			"UterusActivity.xml|http://unitsofmeasure.org#sec",
			"UterusActivity.xml|http://unitsofmeasure.org#MVU",
			// AmnioticFluid.xml codes "Geen bijzonderheden" as SNOMED "1", which
			// is no SNOMED CT identifier; FetalMonitoring.xml has 4289339006,
			// whose check digit fails (289339006, without the leading 4, is the
			// valid identifier for the display it gives).
			"AmnioticFluid.xml|http://snomed.info/sct#1",
			"FetalMonitoring.xml|http://snomed.info/sct#4289339006")
	})
}

// checkExampleCodings fails on every NotMember except the known upstream
// defects, given as "file|system#code".
func checkExampleCodings(t *testing.T, svc *Service, files []string, minMembers int, knownDefects ...string) {
	known := map[string]bool{}
	for _, k := range knownDefects {
		known[k] = true
	}
	counts := map[Outcome]int{}
	warnings := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fhirxml.Decode(data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		walkCodings(res, func(c Coding) {
			r := svc.ValidateCodeInSystem(c)
			counts[r.Outcome]++
			if r.Outcome == NotMember && known[filepath.Base(f)+"|"+c.System+"#"+c.Code] {
				t.Logf("known upstream defect: %s: %s", filepath.Base(f), r.Message)
			} else if r.Outcome == NotMember {
				t.Errorf("%s: %s#%s: %s", filepath.Base(f), c.System, c.Code, r.Message)
			}
			if r.DisplayWarning != "" {
				warnings++
				t.Logf("%s: %s", filepath.Base(f), r.DisplayWarning)
			}
		})
	}
	t.Logf("%d example files; codings: %d member, %d unknown, %d not-member; %d display warnings",
		len(files), counts[Member], counts[Unknown], counts[NotMember], warnings)
	if counts[Member] < minMembers {
		t.Errorf("only %d codings confirmed; expected the examples to use many in-package codes", counts[Member])
	}
}

// walkCodings calls fn for every object with a string system and code
// (Coding, Quantity).
func walkCodings(v any, fn func(Coding)) {
	switch x := v.(type) {
	case map[string]any:
		sys, ok1 := x["system"].(string)
		code, ok2 := x["code"].(string)
		if ok1 && ok2 {
			d, _ := x["display"].(string)
			fn(Coding{System: sys, Code: code, Display: d})
		}
		for _, c := range x {
			walkCodings(c, fn)
		}
	case []any:
		for _, c := range x {
			walkCodings(c, fn)
		}
	}
}
