// Package medication holds the Medicatieproces 9 specs (outcome goal 1,
// medication safety): prescriptions are published as linked MP9 building
// blocks with product, dose and period of use as registered.
package medication

import (
	"fmt"
	"sort"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Medicatie", func() {
	for _, s := range spec.Current().Scenarios {
		agreements := blocks(s, "MedicatieAfspraak")
		if len(agreements) == 0 {
			continue
		}
		Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
			spec.It("MP9-01", "elk voorschrift MOET als MedicatieAfspraak met middel, dosering en gebruiksperiode gepubliceerd zijn", func(ctx SpecContext) {
				Expect(agreementFindings(ctx, s, agreements)).To(match.HaveNoFindings())
			})
			spec.It("MP9-02", "alle bouwstenen van één behandeling MOETEN hetzelfde MBH-id dragen", func(ctx SpecContext) {
				Expect(treatmentProblems(ctx, s)).To(match.HaveNoProblems())
			})
			if stops := stopItems(s); len(stops) > 0 {
				spec.It("MP9-03", "een gestopte of gewijzigde MedicatieAfspraak MOET haar stoptype dragen", func(ctx SpecContext) {
					Expect(stopTypeProblems(ctx, s, stops)).To(match.HaveNoProblems())
				})
			}
			spec.It("MP9-04", "het medicatieoverzicht uit de publicatie MOET gelijk zijn aan dat uit de registratie", func(ctx SpecContext) {
				Expect(overviewProblems(ctx, s)).To(match.HaveNoProblems())
			})
		})
	}
})

// treatmentProblems: per registered treatment (MBH), every published block
// of it carries one and the same MBH id, and no two treatments share one.
func treatmentProblems(ctx SpecContext, s *fixtures.Scenario) []string {
	GinkgoHelper()
	pub, pid := spec.Publication(ctx, s)
	items, _ := fact.Expected(s)
	ids := map[string]map[string]bool{} // registered treatment → published MBH ids
	for _, it := range items {
		m := it.Fact.Medication
		if m == nil {
			continue
		}
		if ids[m.Treatment] == nil {
			ids[m.Treatment] = map[string]bool{}
		}
		for _, r := range fact.Candidates(pub.Resources, pid, it.Fact, pub.Lookup) {
			ids[m.Treatment][fact.Treatment(r)] = true
		}
	}
	var problems []string
	owner := map[string]string{}
	for treatment, found := range ids {
		if len(found) != 1 {
			problems = append(problems, fmt.Sprintf("behandeling %s: de bouwstenen dragen %d verschillende MBH-id's %v, verwacht 1", treatment, len(found), keys(found)))
		}
		for id := range found {
			if id == "" {
				problems = append(problems, fmt.Sprintf("behandeling %s: een bouwsteen draagt geen MBH-id", treatment))
			} else if other, taken := owner[id]; taken && other != treatment {
				problems = append(problems, fmt.Sprintf("behandelingen %s en %s delen MBH-id %s", other, treatment, id))
			}
			owner[id] = treatment
		}
	}
	return problems
}

// stopItems returns the registered agreements that carry a stop type.
func stopItems(s *fixtures.Scenario) []fact.Item {
	var out []fact.Item
	for _, it := range blocks(s, "MedicatieAfspraak") {
		if it.Fact.Medication.StopType != nil {
			out = append(out, it)
		}
	}
	return out
}

// stopTypeProblems: for every registered stop, a published agreement of the
// same product carries its stop type.
func stopTypeProblems(ctx SpecContext, s *fixtures.Scenario, stops []fact.Item) []string {
	GinkgoHelper()
	pub, pid := spec.Publication(ctx, s)
	var problems []string
	for _, it := range stops {
		want := *it.Fact.Medication.StopType
		found := false
		for _, r := range fact.Candidates(pub.Resources, pid, it.Fact, pub.Lookup) {
			found = found || fact.HasCoding(fact.StopType(r), want)
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s › %s: geen gepubliceerde MedicatieAfspraak draagt stoptype %s (%s)", it.Event.ID, it.Fact.Key, want.Code, want.Display))
		}
	}
	return problems
}

// overviewProblems compares the medication overview derived from the
// registration with the one derived from the publication, on every day an
// event happened and on the day after the last one.
func overviewProblems(ctx SpecContext, s *fixtures.Scenario) []string {
	GinkgoHelper()
	pub, pid := spec.Publication(ctx, s)
	agreements := fact.Agreements(pub.Resources, pid, pub.Lookup)
	resolve := spec.Current().Day
	var problems []string
	for _, day := range fact.Moments(s) {
		moment := resolve(day)
		problems = append(problems, fact.CompareOverviews(fact.Registered(s, day), fact.Overview(agreements, moment), moment)...)
	}
	return problems
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// blocks returns the expected medication facts of one MP9 building block.
func blocks(s *fixtures.Scenario, block string) []fact.Item {
	items, _ := fact.Expected(s)
	var out []fact.Item
	for _, it := range items {
		if it.Fact.Medication != nil && it.Fact.Medication.Block == block {
			out = append(out, it)
		}
	}
	return out
}

func agreementFindings(ctx SpecContext, s *fixtures.Scenario, items []fact.Item) []fact.Finding {
	GinkgoHelper()
	pub, pid := spec.Publication(ctx, s)
	resolve := spec.Current().Day
	var out []fact.Finding
	for _, it := range items {
		cands := fact.Candidates(pub.Resources, pid, it.Fact, pub.Lookup)
		if len(cands) == 0 {
			p := it.Fact.Medication.Product
			out = append(out, fact.Finding{Event: it.Event.ID, Fact: it.Fact.Key, Element: it.Fact.ResourceType, Want: fmt.Sprintf("een MedicatieAfspraak voor %s (%s|%s)", p.Display, p.System, p.Code), Got: "niets"})
			continue
		}
		var closest []fact.Finding
		for i, r := range cands {
			f := fact.Medication(r, it.Event.ID, it.Fact.Key, *it.Fact.Medication, resolve)
			if len(f) == 0 {
				closest = nil // an exact match: no findings
				break
			}
			if i == 0 || len(f) < len(closest) {
				closest = f
			}
		}
		out = append(out, closest...)
	}
	return out
}
