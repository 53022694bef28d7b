// Package api holds the specs of the FHIR interface and the adapter contract:
// the candidate answers as a FHIR R4 server, searches return searchsets with
// only the asked client's data, and the adapter takes every scenario event.
package api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
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
		spec.It("API-02", "een zoekvraag per cliënt MOET een searchset met alleen haar gegevens opleveren", func(ctx SpecContext) {
			var problems []string
			for _, s := range spec.Current().Scenarios {
				problems = append(problems, searchProblems(ctx, s)...)
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

// searchProblems searches the scenario's client and her resources and lists
// every answer that is not a searchset or holds another client's data.
func searchProblems(ctx SpecContext, s *fixtures.Scenario) []string {
	GinkgoHelper()
	if _, shared := fact.Expected(s); !shared {
		return nil
	}
	env := spec.Current()
	var p []string
	bundle, err := env.XIS.SearchBundle(ctx, "Patient", url.Values{"identifier": {spec.BSNSystem + "|" + s.Client.BSN}})
	if err != nil {
		spec.Broke(err)
	}
	patients := matches(bundle)
	if bundle["type"] != "searchset" {
		p = append(p, fmt.Sprintf("%s: Patient?identifier gaf Bundle.type %s, niet searchset", s.ID, fact.Show(bundle["type"])))
	}
	if len(patients) != 1 {
		p = append(p, fmt.Sprintf("%s: Patient?identifier=…|%s gaf %d patiënten, verwacht 1", s.ID, s.Client.BSN, len(patients)))
		return p
	}
	id, _ := patients[0]["id"].(string)
	for _, typ := range spec.ResourceTypes(s) {
		b, err := env.XIS.SearchBundle(ctx, typ, url.Values{"patient": {"Patient/" + id}})
		if err != nil {
			spec.Broke(err)
		}
		if b["type"] != "searchset" {
			p = append(p, fmt.Sprintf("%s: %s?patient gaf Bundle.type %s, niet searchset", s.ID, typ, fact.Show(b["type"])))
		}
		for _, r := range matches(b) {
			if !fact.RefersTo(r, id) {
				p = append(p, fmt.Sprintf("%s: %s?patient=Patient/%s gaf %s/%v van een andere cliënt (%s)", s.ID, typ, id, typ, r["id"], fact.Show(subject(r))))
			}
		}
	}
	return p
}

func matches(bundle map[string]any) []map[string]any {
	var out []map[string]any
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		if search, ok := entry["search"].(map[string]any); ok && search["mode"] != nil && search["mode"] != "match" {
			continue
		}
		if r, ok := entry["resource"].(map[string]any); ok {
			out = append(out, r)
		}
	}
	return out
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
