// Package trust holds the specs of the trust framework (vertrouwensstelsel,
// outcome goal 2): no consent, nothing shared; a deletion request removes
// the client's data.
package trust

import (
	"fmt"
	"net/url"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Vertrouwensstelsel", func() {
	for _, s := range spec.Current().Scenarios {
		switch fact.Withheld(s) {
		case fact.Withdrawn:
			Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
				spec.It("VTR-01", "na intrekking van de toestemming MOET niets van de cliënt meer gedeeld worden", func(ctx SpecContext) {
					Expect(stillShared(ctx, s)).To(match.HaveNoProblems())
				})
			})
		case fact.Deleted:
			Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
				spec.It("VTR-02", "na een verzoek tot vernietiging MOETEN de gegevens van de cliënt verwijderd zijn", func(ctx SpecContext) {
					Expect(stillShared(ctx, s)).To(match.HaveNoProblems())
				})
			})
		}
	}
})

// stillShared lists what the candidate still shares of the client: a Patient
// with her BSN, or any resource with one of her facts' codes whose subject is
// her (by reference to a Patient with her BSN, or by her name).
func stillShared(ctx SpecContext, s *fixtures.Scenario) []string {
	GinkgoHelper()
	env := spec.Current()
	var problems []string
	patients, err := env.XIS.Search(ctx, "Patient", url.Values{"identifier": {spec.BSNSystem + "|" + s.Client.BSN}})
	if err != nil {
		spec.Broke(err)
	}
	ids := map[string]bool{}
	for _, p := range patients {
		id, _ := p["id"].(string)
		ids["Patient/"+id] = true
		problems = append(problems, fmt.Sprintf("Patient/%s met BSN %s wordt nog gedeeld", id, s.Client.BSN))
	}
	name := s.Client.Given + " " + s.Client.Family
	seen := map[string]bool{}
	for _, ev := range s.Events {
		for _, f := range ev.Facts {
			if f.ResourceType == "" || f.ResourceType == "Patient" || f.Code.Code == "" || seen[f.ResourceType+f.Code.Code] {
				continue
			}
			seen[f.ResourceType+f.Code.Code] = true
			found, err := env.XIS.Search(ctx, f.ResourceType, url.Values{"code": {f.Code.System + "|" + f.Code.Code}})
			if err != nil {
				spec.Broke(err)
			}
			for _, r := range found {
				subject, _ := r["subject"].(map[string]any)
				ref, _ := subject["reference"].(string)
				if ids[ref] || subject["display"] == name {
					problems = append(problems, fmt.Sprintf("%s/%v (%s, %s) van de cliënt wordt nog gedeeld", r["resourceType"], r["id"], f.Name, ev.ID))
				}
			}
		}
	}
	return problems
}
