// Package content holds the content-truth specs (outcome goal 4: registered
// once, identical everywhere): what a candidate publishes carries the facts
// the scenario registered, with the right type, profile claim, client, date
// and author.
package content

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Zwangerschap", func() {
	for _, s := range spec.Current().Scenarios {
		Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
			spec.It("INH-01", "elk geregistreerd gegeven MOET met dezelfde waarde, eenheid en code gepubliceerd zijn", func(ctx SpecContext) {
				Expect(findings(ctx, s, valueFindings)).To(match.HaveNoFindings())
			})
			spec.It("INH-02", "elk gegeven MOET als het verwachte resourcetype met de juiste profielclaim gepubliceerd zijn", func(ctx SpecContext) {
				Expect(findings(ctx, s, profileFindings)).To(match.HaveNoFindings())
			})
			spec.It("INH-03", "elk gegeven MOET bij de cliënt horen en de datum van registratie dragen", func(ctx SpecContext) {
				Expect(append(findings(ctx, s, dateFindings), childFactsOnMother(ctx, s)...)).To(match.HaveNoFindings())
			})
			spec.It("INH-04", "elk gegeven ZOU MOETEN zeggen welke zorgverlener het vastlegde", func(ctx SpecContext) {
				Expect(findings(ctx, s, authorFindings)).To(match.HaveNoFindings())
			})
			spec.It("INH-05", "de cliënt MOET gepubliceerd zijn met haar BSN, naam en geboortedatum", func(ctx SpecContext) {
				Expect(patientFindings(ctx, s)).To(match.HaveNoFindings())
			})
		})
	}
})

// check compares one expected item with the candidates found for it.
type check func(ctx SpecContext, s *fixtures.Scenario, it fact.Item, candidates []map[string]any) []fact.Finding

// findings runs a check over every fact the scenario expects to be published.
func findings(ctx SpecContext, s *fixtures.Scenario, c check) []fact.Finding {
	GinkgoHelper()
	items, shared := fact.Expected(s)
	if !shared || len(items) == 0 {
		spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn (toestemming ingetrokken of vernietigd); de vertrouwensspecs controleren dat")
	}
	var out []fact.Finding
	for _, person := range fact.People(s, items) {
		pub, pid, ok := record(ctx, s, person)
		for _, it := range fact.About(s, items, person) {
			if !ok {
				out = append(out, noRecord(it, person))
				continue
			}
			out = append(out, c(ctx, s, it, fact.Candidates(pub.Resources, pid, it.Fact, pub.Lookup))...)
		}
	}
	return out
}

func notFound(it fact.Item) []fact.Finding {
	return []fact.Finding{{Event: it.Event.ID, Fact: it.Fact.Key, Element: it.Fact.ResourceType, Want: fmt.Sprintf("een %s met code %s|%s", it.Fact.ResourceType, it.Fact.Code.System, it.Fact.Code.Code), Got: "niets"}}
}

// valueFindings: at least one published resource carries the registered value.
func valueFindings(_ SpecContext, s *fixtures.Scenario, it fact.Item, cands []map[string]any) []fact.Finding {
	if len(cands) == 0 {
		return notFound(it)
	}
	if it.Fact.Medication != nil {
		return nil // the medication building blocks are compared by the MP9 specs
	}
	var closest []fact.Finding
	for _, r := range cands {
		f := fact.Value(r, it.Event.ID, it.Fact, spec.Current().Day)
		if len(f) == 0 {
			return nil
		}
		if closest == nil || len(f) < len(closest) {
			closest = f
		}
	}
	return closest
}

// profileFindings: the fact is published as the expected type, and every
// resource that carries it claims the fact's profile.
func profileFindings(_ SpecContext, _ *fixtures.Scenario, it fact.Item, cands []map[string]any) []fact.Finding {
	if len(cands) == 0 {
		return notFound(it)
	}
	var out []fact.Finding
	for _, r := range cands {
		if claims := profilesOf(r); !slices.Contains(claims, it.Fact.Profile) {
			out = append(out, fact.Finding{Event: it.Event.ID, Fact: it.Fact.Key, Element: fmt.Sprintf("%s/%v.meta.profile", r["resourceType"], r["id"]), Want: it.Fact.Profile, Got: fact.Show(claims)})
		}
	}
	return out
}

// dateFindings: one published resource carrying the fact has the event's date.
func dateFindings(_ SpecContext, s *fixtures.Scenario, it fact.Item, cands []map[string]any) []fact.Finding {
	if len(cands) == 0 {
		return notFound(it)
	}
	want := spec.Current().Day(it.Event.Day)
	var got []string
	for _, r := range cands {
		d, ok := fact.Date(r, want)
		if ok {
			return nil
		}
		got = append(got, d)
	}
	return []fact.Finding{{Event: it.Event.ID, Fact: it.Fact.Key, Element: it.Fact.ResourceType + ".effective[x]", Want: want, Got: fact.Show(got)}}
}

// authorFindings: one published resource carrying the fact names its author
// by a reference to a resource that carries the provider's AGB, URA or UZI.
func authorFindings(ctx SpecContext, s *fixtures.Scenario, it fact.Item, cands []map[string]any) []fact.Finding {
	if len(cands) == 0 {
		return notFound(it)
	}
	provider, _ := s.Provider(it.Event.By)
	for _, r := range cands {
		for _, ref := range fact.Authors(r) {
			target, _ := ref["reference"].(string)
			if target == "" {
				continue
			}
			if identifiesAuthor(ctx, target, provider, 2) {
				return nil
			}
		}
	}
	return []fact.Finding{{Event: it.Event.ID, Fact: it.Fact.Key, Element: it.Fact.ResourceType + ".performer", Want: fmt.Sprintf("%s (%s)", provider.Name, provider.Professional.Name), Got: "geen verwijzing naar deze zorgverlener"}}
}

// patientFindings: the client's Patient, and each child's own Patient once
// facts about her are registered, carry the registered name, birth date and
// gender.
func patientFindings(ctx SpecContext, s *fixtures.Scenario) []fact.Finding {
	GinkgoHelper()
	items, shared := fact.Expected(s)
	if !shared {
		spec.NotTestable("in dit scenario hoort na afloop niets van de cliënt gedeeld te zijn; de vertrouwensspecs controleren dat")
	}
	var out []fact.Finding
	for _, person := range fact.People(s, items) {
		pub, _, ok := record(ctx, s, person)
		if !ok {
			out = append(out, fact.Finding{Event: personLabel(s, person), Fact: "BSN", Element: "Patient.identifier", Want: spec.BSNSystem + "|" + person.BSN, Got: "geen Patient met dit BSN"})
			continue
		}
		out = append(out, identityFindings(pub.Patient, personLabel(s, person), registeredPerson(s, person))...)
	}
	return out
}

// identityFindings compares a published Patient with the registered person.
func identityFindings(p map[string]any, label string, c fixtures.Client) []fact.Finding {
	var out []fact.Finding
	name := firstName(p)
	family, _ := name["family"].(string)
	given := fact.Show(name["given"])
	if family != c.Family {
		out = append(out, fact.Finding{Event: label, Fact: "naam", Element: "Patient.name.family", Want: c.Family, Got: family})
	}
	if !containsString(name["given"], c.Given) {
		out = append(out, fact.Finding{Event: label, Fact: "naam", Element: "Patient.name.given", Want: c.Given, Got: given})
	}
	if p["birthDate"] != c.BirthDate {
		out = append(out, fact.Finding{Event: label, Fact: "geboortedatum", Element: "Patient.birthDate", Want: c.BirthDate, Got: fact.Show(p["birthDate"])})
	}
	if c.Gender != "" && p["gender"] != c.Gender {
		out = append(out, fact.Finding{Event: label, Fact: "geslacht", Element: "Patient.gender", Want: c.Gender, Got: fact.Show(p["gender"])})
	}
	return out
}

// identifiesAuthor follows a reference (and, from a PractitionerRole, its
// practitioner and organization) to a resource carrying the provider's AGB,
// URA or UZI.
func identifiesAuthor(ctx SpecContext, ref string, p fixtures.Provider, depth int) bool {
	res, err := readRef(ctx, ref)
	if err != nil {
		return false
	}
	if fact.Identifies(res, p) {
		return true
	}
	if depth <= 1 || res["resourceType"] != "PractitionerRole" {
		return false
	}
	for _, field := range []string{"practitioner", "organization"} {
		next, _ := res[field].(map[string]any)
		if target, _ := next["reference"].(string); target != "" && identifiesAuthor(ctx, target, p, depth-1) {
			return true
		}
	}
	return false
}

func readRef(ctx SpecContext, ref string) (map[string]any, error) {
	typ, id, ok := cutRef(ref)
	if !ok {
		return nil, fmt.Errorf("reference %q is not Type/id", ref)
	}
	return spec.Current().XIS.Read(ctx, typ, id)
}

// cutRef splits a relative or absolute reference into its type and id.
func cutRef(ref string) (string, string, bool) {
	segs := strings.Split(ref, "/")
	if len(segs) < 2 || segs[len(segs)-2] == "" || segs[len(segs)-1] == "" {
		return "", "", false
	}
	return segs[len(segs)-2], segs[len(segs)-1], true
}

func profilesOf(r map[string]any) []string {
	meta, _ := r["meta"].(map[string]any)
	var out []string
	for _, p := range asList(meta["profile"]) {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func firstName(p map[string]any) map[string]any {
	for _, n := range asList(p["name"]) {
		if m, ok := n.(map[string]any); ok {
			return m
		}
	}
	return map[string]any{}
}

func containsString(v any, s string) bool {
	for _, x := range asList(v) {
		if x == s {
			return true
		}
	}
	return false
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
