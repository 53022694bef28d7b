// Package timeliness holds the specs of the TIJ-* requirements: every
// registration reaches each hop of the chain within the profile's limit. The
// clock (suites/clock) measured the hops while the scenarios were replayed;
// these specs judge what it measured.
package timeliness

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/suites/clock"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Tijdigheid", func() {
	Context("van registratie tot raadplegen", func() {
		spec.It("TIJ-01", "elk geregistreerd gegeven MOET binnen de publicatiegrens via de FHIR-API van het XIS op te vragen zijn", func(ctx SpecContext) {
			judge(clock.Publication)
		})
		spec.It("TIJ-02", "na publicatie MOET de cliënt binnen de indexgrens met een actuele verwijzing in de index staan", func(ctx SpecContext) {
			judge(clock.Index)
		})
		spec.It("TIJ-03", "een zorgverlener die alleen de index kent MOET elk gegeven binnen de acute grens vinden", func(ctx SpecContext) {
			judge(clock.Consumer)
		})
	})
})

// maxLines bounds the late and missing items a failure lists; results.json
// keeps every one of them.
const maxLines = 40

// hopWords name a hop in a failure, as a midwife reads it.
var hopWords = map[clock.Hop]string{
	clock.Publication: "in de FHIR-API van het XIS, na de registratie",
	clock.Index:       "in de index, na de publicatie",
	clock.Consumer:    "via de index bij de raadplegende zorgverlener, na de registratie",
}

// judge fails the spec for every item of the hop that came after its limit
// or not at all; polls that got no answer make it the bench's error.
func judge(h clock.Hop) {
	GinkgoHelper()
	c := spec.Current().Clock
	if c == nil {
		spec.NotTestable("deze run meet geen tijdigheid")
	}
	if ok, why := c.Measured(h); !ok {
		spec.NotTestable(why)
	}
	limit := c.Limits.Of(h)
	var late, broken []string
	measured := 0
	var longest time.Duration
	for _, it := range c.Items() {
		if it.Hop != h || it.Polls == 0 {
			continue // not polled: nothing was published to look for
		}
		measured++
		what := fmt.Sprintf("%s › %s (%s)", it.Scenario, it.Title, it.Event)
		d, seen := it.Latency()
		switch {
		case it.Late(limit):
			late = append(late, fmt.Sprintf("%s: pas na %s %s (grens %s)", what, seconds(d), hopWords[h], limit))
		case it.Missing():
			line := fmt.Sprintf("%s: na %s (de horizon bij de grens %s) nog niet %s", what, seconds(clock.Horizon(limit)), limit, strings.TrimSuffix(hopWords[h], ", na de registratie"))
			if it.Note != "" {
				line += ": " + it.Note
			}
			late = append(late, line)
		case !seen:
			broken = append(broken, fmt.Sprintf("%s: %s", what, it.Problem))
		default:
			longest = max(longest, d)
		}
	}
	if measured == 0 {
		spec.NotTestable("geen enkele registratie met gegevens is voor deze stap gemeten")
	}
	if len(late) > maxLines {
		late = append(late[:maxLines], fmt.Sprintf("… en nog %d (results.json noemt ze allemaal)", len(late)-maxLines))
	}
	Expect(late).To(match.HaveNoProblems())
	if len(broken) > 0 {
		spec.Broke(fmt.Errorf("%d registratie(s) kon de bench niet volgen:\n%s", len(broken), strings.Join(broken, "\n")))
	}
	spec.Remark(fmt.Sprintf("%d registraties gemeten, de langste %s (grens %s)", measured, seconds(longest), limit))
}

// seconds writes a duration the Dutch way: "1,25 s".
func seconds(d time.Duration) string {
	return strings.Replace(fmt.Sprintf("%.2f s", d.Seconds()), ".", ",", 1)
}
