// Package medication holds the Medicatieproces 9 specs (outcome goal 1,
// medication safety): prescriptions are published as linked MP9 building
// blocks with product, dose and period of use as registered.
package medication

import (
	"fmt"

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
		})
	}
})

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
	env := spec.Current()
	pub, err := env.PublishedFor(ctx, s)
	if err != nil {
		if err == spec.ErrNoPatient {
			Fail(fmt.Sprintf("het XIS publiceert geen Patient met BSN %s", s.Client.BSN))
		}
		spec.Broke(err)
	}
	pid, _ := pub.Patient["id"].(string)
	resolve := func(day int) string { return fixtures.Date(env.Reference, day).Format(fixtures.DateLayout) }
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
