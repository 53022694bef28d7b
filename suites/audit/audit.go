// Package audit holds the specs of the access log (toegangslog, NEN 7513;
// seed 001 §2.1.3): every read the bench made of a client's record, as a
// named professional, appears in the candidate's AuditEvents with who read,
// which client, what, when and the outcome — refused reads too. Each read
// is paired with one AuditEvent first (the same interaction, nearest in
// time), and that one event is judged on every field.
package audit

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
)

var _ = Describe("Toegangslog", func() {
	for _, role := range judgedRoles() {
		for _, s := range spec.Current().Scenarios {
			Context(fmt.Sprintf("%s: %s (%s)", role, s.Title, s.ID), func() {
				spec.It("LOG-01", "elke raadpleging van het dossier van de cliënt MOET in het toegangslog van het gelezen systeem (elk XIS, de index) staan: wat er gelezen of gezocht werd, wanneer, en dat het lukte", func(ctx SpecContext) {
					j := judge(ctx, role, s, false)
					Expect(j.problems(func(r read) bool { return r.succeeded() }, func(r read, ev *event, _ *person) []string {
						return nonEmpty(whenProblem(r, ev), outcomeProblem(r, ev))
					})).To(match.HaveNoProblems())
				})
				spec.It("LOG-02", "het toegangslog MOET bij elke raadpleging de zorgverlener noemen die las — haar UZI- of AGB-nummer, haar rol en haar organisatie — en geen technisch account", func(ctx SpecContext) {
					j := judge(ctx, role, s, false)
					Expect(j.judged(func(read) bool { return true }, func(r read, ev *event, _ *person) []string {
						p, ok := spec.Current().Access.Professional(r.who)
						if !ok {
							return []string{fmt.Sprintf("%s: de bench weet niet als wie hij las", r)}
						}
						return nonEmpty(whoProblem(r, ev, p))
					})).To(match.HaveNoProblems())
				})
				spec.It("LOG-03", "het toegangslog MOET bij elke raadpleging de cliënt noemen wiens dossier gelezen werd, en op cliënt (patient) en datum te doorzoeken zijn", func(ctx SpecContext) {
					j := judge(ctx, role, s, false)
					Expect(j.judged(func(read) bool { return true }, func(r read, ev *event, p *person) []string {
						if _, knowable := p.concerns(r); !knowable {
							return nil
						}
						return nonEmpty(clientProblem(r, ev, p))
					})).To(match.HaveNoProblems())
				})
				spec.It("LOG-04", "een geweigerde raadpleging — zonder behandelrelatie of na intrekking van de toestemming — MOET ook in het toegangslog staan, met een uitkomst die de weigering laat zien", func(ctx SpecContext) {
					j := judge(ctx, role, s, true)
					if !slices.ContainsFunc(j.reads, func(r read) bool { return !r.succeeded() }) {
						spec.NotTestable(fmt.Sprintf("%s weigerde geen enkele raadpleging van deze cliënt (ook niet die van een zorgverlener zonder behandelrelatie); er is geen geweigerde raadpleging om in het log te zoeken", role))
					}
					Expect(j.problems(func(r read) bool { return !r.succeeded() }, func(r read, ev *event, _ *person) []string {
						return nonEmpty(whenProblem(r, ev), outcomeProblem(r, ev))
					})).To(match.HaveNoProblems())
				})
			})
		}
	}
})

// judgedRoles are the roles whose access log is judged: those the bench
// reads as named professionals (xis first, then the further publishers and
// the index), or xis alone when it reads none so (its specs then skip with
// the reason).
func judgedRoles() []string {
	acc := spec.Current().Access
	if acc == nil || len(acc.Roles) == 0 {
		return []string{"xis"}
	}
	out := make([]string, 0, len(acc.Roles))
	for _, l := range acc.Roles {
		out = append(out, l.Role)
	}
	return out
}

// judgement is the reads of one scenario's people and the AuditEvent
// paired with each.
type judgement struct {
	reads  []read
	people []*person // by read
	events []*event  // by read; nil: not logged
}

// problems lists, for the reads selected, those not logged and what judge
// finds wrong with the paired AuditEvent.
func (j *judgement) problems(selected func(read) bool, judge func(read, *event, *person) []string) []string {
	var out []string
	for i, r := range j.reads {
		if !selected(r) {
			continue
		}
		if j.events[i] == nil {
			out = append(out, fmt.Sprintf("%s: niet gelogd (geen AuditEvent met deze %s)", r, what(r)))
			continue
		}
		out = append(out, judge(r, j.events[i], j.people[i])...)
	}
	return out
}

// judged is problems over the reads that were logged: a read not logged is
// LOG-01's or LOG-04's finding, not that of who or which client.
func (j *judgement) judged(selected func(read) bool, judge func(read, *event, *person) []string) []string {
	var out []string
	for i, r := range j.reads {
		if selected(r) && j.events[i] != nil {
			out = append(out, judge(r, j.events[i], j.people[i])...)
		}
	}
	return out
}

func what(r read) string {
	if r.search {
		return "zoekvraag (subtype search-type, entity.query)"
	}
	return fmt.Sprintf("leesactie (subtype read, entity.what %s/%s)", r.typ, r.id)
}

func nonEmpty(problems ...string) []string {
	var out []string
	for _, p := range problems {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// logDelay is how long the bench waits, once per run, for AuditEvents a
// candidate writes after answering.
const logDelay = 10 * time.Second

var (
	waited   bool // the once-per-run wait for a late log is spent
	ledgerMu sync.Mutex
	ledgerOf *spec.Access
	ledgers  map[string]*roleLedger // by role
	formed   map[string]bool        // role and BSN the bench searched by form
)

// roleLedger is what the bench read at one role, parsed from its
// recording.
type roleLedger struct {
	seen  int
	reads []read
	byKey map[string][]int // reads by keyOf
}

// firstWait says whether this is the first judgement of the run (of this
// recording) that waits for a late log.
func firstWait() bool {
	ledgerMu.Lock()
	defer ledgerMu.Unlock()
	first := !waited
	waited = true
	return first
}

// keysOf are the keys under which a read is found for a person: her
// Patient id, her BSN, or the resource read.
func keysOf(r read) []string {
	var keys []string
	if r.search {
		for _, name := range []string{"patient", "subject", "_id"} {
			for _, v := range r.params[name] {
				keys = append(keys, "pid:"+v, "pid:"+patientID(v))
			}
		}
		for _, name := range []string{"identifier", "patient.identifier"} {
			for _, v := range r.params[name] {
				if system, bsn, ok := strings.Cut(v, "|"); ok && system == fixtures.BSNSystem {
					keys = append(keys, "bsn:"+bsn)
				}
			}
		}
		return keys
	}
	keys = append(keys, "ref:"+r.typ+"/"+r.id)
	if r.typ == "Patient" {
		keys = append(keys, "pid:"+r.id)
	}
	if r.subject != "" {
		keys = append(keys, "pid:"+r.subject)
	}
	return keys
}

// recorded returns the reads the bench made at the role so far that may
// concern one of the people (by their keys), oldest first, parsing only the
// exchanges recorded since the last call: a population's thousands of
// specs each look at their own client's reads, not at every read.
func recorded(acc *spec.Access, role spec.Logged, people []*person) []read {
	ledgerMu.Lock()
	defer ledgerMu.Unlock()
	ledgersOf(acc)
	ledger := ledgers[role.Role]
	if ledger == nil {
		ledger = &roleLedger{byKey: map[string][]int{}}
		ledgers[role.Role] = ledger
	}
	entries := role.Exchanges(ledger.seen)
	for _, e := range entries {
		if r, ok := parseRead(e, role.FHIR.Base, acc.Readers.Who(e)); ok {
			for _, k := range keysOf(r) {
				ledger.byKey[k] = append(ledger.byKey[k], len(ledger.reads))
			}
			ledger.reads = append(ledger.reads, r)
		}
	}
	ledger.seen += len(entries)
	found := map[int]bool{}
	for _, p := range people {
		keys := []string{"bsn:" + p.BSN}
		for _, pid := range p.patientIDs {
			keys = append(keys, "pid:"+pid)
		}
		for ref := range p.held {
			keys = append(keys, "ref:"+ref)
		}
		for _, k := range keys {
			for _, i := range ledger.byKey[k] {
				found[i] = true
			}
		}
	}
	out := make([]read, 0, len(found))
	for _, i := range slices.Sorted(maps.Keys(found)) {
		out = append(out, ledger.reads[i])
	}
	return out
}

// judge gathers the reads at the role of a scenario's client and children
// — after making sure the bench read her record, and, with refuse, after an
// outsider tried to — fetches the role's AuditEvents and pairs them.
func judge(ctx SpecContext, name string, s *fixtures.Scenario, refuse bool) *judgement {
	GinkgoHelper()
	acc := spec.Current().Access
	var role spec.Logged
	ok := false
	if acc != nil {
		role, ok = acc.Logged(name)
	}
	if !ok {
		spec.NotTestable(fmt.Sprintf("de bench leest %s niet als zorgverlener met een token van zijn eigen autorisatieserver (auth: {bench: true}); wie er las is niet na te gaan", name))
	}
	people := peopleOf(ctx, role, s)
	for _, p := range people {
		searchByForm(ctx, role, p)
	}
	if refuse && role.Outsider != nil {
		for _, p := range people {
			tryAsOutsider(ctx, role, p)
		}
	}
	var j judgement
	var earliest time.Time
	for _, r := range recorded(acc, role, people) {
		for _, p := range people {
			if ok, _ := p.concerns(r); ok {
				j.reads, j.people = append(j.reads, r), append(j.people, p)
				if earliest.IsZero() || r.started.Before(earliest) {
					earliest = r.started
				}
				break
			}
		}
	}
	if len(j.reads) == 0 {
		spec.NotTestable("er is geen opgenomen raadpleging van het dossier van deze cliënt om in het log te zoeken")
	}
	who := func(r read) token.Professional {
		p, _ := acc.Professional(r.who)
		return p
	}
	log := &auditLog{byID: map[string]*event{}, at: role.FHIR}
	since := earliest.Add(-tolerance)
	for _, p := range people {
		for _, pid := range p.patientIDs {
			log.fetch(ctx, url.Values{"patient": {"Patient/" + pid}, "date": {"ge" + since.UTC().Format(time.RFC3339)}}, true)
		}
		if p.byBSN {
			log.fetch(ctx, url.Values{"patient:identifier": {fixtures.BSNSystem + "|" + p.BSN}, "date": {"ge" + since.UTC().Format(time.RFC3339)}}, true)
		}
	}
	j.events = pair(j.reads, log.list, who)
	// What a search by patient did not find (a read of an erased resource,
	// an event that does not name the client) is looked for by date, in a
	// window around each such read: a population's log holds every
	// client's reads, and one window from the first to the last would
	// read most of it.
	byDate := func() {
		for _, w := range windows(j) {
			log.fetch(ctx, url.Values{"date": {"ge" + w.from.UTC().Format(time.RFC3339), "le" + w.to.UTC().Format(time.RFC3339)}}, false)
		}
		j.events = pair(j.reads, log.list, who)
	}
	if len(windows(j)) > 0 {
		byDate()
	}
	// A candidate may write its log a moment after it answers: the first
	// judgement that misses something waits for it, once per run.
	if len(windows(j)) > 0 && firstWait() {
		deadline := time.Now().Add(logDelay)
		for len(windows(j)) > 0 && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return &j
			case <-time.After(time.Second):
			}
			byDate()
		}
	}
	return &j
}

// span is a time window of the access log to search by date.
type span struct{ from, to time.Time }

// windows are the time windows, each read's own widened by the
// tolerance, in which the reads that have no AuditEvent yet lie; windows
// that overlap are one.
func windows(j judgement) []span {
	var out []span
	for i, r := range j.reads {
		if j.events[i] == nil {
			out = append(out, span{r.started.Add(-tolerance), r.end.Add(tolerance + time.Second)})
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.from.Compare(b.from) })
	merged := out[:0]
	for _, w := range out {
		if n := len(merged); n > 0 && !w.from.After(merged[n-1].to) {
			merged[n-1].to = maxTime(merged[n-1].to, w.to)
			continue
		}
		merged = append(merged, w)
	}
	return merged
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// auditLog is what the bench fetched of a role's AuditEvents, at its FHIR
// API.
type auditLog struct {
	byID map[string]*event
	list []*event
	at   *harness.FHIR
}

// logPage is the page size the bench asks of an AuditEvent search; the
// candidate may answer smaller pages. The bench follows next links up to
// its bounds on one search (harness: pages, entries, bytes).
const logPage = 500

// fetch searches the candidate's AuditEvents, page by page, and keeps the
// new ones; byPatient marks those a search by patient found. A candidate
// that does not serve its log fails the spec; one that does not answer, or
// whose answer runs past the bench's bounds, leaves it undecided (error).
func (l *auditLog) fetch(ctx SpecContext, params url.Values, byPatient bool) {
	GinkgoHelper()
	params.Set("_count", strconv.Itoa(logPage))
	found, err := l.at.Search(ctx, "AuditEvent", params)
	var status *harness.StatusError
	if errors.As(err, &status) {
		Fail(fmt.Sprintf("het toegangslog is niet te doorzoeken met AuditEvent?%s: HTTP %d %s", params.Encode(), status.Status, status.Body))
	}
	if errors.Is(err, harness.ErrBound) {
		spec.Broke(fmt.Errorf("reading the access log (AuditEvent?%s) within the bench's bounds, page by page: %w", params.Encode(), err))
	}
	if err != nil {
		spec.Broke(fmt.Errorf("searching the access log: %w", err))
	}
	for _, res := range found {
		if res["resourceType"] != "AuditEvent" {
			continue
		}
		id, _ := res["id"].(string)
		if id == "" {
			continue
		}
		ev, ok := l.byID[id]
		if !ok {
			ev = &event{id: id, res: res}
			if s, _ := res["recorded"].(string); s != "" {
				ev.recorded, _ = time.Parse(time.RFC3339Nano, s)
			}
			l.byID[id] = ev
			l.list = append(l.list, ev)
		}
		ev.byPatient = ev.byPatient || byPatient
	}
}

// peopleOf reads (once, shared with the other suites) the record of the
// client and each child at the role, and gathers their Patient ids and what
// was served of them before a withdrawal or deletion: at xis from the
// replay, at a further publisher by her BSN; the index knows her by BSN
// alone.
func peopleOf(ctx SpecContext, role spec.Logged, s *fixtures.Scenario) []*person {
	GinkgoHelper()
	env := spec.Current()
	var out []*person
	add := func(c fixtures.Client) *person {
		for _, p := range out {
			if p.BSN == c.BSN {
				return p
			}
		}
		p := &person{Client: c, held: map[string]bool{}}
		out = append(out, p)
		return p
	}
	for _, c := range spec.Persons(s) {
		add(c)
	}
	if role.Role == "index" {
		for _, p := range out {
			p.byBSN = true
		}
		return out
	}
	if role.Role != "xis" {
		for _, p := range out {
			entries, err := role.FHIR.SearchEntries(ctx, "Patient", url.Values{"identifier": {fixtures.BSNSystem + "|" + p.BSN}})
			if err != nil {
				spec.Broke(fmt.Errorf("reading %s %s at %s: %w", p.Given, p.Family, role.Role, err))
			}
			for _, e := range entries {
				if id, _ := e.Resource["id"].(string); e.Match && id != "" && e.Resource["resourceType"] == "Patient" {
					p.patientIDs = append(p.patientIDs, id)
				}
			}
		}
		return out
	}
	for _, p := range out {
		pub, err := env.PublishedOf(ctx, s, p.Client)
		switch {
		case errors.Is(err, spec.ErrNoPatient):
		case err != nil:
			spec.Broke(err)
		default:
			if id, _ := pub.Patient["id"].(string); id != "" {
				p.patientIDs = append(p.patientIDs, id)
			}
		}
	}
	if rep, ok := env.ReplayOf(s.ID); ok {
		for _, snap := range rep.Before {
			if snap == nil || snap.Err != nil {
				continue
			}
			for _, h := range snap.People {
				p := add(h.Person)
				if h.PatientID != "" && !slices.Contains(p.patientIDs, h.PatientID) {
					p.patientIDs = append(p.patientIDs, h.PatientID)
				}
				for _, r := range h.Resources {
					p.held[r] = true
				}
			}
		}
		for _, ev := range rep.Events {
			if spec.StopsSharing(ev.Registration) {
				for _, p := range out {
					if p.stopped.IsZero() {
						p.stopped = ev.Sent
					}
				}
			}
		}
	}
	return out
}

// searchByForm asks the index, once a run, for the person's pointers by
// form (ITI-67 POST DocumentReference/_search): a read the log must hold as
// surely as the same search by GET. A publisher is read by GET only.
func searchByForm(ctx SpecContext, role spec.Logged, p *person) {
	GinkgoHelper()
	if !p.byBSN || !firstForm(spec.Current().Access, role.Role, p.BSN) {
		return
	}
	_, err := role.FHIR.SearchForm(ctx, "DocumentReference", url.Values{"patient.identifier": {fixtures.BSNSystem + "|" + p.BSN}, "status": {"current"}})
	var status *harness.StatusError
	if err != nil && !errors.As(err, &status) {
		spec.Broke(fmt.Errorf("searching %s by form for %s %s: %w", role.Role, p.Given, p.Family, err))
	}
}

// firstForm says whether the bench has not yet searched the role by form
// for the client in this run (this recording).
func firstForm(acc *spec.Access, role, bsn string) bool {
	ledgerMu.Lock()
	defer ledgerMu.Unlock()
	ledgersOf(acc)
	key := role + " " + bsn
	if formed[key] {
		return false
	}
	formed[key] = true
	return true
}

// ledgersOf starts the ledgers afresh for another run (a test) with its
// own recording. Callers hold ledgerMu.
func ledgersOf(acc *spec.Access) {
	if ledgerOf != acc {
		ledgerOf, ledgers, formed = acc, map[string]*roleLedger{}, map[string]bool{}
		waited = false
	}
}

// tryAsOutsider reads the person's record at the role as a professional
// without a care relationship: at a publisher her Patient by BSN and by id,
// at the index her pointers by BSN. Whatever the role answers is recorded;
// only a broken exchange stops the spec.
func tryAsOutsider(ctx SpecContext, role spec.Logged, p *person) {
	GinkgoHelper()
	var status *harness.StatusError
	broke := func(err error) {
		if err != nil && !errors.As(err, &status) {
			spec.Broke(fmt.Errorf("reading %s as a professional without a care relationship: %w", role.Role, err))
		}
	}
	if p.byBSN {
		_, err := role.Outsider.Search(ctx, "DocumentReference", url.Values{"patient.identifier": {fixtures.BSNSystem + "|" + p.BSN}, "status": {"current"}})
		broke(err)
		return
	}
	_, err := role.Outsider.Search(ctx, "Patient", url.Values{"identifier": {fixtures.BSNSystem + "|" + p.BSN}})
	broke(err)
	for _, pid := range p.patientIDs {
		_, err := role.Outsider.Read(ctx, "Patient", pid)
		broke(err)
	}
}
