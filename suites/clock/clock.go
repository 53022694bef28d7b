// Package clock measures timeliness (the TIJ-* requirements): for every
// registered event the bench records when it sent it and polls each hop of
// the chain until the event's facts are there — at the publisher's FHIR API,
// registered in the index, findable by a consumer through the index. It
// polls through the same recording clients as every other exchange (so each
// poll is in the HAR), backs off, stops at a horizon of a few limits (a late
// item is measured with its real figure, a missing one is missing), and
// bounds the polls in flight. It knows nothing of Ginkgo: suites/timeliness
// judges what it measured, reports draws it.
package clock

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/fact"
)

// Hop is one step of the chain an event's facts travel.
type Hop string

// The hops the clock measures.
const (
	// Publication: the facts are available at the publisher's FHIR API,
	// counted from the moment the bench sent the registration.
	Publication Hop = "publication"
	// Index: the person is registered in the index (a current
	// DocumentReference found by her BSN, IHE MHD ITI-67), counted from the
	// moment the facts were seen published.
	Index Hop = "index"
	// Consumer: a consumer that knows only the index finds the facts by
	// following the index's pointers, counted from the registration.
	Consumer Hop = "consumer"
)

// Hops lists the hops in chain order.
var Hops = []Hop{Publication, Index, Consumer}

// Limits are the most time each hop may take; zero leaves a hop unjudged.
type Limits struct {
	Publication time.Duration
	Index       time.Duration
	Consumer    time.Duration
}

// Of returns the limit of a hop.
func (l Limits) Of(h Hop) time.Duration {
	switch h {
	case Publication:
		return l.Publication
	case Index:
		return l.Index
	case Consumer:
		return l.Consumer
	}
	return 0
}

// HorizonFactor is how many limits the clock keeps polling for an item that
// is not there, at most MaxOverLimit past the limit (Horizon): a late item is
// measured with its real figure up to the horizon, and is missing after it.
const (
	HorizonFactor = 3
	MaxOverLimit  = 2 * time.Minute
)

// Horizon is how long after its start an item is followed: HorizonFactor
// limits, but never more than MaxOverLimit past the limit (a 5-minute limit
// does not keep a run 15 minutes for an index that never serves).
func Horizon(limit time.Duration) time.Duration {
	return limit + min((HorizonFactor-1)*limit, MaxOverLimit)
}

// Backoff of the polls of one item: the first poll right after the
// registration was answered, then waits that double from firstWait up to a
// tenth of the limit (at least firstWait), plus one poll exactly at the
// limit, so that "late" means "not there at the limit".
const firstWait = 50 * time.Millisecond

// maxFailed is how many polls in a row may get no usable answer before
// the clock stops following an item (the bench's error, not late).
const maxFailed = 5

// DefaultConcurrency bounds the polls in flight when Concurrency is unset.
const DefaultConcurrency = 8

// Item is one event's facts at one hop.
type Item struct {
	Scenario string
	Event    string
	Title    string
	Hop      Hop
	// Sent is when the bench sent the registration.
	Sent time.Time
	// Start is when the hop's limit starts counting: Sent, or for the index
	// hop the moment the facts were seen published.
	Start time.Time
	// Seen is when the answer arrived that first held the facts; zero when
	// no poll up to the horizon held them.
	Seen time.Time
	// Missed is when the last poll that did not hold them started; zero
	// when the first poll held them.
	Missed time.Time
	// Polls counts the requests rounds made for this item.
	Polls int
	// Problem is set when the last poll failed (no answer, not a FHIR
	// answer): the bench could not tell, which is never the candidate's late.
	Problem string
	// Note says why a hop could not find the facts (a pointer to an unknown
	// host), for the finding.
	Note string
	// Queued is the longest a poll of this item waited for a free slot
	// after it came due: the bench's own delay, part of a figure that is
	// an upper bound (docs/timeliness.md, "Load").
	Queued time.Duration
}

// Latency is the time from Start to Seen; false when never seen.
func (it Item) Latency() (time.Duration, bool) {
	if it.Seen.IsZero() {
		return 0, false
	}
	return it.Seen.Sub(it.Start), true
}

// Late says whether the facts were not there when a poll at or after the
// limit looked, though they came later.
func (it Item) Late(limit time.Duration) bool {
	return limit > 0 && !it.Seen.IsZero() && !it.Missed.IsZero() && it.Missed.Sub(it.Start) >= limit
}

// Missing says whether the facts never came within the horizon while the
// hop answered.
func (it Item) Missing() bool { return it.Seen.IsZero() && it.Problem == "" }

// Clock measures the hops of every tracked event. Set its fields before the
// first Track; its methods are safe for concurrent use.
type Clock struct {
	Limits Limits
	// Reference is day 0 of the scenarios (the facts' dates).
	Reference time.Time
	// Publisher returns the FHIR API (through its recording proxy) of the
	// system that publishes an event; nil or a nil answer: the publication
	// hop of that event is not measured.
	Publisher func(fixtures.Registration) *harness.FHIR
	// Carries, when set, says whether the publisher of a registration can
	// have received one of its facts (by key): a translator gets only what
	// the legacy ADA has an element for. What it cannot have received is
	// not waited for.
	Carries func(r fixtures.Registration, key string) bool
	// Index is the index's FHIR API; nil when the run has no index (the
	// index and consumer hops are then not measured).
	Index *harness.FHIR
	// Concurrency bounds the polls in flight (DefaultConcurrency when 0).
	Concurrency int

	once    sync.Once
	gate    *gate
	bounded error // set once a poll ran past the bench's bounds
	backlog int   // polls that may wait for a slot before Track waits
	mu      sync.Mutex
	items   []*Item
	pending map[string]*sync.WaitGroup // by scenario
	all     sync.WaitGroup
	meds    map[string]map[string]any // Medication read by the bench, by base|ref
}

func (c *Clock) init() {
	c.once.Do(func() {
		n := c.Concurrency
		if n <= 0 {
			n = DefaultConcurrency
		}
		c.gate = newGate(n)
		c.backlog = n
		c.pending = map[string]*sync.WaitGroup{}
		c.meds = map[string]map[string]any{}
	})
}

// Items returns a copy of every measured item, in the order they were tracked.
func (c *Clock) Items() []Item {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Item, len(c.items))
	for i, it := range c.items {
		out[i] = *it
	}
	return out
}

// Measured reports whether a hop was measured in this run, or why not.
func (c *Clock) Measured(h Hop) (bool, string) {
	switch {
	case c.Limits.Of(h) <= 0:
		return false, "het profiel stelt voor deze stap geen grens"
	case h != Publication && c.Index == nil:
		return false, "in deze run is er geen index (de keten bestaat alleen uit het XIS)"
	}
	return true, ""
}

// Track starts measuring one sent registration of a scenario. It returns
// once the polls already due have a slot or nearly so (the replay does not
// run ahead of what the bench can measure), and measures in the
// background. Only registrations whose facts must then be shared are
// measured: the caller passes shared=false while the client's consent is
// withdrawn.
func (c *Clock) Track(ctx context.Context, s *fixtures.Scenario, r fixtures.Registration, sent time.Time, shared bool) {
	c.init()
	items, person := expected(s, r)
	if c.Carries != nil {
		items = slices.DeleteFunc(items, func(it fact.Item) bool { return !c.Carries(r, it.Fact.Key) })
	}
	if !shared || len(items) == 0 {
		return
	}
	if c.gate.room(ctx, c.backlog) != nil {
		return // the run is over
	}
	pub := (*harness.FHIR)(nil)
	if c.Publisher != nil {
		pub = c.Publisher(r)
	}
	if pub == nil || c.Limits.Publication <= 0 {
		return
	}
	mk := func(h Hop) *Item {
		return &Item{Scenario: s.ID, Event: r.Event, Title: r.Title, Hop: h, Sent: sent, Start: sent}
	}
	a := mk(Publication)
	var b, cons *Item
	if ok, _ := c.Measured(Index); ok {
		b = mk(Index)
	}
	if ok, _ := c.Measured(Consumer); ok {
		cons = mk(Consumer)
	}
	c.mu.Lock()
	for _, it := range []*Item{a, b, cons} {
		if it != nil {
			c.items = append(c.items, it)
		}
	}
	wg := c.pending[s.ID]
	if wg == nil {
		wg = &sync.WaitGroup{}
		c.pending[s.ID] = wg
	}
	c.mu.Unlock()
	wg.Add(1)
	c.all.Add(1)
	go func() {
		defer c.all.Done()
		defer wg.Done()
		c.watch(ctx, a, c.Limits.Publication, func(ctx context.Context) (bool, string, error) {
			found, _, err := c.holds(ctx, pub, person, items)
			if !found && err == nil && person.BSN != r.Client.BSN {
				// A newborn's facts that arrived in the mother's dossier have
				// arrived; where they are is the content specs' finding.
				found, _, err = c.holds(ctx, pub, r.Client, items)
			}
			return found, "", err
		})
		if a.Seen.IsZero() {
			return // nothing published: the other hops have nothing to find
		}
		var hops sync.WaitGroup
		if b != nil {
			b.Start = a.Seen
			hops.Go(func() {
				c.watch(ctx, b, c.Limits.Index, func(ctx context.Context) (bool, string, error) {
					refs, err := c.registered(ctx, person)
					return len(refs) > 0, "", err
				})
			})
		}
		if cons != nil {
			hops.Go(func() {
				c.watch(ctx, cons, c.Limits.Consumer, func(ctx context.Context) (bool, string, error) {
					return c.findable(ctx, pub, person, items)
				})
			})
		}
		hops.Wait()
	}()
}

// Settle waits until every tracked item of a scenario is seen or past its
// horizon (or ctx ends): before an event that stops sharing, so that what
// must be measured is not withdrawn first.
func (c *Clock) Settle(ctx context.Context, scenario string) {
	c.init()
	c.mu.Lock()
	wg := c.pending[scenario]
	c.mu.Unlock()
	if wg != nil {
		waitOr(ctx, wg)
	}
}

// Wait waits until every tracked item is seen or past its horizon (or ctx
// ends).
func (c *Clock) Wait(ctx context.Context) {
	c.init()
	waitOr(ctx, &c.all)
}

func waitOr(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// probe looks once whether an item's facts are there.
type probe func(ctx context.Context) (found bool, note string, err error)

// watch polls an item until it is seen or its horizon passes: right away,
// then with waits that double up to a tenth of the limit, and once exactly
// at the limit.
func (c *Clock) watch(ctx context.Context, it *Item, limit time.Duration, look probe) {
	deadline := it.Start.Add(Horizon(limit))
	atLimit := it.Start.Add(limit)
	maxWait := max(limit/10, firstWait)
	wait := firstWait
	failed := 0 // polls in a row that got no usable answer
	due := time.Now()
	for {
		started, found, note, err := c.look(ctx, due, look)
		c.mu.Lock()
		it.Polls++
		it.Queued = max(it.Queued, started.Sub(due))
		switch {
		case found:
			it.Seen, it.Problem, it.Note = time.Now(), "", ""
		case err != nil:
			it.Problem = err.Error()
			it.Missed = started
			failed++
		default:
			it.Problem, it.Note = "", note
			it.Missed = started
			failed = 0
		}
		c.mu.Unlock()
		if found || ctx.Err() != nil || failed >= maxFailed || errors.Is(err, harness.ErrBound) {
			return // a role that stopped answering is not polled to the horizon
		}
		now := time.Now()
		if !now.Before(deadline) {
			return
		}
		next := now.Add(wait)
		if now.Before(atLimit) && next.After(atLimit) {
			next = atLimit // one poll exactly at the limit
		}
		next = minTime(next, deadline)
		wait = min(wait*2, maxWait)
		due = next
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// look runs one probe, due at due, within the bound on polls in flight,
// and returns when it started (had a slot).
func (c *Clock) look(ctx context.Context, due time.Time, look probe) (time.Time, bool, string, error) {
	if err := c.gate.acquire(ctx, due); err != nil {
		return time.Now(), false, "", err
	}
	defer c.gate.release()
	started := time.Now()
	c.mu.Lock()
	bounded := c.bounded
	c.mu.Unlock()
	if bounded != nil {
		// A role that answered past the bench's bounds (huge or endless
		// pages) is not asked again by any item: the same answer would
		// cost the same memory. What is left is undecided, never on time.
		return started, false, "", bounded
	}
	found, note, err := look(ctx)
	if errors.Is(err, harness.ErrBound) {
		c.mu.Lock()
		c.bounded = err
		c.mu.Unlock()
	}
	return started, found, note, err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// expected returns the facts an event must publish and the person they are
// about (a child for a newborn's facts).
func expected(s *fixtures.Scenario, r fixtures.Registration) ([]fact.Item, fixtures.Client) {
	person := r.Client
	if r.Subject != nil {
		person = *r.Subject
	}
	i := slices.IndexFunc(s.Events, func(ev fixtures.Event) bool { return ev.ID == r.Event })
	if i < 0 {
		return nil, person
	}
	ev := s.Events[i]
	var items []fact.Item
	for _, f := range ev.Facts {
		if f.ResourceType != "" && f.ResourceType != "Patient" {
			items = append(items, fact.Item{Event: ev, Fact: f})
		}
	}
	return items, person
}

// holds says whether api publishes every one of the items for the person:
// her Patient found by BSN, and for each fact a resource that pairs with it
// (suites/fact's pairing rule, the same as the content specs'). It also
// returns the fullUrls her Patient was served under and its id as
// "Type/id", which a pointer in the index must lead to.
func (c *Clock) holds(ctx context.Context, api *harness.FHIR, person fixtures.Client, items []fact.Item) (bool, []string, error) {
	src := fact.Source{Resources: map[string][]map[string]any{}, Reference: c.Reference}
	byURL, byRef := map[string]map[string]any{}, map[string]map[string]any{}
	keep := func(entries []harness.SearchEntry) []map[string]any {
		var out []map[string]any
		for _, en := range entries {
			if en.FullURL != "" {
				byURL[en.FullURL] = en.Resource
			}
			typ, _ := en.Resource["resourceType"].(string)
			if id, _ := en.Resource["id"].(string); typ != "" && id != "" {
				byRef[typ+"/"+id] = en.Resource
			}
			if en.Match {
				out = append(out, en.Resource)
			}
		}
		return out
	}
	patients, err := api.SearchEntries(ctx, "Patient", url.Values{"identifier": {fact.BSNSystem + "|" + person.BSN}})
	if err != nil {
		return false, nil, fmt.Errorf("searching the Patient with BSN %s: %w", person.BSN, err)
	}
	for _, en := range patients {
		if en.Match && fact.HasBSN(en.Resource, person.BSN) {
			src.PatientID, _ = en.Resource["id"].(string)
			if en.FullURL != "" {
				src.PatientURLs = append(src.PatientURLs, en.FullURL)
			}
			break
		}
	}
	keep(patients)
	if src.PatientID == "" {
		return false, nil, nil
	}
	where := append(slices.Clone(src.PatientURLs), "Patient/"+src.PatientID)
	var types []string
	for _, it := range items {
		if !slices.Contains(types, it.Fact.ResourceType) {
			types = append(types, it.Fact.ResourceType)
		}
	}
	for _, typ := range types {
		found, err := api.SearchEntries(ctx, typ, url.Values{"patient": {"Patient/" + src.PatientID}})
		if err != nil {
			return false, where, fmt.Errorf("searching %s of Patient/%s: %w", typ, src.PatientID, err)
		}
		src.Resources[typ] = keep(found)
	}
	src.PatientURLs = append(src.PatientURLs, fact.BSNSystem+"|"+person.BSN)
	src.Resolver = fact.Resolver{ByURL: byURL, ByRef: byRef, Fetch: func(ref string) map[string]any {
		return c.medication(ctx, api, ref)
	}}
	for _, p := range fact.Pairs(src, items) {
		if p.Resource == nil && !arrived(src, p.Item, c.Reference) {
			return false, where, nil
		}
	}
	return true, where, nil
}

// arrived says whether a fact that pairs with nothing has nevertheless
// arrived: a resource of its type carrying its code, dated within a day of
// the event. Timeliness judges arrival, not content: a date a day off or a
// wrong value is the content specs' finding (INH-*), not a late item.
// Building blocks of MP9 pair by identifier and are not loosened.
func arrived(src fact.Source, it fact.Item, reference time.Time) bool {
	f := it.Fact
	if f.Medication != nil {
		return false
	}
	at, _ := time.ParseInLocation(fixtures.DateLayout, fact.At(reference, it.Event).In(fixtures.Amsterdam).Format(fixtures.DateLayout), fixtures.Amsterdam)
	for _, r := range src.Resources[f.ResourceType] {
		if !carriesCode(r, f.Code.System, f.Code.Code) {
			continue
		}
		d, _ := fact.Date(r, "")
		day, err := time.ParseInLocation(fixtures.DateLayout, fact.Day(d), fixtures.Amsterdam)
		if err != nil {
			continue
		}
		if diff := day.Sub(at); diff >= -25*time.Hour && diff <= 25*time.Hour { // the day before, of or after (a DST day is 23 or 25 hours)
			return true
		}
	}
	return false
}

// carriesCode says whether a resource's code has a coding system|code.
func carriesCode(r map[string]any, system, code string) bool {
	c, _ := r["code"].(map[string]any)
	codings, _ := c["coding"].([]any)
	for _, x := range codings {
		m, _ := x.(map[string]any)
		if m["system"] == system && m["code"] == code {
			return true
		}
	}
	return false
}

// medication reads (once per run) a Medication a building block refers to,
// so that a block without identifier pairs by its product.
func (c *Clock) medication(ctx context.Context, api *harness.FHIR, ref string) map[string]any {
	typ, id, ok := fact.TypeID(ref)
	if !ok || typ != "Medication" {
		return nil
	}
	key := api.Base + "|" + typ + "/" + id
	c.mu.Lock()
	m, done := c.meds[key]
	c.mu.Unlock()
	if done {
		return m
	}
	m, err := api.Read(ctx, typ, id)
	if err != nil {
		m = nil
	}
	c.mu.Lock()
	c.meds[key] = m
	c.mu.Unlock()
	return m
}

// registered returns the pointers the index holds for the person: the
// attachment URLs of her current DocumentReferences (ITI-67), in order.
func (c *Clock) registered(ctx context.Context, person fixtures.Client) ([]string, error) {
	refs, err := c.Index.Search(ctx, "DocumentReference", url.Values{
		"patient.identifier": {fact.BSNSystem + "|" + person.BSN},
		"status":             {"current"},
	})
	if err != nil {
		return nil, fmt.Errorf("searching the index for BSN %s: %w", person.BSN, err)
	}
	var out []string
	for _, r := range refs {
		if r["resourceType"] != "DocumentReference" || r["status"] != "current" {
			continue // what the index should not have answered is IDX-*'s finding
		}
		contents, _ := r["content"].([]any)
		found := false
		for _, x := range contents {
			content, _ := x.(map[string]any)
			att, _ := content["attachment"].(map[string]any)
			if u, _ := att["url"].(string); u != "" {
				out = append(out, u)
				found = true
			}
		}
		if !found {
			out = append(out, "") // registered, but pointing nowhere
		}
	}
	return out, nil
}

// findable says whether a consumer that knows only the index finds the
// items: the index holds a current pointer for the person that leads to
// her record at the event's publisher (her Patient's fullUrl, or her
// Patient id on its host), and the facts are there.
func (c *Clock) findable(ctx context.Context, pub *harness.FHIR, person fixtures.Client, items []fact.Item) (bool, string, error) {
	pointers, err := c.registered(ctx, person)
	if err != nil {
		return false, "", err
	}
	if len(pointers) == 0 {
		return false, "de index kent de cliënt niet", nil
	}
	found, where, err := c.holds(ctx, pub, person, items)
	if err != nil {
		return false, "", err
	}
	if len(where) == 0 {
		return false, "de bron publiceert de cliënt niet (meer)", nil
	}
	for _, p := range pointers {
		if leadsTo(p, where) {
			if !found {
				return false, "de verwijzing klopt, maar de gegevens staan er niet", nil
			}
			return true, "", nil
		}
	}
	slices.Sort(pointers)
	return false, fmt.Sprintf("de index wijst naar %s, niet naar %s", strings.Join(slices.Compact(pointers), ", "), where[0]), nil
}

// leadsTo says whether a pointer is one of the Patient's fullUrls, or her
// Patient id ("Patient/<id>", last in where) on the host of one of them.
func leadsTo(pointer string, where []string) bool {
	if pointer == "" || len(where) == 0 {
		return false
	}
	if slices.Contains(where, pointer) {
		return true
	}
	pu, err := url.Parse(pointer)
	if err != nil || pu.Host == "" || !strings.HasSuffix(pu.Path, "/"+where[len(where)-1]) {
		return false
	}
	for _, w := range where {
		if wu, err := url.Parse(w); err == nil && wu.Host == pu.Host {
			return true
		}
	}
	return false
}
