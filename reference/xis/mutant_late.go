package xis

import (
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// LateBy is how long the late-publishing mutant holds back what it
// publishes. It is longer than the publication limit the mutant test runs
// under (a self-test override, docs/timeliness.md) and shorter than that
// limit's horizon, so the bench measures the real figure, and the content
// specs, which run after the clock has settled, still see the data.
const LateBy = 4 * time.Second

func init() {
	Mutants = append(Mutants, Mutant{
		Name: "spoedverwijzing-laat", Violates: []string{"TIJ-01"},
		Description: "de acute verwijzing naar de gynaecoloog (spoedsectio) staat pas enkele seconden na de registratie in de FHIR-API, " +
			"langer dan de grens voor publicatie; al het andere is meteen beschikbaar",
		late: func(r fixtures.Registration) time.Duration {
			if r.Scenario == "spoedsectio" && r.Kind == fixtures.Referral {
				return LateBy
			}
			return 0
		},
	})
}
