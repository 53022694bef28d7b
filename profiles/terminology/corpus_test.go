package terminology

import (
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestCorpusExpandAll expands every ValueSet of HL7 R4 core and Nictiz
// zib2020 / nl-core, and checks that each code an expansion lists validates
// as a member (the expansion and ValidateCode agree). It prints how many
// expansions are complete and why the others are not.
func TestCorpusExpandAll(t *testing.T) {
	t.Run("R4", func(t *testing.T) { expandAll(t, corpus(t)) })
	t.Run("STU3", func(t *testing.T) { expandAll(t, corpusSTU3(t)) })
}

func expandAll(t *testing.T, src mapSource) {
	svc := New(src)
	var urls []string
	for k, r := range src {
		if str(r, "resourceType") == "ValueSet" && !strings.Contains(k, "|") {
			urls = append(urls, k)
		}
	}
	sort.Strings(urls)
	var complete, incomplete, failed, codes int
	reasons := map[string]int{}
	for _, u := range urls {
		exp, err := svc.Expand(u)
		if err != nil {
			failed++
			t.Logf("cannot expand %s: %v", u, err)
			continue
		}
		if exp.Complete {
			complete++
		} else {
			incomplete++
			for _, r := range exp.Incomplete {
				kind := reasonKind(r)
				reasons[kind]++
				if testing.Verbose() && (kind == "filter not evaluable" || kind == "other code system not loaded" || kind == "fragment") {
					t.Logf("%s incomplete: %s", u, r)
				}
			}
		}
		for _, c := range exp.Contains {
			codes++
			r := svc.ValidateCode(u, Coding{System: c.System, Code: c.Code, Display: c.Display})
			if r.Outcome == NotMember {
				t.Errorf("%s lists %s#%s but ValidateCode says %v: %s", u, c.System, c.Code, r.Outcome, r.Message)
			}
			if r.DisplayWarning != "" {
				t.Errorf("%s: own display of %s#%s gives a warning: %s", u, c.System, c.Code, r.DisplayWarning)
			}
		}
	}
	t.Logf("value sets: %d; complete expansions: %d; incomplete: %d; failed: %d; codes listed: %d", len(urls), complete, incomplete, failed, codes)
	var kinds []string
	for k, n := range reasons {
		kinds = append(kinds, k+": "+strconv.Itoa(n))
	}
	sort.Strings(kinds)
	t.Logf("why incomplete: %s", strings.Join(kinds, "; "))
	if complete == 0 || len(urls) < 300 {
		t.Errorf("implausible corpus: %d value sets, %d complete", len(urls), complete)
	}
}

func reasonKind(r string) string {
	for _, sys := range []string{"snomed.info", "loinc.org", "urn:oid:2.16.840.1.113883.2.4.4", "unitsofmeasure", "bcp:47", "bcp:13", "iso:std:iso:3166"} {
		if strings.Contains(r, sys) {
			return sys
		}
	}
	switch {
	case strings.Contains(r, "imported value set"):
		return "import"
	case strings.Contains(r, "fragment"):
		return "fragment"
	case strings.Contains(r, "could not be evaluated"):
		return "filter not evaluable"
	}
	return "other code system not loaded"
}

// TestListedCodesOfRuleSystems checks the rule-based checkers against the
// codes ValueSets list for those systems: the UCUM common units (ucum-common,
// about 1,360 units), the languages, the ISO 3166 country list. All must be
// valid; a failure here is a gap in a built-in table or parser.
func TestListedCodesOfRuleSystems(t *testing.T) {
	// Upstream defects in the STU3 (3.0.1) ValueSets, fixed in R4: units
	// that are not UCUM ("iU", "100g" without an operator, "{G}U" without
	// one, "kg[H20]" with a zero), atoms UCUM dropped ("[M'U]", "[ppt]"),
	// and "sr-SP" (SP is no ISO 3166 region).
	stu3Defects := map[string]bool{
		"iU": true, "{Ehrlich'U}/100g": true, "{G}U": true, "mmol/kg[H20]": true,
		"[M'U]": true, "[ppt]": true, "sr-SP": true,
	}
	for _, tc := range []struct {
		name    string
		src     mapSource
		defects map[string]bool
	}{{"R4", corpus(t), nil}, {"STU3", corpusSTU3(t), stu3Defects}} {
		t.Run(tc.name, func(t *testing.T) {
			counts := map[string]int{}
			for k, r := range tc.src {
				if str(r, "resourceType") != "ValueSet" || strings.Contains(k, "|") {
					continue
				}
				comp, _ := r["compose"].(map[string]any)
				for _, inc := range arr(comp, "include") {
					im, _ := inc.(map[string]any)
					sys := str(im, "system")
					b := builtinFor(sys)
					if b == nil {
						continue
					}
					for _, c := range arr(im, "concept") {
						cm, _ := c.(map[string]any)
						counts[sys]++
						if res := b.check(str(cm, "code")); res.Outcome != Member && tc.defects[str(cm, "code")] {
							t.Logf("known upstream defect: %s lists %s#%s: %v: %s", k, sys, str(cm, "code"), res.Outcome, res.Message)
						} else if res.Outcome != Member {
							t.Errorf("%s lists %s#%s: %v: %s", k, sys, str(cm, "code"), res.Outcome, res.Message)
						}
					}
				}
			}
			t.Logf("listed codes checked by rule: %v", counts)
			if counts[SystemUCUM] < 1000 {
				t.Errorf("only %d listed UCUM codes found", counts[SystemUCUM])
			}
		})
	}
}
