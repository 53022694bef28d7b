// Package trust holds the specs of the trust framework (vertrouwensstelsel,
// outcome goal 2): no consent, nothing shared; a deletion request removes
// the client's data. Both cover the client's children born in the scenario:
// the birth-care record of mother and newborn is one record, and she acts
// for her newborn.
package trust

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Vertrouwensstelsel", func() {
	for _, s := range spec.Current().Scenarios {
		switch fact.Withheld(s) {
		case fact.Withdrawn:
			Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
				spec.It("VTR-01", "na intrekking van de toestemming MOET niets van de cliënt en haar kind meer gedeeld worden", func(ctx SpecContext) {
					Expect(stillShared(ctx, s)).To(match.HaveNoProblems())
				})
			})
		case fact.Deleted:
			Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
				spec.It("VTR-02", "na een verzoek tot vernietiging MOETEN de gegevens van de cliënt en haar kind verwijderd zijn", func(ctx SpecContext) {
					Expect(stillShared(ctx, s)).To(match.HaveNoProblems())
				})
			})
		}
	}
})

// person is one whose data must no longer be shared, with what the
// candidate served of her before the withdrawal or deletion.
type person struct {
	fixtures.Client
	patientIDs []string        // Patient ids she had
	urls       []string        // fullUrls her Patient was served under
	held       map[string]bool // "Type/id" of everything served of her
}

// stillShared lists, by identity, what the candidate still serves of the
// client and her children: every Patient and resource recorded before the
// withdrawal or deletion is read again by id; every resource type is
// searched by patient= and subject= with her Patient id, every fact's code
// (MP9 building blocks: their category) is searched and each match that is
// one of hers (by id, by reference to her Patient, by her BSN or by her
// name) is named; and her BSN is searched.
func stillShared(ctx SpecContext, s *fixtures.Scenario) []string {
	GinkgoHelper()
	env := spec.Current()
	rep, ok := env.ReplayOf(s.ID)
	if !ok {
		spec.Broke(fmt.Errorf("scenario %s was not replayed", s.ID))
	}
	people := peopleOf(s, rep)
	if len(rep.Before) == 0 {
		spec.NotTestable("de gebeurtenis die het delen stopt is niet afgespeeld; er is niets vastgelegd om na te lezen")
	}
	w := &witness{ctx: ctx, s: s, seen: map[string]bool{}}
	for _, p := range people {
		w.byBSN(p)
		for _, id := range p.patientIDs {
			w.read(p, "Patient/"+id)
		}
		for _, ref := range slices.Sorted(maps.Keys(p.held)) {
			w.read(p, ref)
		}
	}
	types := searchTypes(s, people)
	for _, p := range people {
		for _, id := range p.patientIDs {
			for _, typ := range types {
				for _, param := range []string{"patient", "subject"} {
					w.search(people, typ, url.Values{param: {"Patient/" + id}})
				}
			}
		}
	}
	for _, q := range codeSearches(s) {
		w.search(people, q.typ, q.params)
	}
	return w.problems
}

// peopleOf gathers the client and her children with what the snapshots
// taken before each withdrawal or deletion recorded of them.
func peopleOf(s *fixtures.Scenario, rep *spec.Replay) []*person {
	var out []*person
	add := func(c fixtures.Client) *person {
		for _, p := range out {
			if p.BSN == c.BSN {
				return p
			}
		}
		p := &person{Client: c, held: map[string]bool{}}
		out = append(out, p)
		return p
	}
	for _, c := range spec.Persons(s) {
		add(c)
	}
	for _, ev := range rep.Events {
		snap := rep.Before[ev.Registration.Event]
		if snap == nil {
			continue
		}
		if snap.Err != nil {
			spec.Broke(snap.Err)
		}
		for _, h := range snap.People {
			p := add(h.Person)
			if h.PatientID != "" && !slices.Contains(p.patientIDs, h.PatientID) {
				p.patientIDs = append(p.patientIDs, h.PatientID)
			}
			p.urls = append(p.urls, h.PatientURLs...)
			for _, r := range h.Resources {
				p.held[r] = true
			}
		}
	}
	return out
}

// witness reads and searches, and writes down what is still served.
type witness struct {
	ctx      SpecContext
	s        *fixtures.Scenario
	problems []string
	seen     map[string]bool // "Type/id" already named
}

func (w *witness) report(p *person, ref string, r map[string]any, how string) {
	if w.seen[ref] {
		return
	}
	w.seen[ref] = true
	w.problems = append(w.problems, fmt.Sprintf("%s van %s wordt nog gedeeld (%s): %s", ref, who(w.s, p), how, describe(w.s, p, r, w.lookup)))
}

// lookup reads a referenced resource (a Medication) to name a served
// building block's product; nil when it cannot be read.
func (w *witness) lookup(ref string) map[string]any {
	segs := strings.Split(ref, "/")
	if len(segs) < 2 {
		return nil
	}
	r, err := spec.Current().XIS.Read(w.ctx, segs[len(segs)-2], segs[len(segs)-1])
	if err != nil {
		return nil
	}
	return r
}

// byBSN: no Patient with her BSN may be found.
func (w *witness) byBSN(p *person) {
	GinkgoHelper()
	found, err := spec.Current().XIS.Search(w.ctx, "Patient", url.Values{"identifier": {spec.BSNSystem + "|" + p.BSN}})
	if refused(err) {
		return
	}
	if err != nil {
		spec.Broke(err)
	}
	for _, r := range found {
		// Another client's Patient in the answer is API-02's finding.
		if ref := fmt.Sprintf("Patient/%v", r["id"]); fact.HasBSN(r, p.BSN) || p.held[ref] || slices.Contains(p.patientIDs, fmt.Sprint(r["id"])) {
			w.report(p, ref, r, "gevonden op BSN "+p.BSN)
		}
	}
}

// read: what was served before must not be served by id any more.
func (w *witness) read(p *person, ref string) {
	GinkgoHelper()
	typ, id, _ := strings.Cut(ref, "/")
	r, err := spec.Current().XIS.Read(w.ctx, typ, id)
	if refused(err) {
		return
	}
	if err != nil {
		spec.Broke(err)
	}
	w.report(p, ref, r, "gelezen op id")
}

// search names every match that belongs to one of the people.
func (w *witness) search(people []*person, typ string, params url.Values) {
	GinkgoHelper()
	found, err := spec.Current().XIS.Search(w.ctx, typ, params)
	if refused(err) {
		return
	}
	if err != nil {
		spec.Broke(err)
	}
	for _, r := range found {
		ref := fmt.Sprintf("%s/%v", typ, r["id"])
		if p := owner(people, ref, r); p != nil {
			w.report(p, ref, r, "gevonden met "+typ+"?"+params.Encode())
		}
	}
}

// refused says whether an answer means "not served": 401, 403, 404 or 410.
// Anything else that is not 200 is the bench's problem to report.
func refused(err error) bool {
	var se *harness.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// owner returns the person a served resource belongs to: one recorded as
// hers, one whose subject or patient refers to her Patient, names her BSN,
// or shows her name.
func owner(people []*person, ref string, r map[string]any) *person {
	for _, p := range people {
		if p.held[ref] {
			return p
		}
		for _, id := range p.patientIDs {
			if fact.RefersTo(r, id, p.urls...) {
				return p
			}
		}
		for _, field := range []string{"subject", "patient"} {
			sub, _ := r[field].(map[string]any)
			if sub == nil {
				continue
			}
			ident, _ := sub["identifier"].(map[string]any)
			if ident != nil && ident["system"] == spec.BSNSystem && ident["value"] == p.BSN {
				return p
			}
			if d, _ := sub["display"].(string); d != "" && strings.Contains(d, p.Given) && strings.Contains(d, p.Family) {
				return p
			}
		}
		if r["resourceType"] == "Patient" && fact.HasBSN(r, p.BSN) {
			return p
		}
	}
	return nil
}

// searchTypes lists the resource types to search by patient and subject:
// those the scenario's facts are published as and those recorded before.
func searchTypes(s *fixtures.Scenario, people []*person) []string {
	types := spec.ResourceTypes(s)
	for _, p := range people {
		for ref := range p.held {
			typ, _, _ := strings.Cut(ref, "/")
			if !slices.Contains(types, typ) {
				types = append(types, typ)
			}
		}
	}
	slices.Sort(types)
	return types
}

// crossCount is the page size the bench asks for on searches across all
// clients, which a population makes large; a server may cap it.
const crossCount = "1000"

type query struct {
	typ    string
	params url.Values
}

// codeSearches searches every fact's code across all clients; MP9 building
// blocks are found by their category (their code is the product).
func codeSearches(s *fixtures.Scenario) []query {
	var out []query
	seen := map[string]bool{}
	for _, ev := range s.Events {
		for _, f := range ev.Facts {
			if f.ResourceType == "" || f.ResourceType == "Patient" || f.Code.Code == "" {
				continue
			}
			param := "code"
			if f.Medication != nil {
				param = "category"
			}
			key := f.ResourceType + "?" + param + "=" + f.Code.System + "|" + f.Code.Code
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, query{f.ResourceType, url.Values{param: {f.Code.System + "|" + f.Code.Code}, "_count": {crossCount}}})
		}
	}
	return out
}

// who names a person in a problem: "de cliënt Femke Smit" or "kind Noah".
func who(s *fixtures.Scenario, p *person) string {
	if p.BSN == s.Client.BSN {
		return "de cliënt " + p.Given + " " + p.Family
	}
	return "haar kind " + p.Given
}

// describe names the registered fact a served resource carries: the event
// and fact whose code (product and category for MP9) and day it has, else
// its code and date as published.
func describe(s *fixtures.Scenario, p *person, r map[string]any, lookup func(string) map[string]any) string {
	if r["resourceType"] == "Patient" {
		return "de Patient zelf"
	}
	env := spec.Current()
	for _, ev := range s.Events {
		subject := s.SubjectOf(ev)
		if subject != p.ID {
			continue
		}
		for _, f := range ev.Facts {
			if f.ResourceType != r["resourceType"] {
				continue
			}
			if f.Medication != nil {
				if !fact.HasCoding(fact.Product(r, fact.Resolver{Fetch: lookup}), f.Medication.Product) || !hasCategory(r, f.Code) {
					continue
				}
			} else if !fact.HasCoding(codings(r["code"]), f.Code) {
				continue
			}
			if _, onDay := fact.Date(r, env.Day(ev.Day)); onDay || f.Medication != nil {
				return fmt.Sprintf("%s › %s", ev.ID, f.Name)
			}
		}
	}
	d, _ := fact.Date(r, "")
	return fmt.Sprintf("code %s, datum %s", fact.Show(r["code"]), d)
}

func codings(cc any) []map[string]any {
	concept, _ := cc.(map[string]any)
	list, _ := concept["coding"].([]any)
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// hasCategory says whether a resource's category (a list, or one concept on
// MedicationDispense and MedicationStatement) carries the code.
func hasCategory(r map[string]any, c fixtures.Coding) bool {
	cats, ok := r["category"].([]any)
	if !ok {
		cats = []any{r["category"]}
	}
	for _, cat := range cats {
		if fact.HasCoding(codings(cat), c) {
			return true
		}
	}
	return false
}
