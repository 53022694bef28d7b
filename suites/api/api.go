// Package api holds the specs of the FHIR interface and the adapter contract:
// the candidate answers as a FHIR R4 server, searches return searchsets with
// only the asked client's data, and the adapter takes every scenario event.
package api

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/bundle"
	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Koppelvlak", func() {
	Context("het XIS als FHIR-server", func() {
		spec.It("API-01", "het CapabilityStatement op [base]/metadata MOET FHIR 4.0.1 en JSON noemen", func(ctx SpecContext) {
			cs, err := spec.Current().XIS.Metadata(ctx)
			if err != nil {
				spec.Broke(err)
			}
			Expect(capabilityProblems(cs)).To(match.HaveNoProblems())
		})
		spec.It("API-02", "een zoekvraag per cliënt MOET een geldige searchset met alleen haar gegevens opleveren", func(ctx SpecContext) {
			var problems []string
			searched := 0
			for _, s := range spec.Current().Scenarios {
				p, n := searchProblems(ctx, s)
				problems, searched = append(problems, p...), searched+n
			}
			if searched == 0 {
				spec.NotTestable("geen enkel scenario deelt na afloop gegevens, dus er is niets om naar te zoeken")
			}
			Expect(problems).To(match.HaveNoProblems())
		})
	})
	Context("het adaptercontract van de bench", func() {
		spec.It("ADP-01", "de adapter MOET gereed melden en elke scenariogebeurtenis aannemen", func(ctx SpecContext) {
			env := spec.Current()
			if env.Manual != nil {
				spec.NotTestable("handmatige modus: de gebeurtenissen zijn door een operator ingevoerd, niet via de adapter")
			}
			if err := env.Adapter.Health(ctx); err != nil {
				spec.Broke(fmt.Errorf("GET /bench/health: %w", err))
			}
			problems, unanswered := replayProblems(env)
			if unanswered > 0 {
				// The candidate hung or dropped the connection: the bench
				// could not register, which is an error, not a wrong answer.
				spec.Broke(fmt.Errorf("%d gebeurtenis(sen) zonder antwoord van de adapter:\n%s", unanswered, strings.Join(problems, "\n")))
			}
			Expect(problems).To(match.HaveNoProblems())
		})
	})
})

func capabilityProblems(cs map[string]any) []string {
	var p []string
	if cs["resourceType"] != "CapabilityStatement" {
		p = append(p, fmt.Sprintf("resourceType is %s, niet CapabilityStatement", fact.Show(cs["resourceType"])))
	}
	if cs["fhirVersion"] != "4.0.1" {
		p = append(p, fmt.Sprintf("CapabilityStatement.fhirVersion is %s, niet 4.0.1", fact.Show(cs["fhirVersion"])))
	}
	json := false
	formats, _ := cs["format"].([]any)
	for _, f := range formats {
		if f == "json" || f == "application/fhir+json" {
			json = true
		}
	}
	if !json {
		p = append(p, fmt.Sprintf("CapabilityStatement.format noemt geen json: %s", fact.Show(cs["format"])))
	}
	return p
}

// searchProblems searches the scenario's client, her children and their
// resources, and lists every answer that is not a valid searchset or holds
// another person's data. It returns how many searches it made.
func searchProblems(ctx SpecContext, s *fixtures.Scenario) ([]string, int) {
	GinkgoHelper()
	items, shared := fact.Expected(s)
	if !shared {
		return nil, 0
	}
	env := spec.Current()
	var p []string
	n := 0
	for _, person := range fact.People(s, items) {
		params := url.Values{"identifier": {spec.BSNSystem + "|" + person.BSN}}
		pages, err := env.XIS.SearchPages(ctx, "Patient", params)
		if err != nil {
			spec.Broke(err)
		}
		n++
		label := fmt.Sprintf("%s: Patient?%s", s.ID, params.Encode())
		problems, patients := searchsetProblems(label, "Patient", pages)
		p = append(p, problems...)
		if len(patients) != 1 {
			p = append(p, fmt.Sprintf("%s gaf %d patiënten, verwacht 1 (%s %s)", label, len(patients), person.Given, person.Family))
			continue
		}
		id, _ := patients[0]["id"].(string)
		urls := fullURLs(pages, "Patient", id)
		for _, typ := range spec.ResourceTypes(s) {
			params := url.Values{"patient": {"Patient/" + id}}
			pages, err := env.XIS.SearchPages(ctx, typ, params)
			if err != nil {
				spec.Broke(err)
			}
			n++
			label := fmt.Sprintf("%s: %s?%s", s.ID, typ, params.Encode())
			problems, found := searchsetProblems(label, typ, pages)
			p = append(p, problems...)
			for _, r := range found {
				if !fact.RefersTo(r, id, urls...) {
					p = append(p, fmt.Sprintf("%s gaf %s/%v van een andere cliënt (%s)", label, typ, r["id"], fact.Show(subject(r))))
				}
			}
		}
	}
	return p, n
}

// fullURLs returns the fullUrls under which the pages served Type/id.
func fullURLs(pages []map[string]any, typ, id string) []string {
	var out []string
	for _, b := range pages {
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			entry, _ := e.(map[string]any)
			r, _ := entry["resource"].(map[string]any)
			if full, _ := entry["fullUrl"].(string); full != "" && r["resourceType"] == typ && r["id"] == id {
				out = append(out, full)
			}
		}
	}
	return out
}

// searchsetProblems checks one search answer, every page of it: a Bundle
// of type searchset that keeps the FHIR Bundle rules (profiles/bundle), has
// a self link, whose total (when given) counts the matches of all pages,
// whose matches are of the searched type, and whose every fullUrl ends in
// the entry's Type/id. It returns the problems and the matches.
func searchsetProblems(label, typ string, pages []map[string]any) ([]string, []map[string]any) {
	var p []string
	var found []map[string]any
	for i, b := range pages {
		at := label
		if len(pages) > 1 {
			at = fmt.Sprintf("%s (pagina %d)", label, i+1)
		}
		if b["resourceType"] != "Bundle" || b["type"] != "searchset" {
			p = append(p, fmt.Sprintf("%s gaf %s met type %s, geen Bundle van type searchset", at, fact.Show(b["resourceType"]), fact.Show(b["type"])))
			continue
		}
		for _, is := range bundle.Check(b, "4.0.1") {
			if is.Severity == outcome.Error || is.Severity == outcome.Fatal {
				p = append(p, fmt.Sprintf("%s: %s (%s)", at, is.Diagnostics, strings.Join(is.Expression, ", ")))
			}
		}
		if harness.LinkURL(b, "self") == "" {
			p = append(p, at+": de searchset heeft geen link met relation self")
		}
		entries, _ := b["entry"].([]any)
		for j, e := range entries {
			entry, _ := e.(map[string]any)
			r, _ := entry["resource"].(map[string]any)
			if r == nil {
				continue
			}
			local := fmt.Sprintf("%v/%v", r["resourceType"], r["id"])
			full, _ := entry["fullUrl"].(string)
			if !strings.HasPrefix(full, "urn:") && !strings.HasSuffix(full, "/"+local) {
				p = append(p, fmt.Sprintf("%s: Bundle.entry[%d].fullUrl %s hoort niet bij %s", at, j, fact.Show(full), local))
			}
		}
		found = append(found, harness.Matches(b)...)
	}
	for i, b := range pages {
		if total, ok := b["total"]; ok {
			if n, err := strconv.Atoi(fmt.Sprint(total)); err != nil || n != len(found) {
				p = append(p, fmt.Sprintf("%s: Bundle.total is %s (pagina %d), maar de searchset heeft %d treffers", label, fact.Show(total), i+1, len(found)))
			}
		}
	}
	for _, r := range found {
		if r["resourceType"] != typ {
			p = append(p, fmt.Sprintf("%s gaf als treffer een %v, geen %s", label, r["resourceType"], typ))
		}
	}
	return p, found
}

func subject(r map[string]any) any {
	if s, ok := r["subject"]; ok {
		return s
	}
	return r["patient"]
}

// replayProblems lists the events the adapter did not accept, and counts
// those it did not answer at all.
func replayProblems(env *spec.Env) (problems []string, unanswered int) {
	for _, s := range env.Scenarios {
		rep, ok := env.ReplayOf(s.ID)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: niet afgespeeld", s.ID))
			continue
		}
		for _, ev := range rep.Failed() {
			if errors.Is(ev.Err, harness.ErrNoAnswer) || errors.Is(ev.Err, spec.ErrNotSent) {
				unanswered++
			}
			problems = append(problems, fmt.Sprintf("%s › %s (%s): %v", s.ID, ev.Registration.Event, ev.Registration.Title, ev.Err))
		}
	}
	return problems, unanswered
}
