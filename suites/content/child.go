package content

import (
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/spec"
)

// record returns what the candidate publishes for one person of the
// scenario. The client's missing Patient fails the spec (nothing can be
// compared); a child's missing Patient makes each of her facts a finding
// (ok false), so the mother's record is still judged.
func record(ctx SpecContext, s *fixtures.Scenario, person fixtures.Client) (*spec.Published, string, bool) {
	GinkgoHelper()
	if person.ID == s.Client.ID {
		pub, pid := spec.Publication(ctx, s)
		return pub, pid, true
	}
	pub, err := spec.Current().PublishedOf(ctx, s, person)
	if errors.Is(err, spec.ErrNoPatient) {
		return nil, "", false
	}
	if err != nil {
		spec.Broke(err)
	}
	pid, _ := pub.Patient["id"].(string)
	return pub, pid, true
}

// noRecord is the finding for a child's fact when the child has no Patient.
func noRecord(it fact.Item, child fixtures.Client) fact.Finding {
	return fact.Finding{Event: it.Event.ID, Fact: it.Fact.Key, Element: "Patient.identifier",
		Want: fmt.Sprintf("een Patient voor %s met BSN %s, die dit gegeven draagt", child.Given, child.BSN), Got: "geen Patient met dit BSN"}
}

// personLabel names a person in a finding: "cliënt" or "kind Roos".
func personLabel(s *fixtures.Scenario, p fixtures.Client) string {
	if p.ID == s.Client.ID {
		return "cliënt"
	}
	return "kind " + p.Given
}

// registeredPerson is the person as the adapter received her: a child's
// birth date resolved, her gender as the last registered sex fact says.
func registeredPerson(s *fixtures.Scenario, p fixtures.Client) fixtures.Client {
	if p.BirthDay != nil {
		p.BirthDate = spec.Current().Day(*p.BirthDay)
		p.BirthDay = nil
	}
	for _, ev := range s.Events {
		if ev.Subject != p.ID {
			continue
		}
		for _, f := range ev.Facts {
			if f.ResourceType == "Patient" && f.Value.Coding != nil {
				p.Gender = f.Value.Coding.Code
			}
		}
	}
	return p
}

// childFactsOnMother lists the facts about a child that the candidate
// (also) publishes on the mother's record: a resource of the mother with the
// child's fact's code, value and day that none of the mother's own facts
// explains. A newborn's birth weight or Apgar score is hers, not her
// mother's.
func childFactsOnMother(ctx SpecContext, s *fixtures.Scenario) []fact.Finding {
	GinkgoHelper()
	items, shared := fact.Expected(s)
	if !shared || len(s.Children) == 0 {
		return nil
	}
	own := fact.About(s, items, s.Client)
	pub, pid := spec.Publication(ctx, s)
	env := spec.Current()
	var out []fact.Finding
	for _, child := range fact.People(s, items)[1:] {
		for _, it := range fact.About(s, items, child) {
			if it.Fact.Medication != nil {
				continue
			}
			day := env.Day(it.Event.Day)
			for _, r := range fact.Candidates(pub.Resources, pid, it.Fact, pub.Lookup) {
				if len(fact.Value(r, it.Event.ID, it.Fact, env.Day)) > 0 {
					continue
				}
				if _, onDay := fact.Date(r, day); !onDay || explained(r, own, env) {
					continue
				}
				out = append(out, fact.Finding{Event: it.Event.ID, Fact: it.Fact.Key, Element: fmt.Sprintf("%v/%v.subject", r["resourceType"], r["id"]),
					Want: fmt.Sprintf("Patient van kind %s (BSN %s)", child.Given, child.BSN), Got: "Patient/" + pid + " (de moeder)"})
			}
		}
	}
	return out
}

// explained says whether one of the mother's own facts has the resource's
// code, value and day.
func explained(r map[string]any, own []fact.Item, env *spec.Env) bool {
	for _, it := range own {
		if it.Fact.Medication != nil || it.Fact.ResourceType != r["resourceType"] || !fact.HasCoding(codingsOf(r), it.Fact.Code) {
			continue
		}
		if _, onDay := fact.Date(r, env.Day(it.Event.Day)); onDay && len(fact.Value(r, it.Event.ID, it.Fact, env.Day)) == 0 {
			return true
		}
	}
	return false
}

func codingsOf(r map[string]any) []map[string]any {
	concept, _ := r["code"].(map[string]any)
	var out []map[string]any
	for _, c := range asList(concept["coding"]) {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
