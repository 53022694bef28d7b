package translator

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	rt "github.com/bcbench/bcbench/reference/translator"
	"github.com/bcbench/bcbench/suites/fact"
)

// TestReferenceTranslatesScenarios: the reference translator carries every
// fact of every registration's ADA and invents none, on the golden
// scenarios and a generated population of 200.
func TestReferenceTranslatesScenarios(t *testing.T) {
	cases := []struct {
		name      string
		scenarios []*fixtures.Scenario
	}{
		{"golden", fixtures.Golden()},
		{"generated 200", fixtures.Generate(1, 200)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { translatesAll(t, c.scenarios) })
	}
}

func translatesAll(t *testing.T, scenarios []*fixtures.Scenario) {
	var carried, all, n int
	for _, s := range scenarios {
		regs, err := s.Registrations(fixtures.DefaultReference)
		if err != nil {
			t.Fatal(err)
		}
		for _, reg := range regs {
			ada, err := truth.ADA(reg)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := rt.ToFHIR(bytes.NewReader(ada))
			if err != nil {
				t.Fatalf("%s/%s: %v", reg.Scenario, reg.Event, err)
			}
			want, err := Expected(reg)
			if err != nil {
				t.Fatal(err)
			}
			got := fact.ClinicalFacts(rs)
			m := fact.Agree(got, want)
			for _, f := range m.Missing {
				t.Errorf("%s/%s: not carried: %s", reg.Scenario, reg.Event, f)
			}
			for _, f := range m.Extra {
				t.Errorf("%s/%s: invented: %s", reg.Scenario, reg.Event, f)
			}
			c, a := Coverage(reg, got)
			carried, all, n = carried+c, all+a, n+1
		}
	}
	if n == 0 {
		t.Fatal("no registrations translated")
	}
	t.Logf("%d registrations; coverage: %d of %d registered facts carried (%.1f %%)", n, carried, all, 100*float64(carried)/float64(all))
}

// TestReferenceRoundTrip: B, then D, then B again gives the same facts as B
// (the round trip loses nothing the target format can carry).
func TestReferenceRoundTrip(t *testing.T) {
	for _, sc := range append(fixtures.Golden(), fixtures.Generate(2, 20)...) {
		regs, err := sc.Registrations(fixtures.DefaultReference)
		if err != nil {
			t.Fatal(err)
		}
		for _, reg := range regs {
			ada, err := truth.ADA(reg)
			if err != nil {
				t.Fatal(err)
			}
			first, err := rt.Translate(ada)
			if err != nil {
				t.Fatalf("%s/%s: %v", reg.Scenario, reg.Event, err)
			}
			js, err := json.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			back, err := rt.ToADA(bytes.NewReader(js))
			if err != nil {
				t.Fatalf("%s/%s: D: %v", reg.Scenario, reg.Event, err)
			}
			again, err := rt.ToFHIR(bytes.NewReader(back))
			if err != nil {
				t.Fatalf("%s/%s: B after D: %v\n%s", reg.Scenario, reg.Event, err, back)
			}
			m := fact.Agree(fact.ClinicalFacts(again), fact.ClinicalFacts(entries(first)))
			for _, f := range m.Missing {
				t.Errorf("%s/%s: lost in the round trip: %s\n%s", reg.Scenario, reg.Event, f, back)
			}
			for _, f := range m.Extra {
				t.Errorf("%s/%s: appeared in the round trip: %s", reg.Scenario, reg.Event, f)
			}
		}
	}
}

func entries(bundle map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range bundle["entry"].([]any) {
		out = append(out, e.(map[string]any)["resource"].(map[string]any))
	}
	return out
}
