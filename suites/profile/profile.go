// Package profile holds the profile-conformance specs: every resource a
// candidate publishes conforms to the zib / nl-core / MP9 profile it claims,
// judged by the bench's own validation engine.
package profile

import (
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Profielen", func() {
	for _, s := range spec.Current().Scenarios {
		Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
			spec.It("PRF-01", "elke gepubliceerde resource MOET voldoen aan het profiel dat zij claimt", func(ctx SpecContext) {
				env := spec.Current()
				if env.Validator == nil {
					spec.NotTestable("geen profielvalidatie: " + env.ValidatorProblem)
				}
				if _, shared := fact.Expected(s); !shared {
					spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn")
				}
				items, _ := fact.Expected(s)
				var resources []map[string]any
				for _, person := range fact.People(s, items) {
					pub, err := env.PublishedOf(ctx, s, person)
					if errors.Is(err, spec.ErrNoPatient) && person.ID != s.Client.ID {
						continue // a child without her own Patient: the content specs name each of her facts
					}
					if err != nil {
						pub, _ = spec.PublicationOf(ctx, s, person) // fails (no Patient) or breaks (no answer) the spec
					}
					resources = append(resources, pub.Patient)
					for _, typ := range spec.ResourceTypes(s) {
						resources = append(resources, pub.Resources[typ]...)
					}
				}
				Expect(nonConforming(ctx, env.Validator, resources)).To(match.HaveNoProblems())
			})
		})
	}
})

// nonConforming validates every resource against the profiles it claims and
// lists each one that has an error, with its errors.
func nonConforming(ctx SpecContext, v spec.Validator, resources []map[string]any) []string {
	GinkgoHelper()
	var problems []string
	for _, r := range resources {
		m := match.ConformTo(ctx, v)
		ok, err := m.Match(r)
		if err != nil {
			spec.Broke(err)
		}
		if !ok {
			problems = append(problems, m.FailureMessage(r))
		}
	}
	return problems
}
