package spec

import (
	"time"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/token"
)

// Viewer is the viewer role under test (suites/viewer, docs/viewer.md): the
// bench plays the XIS that opens it in a browser.
type Viewer struct {
	// Browser is the run's one headless chromium.
	Browser *browser.Browser
	// Launch returns a fresh launch address (used once) that opens the
	// viewer for the client as the professional.
	Launch func(c fixtures.Client) (string, error)
	// Refusals returns, by name, launch addresses the viewer must refuse for
	// the client: no context, a tampered, an expired launch, one made for
	// another viewer; with a context token: none, a broken signature, one
	// past its exp, one with another aud.
	Refusals func(c fixtures.Client) (map[string]string, error)
	// Origins are the hosts besides the viewer's that a launch passes
	// through in the browser (the authorization server).
	Origins []string
	// Professional is who the launches name.
	Professional token.Professional
	// PatientID is the client's Patient id at the XIS the viewer reads.
	PatientID func(c fixtures.Client) string
	// AuditURL is the viewer's AuditEvent search (…/AuditEvent); empty when
	// the viewer names no log: VWR-06 is then not tested.
	AuditURL string
	// Now is the viewing day's clock.
	Now func() time.Time
	// Evidence, when set, keeps a screenshot (PNG) of a judged view (and of
	// each WCAG failure, its element outlined) for the requirements named.
	Evidence func(name string, png []byte, requirements ...string)
	// Network, when set, keeps the browser's network log (HAR, credential
	// headers left out) of every page whose screenshot Evidence keeps:
	// everything the page loaded.
	Network func(name string, har []byte)
	// Timely is the most time a fact registered at the XIS may take to be
	// visible in the viewer (VWR-08); zero leaves it unjudged.
	Timely time.Duration
	// Problem, when set, says why the bench cannot open the viewer (no
	// browser): a setup problem, every VWR spec is an error, never the
	// candidate's fail.
	Problem string
	// Timing, when set, hears how long each step of a page took (opening
	// it through the launch, reading it, each WCAG step): for a log, never
	// judged.
	Timing func(step string, d time.Duration)
}

// Steps tells Timing, when set, the steps of a page under prefix.
func (v *Viewer) Steps(prefix string, steps []browser.Phase) {
	if v.Timing != nil {
		for _, s := range steps {
			v.Timing(prefix+s.Name, s.Duration)
		}
	}
}

// Time tells Timing, when set, that step took since start.
func (v *Viewer) Time(step string, start time.Time) {
	if v.Timing != nil {
		v.Timing(step, time.Since(start))
	}
}
