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
	// maxProbes bounds how many clients' new facts the bench measures: the
	// first ones with a record, in the population's order, all at once, so
	// the measurement takes one budget whatever the population's size and
	// a population does not flood the DVZA.
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
		probes, sampled := sample(probes)
		var wg sync.WaitGroup
		for _, pr := range probes {
			wg.Go(func() { pr.measure(ctx, env, limit) })
		}
		wg.Wait()
		var late, undecided, figures []string
		for _, pr := range probes {
			if pr.err != nil {
				spec.Broke(pr.err)
			}
			switch l, u, f := pr.verdict(limit); {
			case l != "":
				late = append(late, l)
			case u != "":
				undecided = append(undecided, u)
			default:
				figures = append(figures, f)
			}
		}
		if len(late) > 0 {
			Fail(strings.Join(late, "\n") + sampled)
		}
		if len(undecided) > 0 {
			spec.Undecided(strings.Join(undecided, "\n") + sampled)
		}
		spec.Remark(fmt.Sprintf("een nieuw gegeven was beschikbaar na (grens %s): %s%s", limit, strings.Join(figures, ", "), sampled))
	})
})

// sample is the probes the bench measures — the first maxProbes, in the
// population's order — and, when it leaves some out, a note saying so.
func sample(probes []*probe) ([]*probe, string) {
	if len(probes) <= maxProbes {
		return probes, ""
	}
	return probes[:maxProbes], fmt.Sprintf(" (een steekproef: de eerste %d van %d cliënten met een dossier)", maxProbes, len(probes))
}

// verdict is the probe's finding: late (the DVZA's fault), undecided (the
// bench could not judge), or the figure of a fact served on time. A poll
// the bench could judge, sent at or after the limit, that did not see the
// fact makes it late whatever earlier polls got: a DVZA cannot dodge the
// limit by leaving one early poll unanswered.
func (pr *probe) verdict(limit time.Duration) (late, undecided, figure string) {
	switch {
	case pr.seen && pr.onTime:
		return "", "", fmt.Sprintf("%s %s", pr.c.Name, round(pr.delay))
	case pr.missedAtLimit && pr.seen:
		return fmt.Sprintf("%s: het nieuwe gegeven (%s) werd pas na %s geleverd, grens %s%s", pr.c.Name, pr.reg.Event, round(pr.delay), limit, pr.refused), "", ""
	case pr.missedAtLimit:
		return fmt.Sprintf("%s: het nieuwe gegeven (%s) werd na %s nog niet geleverd, grens %s%s", pr.c.Name, pr.reg.Event, round(pr.followed), limit, pr.refused), "", ""
	case pr.unknown != "":
		// no poll at or after the limit was judged, and one by the limit
		// got no answer the bench can judge: whether the fact was served
		// in time is unknown
		return "", fmt.Sprintf("%s: %s; of het nieuwe gegeven binnen de grens %s geleverd werd, is niet vast te stellen", pr.c.Name, pr.unknown, limit), ""
	case pr.started && pr.followed < limit:
		return "", fmt.Sprintf("%s: na %s (de meettijd van de bench) nog niet geleverd; de grens %s kan de bench niet afwachten", pr.c.Name, round(pr.followed), limit), ""
	case pr.started:
		return "", fmt.Sprintf("%s: na %s geen peiling op of na de grens %s die de bench kon beoordelen", pr.c.Name, round(pr.followed), limit), ""
	default:
		return "", fmt.Sprintf("%s: de bench kwam niet toe aan het meten (de spec liep af)", pr.c.Name), ""
	}
}

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
	// missedAtLimit: a poll the bench could judge, sent at or after the
	// limit, did not see the fact.
	missedAtLimit bool
	// sess is her session for the polls: her app's, until a token the
	// DVZA said had expired is renewed by logging in again.
	sess *session
	// login logs her in again (nil: the PGO flow for her BSN).
	login func(context.Context, *pgo) (*session, error)
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
	pr.follow(ctx, sent, limit, func() (bool, string) { return pr.served(ctx, p) })
}

// follow polls from sent until the fact is seen, the horizon passes or
// the budget is spent, and records what the polls saw.
func (pr *probe) follow(ctx context.Context, sent time.Time, limit time.Duration, poll func() (bool, string)) {
	horizon := limit + min((horizonFactor-1)*limit, maxOverLimit)
	stop := min(horizon, measureBudget)
	step, atLimit, limitPoll := firstPoll, false, false
	for {
		asked := time.Since(sent)
		ok, unjudged := poll()
		due := asked <= limit || limitPoll // the poll counts as sent by the limit
		if unjudged != "" && pr.unknown == "" && due && ctx.Err() == nil {
			pr.unknown = unjudged
		}
		if ok {
			// the poll due at the limit sees it in time, whatever the
			// timer's slack
			pr.seen, pr.delay, pr.onTime = true, asked, due
			return
		}
		if unjudged == "" && ctx.Err() == nil && (asked >= limit || limitPoll) {
			pr.missedAtLimit = true
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
// connection, or a 401 for a token the DVZA said had expired when logging
// in again for a new one failed. A 401 for
// her valid token is the DVZA's refusal, noted for the finding; no answer
// within the request timeout, or another status, is not served.
func (pr *probe) served(ctx context.Context, p *pgo) (bool, string) {
	if pr.sess == nil {
		pr.sess = pr.got.Session
	}
	r, err := pr.poll(ctx, p)
	if err == nil && r.Status == http.StatusUnauthorized && !pr.sess.validAt(time.Now()) {
		// her token expired as the DVZA said it would: her app logs in
		// again, as it would, and asks once more
		s, lerr := pr.relogin(ctx, p)
		if lerr != nil {
			return false, fmt.Sprintf("haar token was volgens de DVZA verlopen (401) en opnieuw inloggen lukte niet (%v)", lerr)
		}
		pr.sess = s
		r, err = pr.poll(ctx, p)
	}
	switch {
	case err != nil:
		return false, fmt.Sprintf("de bench kon de DVZA niet bereiken (%v)", err)
	case r.Status == http.StatusUnauthorized && !pr.sess.validAt(time.Now()):
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

func (pr *probe) poll(ctx context.Context, p *pgo) (*reply, error) {
	return p.get(ctx, pr.sess.Token, pr.sess.Correlation, "Observation", url.Values{"context": {episodeRefs(pr.got.Episodes)}}, "")
}

// relogin logs her in again for a new token.
func (pr *probe) relogin(ctx context.Context, p *pgo) (*session, error) {
	if pr.login != nil {
		return pr.login(ctx, p)
	}
	return p.login(ctx, pr.c.BSN)
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}
