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
	unknown := []struct {
		name   string
		claims []any // nil: no meta
		want   string
	}{
		{"without a claim", nil, "claimt geen profiel"},
		{"claiming the HL7 base profile", []any{fixtures.ProfileObservation}, "geen zib-, bc- of nl-core-profiel"},
		{"claiming nl-core", []any{fixtures.STU3NLCoreObservation}, ""},
		{"claiming a zib", []any{fixtures.STU3BodyWeight}, ""},
	}
	for _, c := range unknown {
		t.Run("a resource of no kind the transaction knows, "+c.name, func(t *testing.T) {
			r := map[string]any{"resourceType": "Observation", "id": "x", "code": map[string]any{"coding": []any{map[string]any{"system": "http://example.org", "code": "x"}}}}
			if c.claims != nil {
				r["meta"] = map[string]any{"profile": c.claims}
			}
			errs, _, err := claimsTargets(context.Background(), stu3(t), []map[string]any{r}, targets, nil)
			got := strings.Join(errs, "\n")
			if err != nil || (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Fatalf("findings %q (%v), want %q", got, err, c.want)
			}
		})
	}
}

// TestLeaksFindsTheBSNHoweverWritten: VRT-03 finds her BSN in the answer
// written plainly, with JSON escapes, or in a key; not a BSN the answer
// does not carry.
func TestLeaksFindsTheBSNHoweverWritten(t *testing.T) {
	const bsn = "999990019"
	cases := []struct {
		name   string
		body   string
		leaked bool
	}{
		{"plainly", `{"resourceType":"Bundle","id":"999990019"}`, true},
		{"with JSON escapes", `{"resourceType":"Bundle","id":"\u0039\u00399990019"}`, true},
		{"all escaped in a nested value", `{"resourceType":"Bundle","entry":[{"resource":{"identifier":[{"value":"\u0039\u0039\u0039\u0039\u0039\u0030\u0030\u0031\u0039"}]}}]}`, true},
		{"in a key", `{"\u0039\u0039\u0039\u0039\u0039\u0030\u0030\u0031\u0039":1}`, true},
		{"not there", `{"resourceType":"Bundle","id":"999990020"}`, false},
		{"not JSON, not there", `<html/>`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := leaks([]byte(c.body), []string{bsn, ""}); (len(got) > 0) != c.leaked {
				t.Fatalf("leaks %v, want leaked %v", got, c.leaked)
			}
		})
	}
}
