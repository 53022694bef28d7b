// Package translator holds the specs of the translator role (modules B and
// D, seed 001 §2.4 and X12; requirements VRT-*): the bench renders each
// registration as the legacy ADA a XIS exports, sends it to the
// translator, and compares the facts of the FHIR that comes back with the
// registration's ground truth (docs/translator.md).
package translator

import (
	"slices"
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
