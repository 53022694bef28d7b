// Package qualification holds the spec of the qualification TestScripts
// (TS-*): the FHIR TestScripts a vendor is qualified with (Nictiz's, run
// in Touchstone online) run by bcbench's engine against a role of the
// candidate. The run command runs the scripts (spec.Qualification) and
// writes each TestReport into evidence/; the spec judges their asserts.
// Without TestScripts in the run the spec skips, never passes.
package qualification

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

// maxListed bounds the skipped asserts named in a reason.
const maxListed = 20

var _ = Describe("Kwalificatiescripts (FHIR TestScripts)", func() {
	spec.It("TS-01", "het systeem MOET elke controle van de kwalificatiescripts van Nictiz doorstaan die de bench kan beoordelen", func(ctx SpecContext) {
		env := spec.Current()
		q := env.Qualification
		if q == nil || q.Run == nil {
			spec.NotTestable("deze run heeft geen TestScripts (--testscripts): niets te beoordelen")
		}
		verdicts, err := q.Run(ctx)
		if err != nil {
			spec.Broke(fmt.Errorf("running the TestScripts: %w", err))
		}
		judgement := Judge(verdicts)
		Expect(judgement.Failures).To(match.HaveNoProblems())
		if len(judgement.NotRun) > 0 {
			spec.Broke(fmt.Errorf("%d TestScript(s) could not be run by the bench:\n%s", len(judgement.NotRun), strings.Join(judgement.NotRun, "\n")))
		}
		if len(judgement.Errors) > 0 {
			spec.Broke(fmt.Errorf("%d operation(s) of the TestScripts could not be carried out by the bench (no answer; not the system's fault, so not judged):\n%s", len(judgement.Errors), strings.Join(judgement.Errors, "\n")))
		}
		if judgement.Judged == 0 {
			spec.Undecided(fmt.Sprintf("geen enkele controle van de %d TestScript(s) (%s) kon beoordeeld worden", len(verdicts), strings.Join(q.Sets, "; ")))
		}
		if len(judgement.Skips) > 0 {
			reason := fmt.Sprintf("%d van %d controles overgeslagen (niet te beoordelen buiten Touchstone of zonder rol):\n%s",
				judgement.Skipped, judgement.Skipped+judgement.Judged, strings.Join(judgement.Skips, "\n"))
			if env.Undecided == spec.UndecidedReport {
				spec.Remark(reason)
				return
			}
			spec.Undecided(reason + "\n(certificering: een overgeslagen controle telt niet als geslaagd)")
		}
	})
})

// Judgement is what the verdicts of a run of TestScripts say together.
type Judgement struct {
	// Failures name every failed assert, per script.
	Failures []string
	// NotRun name every script the bench could not run, with the reason.
	NotRun []string
	// Errors name every operation the bench could not carry out, per
	// script (at most maxListed, then a count).
	Errors []string
	// Skips name skipped asserts (at most maxListed, then a count).
	Skips []string
	// Judged counts the asserts judged (pass, warning, fail); Skipped the
	// asserts skipped or not evaluable.
	Judged, Skipped int
}

// Judge sums the verdicts of a run of TestScripts.
func Judge(verdicts []spec.ScriptVerdict) Judgement {
	var j Judgement
	for _, v := range verdicts {
		if v.NotRun != "" {
			j.NotRun = append(j.NotRun, v.Script+": "+v.NotRun)
		}
		for _, f := range v.Failures {
			j.Failures = append(j.Failures, v.Script+": "+f)
		}
		for _, e := range v.Errors {
			j.Errors = append(j.Errors, v.Script+": "+e)
		}
		if v.Fail > len(v.Failures) {
			j.Failures = append(j.Failures, fmt.Sprintf("%s: %d controle(s) mislukt", v.Script, v.Fail-len(v.Failures)))
		}
		j.Judged += v.Pass + v.Warning + v.Fail
		j.Skipped += v.Skip + v.Error
		for _, s := range v.Skips {
			if len(j.Skips) < maxListed {
				j.Skips = append(j.Skips, v.Script+": "+s)
			}
		}
	}
	if n := len(j.Errors); n > maxListed {
		j.Errors = append(j.Errors[:maxListed:maxListed], fmt.Sprintf("… en %d meer (de TestReports in evidence/ noemen ze)", n-maxListed))
	}
	if listed := len(j.Skips); j.Skipped > listed && listed > 0 {
		j.Skips = append(j.Skips, fmt.Sprintf("… en %d meer (de TestReports in evidence/ noemen ze)", j.Skipped-listed))
	}
	if j.Skipped > 0 && len(j.Skips) == 0 {
		j.Skips = append(j.Skips, fmt.Sprintf("%d controle(s) (de TestReports in evidence/ noemen ze)", j.Skipped))
	}
	return j
}
