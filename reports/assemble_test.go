package reports

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bcbench/bcbench/requirements"
)

// testCatalogue is a small catalogue of our own, so these tests do not move
// when the real catalogue grows: two MOET per goal 1/3/4, one ZOU MOETEN, one MAG.
const testCatalogue = `version: "t1"
requirements:
  - {id: MED-01, title: m1, text: "Het XIS MOET a.", level: MOET, role: xis, area: mp9, outcomeGoal: 1, source: s}
  - {id: MED-02, title: m2, text: "Het XIS MOET b.", level: MOET, role: xis, area: mp9, outcomeGoal: 1, source: s}
  - {id: STD-01, title: s1, text: "Het XIS MOET c.", level: MOET, role: xis, area: api, outcomeGoal: 3, source: s}
  - {id: STD-02, title: s2, text: "Het XIS ZOU MOETEN d.", level: ZOU MOETEN, role: xis, area: api, outcomeGoal: 3, source: s}
  - {id: HER-01, title: h1, text: "Het XIS MOET e.", level: MOET, role: xis, area: content, outcomeGoal: 4, source: s}
  - {id: HER-02, title: h2, text: "Het XIS MAG f.", level: MAG, role: xis, area: content, outcomeGoal: 4, source: s}
  - {id: CLI-01, title: c1, text: "De DVZA MOET g.", level: MOET, role: dvza, area: dvza, outcomeGoal: 2, source: s}
`

func mustCatalogue(t testing.TB) *requirements.Catalogue {
	t.Helper()
	c, err := requirements.Parse([]byte(testCatalogue))
	if err != nil {
		t.Fatalf("test catalogue: %v", err)
	}
	return c
}

func spec(name string, st Status, ids ...string) SpecOutcome {
	s := SpecOutcome{Name: name, Status: st, Requirements: ids, Seconds: 0.25}
	if st != Pass {
		s.Failure = name + " message\nsecond line"
		s.Location = "suites/x_test.go:12"
	}
	return s
}

func baseInput(t testing.TB, ids []string, specs ...SpecOutcome) Input {
	return Input{
		Catalogue:     mustCatalogue(t),
		Profile:       ProfileInput{ID: "keurmerk-test", Title: "Testprofiel", Version: "1", Certifies: true, Requirements: ids},
		Specs:         specs,
		Bench:         Bench{Version: "0.1.0-test", Suite: strings.Repeat("a", 64)},
		Candidate:     Candidate{Name: "ref-xis", Version: "1.0.0", Roles: []RoleIdentity{{Role: "xis", Kind: "builtin"}}},
		Started:       time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC),
		Finished:      time.Date(2026, 11, 23, 13, 0, 42, 0, time.UTC),
		Scenarios:     []string{"zwangerschap-ongecompliceerd"},
		Mode:          ModeCertification,
		ReferenceDate: "2026-05-27",
		Limits:        &Limits{SpecTimeout: "2m0s", RequestTimeout: "30s", StartupTimeout: "1m0s", Memory: 512 << 20, PIDs: 256, CPUs: 1},
		Packages:      []Package{{ID: "hl7.fhir.r4.core", Version: "4.0.1", SHA256: strings.Repeat("b", 64)}},
	}
}

func TestRequirementStatusRules(t *testing.T) {
	cases := []struct {
		name       string
		specs      []SpecOutcome
		want       Status
		wantReason string
	}{
		{"no spec ran", nil, NotTested, ReasonNotTested},
		{"only a not-tested spec", []SpecOutcome{{Name: "a", Status: NotTested, Requirements: []string{"MED-01"}}}, NotTested, ReasonNotTested},
		{"undecided checks are never a pass", []SpecOutcome{spec("a", Pass, "MED-01"), {Name: "b", Status: NotTested, Requirements: []string{"MED-01"}, Failure: "3 onbeslist: x"}}, NotTested, `3 onbeslist: x (spec "b" kon niet beslissen)`},
		{"a failure outweighs undecided checks", []SpecOutcome{spec("a", Fail, "MED-01"), {Name: "b", Status: NotTested, Requirements: []string{"MED-01"}, Failure: "3 onbeslist: x"}}, Fail, `spec "a" faalde`},
		{"a self-test pass shows its remark", []SpecOutcome{{Name: "a", Status: Pass, Requirements: []string{"MED-01"}, Failure: "2 onbeslist: y"}}, Pass, `2 onbeslist: y (spec "a" slaagde met kanttekening)`},
		{"one pass", []SpecOutcome{spec("a", Pass, "MED-01")}, Pass, ""},
		{"pass and skip", []SpecOutcome{spec("a", Pass, "MED-01"), spec("b", Skip, "MED-01")}, Pass, ""},
		{"only skips", []SpecOutcome{spec("a", Skip, "MED-01"), spec("b", Skip, "MED-01")}, Skip, "2 specs zijn overgeslagen"},
		{"pass and error", []SpecOutcome{spec("a", Pass, "MED-01"), spec("b", Error, "MED-01")}, Error, `b message … (spec "b" brak af)`},
		{"error and fail: fail wins", []SpecOutcome{spec("a", Error, "MED-01"), spec("b", Fail, "MED-01")}, Fail, `spec "b" faalde`},
		{"pass and fail", []SpecOutcome{spec("a", Pass, "MED-01"), spec("z", Fail, "MED-01"), spec("y", Fail, "MED-01")}, Fail, `2 specs faalden, o.a. "y"`},
		{"unknown spec status is an error", []SpecOutcome{{Name: "a", Status: "pending", Requirements: []string{"MED-01"}}}, Error, "onbekende specstatus"},
		{"spec for another requirement", []SpecOutcome{spec("a", Pass, "MED-02")}, NotTested, ReasonNotTested},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Assemble(baseInput(t, []string{"MED-01"}, tc.specs...))
			if len(res.Requirements) != 1 {
				t.Fatalf("got %d requirements, want 1", len(res.Requirements))
			}
			r := res.Requirements[0]
			if r.Status != tc.want {
				t.Fatalf("status = %s, want %s (reason %q)", r.Status, tc.want, r.Reason)
			}
			if !strings.Contains(r.Reason, tc.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", r.Reason, tc.wantReason)
			}
			if tc.want != Pass && r.Reason == "" {
				t.Errorf("status %s without a reason", r.Status)
			}
		})
	}
}

func TestSpecsSortedAndEvidenceMerged(t *testing.T) {
	a := spec("b-spec", Pass, "MED-01")
	a.Evidence = []string{"evidence/xis.har", "evidence/b.log"}
	b := spec("a-spec", Pass, "MED-01", "MED-02")
	b.Evidence = []string{"evidence/xis.har"}
	res := Assemble(baseInput(t, []string{"MED-01", "MED-02"}, a, b))
	r := res.Requirements[0]
	if got := []string{r.Specs[0].Name, r.Specs[1].Name}; got[0] != "a-spec" || got[1] != "b-spec" {
		t.Errorf("specs = %v, want sorted by name", got)
	}
	if fmt.Sprint(r.Evidence) != "[evidence/b.log evidence/xis.har]" {
		t.Errorf("evidence = %v, want the sorted union without duplicates", r.Evidence)
	}
	if res.Requirements[1].Status != Pass || len(res.Requirements[1].Specs) != 1 {
		t.Errorf("MED-02 = %+v, want pass from the one spec naming it", res.Requirements[1])
	}
}

func TestVerdict(t *testing.T) {
	all := []string{"MED-01", "STD-01", "STD-02", "HER-02"}
	cases := []struct {
		name  string
		specs []SpecOutcome
		want  Verdict
	}{
		{"every MOET passed, ZOU MOETEN failed", []SpecOutcome{spec("a", Pass, "MED-01", "STD-01"), spec("b", Fail, "STD-02")}, VerdictPass},
		{"a MOET failed", []SpecOutcome{spec("a", Pass, "MED-01"), spec("b", Fail, "STD-01")}, VerdictFail},
		{"a MOET errored", []SpecOutcome{spec("a", Pass, "MED-01"), spec("b", Error, "STD-01")}, VerdictFail},
		{"a MOET not tested", []SpecOutcome{spec("a", Pass, "MED-01")}, VerdictIncomplete},
		{"a MOET skipped", []SpecOutcome{spec("a", Pass, "MED-01"), spec("b", Skip, "STD-01")}, VerdictIncomplete},
		{"fail beats not-tested", []SpecOutcome{spec("a", Fail, "MED-01")}, VerdictFail},
		{"nothing ran", nil, VerdictIncomplete},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Assemble(baseInput(t, all, tc.specs...))
			if res.Verdict != tc.want {
				t.Fatalf("verdict = %s, want %s; requirements %+v", res.Verdict, tc.want, res.Requirements)
			}
		})
	}
	t.Run("profile without MOET requirements cannot pass", func(t *testing.T) {
		res := Assemble(baseInput(t, []string{"STD-02"}, spec("a", Pass, "STD-02")))
		if res.Verdict != VerdictIncomplete {
			t.Fatalf("verdict = %s, want incomplete", res.Verdict)
		}
	})
}

func TestSummaryCounts(t *testing.T) {
	res := Assemble(baseInput(t, []string{"MED-01", "MED-02", "STD-01", "STD-02", "HER-01", "HER-01"},
		spec("a", Pass, "MED-01"), spec("b", Fail, "MED-02"), spec("c", Error, "STD-01"), spec("d", Skip, "STD-02")))
	want := Summary{Pass: 1, Fail: 1, Error: 1, Skip: 1, NotTested: 1, Total: 5}
	if res.Summary != want {
		t.Fatalf("summary = %+v, want %+v (duplicate profile IDs count once)", res.Summary, want)
	}
}

func TestOutcomeGoals(t *testing.T) {
	// Goal 1: 1 of 2 passed (50 %); goal 2: not in the profile; goal 3: 2 of 2;
	// goal 4: 0 of 2 (one skipped, one not tested).
	res := Assemble(baseInput(t, []string{"MED-01", "MED-02", "STD-01", "STD-02", "HER-01", "HER-02"},
		spec("a", Pass, "MED-01", "STD-01", "STD-02"), spec("b", Fail, "MED-02"), spec("c", Skip, "HER-01")))
	type want struct {
		assessed       bool
		reqs, passed   int
		real, discount float64
	}
	wants := map[int]want{
		1: {true, 2, 1, 50, 7.5},
		2: {false, 0, 0, 0, 0},
		3: {true, 2, 2, 100, 0},
		4: {true, 2, 0, 0, 10},
	}
	if len(res.OutcomeGoals) != 4 {
		t.Fatalf("got %d outcome goals, want 4", len(res.OutcomeGoals))
	}
	for _, g := range res.OutcomeGoals {
		w := wants[g.Goal]
		if g.Name != GoalNames[g.Goal] || g.Assessed != w.assessed || g.Requirements != w.reqs || g.Passed != w.passed {
			t.Errorf("goal %d = %+v, want %+v", g.Goal, g, w)
			continue
		}
		if !w.assessed {
			if g.Realisation != nil || g.Discount != nil {
				t.Errorf("goal %d not assessed but realisation/discount = %v/%v, want null", g.Goal, g.Realisation, g.Discount)
			}
			continue
		}
		if g.Realisation == nil || *g.Realisation != w.real || g.Discount == nil || *g.Discount != w.discount {
			t.Errorf("goal %d realisation/discount = %v/%v, want %v/%v", g.Goal, deref(g.Realisation), deref(g.Discount), w.real, w.discount)
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestDiscountTable(t *testing.T) {
	cases := []struct {
		name string
		real float64
		want [4]float64
	}{
		{"100 %", 100, [4]float64{0, 0, 0, 0}},
		{"exactly 68 %", 68, [4]float64{0, 0, 0, 0}},
		{"just under 68 %", 67.99, [4]float64{2.5, 10, 10, 2.5}},
		{"exactly 60 %", 60, [4]float64{2.5, 10, 10, 2.5}},
		{"just under 60 %", 59.99, [4]float64{5, 20, 20, 5}},
		{"exactly 55 %", 55, [4]float64{5, 20, 20, 5}},
		{"just under 55 %", 54.99, [4]float64{7.5, 30, 30, 7.5}},
		{"exactly 50 %", 50, [4]float64{7.5, 30, 30, 7.5}},
		{"just under 50 %", 49.99, [4]float64{10, 40, 40, 10}},
		{"0 %", 0, [4]float64{10, 40, 40, 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for goal := 1; goal <= 4; goal++ {
				if got := Discount(goal, tc.real); got != tc.want[goal-1] {
					t.Errorf("Discount(goal %d, %v%%) = %v, want %v", goal, tc.real, got, tc.want[goal-1])
				}
			}
		})
	}
	if Discount(5, 0) != 0 || Discount(0, 0) != 0 {
		t.Error("an unknown goal must get no discount")
	}
}

func TestRealisationAtBoundaries(t *testing.T) {
	// Fractions that land exactly on a boundary must not fall below it.
	cases := []struct {
		name          string
		passed, total int
		wantDiscount  float64 // goal 2
	}{
		{"17 of 25 is 68 %", 17, 25, 0},
		{"2 of 3 is 66.7 %", 2, 3, 10},
		{"3 of 5 is 60 %", 3, 5, 10},
		{"11 of 20 is 55 %", 11, 20, 20},
		{"1 of 2 is 50 %", 1, 2, 30},
		{"12 of 25 is 48 %", 12, 25, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Discount(2, Realisation(tc.passed, tc.total)); got != tc.wantDiscount {
				t.Fatalf("discount = %v, want %v (realisation %v)", got, tc.wantDiscount, Realisation(tc.passed, tc.total))
			}
		})
	}
}

func TestUnknownIDsBecomeProblems(t *testing.T) {
	res := Assemble(baseInput(t, []string{"MED-01", "NOPE-01"}, spec("a", Pass, "MED-01", "GHOST-9")))
	joined := strings.Join(res.Problems, "|")
	if !strings.Contains(joined, "NOPE-01") || !strings.Contains(joined, "GHOST-9") {
		t.Fatalf("problems = %v, want both unknown IDs named", res.Problems)
	}
	if res.Requirements[1].ID != "NOPE-01" || res.Requirements[1].Status != Error {
		t.Fatalf("unknown profile requirement = %+v, want status error", res.Requirements[1])
	}
	if res.Verdict != VerdictFail {
		t.Fatalf("verdict = %s, want fail: an unknown MOET-level entry cannot pass", res.Verdict)
	}
}

func TestAssembleUsesEmbeddedCatalogueByDefault(t *testing.T) {
	in := baseInput(t, []string{"INH-01"}, spec("a", Pass, "INH-01"))
	in.Catalogue = nil
	res := Assemble(in)
	if res.Requirements[0].Status != Pass || res.Bench.Catalogue != requirements.MustDefault().Version {
		t.Fatalf("got %+v / catalogue %q", res.Requirements[0], res.Bench.Catalogue)
	}
}

func TestRoleEvidenceIsLinked(t *testing.T) {
	in := baseInput(t, []string{"MED-01", "CLI-01"}, spec("a", Pass, "MED-01", "CLI-01"))
	in.Evidence = []Evidence{
		{Path: "evidence/xis.har"},                   // named after role xis
		{Path: "evidence/pgo-log.har", Role: "dvza"}, // marked with role dvza
		{Path: "evidence/other.log"},                 // neither
	}
	res := Assemble(in)
	if got := fmt.Sprint(res.Requirements[0].Evidence); got != "[evidence/xis.har]" {
		t.Errorf("MED-01 (xis) evidence = %s", got)
	}
	if got := fmt.Sprint(res.Requirements[1].Evidence); got != "[evidence/pgo-log.har]" {
		t.Errorf("CLI-01 (dvza) evidence = %s", got)
	}
}

func TestReasonHeadline(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"one line", "waarde 1, verwacht 2", "waarde 1, verwacht 2"},
		{"more lines", "eerste\ntweede", "eerste …"},
		{"introduction joined", "1 verschil(len):\n  parity: geregistreerd 0, gepubliceerd 1", "1 verschil(len): parity: geregistreerd 0, gepubliceerd 1"},
		{"introduction joined, more follows", "2 verschillen:\na\nb", "2 verschillen: a …"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := headline(tc.in); got != tc.want {
				t.Fatalf("headline(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	long := strings.Repeat("é", 1000)
	r := describe([]SpecOutcome{{Name: "x", Failure: long}}, "faalde", "faalden")
	if len(r) > maxReason+len("…") || !strings.HasSuffix(r, "…") || !utf8.ValidString(r) {
		t.Fatalf("long reason not cut cleanly: len %d valid %v", len(r), utf8.ValidString(r))
	}
}

// A setup problem (the candidate never started, a limit could not be met, a
// pinned package is missing) is the bench's: the verdict is incomplete even
// when specs errored, and no outcome goal is assessed, so no discount follows.
func TestSetupProblemJudgesNothing(t *testing.T) {
	in := baseInput(t, []string{"MED-01", "CLI-01"}, spec("a", Error, "MED-01"))
	in.SetupProblem = "de kandidaat startte niet"
	res := Assemble(in)
	if res.Verdict != VerdictIncomplete {
		t.Errorf("verdict %s, want incomplete", res.Verdict)
	}
	for _, g := range res.OutcomeGoals {
		if g.Assessed || g.Discount != nil {
			t.Errorf("goal %d assessed with a setup problem: %+v", g.Goal, g)
		}
	}
	if err := Consistent(res); err != nil {
		t.Errorf("results with a setup problem are not consistent: %v", err)
	}
	in.SetupProblem = ""
	if res := Assemble(in); res.Verdict != VerdictFail {
		t.Errorf("without the setup problem the verdict is %s, want fail", res.Verdict)
	}
}

// Only a profile that certifies gives a certification; the key alone never
// does.
func TestModeFollowsTheProfile(t *testing.T) {
	cases := []struct {
		name      string
		certifies bool
		mode      string
		want      string
	}{
		{"certifying profile", true, ModeCertification, ModeCertification},
		{"certifying profile, self-test asked", true, ModeSelfTest, ModeSelfTest},
		{"self-test profile claiming certification", false, ModeCertification, ModeSelfTest},
		{"no mode given", true, "", ModeSelfTest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(t, []string{"MED-01"}, spec("a", Pass, "MED-01"))
			in.Profile.Certifies, in.Mode = tc.certifies, tc.mode
			if got := Assemble(in).Mode; got != tc.want {
				t.Fatalf("mode %q, want %q", got, tc.want)
			}
		})
	}
}
