package spec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/clock"
	"github.com/bcbench/bcbench/suites/fact"
)

// BSNSystem is the naming system of the Dutch citizen service number.
const BSNSystem = fact.BSNSystem

// Issue is one finding of the profile validator.
type Issue struct {
	Severity   string // fatal, error, warning, information
	Expression string // FHIRPath location
	Message    string
	// Undecided marks a check the engine could not decide (a profile or
	// code system not loaded, an invariant not evaluable, a reference
	// target not resolvable): never a pass.
	Undecided bool
}

// Validator checks a resource against the profiles it claims (or the given
// ones). The suites use it through the ConformTo matcher.
type Validator interface {
	Validate(ctx context.Context, resource map[string]any, profiles []string) ([]Issue, error)
}

// Resolve finds a resource a reference points to (relative or absolute).
type Resolve func(reference string) (map[string]any, bool)

// ResolvingValidator is a Validator that also checks the resources a
// resource refers to against the target profiles of the referring element,
// finding them through resolve.
type ResolvingValidator interface {
	ValidateResolving(ctx context.Context, resource map[string]any, profiles []string, resolve Resolve) ([]Issue, error)
}

// Undecided policies of a certification profile: how a spec treats checks
// the engine could not decide.
const (
	// UndecidedNotTested makes the requirement not-tested (certification).
	UndecidedNotTested = "not-tested"
	// UndecidedReport lets it pass with the count in its reason (self-test).
	UndecidedReport = "report"
)

// Env is what the specs run against. The run command (or a suite test) fills
// it, replays the scenarios, then runs the specs.
type Env struct {
	// Scenarios replayed in this run, in order.
	Scenarios []*fixtures.Scenario
	// Reference is day 0 of every scenario (first day of the last menstruation).
	Reference time.Time
	// XIS is the candidate XIS's FHIR API; Adapter its adapter contract. In
	// a chain run they are the first publisher's (Publishers[0], role xis).
	XIS     *harness.FHIR
	Adapter *harness.Adapter
	// Index is the index's FHIR API, through its recording proxy; nil when
	// the run has no index (index and chain specs then skip, never pass).
	Index *harness.FHIR
	// DVZA is the MedMij data service (role dvza) the bench collects from
	// as the clients' app (PGO); nil when the run has none (the MM specs
	// then skip, never pass).
	DVZA *DVZA
	// Translator is the translator's adapter (POST {adapter}/translate,
	// docs/translator.md), through its recording proxy; nil when the run
	// has no translator (the VRT specs then skip, never pass).
	Translator *harness.Adapter
	// STU3Validator checks the translator's output against the STU3
	// profiles it claims (MedMij Geboortezorg: bc-*, zib2017, nl-core);
	// nil (with STU3ValidatorProblem saying why) when none was loaded:
	// VRT-06 then skips, never passes.
	STU3Validator        Validator
	STU3ValidatorProblem string
	// Publishers are the chain's XIS roles in the bench's order (xis first,
	// then xis-<suffix>); each scenario event goes to one of them
	// (PublisherFor). Empty in a run that only sets XIS and Adapter.
	Publishers []Publisher
	// Validator is nil when no FHIR packages were loaded; profile specs then skip.
	Validator Validator
	// ValidatorProblem says why there is no validator, for the skip reason.
	ValidatorProblem string
	// Undecided is the certification profile's policy for undecided checks:
	// UndecidedNotTested (also when empty) or UndecidedReport.
	Undecided string
	// Manual, when set, is called instead of the adapter to register an event
	// (projectathon mode: an operator enters it by hand).
	Manual func(ctx context.Context, r fixtures.Registration) error
	// Access is how the bench reads the XIS as named professionals, for the
	// access-log specs (LOG-*); nil when it reads with a fixed token or
	// none: those specs then skip.
	Access *Access
	// Clock, when set, measures timeliness: Replay tracks every event it
	// sent in it and waits, before an event that stops sharing and at the
	// end, until what it tracks is seen or past its horizon.
	Clock *clock.Clock
	// Viewer is the viewer role; nil when the run has none (the VWR specs
	// then skip, never pass).
	Viewer *Viewer
	// Qualification runs TestScripts against the candidate (TS-*); nil
	// when the run has none.
	Qualification *Qualification
	// Concurrency is how many scenarios Replay sends at once (each
	// scenario's events in order); 1 when 0, and always 1 in manual mode.
	Concurrency int

	replays   map[string]*Replay
	mu        sync.Mutex
	published map[string]fetched
	transfers []TransferCoverage
}

// Publisher is one XIS of a chain: a role key (xis, xis-ziekenhuis, …), its
// FHIR API and its adapter, both through the role's recording proxy.
type Publisher struct {
	Role    string
	XIS     *harness.FHIR
	Adapter *harness.Adapter
	// Contract is how the bench sends it the events: harness.ContractXIS
	// (also when empty: a registration to {adapter}/events) or
	// harness.ContractTranslator (the event's ADA instance, as VRT-01
	// sends it, to {adapter}/publish: a translator in front of a legacy
	// XIS, docs/translator.md).
	Contract string
}

// Translator says whether the publisher is a translator that publishes
// into the chain (harness.ContractTranslator).
func (p Publisher) Translator() bool { return p.Contract == harness.ContractTranslator }

// Carries says whether the publisher can have received fact key of a
// registration: an XIS gets every fact; a translator only what the ADA of
// the legacy verloskundig dossier has an element for (truth.ADASkipped
// names the rest), and no medication (vrouw/medicatiegebruik names the
// product by name only and the dosage as text: no building block can be
// made of it). What it cannot have received is never expected of it.
func (p Publisher) Carries(r fixtures.Registration, key string) bool {
	if !p.Translator() {
		return true
	}
	for _, f := range r.Facts {
		if f.Key == key && f.Medication != nil {
			return false
		}
	}
	return !slices.Contains(truth.ADASkipped(r), key)
}

// send delivers one registration to the publisher by its contract.
func (p Publisher) send(ctx context.Context, r fixtures.Registration) (harness.Receipt, error) {
	if !p.Translator() {
		return p.Adapter.Register(ctx, r)
	}
	ada, err := truth.ADA(r)
	if err != nil {
		return harness.Receipt{}, fmt.Errorf("rendering the ADA of %s/%s for %s: %w", r.Scenario, r.Event, p.Role, err)
	}
	return p.Adapter.Publish(ctx, ada)
}

// DVZA is how the bench reaches a MedMij data service (DVZA) as a PGO:
// its STU3 FHIR base, its adapter, its OAuth endpoints, the bench's test
// identity provider the client logs in at, and the OAuth client the bench
// is on the DVZA's client list as.
type DVZA struct {
	// FHIR is the resource server's base (a token is never sent elsewhere).
	FHIR string
	// Adapter is the adapter contract's base (…/bench).
	Adapter string
	// Authorize and Token are the OAuth endpoints.
	Authorize, Token string
	// IdP is the bench's test identity provider (its issuer URL), reached
	// with IdPHTTP (a client that follows no redirect; HTTP when nil).
	IdP     string
	IdPHTTP *http.Client
	// Hosts are further host:ports that are the DVZA itself (the address
	// behind its recording proxy, where its redirects may point).
	Hosts []string
	// ClientID and RedirectURI name the bench's PGO on the client list.
	ClientID, RedirectURI string
	// Tokens are fixed bearer tokens per client BSN, when the candidate
	// takes those instead of the authorization flow (Nictiz style).
	Tokens map[string]string
	// HTTP sends the requests; it must carry a timeout and must not
	// follow redirects (the bench follows them itself, host by host).
	HTTP *http.Client
	// Availability is the profile's availability limit (MM-16): a fact
	// registered after her app read her record is served within it; zero
	// leaves MM-16 unjudged.
	Availability time.Duration
	// Validator checks what the DVZA serves against the STU3 profiles;
	// nil (with ValidatorProblem saying why) when none was loaded.
	Validator        Validator
	ValidatorProblem string
}

// fetched is a cached answer of PublishedFor: a candidate that hangs or
// breaks costs one timeout per scenario, not one per spec.
type fetched struct {
	p   *Published
	err error
}

// Replay is what happened when one scenario was sent to the candidate.
type Replay struct {
	Scenario *fixtures.Scenario
	Events   []Replayed
	// Before holds, by event id, what the candidate served just before an
	// event after which it must stop sharing (consent withdrawn, deletion).
	Before map[string]*Snapshot
}

// Snapshot is what the candidate served of a client and her children just
// before an event that withdraws consent or asks for deletion: the trust
// specs read each of it again afterwards, by id.
type Snapshot struct {
	Event  string
	People []Held
	// Err is set when the bench could not take the snapshot.
	Err error
}

// Held is what was served of one person: her Patient id (empty when none
// was found by her BSN) and every resource found by patient=Patient/<id>,
// as "Type/id".
type Held struct {
	Person    fixtures.Client
	PatientID string
	// PatientURLs are the fullUrls her Patient was served under.
	PatientURLs []string
	Resources   []string
}

// StopsSharing says whether, after this registration, the candidate must
// no longer share the client's data: consent withdrawn or deletion asked.
func StopsSharing(r fixtures.Registration) bool {
	return r.Kind == fixtures.Deletion || (r.Consent != nil && !*r.Consent)
}

// snapshot records what the candidate serves of the people registered so
// far (the client and the children facts were registered about).
func (e *Env) snapshot(ctx context.Context, s *fixtures.Scenario, event string, people []fixtures.Client) *Snapshot {
	snap := &Snapshot{Event: event}
	if e.XIS == nil {
		return snap // a run without an XIS (a DVZA alone) has nothing to record
	}
	for _, person := range people {
		h := Held{Person: person}
		pub, err := e.fetch(ctx, s, person.BSN)
		switch {
		case errors.Is(err, ErrNoPatient):
		case err != nil:
			snap.Err = fmt.Errorf("recording what is shared of %s before %s: %w", person.ID, event, err)
			return snap
		default:
			h.PatientID, _ = pub.Patient["id"].(string)
			h.PatientURLs = pub.PatientURLs
			for _, typ := range slices.Sorted(maps.Keys(pub.Resources)) {
				for _, r := range pub.Resources[typ] {
					// Only what refers to her: another client's resource in the
					// answer is API-02's finding, not hers to withhold.
					if id, _ := r["id"].(string); id != "" && fact.RefersTo(r, h.PatientID, pub.PatientURLs...) {
						h.Resources = append(h.Resources, typ+"/"+id)
					}
				}
			}
		}
		snap.People = append(snap.People, h)
	}
	return snap
}

// Replayed is one event sent to the candidate.
type Replayed struct {
	Registration fixtures.Registration
	// Publisher is the role key of the XIS the event was sent to (xis,
	// xis-ziekenhuis, …; "xis" in a run without Publishers).
	Publisher string
	Sent      time.Time
	Receipt   harness.Receipt
	Err       error
}

// Failed returns the events the candidate did not accept.
func (r *Replay) Failed() []Replayed {
	var out []Replayed
	for _, e := range r.Events {
		if e.Err != nil {
			out = append(out, e)
		}
	}
	return out
}

var (
	currentMu sync.RWMutex
	current   *Env
)

// Use makes env the environment of the specs.
func Use(env *Env) {
	currentMu.Lock()
	defer currentMu.Unlock()
	current = env
}

// Current returns the environment of the specs; specs call it in their bodies.
func Current() *Env {
	currentMu.RLock()
	defer currentMu.RUnlock()
	if current == nil {
		panic("bcbench: the specs have no environment (spec.Use was not called)")
	}
	return current
}

// Replay sends every scenario's events to the candidate, each scenario's in
// order, Concurrency scenarios at once. A failed event does not stop the
// replay; it is kept for the adapter specs. progress, when set, hears which
// event is being sent. With a Clock, it returns once what the clock
// tracks is settled, so the specs see what a late publisher published.
func (e *Env) Replay(ctx context.Context, progress func(string)) error {
	e.replays = map[string]*Replay{}
	n := e.Concurrency
	if n <= 0 || e.Manual != nil {
		n = 1
	}
	var (
		mu         sync.Mutex
		unanswered int // events in a row the candidate did not answer at all
		firstErr   error
		wg         sync.WaitGroup
	)
	sem := make(chan struct{}, n)
	for _, s := range e.Scenarios {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		mu.Lock()
		stop := firstErr != nil || ctx.Err() != nil
		mu.Unlock()
		if stop {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rep, err := e.replayOne(ctx, s, progress, &mu, &unanswered)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if rep != nil {
				e.replays[s.ID] = rep
			}
		})
	}
	wg.Wait()
	if e.Clock != nil {
		e.Clock.Wait(ctx)
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("replaying the scenarios: %w", ctx.Err())
	}
	return firstErr
}

// replayOne sends one scenario's events in order. unanswered, guarded by
// mu, counts events in a row (over all scenarios) that got no answer.
func (e *Env) replayOne(ctx context.Context, s *fixtures.Scenario, progress func(string), mu *sync.Mutex, unanswered *int) (*Replay, error) {
	regs, err := s.Registrations(e.Reference)
	if err != nil {
		return nil, fmt.Errorf("resolving scenario %s: %w", s.ID, err)
	}
	rep := &Replay{Scenario: s, Before: map[string]*Snapshot{}}
	people := []fixtures.Client{s.Client}
	consent := true
	chain := e.publishersOf(regs)
	for _, r := range regs {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("replaying %s: %w", s.ID, err)
		}
		if r.Subject != nil && !slices.ContainsFunc(people, func(p fixtures.Client) bool { return p.BSN == r.Subject.BSN }) {
			people = append(people, *r.Subject)
		}
		mu.Lock()
		gaveUp := *unanswered >= maxUnanswered
		mu.Unlock()
		if StopsSharing(r) && !gaveUp {
			if e.Clock != nil {
				e.Clock.Settle(ctx, s.ID) // measured before it may be withdrawn
			}
			rep.Before[r.Event] = e.snapshot(ctx, s, r.Event, people)
		}
		pub := e.PublisherFor(r)
		ev := Replayed{Registration: r, Publisher: pub.Role, Sent: time.Now()}
		switch {
		case gaveUp:
			// A candidate that stopped answering costs a few request
			// timeouts, not one per event of every scenario.
			ev.Err = fmt.Errorf("%w (it did not answer the last %d events)", ErrNotSent, maxUnanswered)
		case e.Manual != nil:
			if progress != nil {
				progress(fmt.Sprintf("%s › %s", s.ID, r.Title))
			}
			ev.Err = e.Manual(ctx, r)
		default:
			if progress != nil {
				progress(fmt.Sprintf("%s › %s", s.ID, r.Title))
			}
			ev.Receipt, ev.Err = pub.send(ctx, r)
			mu.Lock()
			if errors.Is(ev.Err, harness.ErrNoAnswer) {
				*unanswered++
			} else {
				*unanswered = 0
			}
			mu.Unlock()
		}
		changes := StopsSharing(r) || (r.Consent != nil && *r.Consent && !consent)
		if r.Consent != nil {
			consent = *r.Consent
		}
		if e.Clock != nil && ev.Err == nil {
			e.Clock.Track(ctx, s, r, ev.Sent, consent)
		}
		rep.Events = append(rep.Events, ev)
		if changes && !gaveUp && e.Manual == nil {
			rep.Events = append(rep.Events, e.tell(ctx, chain, pub.Role, r, progress)...)
		}
	}
	return rep, nil
}

// publishersOf returns the publishers a scenario's events go to, in the
// chain's order.
func (e *Env) publishersOf(regs []fixtures.Registration) []Publisher {
	var out []Publisher
	for _, r := range regs {
		p := e.PublisherFor(r)
		if !slices.ContainsFunc(out, func(q Publisher) bool { return q.Role == p.Role }) {
			out = append(out, p)
		}
	}
	return out
}

// tell sends a registration that changes whether the client's data may be
// shared (consent withdrawn or given again, a deletion request) to every
// other publisher of the scenario too: the client decides for her record in
// the whole chain (fact.Withheld), and a hospital's XIS that never hears of
// a withdrawal registered at the midwife's would go on publishing her
// birth. Each delivery is a Replayed of its own, naming its publisher.
func (e *Env) tell(ctx context.Context, chain []Publisher, sent string, r fixtures.Registration, progress func(string)) []Replayed {
	var out []Replayed
	for _, p := range chain {
		if p.Role == sent || p.Adapter == nil || p.Translator() {
			// The ADA of the legacy verloskundig dossier has no element for
			// consent or deletion: a translator cannot be told
			// (docs/translator.md; its chain profile has no such scenario).
			continue
		}
		if progress != nil {
			progress(fmt.Sprintf("%s › %s (ook aan %s)", r.Scenario, r.Title, p.Role))
		}
		ev := Replayed{Registration: r, Publisher: p.Role, Sent: time.Now()}
		ev.Receipt, ev.Err = p.Adapter.Register(ctx, r)
		out = append(out, ev)
	}
	return out
}

// PublisherFor says which XIS of the chain registers an event: the one whose
// role key is xis-<kind of the event's organisation> (a hospital's events go
// to xis-ziekenhuis, a maternity carer's to xis-kraamzorg) when the chain has
// it, the first publisher (xis, the midwife practice) otherwise. A run with
// one XIS sends everything to it; a run without Publishers to XIS/Adapter.
func (e *Env) PublisherFor(r fixtures.Registration) Publisher {
	if len(e.Publishers) == 0 {
		return Publisher{Role: "xis", XIS: e.XIS, Adapter: e.Adapter}
	}
	want := "xis-" + r.Author.Kind
	for _, p := range e.Publishers {
		if p.Role == want {
			return p
		}
	}
	return e.Publishers[0]
}

// Carries says whether the publisher the event of scenario s went to could
// have received fact key of it (Publisher.Carries); true for an event the
// bench cannot find.
func (e *Env) Carries(s *fixtures.Scenario, event, key string) bool {
	p, r, ok := e.PublisherOf(s, event)
	return !ok || p.Carries(r, key)
}

// PublisherOf returns the publisher an event of scenario s is sent to
// (PublisherFor) and its registration; false when the scenario has no
// such event.
func (e *Env) PublisherOf(s *fixtures.Scenario, event string) (Publisher, fixtures.Registration, bool) {
	regs, err := s.Registrations(e.Reference)
	if err != nil {
		return Publisher{}, fixtures.Registration{}, false
	}
	for _, r := range regs {
		if r.Event == event {
			return e.PublisherFor(r), r, true
		}
	}
	return Publisher{}, fixtures.Registration{}, false
}

// ErrNotSent marks an event the replay did not send because the candidate
// had stopped answering.
var ErrNotSent = errors.New("not sent: the candidate stopped answering")

// maxUnanswered is how many events in a row may go unanswered (timeout,
// refused connection) before the replay stops sending.
const maxUnanswered = 3

// ReplayOf returns the replay of a scenario.
func (e *Env) ReplayOf(id string) (*Replay, bool) {
	r, ok := e.replays[id]
	return r, ok
}

// Published is what the candidate publishes for one scenario's client.
type Published struct {
	Patient map[string]any
	// PatientURLs are the fullUrls her Patient was served under.
	PatientURLs []string
	Resources   map[string][]map[string]any // by resource type
	// Referenced holds resources the client's resources refer to that are
	// not her own (a Medication, the author's Practitioner, PractitionerRole
	// and Organization), and her own resources, by "Type/id".
	Referenced map[string]map[string]any
	// ByURL holds every resource the searches returned by its fullUrl.
	ByURL map[string]map[string]any
}

// Resolver resolves references among what was fetched, the FHIR way.
func (p *Published) Resolver() fact.Resolver {
	return fact.Resolver{ByURL: p.ByURL, ByRef: p.Referenced}
}

// Source is what the pairing of facts with resources reads (suites/fact).
func (p *Published) Source(reference time.Time) fact.Source {
	id, _ := p.Patient["id"].(string)
	also := slices.Clone(p.PatientURLs)
	if ids, ok := p.Patient["identifier"].([]any); ok {
		for _, i := range ids {
			m, _ := i.(map[string]any)
			if sys, _ := m["system"].(string); sys == BSNSystem {
				v, _ := m["value"].(string)
				also = append(also, sys+"|"+v) // a logical reference by her BSN
			}
		}
	}
	return fact.Source{Resources: p.Resources, PatientID: id, PatientURLs: also, Resolver: p.Resolver(), Reference: reference}
}

// ErrNoPatient is returned when the candidate publishes no Patient with the
// client's BSN.
var ErrNoPatient = errors.New("no Patient with the client's BSN is published")

// PublishedFor fetches (once) what the candidate publishes for a scenario's
// client: her Patient, found by BSN, and every resource of the types the
// scenario's facts use, found by patient.
func (e *Env) PublishedFor(ctx context.Context, s *fixtures.Scenario) (*Published, error) {
	return e.PublishedOf(ctx, s, s.Client)
}

// PublishedOf fetches (once) what the candidate publishes for one person of
// a scenario: the client, or one of her children (a newborn has her own
// Patient, found by her own BSN, and her own record).
func (e *Env) PublishedOf(ctx context.Context, s *fixtures.Scenario, person fixtures.Client) (*Published, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := s.ID + "|" + person.BSN
	if f, ok := e.published[key]; ok {
		return f.p, f.err
	}
	if e.published == nil {
		e.published = map[string]fetched{}
	}
	p, err := e.fetch(ctx, s, person.BSN)
	e.published[key] = fetched{p, err}
	return p, err
}

// maxReferenced bounds the distinct referenced resources the bench reads
// for one client.
const maxReferenced = 500

func (e *Env) fetch(ctx context.Context, s *fixtures.Scenario, bsn string) (*Published, error) {
	p := newPublished()
	patients, err := e.XIS.SearchEntries(ctx, "Patient", url.Values{"identifier": {BSNSystem + "|" + bsn}})
	if err != nil {
		return nil, fmt.Errorf("searching the Patient with BSN %s: %w", bsn, err)
	}
	for _, en := range patients {
		if en.Match && fact.HasBSN(en.Resource, bsn) {
			p.Patient = en.Resource
			if en.FullURL != "" {
				p.PatientURLs = append(p.PatientURLs, en.FullURL)
			}
			break
		}
	}
	p.keep(patients)
	if p.Patient == nil {
		return nil, ErrNoPatient
	}
	if err := p.read(ctx, e.XIS, s); err != nil {
		return nil, err
	}
	return p, nil
}

// RecordAt reads what a FHIR API serves of a person whose Patient the bench
// already holds (read by following an index pointer, at fullURL): every
// resource of the scenario's types found by patient, and what they refer
// to, as PublishedOf does for the run's XIS.
func RecordAt(ctx context.Context, x *harness.FHIR, s *fixtures.Scenario, patient map[string]any, fullURL string) (*Published, error) {
	p := newPublished()
	p.Patient = patient
	if fullURL != "" {
		p.PatientURLs = []string{fullURL}
		p.ByURL[fullURL] = patient
	}
	if id, _ := patient["id"].(string); id != "" {
		p.Referenced["Patient/"+id] = patient
	}
	if err := p.read(ctx, x, s); err != nil {
		return nil, err
	}
	return p, nil
}

func newPublished() *Published {
	return &Published{Resources: map[string][]map[string]any{}, Referenced: map[string]map[string]any{}, ByURL: map[string]map[string]any{}}
}

// keep files a search's entries by fullUrl and type/id, and returns the
// matches.
func (p *Published) keep(entries []harness.SearchEntry) []map[string]any {
	var matches []map[string]any
	for _, en := range entries {
		if en.FullURL != "" {
			p.ByURL[en.FullURL] = en.Resource
		}
		typ, _ := en.Resource["resourceType"].(string)
		if id, _ := en.Resource["id"].(string); typ != "" && id != "" {
			p.Referenced[typ+"/"+id] = en.Resource
		}
		if en.Match {
			matches = append(matches, en.Resource)
		}
	}
	return matches
}

// read searches every resource type of the scenario's facts by the
// person's Patient at x, and reads what they refer to.
func (p *Published) read(ctx context.Context, x *harness.FHIR, s *fixtures.Scenario) error {
	id, _ := p.Patient["id"].(string)
	for _, typ := range ResourceTypes(s) {
		found, err := x.SearchEntries(ctx, typ, url.Values{"patient": {"Patient/" + id}})
		if err != nil {
			return fmt.Errorf("searching %s of Patient/%s: %w", typ, id, err)
		}
		p.Resources[typ] = p.keep(found)
	}
	return readReferenced(ctx, x, p)
}

// referring are the elements whose targets the specs judge: the product of
// a building block and who registered a fact.
var referring = []string{"medicationReference", "performer", "requester", "recorder", "asserter", "informationSource", "practitioner", "organization"}

// readReferenced reads (once each) the Medication, Practitioner,
// PractitionerRole and Organization the client's resources refer to, and
// the practitioner and organization of a PractitionerRole. A reference the
// candidate cannot resolve is left unresolved: the specs report it.
func readReferenced(ctx context.Context, x *harness.FHIR, p *Published) error {
	var queue []map[string]any
	for _, list := range p.Resources {
		queue = append(queue, list...)
	}
	reads := 0
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, field := range referring {
			for _, ref := range references(r[field]) {
				if strings.HasPrefix(ref, "#") || p.ByURL[ref] != nil {
					continue
				}
				typ, id, ok := fact.TypeID(ref)
				if !ok || !referable[typ] {
					continue
				}
				key := typ + "/" + id
				if _, done := p.Referenced[key]; done {
					continue
				}
				if reads++; reads > maxReferenced {
					return fmt.Errorf("reading what the client's resources refer to: more than %d distinct references; the bench stops there", maxReferenced)
				}
				m, err := x.Read(ctx, typ, id)
				var status *harness.StatusError
				switch {
				case errors.As(err, &status):
					p.Referenced[key] = nil // dangling: the specs say so
					continue
				case err != nil:
					return fmt.Errorf("reading %s referenced by %v/%v: %w", ref, r["resourceType"], r["id"], err)
				}
				p.Referenced[key] = m
				if typ == "PractitionerRole" {
					queue = append(queue, m)
				}
			}
		}
	}
	return nil
}

var referable = map[string]bool{"Medication": true, "Practitioner": true, "PractitionerRole": true, "Organization": true}

// references returns the reference strings of a Reference element, a list
// of them, or of elements that hold one in actor (performer).
func references(v any) []string {
	var out []string
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	for _, x := range items {
		m, _ := x.(map[string]any)
		if actor, ok := m["actor"].(map[string]any); ok {
			m = actor
		}
		if s, _ := m["reference"].(string); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ResourceTypes lists the resource types a scenario's facts are published as.
func ResourceTypes(s *fixtures.Scenario) []string {
	var types []string
	for _, ev := range s.Events {
		for _, f := range ev.Facts {
			if f.ResourceType != "" && f.ResourceType != "Patient" && !slices.Contains(types, f.ResourceType) {
				types = append(types, f.ResourceType)
			}
		}
	}
	slices.Sort(types)
	return types
}

// Day returns a scenario day (relative to the reference date) as YYYY-MM-DD.
func (e *Env) Day(day int) string {
	return fixtures.Date(e.Reference, day).Format(fixtures.DateLayout)
}

// Persons lists whose record a scenario holds: the client, then each child
// a fact was registered about.
func Persons(s *fixtures.Scenario) []fixtures.Client {
	out := []fixtures.Client{s.Client}
	for _, c := range s.Children {
		if slices.ContainsFunc(s.Events, func(ev fixtures.Event) bool { return ev.Subject == c.ID }) {
			out = append(out, c)
		}
	}
	return out
}
