package dvza

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/suites/spec"
)

// Availability (MM-16): after her app read her record, the bench registers
// one more fact for each client with data — a repeat of her last
// registration with observations, an hour later, under a new event id —
// and polls the DVZA as her app until it is served, as the timeliness
// clock does for the XIS (docs/timeliness.md): at once, then waits that
// double from 50 ms up to a tenth of the limit, and one poll exactly at
// the limit. Seen by a poll sent at or before the limit is on time; not
// seen by then is late, followed up to the horizon (three limits, at most
// two minutes past it) for its real figure, and missing after. The bench
// measures at most measureBudget: a limit beyond it (the seed's week) is
// judged only when the fact arrives within the budget, else undecided.
const (
	firstPoll     = 50 * time.Millisecond
	horizonFactor = 3
	maxOverLimit  = 2 * time.Minute
	measureBudget = 60 * time.Second
	// maxProbes bounds how many clients' new facts the bench measures at
	// once: each polls the DVZA, and a population must not flood it.
	maxProbes = 8
)

var _ = Describe("MedMij (DVZA) beschikbaarheid", func() {
	spec.It("MM-16", "een gegeven dat geregistreerd wordt nadat haar app haar dossier opvroeg, MOET binnen de beschikbaarheidsgrens van het profiel bij de DVZA opvraagbaar zijn", func(ctx SpecContext) {
		env, clients := setup()
		limit := env.DVZA.Availability
		if limit <= 0 {
			spec.NotTestable("het profiel stelt geen beschikbaarheidsgrens (limits.timeliness.dvza)")
		}
		if env.Adapter == nil {
			spec.NotTestable("deze run stuurt de DVZA zijn gebeurtenissen niet zelf (geen adapter): de bench kan geen nieuw gegeven registreren")
		}
		var probes []*probe
		for _, c := range withData(clients) {
			got := collect(ctx, env, c)
			needSession(got)
			if len(got.Episodes) == 0 {
				continue // no pregnancy record to ask in: MM-05's finding
			}
			reg, want, err := probeFor(env, c)
			if err != nil {
				spec.Broke(err)
			}
			if len(want) > 0 {
				probes = append(probes, &probe{c: c, got: got, reg: reg, want: want})
			}
		}
		if len(probes) == 0 {
			spec.NotTestable("geen cliënt met een zwangerschapsdossier bij de DVZA om een nieuw gegeven voor te registreren; MM-05 beoordeelt dat")
		}
		var wg sync.WaitGroup
		slots := make(chan struct{}, maxProbes)
		for _, pr := range probes {
			wg.Go(func() {
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
					pr.measure(ctx, env, limit)
				case <-ctx.Done():
				}
			})
		}
		wg.Wait()
		var late, undecided, figures []string
		for _, pr := range probes {
			if pr.err != nil {
				spec.Broke(pr.err)
			}
			switch {
			case pr.seen && pr.onTime:
				figures = append(figures, fmt.Sprintf("%s %s", pr.c.Name, round(pr.delay)))
			case pr.unknown != "":
				// a poll by the limit got no answer the bench can judge:
				// whether the fact was served then is unknown
				undecided = append(undecided, fmt.Sprintf("%s: %s; of het nieuwe gegeven binnen de grens %s geleverd werd, is niet vast te stellen", pr.c.Name, pr.unknown, limit))
			case pr.seen:
				late = append(late, fmt.Sprintf("%s: het nieuwe gegeven (%s) werd pas na %s geleverd, grens %s%s", pr.c.Name, pr.reg.Event, round(pr.delay), limit, pr.refused))
			case pr.followed >= limit:
				late = append(late, fmt.Sprintf("%s: het nieuwe gegeven (%s) werd na %s nog niet geleverd, grens %s%s", pr.c.Name, pr.reg.Event, round(pr.followed), limit, pr.refused))
			case pr.started:
				undecided = append(undecided, fmt.Sprintf("%s: na %s (de meettijd van de bench) nog niet geleverd; de grens %s kan de bench niet afwachten", pr.c.Name, round(pr.followed), limit))
			default:
				undecided = append(undecided, fmt.Sprintf("%s: de bench kwam niet toe aan het meten (de spec liep af)", pr.c.Name))
			}
		}
		if len(late) > 0 {
			Fail(strings.Join(late, "\n"))
		}
		if len(undecided) > 0 {
			spec.Undecided(strings.Join(undecided, "\n"))
		}
		spec.Remark(fmt.Sprintf("een nieuw gegeven was beschikbaar na (grens %s): %s", limit, strings.Join(figures, ", ")))
	})
})

// probe is one client's new fact and what the bench saw of it.
type probe struct {
	c    *client
	got  *collected
	reg  fixtures.Registration
	want []map[string]any // its observations (STU3 ground truth)

	seen     bool
	onTime   bool          // seen by a poll at or before the limit
	delay    time.Duration // from the registration to the poll that saw it
	followed time.Duration // how long it was followed without being seen
	err      error         // the bench could not register it
	started  bool          // the bench registered it and began to poll
	// unknown says why a poll sent by the limit got no answer the bench
	// can judge: no connection (the bench's or the setup's problem), or a
	// 401 for a token the DVZA itself said had expired.
	unknown string
	// refused names, for a finding, the polls the DVZA refused with 401
	// although her token was valid: the candidate's fault.
	refused string
}

// probeFor is the client's new fact: her last registration with
// observations, an hour later, under a new event id.
func probeFor(env *spec.Env, c *client) (fixtures.Registration, []map[string]any, error) {
	regs, err := c.Scenario.Registrations(env.Reference)
	if err != nil {
		return fixtures.Registration{}, nil, fmt.Errorf("resolving scenario %s: %w", c.Scenario.ID, err)
	}
	for i := len(regs) - 1; i >= 0; i-- {
		r := regs[i]
		if r.Kind == fixtures.Deletion || r.Consent != nil || r.Subject != nil || len(r.Facts) == 0 {
			continue
		}
		r.Event = r.Event + "-beschikbaarheid-" + newID()[:8]
		r.Time = r.Time.Add(time.Hour)
		res, err := truth.STU3(r)
		if err != nil {
			return fixtures.Registration{}, nil, fmt.Errorf("rendering the STU3 ground truth of %s: %w", r.Event, err)
		}
		var want []map[string]any
		for _, m := range res {
			if m["resourceType"] == "Observation" {
				want = append(want, m)
			}
		}
		if len(want) > 0 {
			return r, want, nil
		}
	}
	return fixtures.Registration{}, nil, nil
}

// measure reads her record (her app looks), registers the new fact and
// polls until it is served, the horizon passes or the budget is spent.
func (pr *probe) measure(ctx context.Context, env *spec.Env, limit time.Duration) {
	defer GinkgoRecover()
	p := &pgo{d: env.DVZA}
	_, _ = pr.served(ctx, p) // her app looks first; what it sees is no poll
	pr.refused = ""
	sent := time.Now()
	if _, err := env.Adapter.Register(ctx, pr.reg); err != nil {
		pr.err = fmt.Errorf("registering the new fact %s for %s: %w", pr.reg.Event, pr.c.Name, err)
		return
	}
	pr.started = true
	horizon := limit + min((horizonFactor-1)*limit, maxOverLimit)
	stop := min(horizon, measureBudget)
	step, atLimit, limitPoll := firstPoll, false, false
	for {
		asked := time.Since(sent)
		ok, unjudged := pr.served(ctx, p)
		if unjudged != "" && pr.unknown == "" && (asked <= limit || limitPoll) && ctx.Err() == nil {
			pr.unknown = unjudged
		}
		if ok {
			// the poll due at the limit sees it in time, whatever the
			// timer's slack
			pr.seen, pr.delay, pr.onTime = true, asked, asked <= limit || limitPoll
			return
		}
		atLimit = atLimit || limitPoll || asked >= limit
		limitPoll = false
		pr.followed = time.Since(sent)
		if pr.followed >= stop || ctx.Err() != nil {
			return
		}
		next := step
		if !atLimit && asked+next >= limit {
			next, limitPoll = limit-time.Since(sent), true // one poll exactly at the limit
		}
		step = min(2*step, max(limit/10, firstPoll))
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(next, time.Millisecond)):
		}
	}
}

// served says whether every observation of the new fact is served by one
// poll, and, when the poll got no answer the bench can judge, why: no
// connection, or a 401 for a token the DVZA said had expired. A 401 for
// her valid token is the DVZA's refusal, noted for the finding; no answer
// within the request timeout, or another status, is not served.
func (pr *probe) served(ctx context.Context, p *pgo) (bool, string) {
	r, err := p.get(ctx, pr.got.Session.Token, pr.got.Session.Correlation, "Observation", url.Values{"context": {episodeRefs(pr.got.Episodes)}}, "")
	switch {
	case err != nil:
		return false, fmt.Sprintf("de bench kon de DVZA niet bereiken (%v)", err)
	case r.Status == http.StatusUnauthorized && !pr.got.Session.validAt(time.Now()):
		return false, "haar token was volgens de DVZA verlopen (401)"
	case r.Status == http.StatusUnauthorized:
		pr.refused = " (de DVZA weigerde haar geldige token met 401)"
		return false, ""
	case r.Status != http.StatusOK:
		return false, ""
	}
	matches := map[string]map[string]any{}
	for _, e := range entries(r.Bundle) {
		res, _ := e["resource"].(map[string]any)
		matches[fmt.Sprintf("%v/%v", res["resourceType"], res["id"])] = res
	}
	for _, w := range pr.want {
		if _, ok := pair(w, matches); !ok {
			return false, ""
		}
	}
	return true, ""
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}
