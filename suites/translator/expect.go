// Package translator holds the specs of the translator role (modules B and
// D, seed 001 §2.4 and X12; requirements VRT-*): the bench renders each
// registration as the legacy ADA a XIS exports, sends it to the
// translator, and compares the facts of the FHIR that comes back with the
// registration's ground truth (docs/translator.md).
package translator

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/suites/fact"
)

// Expected is what a translation of the registration's ADA must carry: the
// facts of the MedMij Geboortezorg STU3 rendering of the registration that
// the legacy ADA holds (truth.ADASkipped names those it cannot), and the
// people it is about as far as the ADA describes them.
func Expected(reg fixtures.Registration) ([]fact.Clinical, error) {
	rs, err := truth.STU3(reg)
	if err != nil {
		return nil, err
	}
	skipped := map[string]bool{}
	for _, k := range truth.ADASkipped(reg) {
		skipped["Observation/"+truth.FactID(reg.Scenario, reg.Event, k)] = true
	}
	sexCarried := slices.ContainsFunc(reg.Facts, func(f fixtures.RegisteredFact) bool { return f.Code == fixtures.CodeSex })
	var out []fact.Clinical
	for _, c := range fact.ClinicalFacts(rs) {
		if skipped[c.Resource] {
			continue
		}
		// A child's gender travels in the ADA only with her sex fact.
		if reg.Subject != nil && c.Code == "gender" && c.Resource == "Patient/"+truth.PatientID(reg.Subject.BSN) && !sexCarried {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// Coverage is the share of the registration's facts the translation
// carried: facts of the registration whose observed code appears in the
// output, over all its facts (the seed's proof of concept for the JGZ
// transfer carried > 80 % structured).
func Coverage(reg fixtures.Registration, got []fact.Clinical) (carried, all int) {
	codes := map[string]bool{}
	for _, c := range got {
		base, _, _ := strings.Cut(c.Code, ">")
		codes[base] = true
	}
	for _, f := range reg.Facts {
		all++
		switch {
		case f.ResourceType == "Patient":
			if codes["gender"] {
				carried++
			}
		case codes[f.Code.System+"|"+f.Code.Code] || stu3Code(f, codes):
			carried++
		}
	}
	return carried, all
}

// stu3Code: gravidity and parity travel under their LOINC codes in STU3.
func stu3Code(f fixtures.RegisteredFact, codes map[string]bool) bool {
	switch f.Code {
	case fixtures.CodeGravidity:
		return codes[fixtures.LOINC+"|11996-6"]
	case fixtures.CodeParity:
		return codes[fixtures.LOINC+"|11977-6"]
	}
	return false
}

// Targets are the STU3 profiles the transaction asks of each resource of a
// registration's translation: those of the resource of the same type,
// concept (first coding) and person in the registration's MedMij
// Geboortezorg rendering (truth.STU3). A resource is looked up by Concept.
type Targets struct {
	exact, byConcept map[string][]string // key → profiles ("" in byConcept: ambiguous)
}

// TargetsOf derives the target profiles of a registration's translation.
func TargetsOf(reg fixtures.Registration) (Targets, error) {
	rs, err := truth.STU3(reg)
	if err != nil {
		return Targets{}, err
	}
	t := Targets{exact: map[string][]string{}, byConcept: map[string][]string{}}
	people := patientsOf(rs)
	for _, r := range rs {
		ps := specific(Claimed(r))
		if len(ps) == 0 {
			continue
		}
		exact, concept := conceptKeys(r, people)
		t.exact[exact] = ps
		if prev, seen := t.byConcept[concept]; seen && !slices.Equal(prev, ps) {
			t.byConcept[concept] = nil // the person decides: no fallback
			continue
		}
		t.byConcept[concept] = ps
	}
	return t, nil
}

// For returns the target profiles of one resource of a translation
// (people: patientsOf the translation), or nil when the transaction asks
// for no resource of its type, concept and person.
func (t Targets) For(r map[string]any, people map[string]string) []string {
	exact, concept := conceptKeys(r, people)
	if ps, ok := t.exact[exact]; ok {
		return ps
	}
	return t.byConcept[concept]
}

// Claimed are the profiles a resource claims (meta.profile), sorted.
func Claimed(r map[string]any) []string {
	var out []string
	for _, p := range asList(asMap(r["meta"])["profile"]) {
		if s, ok := p.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// specific leaves out the generic nl-core-observation beside a zib or bc-
// profile: the transaction asks for the specific one (Nictiz's instances
// mostly claim both; a translator that claims only the specific one is not
// wrong for it).
func specific(ps []string) []string {
	out := slices.DeleteFunc(slices.Clone(ps), func(p string) bool { return p == fixtures.STU3NLCoreObservation })
	if len(out) == 0 {
		return ps
	}
	return out
}

// patientsOf names each Patient of a set of resources by her birth date
// ("Patient/id" → date), as the fact comparison does.
func patientsOf(rs []map[string]any) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		if r["resourceType"] == "Patient" {
			out[fmt.Sprint("Patient/", r["id"])] = fmt.Sprint(r["birthDate"])
		}
	}
	return out
}

// conceptKeys are a resource's identity for its target profile: type,
// concept and person (exact), and type and concept alone.
func conceptKeys(r map[string]any, people map[string]string) (exact, concept string) {
	typ := fmt.Sprint(r["resourceType"])
	if typ == "Patient" {
		return typ + " ¦ " + fmt.Sprint(r["birthDate"]), typ
	}
	var code string
	for _, c := range asList(asMap(r["code"])["coding"]) {
		code = fmt.Sprint(asMap(c)["system"], "|", asMap(c)["code"])
		break
	}
	subject := ""
	for _, f := range []string{"subject", "patient"} {
		if ref, ok := asMap(r[f])["reference"].(string); ok {
			subject = ref
			if i := strings.LastIndex(ref, "Patient/"); i >= 0 {
				if d, ok := people[ref[i:]]; ok {
					subject = d
				}
			}
			break
		}
	}
	concept = typ + " ¦ " + code
	return concept + " ¦ " + subject, concept
}
