// Package content holds the content-truth specs (outcome goal 4: registered
// once, identical everywhere): what a candidate publishes carries the facts
// the scenario registered, with the right type, profile claim, client, date
// and author.
package content

import (
	"fmt"
	"slices"
	"strings"
	"time"

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
			spec.It("INH-03", "elk gegeven MOET bij de cliënt of haar kind horen over wie het gaat en de datum van registratie dragen", func(ctx SpecContext) {
				Expect(append(findings(ctx, s, dateFindings), childFactsOnMother(ctx, s)...)).To(match.HaveNoFindings())
			})
			spec.It("INH-04", "elk gegeven ZOU MOETEN zeggen welke zorgverlener het vastlegde", func(ctx SpecContext) {
				Expect(findings(ctx, s, authorFindings)).To(match.HaveNoFindings())
			})
			spec.It("INH-05", "de cliënt en elk pasgeboren kind MOETEN als eigen Patient gepubliceerd zijn met BSN, naam, geboortedatum en geslacht", func(ctx SpecContext) {
				Expect(patientFindings(ctx, s)).To(match.HaveNoFindings())
			})
		})
	}
})

// check judges one paired fact; it is called only for facts that have a pair.
type check func(s *fixtures.Scenario, p fact.Pair, src fact.Source) []fact.Finding

// findings pairs every fact the scenario expects to be published with the
// one resource judged for it, on the record of the person it is about (the
// client, or a child on her own Patient), and runs a check on each pair. A
// fact without a pair is a finding of every content requirement; a fact
// published twice is one of INH-01.
func findings(ctx SpecContext, s *fixtures.Scenario, c check) []fact.Finding {
	GinkgoHelper()
	items, shared := fact.Expected(s)
	if !shared || len(items) == 0 {
		spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn (toestemming ingetrokken of vernietigd); de vertrouwensspecs controleren dat")
	}
	var out []fact.Finding
	for _, person := range fact.People(s, items) {
		pub, _, ok := record(ctx, s, person)
		about := fact.About(s, items, person)
		if !ok {
			for _, it := range about {
				out = append(out, noRecord(it, person))
			}
			continue
		}
		src := pub.Source(spec.Current().Reference)
		for _, p := range fact.Pairs(src, about) {
			if p.Resource == nil {
				out = append(out, p.Unpaired(src.Reference))
				continue
			}
			out = append(out, c(s, p, src)...)
		}
	}
	return out
}

// valueFindings: the paired resource carries the registered value, unit
// and code, once. Building blocks are compared by the MP9 specs.
func valueFindings(_ *fixtures.Scenario, p fact.Pair, src fact.Source) []fact.Finding {
	if p.Item.Fact.Medication != nil {
		return nil
	}
	resolve := func(day int) string { return fixtures.Date(src.Reference, day).Format(fixtures.DateLayout) }
	return append(p.Duplicated(), fact.Value(p.Resource, p.Item.Event.ID, p.Item.Fact, resolve)...)
}

// profileFindings: the paired resource claims the fact's profile.
func profileFindings(_ *fixtures.Scenario, p fact.Pair, _ fact.Source) []fact.Finding {
	r := p.Resource
	if claims := profilesOf(r); !slices.Contains(claims, p.Item.Fact.Profile) {
		return []fact.Finding{{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: fmt.Sprintf("%s/%v.meta.profile", r["resourceType"], r["id"]), Want: p.Item.Fact.Profile, Got: fact.Show(claims)}}
	}
	return nil
}

// dateFindings: the paired resource states the moment the fact was
// registered (a date: its day in Europe/Amsterdam; a time: the same moment,
// in any offset). Its subject is the client: the pairing saw to that.
func dateFindings(_ *fixtures.Scenario, p fact.Pair, src fact.Source) []fact.Finding {
	want := fact.At(src.Reference, p.Item.Event)
	got, elem := fact.DateElement(p.Resource)
	if fact.SameTime(got, want) {
		return nil
	}
	if elem == "" {
		elem = "effective[x]"
	}
	return []fact.Finding{{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: fmt.Sprintf("%s/%v.%s", p.Resource["resourceType"], p.Resource["id"], elem),
		Want: want.Format(time.RFC3339), Got: fact.Show(got)}}
}

// authorFindings: the paired resource names its author by a reference to a
// resource that carries the provider's identifier (system and value: the
// organisation's AGB or URA, the professional's UZI or AGB), directly or
// through a PractitionerRole.
func authorFindings(s *fixtures.Scenario, p fact.Pair, src fact.Source) []fact.Finding {
	provider, _ := s.Provider(p.Item.Event.By)
	r := p.Resource
	var named []string
	for _, ref := range fact.Authors(r) {
		target, _ := ref["reference"].(string)
		if identifiesAuthor(src.Resolver, r, target, provider, 2) {
			return nil
		}
		named = append(named, target)
	}
	got := "geen verwijzing naar een auteur"
	if len(named) > 0 {
		got = "verwijzing naar " + strings.Join(named, ", ") + " zonder de identificatie van deze zorgverlener"
	}
	return []fact.Finding{{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: fmt.Sprintf("%s/%v.performer", r["resourceType"], r["id"]),
		Want: fmt.Sprintf("%s (AGB %s, URA %s) of %s (UZI %s, AGB %s)", provider.Name, provider.AGB, provider.URA, provider.Professional.Name, provider.Professional.UZI, provider.Professional.AGB), Got: got}}
}

// patientFindings: the client's Patient, and each child's own Patient once
// facts about her are registered, carry the registered name, birth date,
// gender and the nl-core-Patient profile claim.
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
	if claims := profilesOf(p); !slices.Contains(claims, fixtures.ProfilePatient) {
		out = append(out, fact.Finding{Event: label, Fact: "profiel", Element: "Patient.meta.profile", Want: fixtures.ProfilePatient, Got: fact.Show(claims)})
	}
	return out
}

// identifiesAuthor follows a reference (and, from a PractitionerRole, its
// practitioner and organization) to a resource carrying the provider's
// identifier.
func identifiesAuthor(rv fact.Resolver, from map[string]any, ref string, p fixtures.Provider, depth int) bool {
	res := rv.Resolve(from, ref)
	if res == nil {
		return false
	}
	if fact.Identifies(res, p) {
		return true
	}
	if depth <= 1 || res["resourceType"] != "PractitionerRole" {
		return false
	}
	for _, field := range []string{"practitioner", "organization"} {
		// A contained practitioner of a contained role lives in the
		// resource that contains them both.
		holder := res
		if strings.HasPrefix(ref, "#") {
			holder = from
		}
		if target := fact.Reference(res[field]); target != "" && identifiesAuthor(rv, holder, target, p, depth-1) {
			return true
		}
	}
	return false
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
