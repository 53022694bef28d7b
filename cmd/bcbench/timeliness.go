package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/suites/clock"
	"github.com/bcbench/bcbench/suites/spec"
)

// Scenarios replayed at once by default, and at most.
const (
	defaultConcurrency = 4
	maxConcurrency     = 64
)

// timelinessOverrides applies --timeliness-limit HOP=DURATION to the
// profile's limits and returns the names of the limits it changed.
func timelinessOverrides(flags []string, t *certification.Timeliness) ([]string, error) {
	var changed []string
	for _, f := range flags {
		hop, value, ok := strings.Cut(f, "=")
		limit, known := t.Hop(hop)
		if !ok || !known {
			return nil, fmt.Errorf("--timeliness-limit %q: want HOP=DURATION with HOP publication, index, consumer, viewer or dvza", plainText(f))
		}
		d, err := time.ParseDuration(value)
		if err != nil || d < certification.MinTimeliness || d > 24*time.Hour {
			return nil, fmt.Errorf("--timeliness-limit %s: want a duration from %s to 24h", plainText(f), certification.MinTimeliness)
		}
		*limit = d
		changed = append(changed, "timeliness."+hop)
	}
	return changed, nil
}

// newClock measures the hops whose limits the profile sets, polling
// through the run's recording proxies: each event at the XIS it was sent
// to (spec.Env.PublisherFor), the index when the run has one; nil when the
// profile sets no limit.
func newClock(l certification.Timeliness, day0 time.Time, env *spec.Env, concurrency int) *clock.Clock {
	if l.Publication <= 0 {
		return nil
	}
	return &clock.Clock{
		Limits:      clock.Limits{Publication: l.Publication, Index: l.Index, Consumer: l.Consumer},
		Reference:   day0,
		Publisher:   func(r fixtures.Registration) *harness.FHIR { return env.PublisherFor(r).XIS },
		Carries:     func(r fixtures.Registration, key string) bool { return env.PublisherFor(r).Carries(r, key) },
		Index:       env.Index,
		Concurrency: 2 * concurrency, // as --concurrency says
	}
}

// timelinessFigures turns what the clock measured into results.json's
// timeliness section; the named scenarios are drawn, a generated
// population only counts.
func timelinessFigures(c *clock.Clock, scenarios []*fixtures.Scenario) *reports.Timeliness {
	if c == nil {
		return nil
	}
	var hops []reports.HopInput
	for _, h := range clock.Hops {
		_, why := c.Measured(h)
		hops = append(hops, reports.HopInput{Hop: string(h), Limit: c.Limits.Of(h), Reason: why})
	}
	var items []reports.Measurement
	for _, it := range c.Items() {
		if it.Polls == 0 {
			continue // not polled: nothing was published to look for
		}
		m := reports.Measurement{Scenario: it.Scenario, Event: it.Event, Title: it.Title, Hop: string(it.Hop),
			Sent: it.Sent, Start: it.Start, Note: it.Note, Queued: it.Queued}
		d, seen := it.Latency()
		switch {
		case it.Late(c.Limits.Of(it.Hop)):
			m.Status, m.Latency = reports.Late, d
		case seen:
			m.Status, m.Latency = reports.OnTime, d
		case it.Missing():
			m.Status = reports.Missing
		default:
			m.Status, m.Note = reports.Unknown, plainText(it.Problem)
		}
		items = append(items, m)
	}
	golden := map[string]bool{}
	for _, g := range fixtures.Golden() {
		golden[g.ID] = true
	}
	var drawn []string
	for _, s := range scenarios {
		if golden[s.ID] {
			drawn = append(drawn, s.ID)
		}
	}
	return reports.MeasureTimeliness(hops, items, drawn)
}

// timelinessLimits is how results.json records the limits per hop; nil
// when the profile sets none.
func timelinessLimits(t certification.Timeliness) *reports.TimelinessLimits {
	if t == (certification.Timeliness{}) {
		return nil
	}
	text := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return d.String()
	}
	return &reports.TimelinessLimits{Publication: text(t.Publication), Index: text(t.Index), Consumer: text(t.Consumer), Viewer: text(t.Viewer), DVZA: text(t.DVZA)}
}

// transferCoverage turns what the transfer specs found of each data set
// into results.json's transfers; nil when no transfer spec ran.
func transferCoverage(cov []spec.TransferCoverage) []reports.Transfer {
	var out []reports.Transfer
	for _, c := range cov {
		out = append(out, reports.Transfer{Scenario: c.Scenario, Transfer: c.Transfer, Title: c.Title, Receiver: c.Receiver,
			Items: c.Items, Structured: c.Structured, Percent: reports.Coverage(c.Structured, c.Items), Missing: c.Missing})
	}
	return out
}
