// Package transfer holds the specs of the transfers of the seeds (OVD-*):
// the acute referral midwife → gynaecologist during labour and the
// transfer of the newborn to youth health care (JGZ) after birth. The bench
// plays the receiving organisation of each fixtures.Transfer: it knows only
// the client's BSN, asks the index (IHE MHD ITI-67), follows each current
// pointer to the publisher (ITI-68: her Patient there), reads her record at
// that publisher and pairs the data set with it by the content specs' rule
// (suites/fact). It records the structured coverage of every data set for
// the report. Without an index in the run every spec skips, never passes.
package transfer

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/clock"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

// The transfers the specs know, by fixtures.Transfer.ID.
const (
	Acute = "acute-verwijzing"
	JGZ   = "overdracht-jgz"
)

var _ = Describe("Overdracht", func() {
	told := map[string]bool{}
	for _, s := range spec.Current().Scenarios {
		for _, t := range s.Transfers {
			told[t.ID] = true
		}
	}
	// A run whose scenarios tell no such transfer has nothing to judge:
	// the requirement is skipped with the scenario that tells it, never passed.
	for _, none := range []struct{ transfer, scenario string }{{Acute, "spoedsectio"}, {JGZ, "overdracht-jgz"}} {
		if told[none.transfer] {
			continue
		}
		ids := map[string][]string{Acute: {"OVD-01"}, JGZ: {"OVD-02", "OVD-03"}}[none.transfer]
		spec.ItAll(ids, "een overdracht MOET via de index aankomen; geen scenario van deze run vertelt er een van deze soort", func(SpecContext) {
			spec.NotTestable(fmt.Sprintf("geen scenario van deze run vertelt de overdracht %s; het scenario %s doet dat", none.transfer, none.scenario))
		})
	}
	for _, s := range spec.Current().Scenarios {
		for _, t := range s.Transfers {
			Context(fmt.Sprintf("%s (%s)", t.Title, s.ID), func() {
				switch t.ID {
				case Acute:
					spec.It("OVD-01", "bij een acute verwijzing MOET de gynaecoloog via de index elk gegeven van de verloskundige juist en binnen de acute grens vinden", func(ctx SpecContext) {
						got := receive(ctx, s, t).judging(false)
						problems := append(got.problems(false), acuteLate(s, t)...)
						Expect(problems).To(match.HaveNoProblems())
						spec.Remark(got.coverage())
					})
				case JGZ:
					spec.It("OVD-02", "na de geboorte MOET de JGZ via de index de overdrachtsgegevensset van het kind gestructureerd en juist vinden", func(ctx SpecContext) {
						got := receive(ctx, s, t).judging(false)
						Expect(got.problems(false)).To(match.HaveNoProblems())
						spec.Remark(got.coverage())
					})
					spec.It("OVD-03", "wat na de overdracht aan de JGZ nog wordt vastgelegd MOET als aanvulling aankomen, precies één keer en zonder verlies", func(ctx SpecContext) {
						if !slices.ContainsFunc(t.Items, func(it fixtures.TransferItem) bool { return it.Update }) {
							spec.NotTestable("deze overdracht kent geen aanvulling na de overdracht")
						}
						Expect(receive(ctx, s, t).judging(true).problems(true)).To(match.HaveNoProblems())
					})
				}
			})
		}
	}
})

// received is what the receiver found of a transfer's data set.
type received struct {
	s     *fixtures.Scenario
	t     fixtures.Transfer
	items []result
	// route lists problems of the way there (the index, the pointers) that
	// concern every item.
	route []string
	// uncarried names the items the publisher they were sent to could not
	// receive (a translator: the legacy ADA has no element for them); they
	// are not judged, and counted as not arrived in the coverage.
	uncarried []string
}

// result is one item of the data set as the receiver found it.
type result struct {
	item fixtures.TransferItem
	// found is the pair on the person's record at the publisher where it
	// was found (nil Resource: nowhere).
	found fact.Pair
	// copies counts the resources that pair with the item beyond the one
	// judged, over every publisher the index led to.
	copies int
	// wrong are the differences between the judged resource and the
	// registration.
	wrong []fact.Finding
	// why says why the item is not there (no record, unpaired).
	why string
	// at is the publisher's role where the judged resource was found.
	at string
}

// coverage says how much of the data set arrived structured, for a pass's
// remark.
func (g *received) coverage() string {
	n := 0
	for _, r := range g.items {
		if r.structured() {
			n++
		}
	}
	out := fmt.Sprintf("%d van de %d gegevens van de set gestructureerd en juist gevonden via de index", n, len(g.items))
	if len(g.uncarried) > 0 {
		out += fmt.Sprintf("; niet beoordeeld, want de ADA van het verloskundig dossier heeft er geen element voor (de vertaler kon ze niet ontvangen): %s", strings.Join(g.uncarried, ", "))
	}
	return out
}

func (r result) structured() bool { return r.found.Resource != nil && len(r.wrong) == 0 }

// judging returns g when it judges an item before the hand-over (updates
// false) or after it (updates true); else the spec is not-tested: every
// such item went to a publisher that could not receive it.
func (g *received) judging(updates bool) *received {
	GinkgoHelper()
	if !slices.ContainsFunc(g.items, func(r result) bool { return r.item.Update == updates }) {
		spec.NotTestable("geen gegeven van de set is te beoordelen: de vertaler die ze publiceert kon ze niet ontvangen (de ADA van het verloskundig dossier heeft er geen element voor): " + strings.Join(g.uncarried, ", "))
	}
	return g
}

// problems lists what is wrong with the items before the hand-over
// (updates false) or with the updates after it (updates true).
func (g *received) problems(updates bool) []string {
	out := slices.Clone(g.route)
	for _, r := range g.items {
		if r.item.Update != updates {
			continue
		}
		name := fmt.Sprintf("%s (%s › %s)", r.item.Name, r.item.Event, r.item.Fact)
		switch {
		case r.found.Resource == nil:
			out = append(out, fmt.Sprintf("%s: niet gevonden via de index: %s", name, r.why))
		case len(r.wrong) > 0:
			for _, f := range r.wrong {
				out = append(out, fmt.Sprintf("%s: %s: geregistreerd %s, via de index gevonden %s bij %s", name, f.Element, f.Want, f.Got, r.at))
			}
		}
		if updates && r.copies > 0 {
			out = append(out, fmt.Sprintf("%s: de aanvulling komt %d keer aan, verwacht precies één keer", name, r.copies+1))
		}
	}
	if updates {
		out = append(out, g.earlierLost()...)
	}
	return out
}

// earlierLost lists the items before the hand-over that an update of the
// same fact made disappear: the update must add, not overwrite.
func (g *received) earlierLost() []string {
	var out []string
	for _, u := range g.items {
		if !u.item.Update {
			continue
		}
		_, uf, _ := g.s.TransferFact(u.item)
		for _, r := range g.items {
			_, f, _ := g.s.TransferFact(r.item)
			if r.item.Update || f.Code != uf.Code || r.found.Resource != nil {
				continue
			}
			out = append(out, fmt.Sprintf("%s (%s › %s): na de aanvulling %s is het eerder overgedragen gegeven niet meer te vinden", r.item.Name, r.item.Event, r.item.Fact, u.item.Event))
		}
	}
	return out
}

// receive plays the receiving organisation: it finds each person of the
// data set through the index, reads her record at every publisher a current
// pointer leads to, pairs the items and records the coverage. It is
// computed once per transfer and shared by the transfer's specs.
func receive(ctx SpecContext, s *fixtures.Scenario, t fixtures.Transfer) *received {
	GinkgoHelper()
	env := spec.Current()
	if env.Index == nil {
		spec.NotTestable("deze run heeft geen index: de ontvanger vindt niets zonder index")
	}
	if fact.Withheld(s) != fact.Shared {
		spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn; de vertrouwensspecs controleren dat")
	}
	receiver, _ := s.Receiver(t)
	if why := untold(s, t, receiver); why != "" {
		spec.NotTestable(why)
	}
	g := &received{s: s, t: t}
	resolve := func(day int) string { return env.Day(day) }
	byPerson := map[string][]fact.Item{}
	var order []fixtures.Client
	var judged []fixtures.TransferItem
	for _, it := range t.Items {
		ev, f, ok := s.TransferFact(it)
		if !ok {
			spec.Broke(fmt.Errorf("transfer %s of %s names %s › %s, which the scenario does not register", t.ID, s.ID, it.Event, it.Fact))
		}
		if !env.Carries(s, it.Event, it.Fact) {
			g.uncarried = append(g.uncarried, it.Name)
			continue
		}
		judged = append(judged, it)
		subject := s.SubjectOf(ev)
		person, _ := s.Person(subject)
		if _, seen := byPerson[person.ID]; !seen {
			order = append(order, person)
		}
		byPerson[person.ID] = append(byPerson[person.ID], fact.Item{Event: ev, Fact: f})
	}
	results := map[string]*result{} // by event|fact
	for _, it := range judged {
		results[it.Event+"|"+it.Fact] = &result{item: it}
	}
	for _, person := range order {
		records, route := find(ctx, s, person, receiver)
		g.route = append(g.route, route...)
		items := byPerson[person.ID]
		for _, rec := range records {
			src := rec.pub.Source(env.Reference)
			for _, p := range fact.Pairs(src, items) {
				r := results[p.Item.Event.ID+"|"+p.Item.Fact.Key]
				switch {
				case p.Resource == nil:
					if r.found.Resource == nil && r.why == "" {
						r.why = fmt.Sprintf("%s bij %s", p.Unpaired(env.Reference).Got, rec.role)
					}
				case r.found.Resource == nil:
					r.found, r.copies, r.at = p, len(p.Duplicates), rec.role
					r.wrong = fact.Value(p.Resource, p.Item.Event.ID, p.Item.Fact, resolve)
					r.why = ""
				default:
					r.copies += 1 + len(p.Duplicates) // the same item at a second publisher
				}
			}
		}
		if len(records) == 0 {
			for _, it := range items {
				r := results[it.Event.ID+"|"+it.Fact.Key]
				r.why = fmt.Sprintf("de index leidt niet naar een dossier van %s %s", person.Given, person.Family)
			}
		}
	}
	cov := spec.TransferCoverage{Scenario: s.ID, Transfer: t.ID, Title: t.Title, Items: len(t.Items),
		Receiver: fmt.Sprintf("%s (%s %s)", receiver.Name, receiver.Professional.Role, receiver.Professional.Name)}
	for _, it := range t.Items {
		r, ok := results[it.Event+"|"+it.Fact]
		if !ok {
			cov.Missing = append(cov.Missing, fmt.Sprintf("%s: niet in de ADA van het verloskundig dossier (de vertaler kon het niet ontvangen)", it.Name))
			continue
		}
		g.items = append(g.items, *r)
		if r.structured() {
			cov.Structured++
			continue
		}
		why := r.why
		if r.found.Resource != nil {
			why = "gevonden met een andere waarde"
		}
		cov.Missing = append(cov.Missing, fmt.Sprintf("%s: %s", it.Name, why))
	}
	env.RecordTransfer(cov)
	return g
}

// untold says why a transfer cannot be judged when its hand-over went to
// a translator (the legacy ADA has no element for a hand-over, so the
// index never hears of the receiver) and the receiver has no care
// relationship of its own: it registered nothing in the scenario. Empty
// when the transfer can be judged.
func untold(s *fixtures.Scenario, t fixtures.Transfer, receiver fixtures.Provider) string {
	p, _, ok := spec.Current().PublisherOf(s, t.At)
	if !ok || !p.Translator() || slices.ContainsFunc(s.Events, func(ev fixtures.Event) bool { return ev.By == t.To }) {
		return ""
	}
	return fmt.Sprintf("de overdracht (%s) ging naar de vertaler %s; de ADA van het verloskundig dossier heeft geen element voor een overdracht, dus de index kent %s niet als zorgverlener van de cliënt: niet te beoordelen", t.At, p.Role, receiver.Name)
}

// record is a person's record at one publisher, reached through the index.
type record struct {
	role string
	pub  *spec.Published
}

// find asks the index for the person's current pointers (ITI-67 on her
// BSN) and follows each to the publisher of the chain it leads to (ITI-68:
// her Patient there), then reads her record there through that publisher's
// recording proxy. The bench reaches each publisher only through its proxy,
// so it tells which publisher a pointer's host is by that publisher's own
// fullUrl of her Patient (as IDX-08 does); a pointer anywhere else is named,
// never followed.
func find(ctx SpecContext, s *fixtures.Scenario, person fixtures.Client, receiver fixtures.Provider) ([]record, []string) {
	GinkgoHelper()
	env := spec.Current()
	q := url.Values{"patient.identifier": {spec.BSNSystem + "|" + person.BSN}, "status": {"current"}}
	pointers, err := readerAt("index", env.Index, receiver).Search(ctx, "DocumentReference", q)
	judge(err, fmt.Sprintf("%s %s zoeken in de index (ITI-67)", person.Given, person.Family))
	holders := holdersOf(ctx, person, receiver)
	var (
		records  []record
		problems []string
		followed []string
	)
	for _, d := range pointers {
		if spec.SubjectBSN(d) != person.BSN {
			continue // another client's pointer is IDX-04's finding
		}
		u, _ := spec.Attachment(d)["url"].(string)
		if slices.Contains(followed, u) {
			continue // a second pointer to the same record
		}
		followed = append(followed, u)
		i := slices.IndexFunc(holders, func(h holder) bool { return spec.LeadsTo(u, h.full, h.pid) })
		if i < 0 {
			problems = append(problems, fmt.Sprintf("de index verwijst voor %s %s naar %s, niet naar haar dossier bij een bron van de keten; niet gevolgd", person.Given, person.Family, fact.Show(u)))
			continue
		}
		p := holders[i].p
		patient, err := p.XIS.ReadURL(ctx, u) // p reads as the receiver (holdersOf)
		var status *harness.StatusError
		if errors.As(err, &status) {
			problems = append(problems, fmt.Sprintf("de verwijzing %s van %s %s is bij %s niet te volgen: %d", u, person.Given, person.Family, p.Role, status.Status))
			continue
		}
		judge(err, "de verwijzing "+u+" volgen")
		if patient["resourceType"] != "Patient" || !fact.HasBSN(patient, person.BSN) {
			problems = append(problems, fmt.Sprintf("de verwijzing %s leidt niet naar de Patient van %s %s", u, person.Given, person.Family))
			continue
		}
		pub, err := spec.RecordAt(ctx, p.XIS, s, patient, u)
		judge(err, fmt.Sprintf("het dossier van %s %s bij %s lezen", person.Given, person.Family, p.Role))
		records = append(records, record{role: p.Role, pub: pub})
	}
	if len(records) == 0 && len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("de index levert voor %s %s geen actuele verwijzing", person.Given, person.Family))
	}
	return records, problems
}

// holder is a publisher that serves a person's Patient, under fullUrl full
// and id pid.
type holder struct {
	p         spec.Publisher
	pid, full string
}

// readerAt is how the receiving organisation reads a role: as its own
// professional, with a token of the bench, when the bench reads the role as
// named professionals (docs/logging.md); else as the run reads it.
func readerAt(role string, fallback *harness.FHIR, receiver fixtures.Provider) *harness.FHIR {
	GinkgoHelper()
	f, err := spec.Current().Access.As(role, spec.ProfessionalOf(receiver))
	if err != nil {
		spec.Broke(err)
	}
	if f == nil {
		return fallback
	}
	return f
}

// holdersOf returns the publishers of the chain that serve the person's
// Patient to the receiver, each read as the receiver.
func holdersOf(ctx SpecContext, person fixtures.Client, receiver fixtures.Provider) []holder {
	GinkgoHelper()
	env := spec.Current()
	publishers := env.Publishers
	if len(publishers) == 0 && env.XIS != nil {
		publishers = []spec.Publisher{{Role: "xis", XIS: env.XIS, Adapter: env.Adapter}}
	}
	var out []holder
	for _, p := range publishers {
		p.XIS = readerAt(p.Role, p.XIS, receiver)
		entries, err := p.XIS.SearchEntries(ctx, "Patient", url.Values{"identifier": {spec.BSNSystem + "|" + person.BSN}})
		judge(err, fmt.Sprintf("de Patient van %s %s zoeken bij %s", person.Given, person.Family, p.Role))
		for _, e := range entries {
			if e.Match && fact.HasBSN(e.Resource, person.BSN) {
				id, _ := e.Resource["id"].(string)
				out = append(out, holder{p: p, pid: id, full: e.FullURL})
				break
			}
		}
	}
	return out
}

// acuteLate lists the registrations of the acute data set that the
// hospital, knowing only the index, did not find within the acute limit
// (the clock's consumer hop, docs/timeliness.md). Without that measurement
// the spec cannot decide and is never a pass.
func acuteLate(s *fixtures.Scenario, t fixtures.Transfer) []string {
	GinkgoHelper()
	c := spec.Current().Clock
	if c == nil {
		spec.Undecided("deze run meet geen tijdigheid: of de gegevens binnen de acute grens vindbaar waren, is niet te beslissen")
	}
	if ok, why := c.Measured(clock.Consumer); !ok {
		spec.Undecided("de acute grens is niet gemeten: " + why)
	}
	limit := c.Limits.Of(clock.Consumer)
	events := map[string]bool{}
	for _, it := range t.Items {
		events[it.Event] = true
	}
	var out, broken []string
	measured := 0
	for _, it := range c.Items() {
		if it.Hop != clock.Consumer || it.Scenario != s.ID || !events[it.Event] || it.Polls == 0 {
			continue
		}
		measured++
		d, seen := it.Latency()
		switch {
		case it.Late(limit):
			out = append(out, fmt.Sprintf("%s (%s): pas na %s via de index te vinden (acute grens %s)", it.Title, it.Event, d.Round(10*time.Millisecond), limit))
		case it.Missing():
			out = append(out, fmt.Sprintf("%s (%s): binnen %s (de horizon bij de acute grens %s) niet via de index te vinden", it.Title, it.Event, clock.Horizon(limit), limit))
		case !seen:
			broken = append(broken, fmt.Sprintf("%s (%s): %s", it.Title, it.Event, it.Problem))
		}
	}
	if len(broken) > 0 {
		spec.Broke(fmt.Errorf("de bench kon %d registratie(s) van de acute verwijzing niet volgen: %s", len(broken), strings.Join(broken, "; ")))
	}
	if measured == 0 {
		spec.Undecided("geen registratie van de acute gegevensset is via de index gemeten")
	}
	return out
}

// judge ends the spec on an error: a redirect elsewhere or a refused valid
// request is the chain's fault; no answer at all is the bench's error.
func judge(err error, doing string) {
	GinkgoHelper()
	var redirect *harness.RedirectError
	var status *harness.StatusError
	switch {
	case err == nil:
	case errors.As(err, &redirect):
		Fail(fmt.Sprintf("%s: de bench wordt naar een andere host gestuurd (%s); niet gevolgd", doing, redirect.To))
	case errors.As(err, &status) && status.Status >= 400 && status.Status < 500:
		Fail(fmt.Sprintf("%s: een geldige vraag geweigerd met %d: %s", doing, status.Status, status.Body))
	default:
		spec.Broke(fmt.Errorf("%s: %w", doing, err))
	}
}
