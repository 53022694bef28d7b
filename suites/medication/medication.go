// Package medication holds the Medicatieproces 9 specs (outcome goal 1,
// medication safety): every building block is published as registered,
// linked by its MBH id and to the block it changes, stops or is based on,
// and the medication overview that follows from the publication equals the
// registered one.
package medication

import (
	"fmt"
	"slices"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

// others are the building blocks besides the MedicatieAfspraak (MP9-05).
var others = []string{fixtures.VerstrekkingsVerzoek, fixtures.ToedieningsAfspraak, fixtures.MedicatieVerstrekking, fixtures.MedicatieGebruik}

var _ = Describe("Medicatie", func() {
	for _, s := range spec.Current().Scenarios {
		if len(blocks(s)) == 0 {
			continue
		}
		Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
			if len(blocks(s, fixtures.MedicatieAfspraak)) > 0 {
				spec.It("MP9-01", "elk voorschrift MOET als MedicatieAfspraak met middel, dosering en gebruiksperiode gepubliceerd zijn", func(ctx SpecContext) {
					Expect(blockFindings(ctx, s, fixtures.MedicatieAfspraak)).To(match.HaveNoFindings())
				})
			}
			if len(blocks(s, others...)) > 0 {
				spec.It("MP9-05", "elk verstrekkingsverzoek, elke toedieningsafspraak, verstrekking en elk medicatiegebruik MOET gepubliceerd zijn zoals geregistreerd", func(ctx SpecContext) {
					Expect(blockFindings(ctx, s, others...)).To(match.HaveNoFindings())
				})
			}
			spec.It("MP9-02", "alle bouwstenen van één behandeling MOETEN hetzelfde MBH-id dragen", func(ctx SpecContext) {
				Expect(treatmentFindings(ctx, s)).To(match.HaveNoFindings())
			})
			spec.It("MP9-03", "een gestopte of gewijzigde MedicatieAfspraak MOET haar stoptype dragen", func(ctx SpecContext) {
				Expect(stopTypeFindings(ctx, s)).To(match.HaveNoFindings())
			})
			if len(blocks(s, fixtures.MedicatieAfspraak)) > 0 {
				spec.It("MP9-04", "het medicatieoverzicht uit de publicatie MOET gelijk zijn aan dat uit de registratie", func(ctx SpecContext) {
					Expect(overviewProblems(ctx, s)).To(match.HaveNoProblems())
				})
			}
		})
	}
})

// blocks returns the expected building blocks of the given kinds (all kinds
// when none is given).
func blocks(s *fixtures.Scenario, kinds ...string) []fact.Item {
	items, _ := fact.Expected(s)
	var out []fact.Item
	for _, it := range items {
		if m := it.Fact.Medication; m != nil && (len(kinds) == 0 || slices.Contains(kinds, m.Block)) {
			out = append(out, it)
		}
	}
	return out
}

// pairs returns the pairs of the scenario's building blocks of the given
// kinds (all kinds when none is given).
func pairs(ctx SpecContext, s *fixtures.Scenario, kinds ...string) ([]fact.Pair, fact.Source) {
	GinkgoHelper()
	if _, shared := fact.Expected(s); !shared {
		spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn (toestemming ingetrokken of vernietigd); de vertrouwensspecs controleren dat")
	}
	all, src := spec.Pairing(ctx, s)
	var out []fact.Pair
	for _, p := range all {
		if m := p.Item.Fact.Medication; m != nil && (len(kinds) == 0 || slices.Contains(kinds, m.Block)) {
			out = append(out, p)
		}
	}
	return out, src
}

// blockFindings: every registered block of the kinds is paired with one
// published block (by its identifier), published once, and carries what
// was registered (fact.Block).
func blockFindings(ctx SpecContext, s *fixtures.Scenario, kinds ...string) []fact.Finding {
	GinkgoHelper()
	ps, src := pairs(ctx, s, kinds...)
	var out []fact.Finding
	for _, p := range ps {
		if p.Resource == nil {
			out = append(out, p.Unpaired(src.Reference))
			continue
		}
		out = append(out, p.Duplicated()...)
		out = append(out, fact.Block(p.Resource, p.Item, src)...)
	}
	return out
}

// treatmentFindings: every published block carries the MBH id of the
// treatment it was registered in.
func treatmentFindings(ctx SpecContext, s *fixtures.Scenario) []fact.Finding {
	GinkgoHelper()
	ps, src := pairs(ctx, s)
	var out []fact.Finding
	for _, p := range ps {
		if p.Resource == nil {
			out = append(out, p.Unpaired(src.Reference))
			continue
		}
		if got := fact.Treatment(p.Resource); got != p.Item.Fact.Medication.Treatment {
			out = append(out, fact.Finding{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key,
				Element: fmt.Sprintf("%s/%v.extension(ext-PharmaceuticalTreatment.Identifier)", p.Resource["resourceType"], p.Resource["id"]),
				Want:    p.Item.Fact.Medication.Treatment, Got: orNothing(got)})
		}
	}
	return out
}

// stopTypeFindings: a block registered with a stop type carries it; a
// block registered without one carries none (a stop type turns a block
// into a stop).
func stopTypeFindings(ctx SpecContext, s *fixtures.Scenario) []fact.Finding {
	GinkgoHelper()
	ps, src := pairs(ctx, s)
	var out []fact.Finding
	for _, p := range ps {
		m := p.Item.Fact.Medication
		if p.Resource == nil {
			if m.StopType != nil {
				out = append(out, p.Unpaired(src.Reference))
			}
			continue
		}
		got := fact.StopType(p.Resource)
		elem := fmt.Sprintf("%s/%v.modifierExtension(ext-StopType)", p.Resource["resourceType"], p.Resource["id"])
		switch {
		case m.StopType != nil && !fact.HasCoding(got, *m.StopType):
			out = append(out, fact.Finding{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: elem,
				Want: fmt.Sprintf("%s|%s (%s)", m.StopType.System, m.StopType.Code, m.StopType.Display), Got: orNothing(fact.Show(got))})
		case m.StopType == nil && got != nil:
			out = append(out, fact.Finding{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: elem,
				Want: "geen stoptype", Got: fact.Show(got)})
		}
	}
	return out
}

// overviewProblems compares the medication overview derived from the
// registration with the one derived from the publication (product, dose,
// MBH, no duplicates), on every day an event happened and on the day after
// the last one.
func overviewProblems(ctx SpecContext, s *fixtures.Scenario) []string {
	GinkgoHelper()
	if _, shared := fact.Expected(s); !shared {
		spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn")
	}
	pub, _ := spec.Publication(ctx, s)
	env := spec.Current()
	agreements := fact.Agreements(pub.Source(env.Reference))
	var problems []string
	for _, day := range fact.Moments(s) {
		moment := env.Day(day)
		problems = append(problems, fact.CompareOverviews(fact.Registered(s, day), fact.Overview(agreements, moment), moment)...)
	}
	return problems
}

func orNothing(s string) string {
	if s == "" || s == "niets" {
		return "niets"
	}
	return s
}
