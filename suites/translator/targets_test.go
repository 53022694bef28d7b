package translator

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// TestClaimsTargets: a resource must claim the profile the transaction
// asks for its kind of fact (VRT-06); claiming it beside the generic one
// or beside another that holds is fine, no claim, the generic one only or
// another zib is a finding.
func TestClaimsTargets(t *testing.T) {
	var reg fixtures.Registration
	for _, r := range goldenRegistrations(t) {
		if slices.ContainsFunc(r.Facts, func(f fixtures.RegisteredFact) bool { return f.Code == fixtures.CodeBloodPressure }) {
			reg = r
			break
		}
	}
	rs, err := truth.STU3(reg)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := TargetsOf(reg)
	if err != nil {
		t.Fatal(err)
	}
	var bp map[string]any
	for _, r := range rs {
		if strings.Contains(strings.Join(Claimed(r), " "), "zib-BloodPressure") {
			bp = r
		}
	}
	if bp == nil {
		t.Fatalf("%s/%s has no blood pressure", reg.Scenario, reg.Event)
	}
	zib := fixtures.Nictiz + "zib-BloodPressure"
	cases := []struct {
		name   string
		claims []any // nil: no meta
		want   string
	}{
		{"the target and the generic profile", []any{fixtures.STU3NLCoreObservation, zib}, ""},
		{"the target alone", []any{zib}, ""},
		{"no claim", nil, "claimt geen profiel, de transactie vraagt " + zib},
		{"the generic profile only", []any{fixtures.STU3NLCoreObservation}, "de transactie vraagt " + zib},
		{"another zib", []any{fixtures.Nictiz + "zib-BodyWeight"}, "de transactie vraagt " + zib},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := map[string]any{}
			for k, v := range bp {
				r[k] = v
			}
			delete(r, "meta")
			if c.claims != nil {
				r["meta"] = map[string]any{"profile": c.claims}
			}
			others := []map[string]any{r}
			for _, o := range rs {
				if o["resourceType"] == "Patient" {
					others = append(others, o)
				}
			}
			errs, _, err := claimsTargets(context.Background(), stu3(t), others, targets, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(errs, "\n")
			switch {
			case c.want == "" && got != "":
				t.Fatalf("findings %q, want none", got)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Fatalf("findings %q, want one containing %q", got, c.want)
			}
		})
	}
	t.Run("a resource of no kind the transaction knows, without a claim", func(t *testing.T) {
		r := map[string]any{"resourceType": "Observation", "id": "x", "code": map[string]any{"coding": []any{map[string]any{"system": "http://example.org", "code": "x"}}}}
		errs, _, err := claimsTargets(context.Background(), stu3(t), []map[string]any{r}, targets, nil)
		if err != nil || len(errs) != 1 || !strings.Contains(errs[0], "claimt geen profiel") {
			t.Fatalf("findings %q (%v), want one saying it claims no profile", errs, err)
		}
	})
}
