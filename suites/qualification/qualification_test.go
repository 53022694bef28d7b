package qualification

import (
	"slices"
	"testing"

	"github.com/bcbench/bcbench/suites/spec"
)

// TestJudge: failures and scripts not run are named per script, skipped
// asserts are counted and listed (bounded), and only judged asserts count
// as judged.
func TestJudge(t *testing.T) {
	many := make([]string, maxListed+5)
	for i := range many {
		many[i] = "t: a: overgeslagen"
	}
	cases := []struct {
		name     string
		verdicts []spec.ScriptVerdict
		failures []string
		notRun   []string
		errors   int // listed lines
		judged   int
		skipped  int
		skips    int // listed lines
	}{
		{name: "alles geslaagd", verdicts: []spec.ScriptVerdict{{Script: "a.json", Pass: 3, Warning: 1}}, judged: 4},
		{name: "een mislukte controle", verdicts: []spec.ScriptVerdict{{Script: "a.json", Pass: 1, Fail: 1, Failures: []string{"t: aantal: 1 != 2"}}},
			failures: []string{"a.json: t: aantal: 1 != 2"}, judged: 2},
		{name: "mislukt zonder tekst telt toch", verdicts: []spec.ScriptVerdict{{Script: "a.json", Fail: 2, Failures: []string{"t: x: y"}}},
			failures: []string{"a.json: t: x: y", "a.json: 1 controle(s) mislukt"}, judged: 2},
		{name: "niet te draaien", verdicts: []spec.ScriptVerdict{{Script: "b.json", NotRun: "unknown operation", Skip: 1}},
			notRun: []string{"b.json: unknown operation"}, skipped: 1, skips: 1},
		{name: "een operatie die de bench niet kon uitvoeren", verdicts: []spec.ScriptVerdict{{Script: "d.json", Pass: 1, Skip: 1, Skips: []string{"t: a: not run"}, Errors: []string{"t: read: no answer"}}},
			errors: 1, judged: 1, skipped: 1, skips: 1},
		{name: "een operatie die het antwoord van het systeem brak", verdicts: []spec.ScriptVerdict{{Script: "e.json", Fail: 1, Failures: []string{"t: read: target has no id"}}},
			failures: []string{"e.json: t: read: target has no id"}, judged: 1},
		{name: "veel operaties zonder antwoord", verdicts: []spec.ScriptVerdict{{Script: "f.json", Errors: many}},
			errors: maxListed + 1},
		{name: "veel overgeslagen", verdicts: []spec.ScriptVerdict{{Script: "c.json", Pass: 1, Skip: len(many), Skips: many}},
			judged: 1, skipped: len(many), skips: maxListed + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := Judge(tc.verdicts)
			if !slices.Equal(j.Failures, tc.failures) || !slices.Equal(j.NotRun, tc.notRun) {
				t.Errorf("failures %q, not run %q; want %q, %q", j.Failures, j.NotRun, tc.failures, tc.notRun)
			}
			if len(j.Errors) != tc.errors {
				t.Errorf("%d error lines, want %d", len(j.Errors), tc.errors)
			}
			if j.Judged != tc.judged || j.Skipped != tc.skipped || len(j.Skips) != tc.skips {
				t.Errorf("judged %d, skipped %d, %d skip lines; want %d, %d, %d", j.Judged, j.Skipped, len(j.Skips), tc.judged, tc.skipped, tc.skips)
			}
		})
	}
}
