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
// (also) publishes on the mother's record: a resource of the mother that
// pairs with the child's fact (same code and day, fact.Pairs) and carries
// its value, while none of the mother's own facts pairs with it. A newborn's
// birth weight or Apgar score is hers, not her mother's.
func childFactsOnMother(ctx SpecContext, s *fixtures.Scenario) []fact.Finding {
	GinkgoHelper()
	items, shared := fact.Expected(s)
	if !shared || len(s.Children) == 0 {
		return nil
	}
	pub, pid := spec.Publication(ctx, s)
	src := pub.Source(spec.Current().Reference)
	mothers := map[string]bool{}
	for _, p := range fact.Pairs(src, fact.About(s, items, s.Client)) {
		if p.Resource != nil {
			mothers[fact.Identity(p.Resource)] = true
		}
		for _, d := range p.Duplicates {
			mothers[fact.Identity(d)] = true
		}
	}
	resolve := func(day int) string { return spec.Current().Day(day) }
	var out []fact.Finding
	for _, child := range fact.People(s, items)[1:] {
		var facts []fact.Item
		for _, it := range fact.About(s, items, child) {
			if it.Fact.Medication == nil {
				facts = append(facts, it)
			}
		}
		for _, p := range fact.Pairs(src, facts) {
			r := p.Resource
			if r == nil || mothers[fact.Identity(r)] || len(fact.Value(r, p.Item.Event.ID, p.Item.Fact, resolve)) > 0 {
				continue
			}
			out = append(out, fact.Finding{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: fmt.Sprintf("%v/%v.subject", r["resourceType"], r["id"]),
				Want: fmt.Sprintf("Patient van kind %s (BSN %s)", child.Given, child.BSN), Got: "Patient/" + pid + " (de moeder)"})
		}
	}
	return out
}
