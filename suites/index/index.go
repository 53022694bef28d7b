// Package index holds the specs of the index (Babyconnect box C, seed 003)
// through its IHE MHD face (docs/index.md). The bench plays both sides: as
// a publisher it registers synthetic clients' pointers directly (ITI-65) and
// checks what the index keeps of them; after the replay, as a consumer (the
// hospital at an acute referral, the JGZ after birth), it finds every
// published client through the index (ITI-67) and follows her pointer to
// the publisher. Without an index in the run every spec skips, never passes.
package index

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Index", func() {
	Context("de bench als bron (ITI-65 Provide Document Bundle)", func() {
		spec.It("IDX-01", "een registratie met één ongeldige entry MOET als geheel geweigerd worden, zonder iets op te slaan", func(ctx SpecContext) {
			b := newBench(ctx)
			client := b.freshClient()
			good := b.pointer(client, 1, "bron")
			bundle := truth.ProvideBundle(b.source, b.submission(), good, b.pointer(client, 2, "bron"))
			// base FHIR R4: DocumentReference.content is 1..*; without it the entry is invalid
			delete(truth.Items(bundle["entry"])[2].(map[string]any)["resource"].(map[string]any), "content")
			status, answer := b.provide(bundle)
			var problems []string
			if status < 400 || status > 499 {
				problems = append(problems, fmt.Sprintf("de index antwoordde %d op een registratie waarvan de tweede verwijzing geen content heeft; verwacht 4xx", status))
			}
			if answer["resourceType"] != "OperationOutcome" {
				problems = append(problems, fmt.Sprintf("het antwoord is %s, geen OperationOutcome", fact.Show(answer["resourceType"])))
			}
			if held := b.find(client, anyStatus); len(held) > 0 {
				problems = append(problems, fmt.Sprintf("toch opgeslagen: %s", uniqueIDs(held)))
			}
			Expect(problems).To(match.HaveNoProblems())
		})
		spec.It("IDX-02", "elke geregistreerde verwijzing MOET bevestigd worden en ongewijzigd terug te vinden zijn", func(ctx SpecContext) {
			b := newBench(ctx)
			client := b.freshClient()
			sent := []truth.Pointer{b.pointer(client, 1, "verloskundige"), b.pointer(client, 2, "ziekenhuis")}
			bundle := truth.ProvideBundle(b.source, b.submission(), sent...)
			status, answer := b.provide(bundle)
			problems := responseProblems(status, answer, len(truth.Items(bundle["entry"])))
			held := b.find(client, "current")
			for i, p := range sent {
				got := byUniqueID(held, p.UniqueID)
				if got == nil {
					problems = append(problems, fmt.Sprintf("verwijzing %s is niet te vinden met patient.identifier en status=current", p.UniqueID))
					continue
				}
				problems = append(problems, differences(p, got)...)
				if id := locationID(answer, i+1); id != "" {
					problems = append(problems, b.readBack(id, p)...)
				}
			}
			Expect(problems).To(match.HaveNoProblems())
		})
		spec.It("IDX-03", "dezelfde registratie nogmaals MOET aangenomen worden zonder tweede verwijzing", func(ctx SpecContext) {
			b := newBench(ctx)
			client := b.freshClient()
			p := b.pointer(client, 1, "bron")
			bundle := truth.ProvideBundle(b.source, b.submission(), p)
			b.provide(bundle)
			if byUniqueID(b.find(client, anyStatus), p.UniqueID) == nil {
				spec.NotTestable("de eerste registratie is niet terug te vinden; IDX-02 beoordeelt dat, herhalen heeft niets om mee te vergelijken")
			}
			var problems []string
			if status, _ := b.provide(bundle); status < 200 || status > 299 {
				problems = append(problems, fmt.Sprintf("de index weigerde dezelfde registratie een tweede keer (%d); een bron die na een time-out opnieuw aanbiedt, MOET dat kunnen", status))
			}
			if n := count(b.find(client, anyStatus), p.UniqueID); n != 1 {
				problems = append(problems, fmt.Sprintf("na de tweede keer houdt de index %d verwijzingen met unieke id %s, verwacht 1", n, p.UniqueID))
			}
			Expect(problems).To(match.HaveNoProblems())
		})
	})
	Context("de bench als afnemer van de eigen registraties (ITI-67 Find Document References)", func() {
		spec.It("IDX-04", "een zoekvraag naar een cliënt (GET en POST _search) MOET alleen haar verwijzingen opleveren", func(ctx SpecContext) {
			b := newBench(ctx)
			her, other := b.freshClient(), b.freshClient()
			b.provide(truth.ProvideBundle(b.source, b.submission(), b.pointer(her, 1, "bron")))
			b.provide(truth.ProvideBundle(b.source, b.submission(), b.pointer(other, 1, "bron")))
			held := b.find(her, "current")
			if len(held) == 0 {
				spec.NotTestable("de index levert voor deze cliënt geen enkele verwijzing; IDX-02 beoordeelt dat")
			}
			// ITI-67 by POST DocumentReference/_search: the same question, form-encoded
			q := url.Values{"patient.identifier": {truth.BSNSystem + "|" + her}, "status": {"current"}}
			posted, err := b.idx.SearchForm(ctx, "DocumentReference", q)
			b.judge(err, "zoeken (ITI-67 POST DocumentReference/_search)")
			var problems []string
			for _, d := range append(held, posted...) {
				if bsn := spec.SubjectBSN(d); bsn != her {
					problems = append(problems, fmt.Sprintf("DocumentReference/%s (unieke id %s) is van cliënt %s, niet van de gevraagde", d["id"], uniqueID(d), maskBSN(bsn)))
				}
			}
			if got, want := sortedIDs(posted), sortedIDs(held); !slices.Equal(got, want) {
				problems = append(problems, fmt.Sprintf("POST _search leverde de verwijzingen %v, GET %v", got, want))
			}
			Expect(problems).To(match.HaveNoProblems())
		})
		spec.It("IDX-05", "de zoekparameters status en identifier MOETEN gehonoreerd worden", func(ctx SpecContext) {
			b := newBench(ctx)
			client := b.freshClient()
			first, second := b.replaced(client)
			if second == nil {
				spec.NotTestable("de index hield de verwijzingen niet; IDX-02 en IDX-06 beoordelen dat")
			}
			var problems []string
			var both []map[string]any // what status=current and status=superseded gave
			for _, status := range []string{"current", "superseded"} {
				for _, d := range b.find(client, status) {
					both = append(both, d)
					if d["status"] != status {
						problems = append(problems, fmt.Sprintf("status=%s leverde DocumentReference/%s met status %s", status, d["id"], fact.Show(d["status"])))
					}
				}
			}
			for _, want := range []map[string]any{first, second} {
				u := uniqueID(want)
				if byUniqueID(both, u) == nil {
					problems = append(problems, fmt.Sprintf("DocumentReference/%s (status %s) komt niet voor bij status=current noch bij status=superseded", want["id"], fact.Show(want["status"])))
				}
				found := b.search(url.Values{"patient.identifier": {truth.BSNSystem + "|" + client}, "status": {anyStatus}, "identifier": {truth.URISystem + "|" + u}})
				if byUniqueID(found, u) == nil {
					problems = append(problems, fmt.Sprintf("identifier=%s leverde de verwijzing met die unieke id niet", u))
				}
				for _, d := range found {
					if uniqueID(d) != u {
						problems = append(problems, fmt.Sprintf("identifier=%s leverde ook DocumentReference/%s (unieke id %s)", u, d["id"], uniqueID(d)))
					}
				}
			}
			Expect(problems).To(match.HaveNoProblems())
		})
		spec.It("IDX-06", "een vervangen verwijzing MOET superseded worden en de vervangende current", func(ctx SpecContext) {
			b := newBench(ctx)
			client := b.freshClient()
			first, second := b.replaced(client)
			if first == nil {
				spec.NotTestable("de eerste verwijzing is niet terug te vinden; IDX-02 beoordeelt dat")
			}
			if second == nil {
				Fail("de index hield de vervangende verwijzing niet (relatesTo replaces)")
			}
			var problems []string
			if old := b.read(fmt.Sprint(first["id"])); old == nil || old["status"] != "superseded" {
				problems = append(problems, fmt.Sprintf("de vervangen DocumentReference/%s heeft status %s, verwacht superseded", first["id"], fact.Show(old["status"])))
			}
			if now := b.read(fmt.Sprint(second["id"])); now == nil || now["status"] != "current" {
				problems = append(problems, fmt.Sprintf("de vervangende DocumentReference/%s heeft status %s, verwacht current", second["id"], fact.Show(now["status"])))
			}
			Expect(problems).To(match.HaveNoProblems())
		})
	})
	Context("intrekken (vernietiging, ingetrokken toestemming)", func() {
		spec.It("IDX-07", "een ingetrokken verwijzing MOET niet meer geleverd worden, ook niet na de keten", func(ctx SpecContext) {
			b := newBench(ctx)
			client := b.freshClient()
			b.provide(truth.ProvideBundle(b.source, b.submission(), b.pointer(client, 1, "bron")))
			held := b.find(client, anyStatus)
			if len(held) == 0 {
				spec.NotTestable("de index leverde de registratie niet; IDX-02 beoordeelt dat, er is niets in te trekken")
			}
			var problems []string
			id := fmt.Sprint(held[0]["id"])
			status, _, err := b.idx.Delete(ctx, "DocumentReference", id)
			b.judge(err, "DocumentReference/"+id+" intrekken")
			if status < 200 || status > 299 {
				problems = append(problems, fmt.Sprintf("DELETE DocumentReference/%s beantwoord met %d; de index MOET een verwijzing kunnen intrekken", id, status))
			}
			for _, d := range b.find(client, anyStatus) {
				if d["id"] == held[0]["id"] {
					problems = append(problems, fmt.Sprintf("na intrekken levert de zoekvraag DocumentReference/%s nog", id))
				}
			}
			if b.read(id) != nil {
				problems = append(problems, fmt.Sprintf("na intrekken levert DocumentReference/%s op id nog", id))
			}
			problems = append(problems, b.withheldInChain()...)
			Expect(problems).To(match.HaveNoProblems())
		})
	})
	Context("de geautoriseerde weergave van de vragende organisatie", func() {
		spec.It("IDX-09", "de index MOET een organisatie alleen de verwijzingen leveren van cliënten met wie zij een behandelrelatie heeft", func(ctx SpecContext) {
			b := newBench(ctx)
			var index spec.Logged
			ok := false
			if acc := spec.Current().Access; acc != nil {
				index, ok = acc.Logged("index")
			}
			if !ok {
				spec.NotTestable("de bench leest de index niet als zorgverlener met een token van zijn eigen autorisatieserver (auth: {bench: true}): welke organisatie vraagt, weet de index niet")
			}
			client := b.freshClient()
			p := b.pointer(client, 1, "bron")
			p.Subject = p.URL // her Patient at the publisher: a search by patient reference finds her too
			_, answer := b.provide(truth.ProvideBundle(b.source, b.submission(), p))
			held := b.find(client, "current")
			if len(held) == 0 {
				spec.NotTestable("de index levert de verwijzing ook niet aan de organisatie die zij noemt; IDX-02 beoordeelt dat")
			}
			id, _ := held[0]["id"].(string)
			Expect(b.outsiderSees(index.Outsider, client, p.Subject, id, locationOf(answer, 0, "List"))).To(match.HaveNoProblems())
		})
	})
	Context("de bench als afnemer na de keten (ziekenhuis bij verwijzing, JGZ na de geboorte)", func() {
		spec.It("IDX-08", "via de index MOET een afnemer van elke gepubliceerde cliënt een verwijzing naar haar gegevens bij de bron vinden", func(ctx SpecContext) {
			b := newBench(ctx)
			problems, checked := b.reachable()
			if checked == 0 {
				spec.NotTestable("geen bron in deze run publiceert na afloop een cliënt: niets om via de index te vinden")
			}
			Expect(problems).To(match.HaveNoProblems())
		})
	})
})

// anyStatus asks for a pointer whatever its status.
const anyStatus = "current,superseded,entered-in-error"

// bench is the bench talking to the index in one spec.
type bench struct {
	ctx    SpecContext
	idx    *harness.FHIR
	source string
}

var (
	runOnce sync.Once
	run     string // this run's source id: what the bench registers is its own
	next    int    // the next synthetic client's number
	nextMu  sync.Mutex
)

// newBench returns the bench for one spec; without an index in the run the
// spec skips.
func newBench(ctx SpecContext) *bench {
	GinkgoHelper()
	env := spec.Current()
	if env.Index == nil {
		spec.NotTestable("deze run heeft geen index: niets om te beoordelen")
	}
	runOnce.Do(func() {
		run = "urn:uuid:" + truth.ID("bcbench|"+time.Now().Format(time.RFC3339Nano))
		next = 5000 + rand.IntN(4000)
	})
	return &bench{ctx: ctx, idx: env.Index, source: run}
}

// freshClient returns a synthetic client (a test BSN) of whom the index holds
// nothing yet.
func (b *bench) freshClient() string {
	GinkgoHelper()
	for range 40 {
		nextMu.Lock()
		n := next
		next = 5000 + (next-5000+1)%5000
		nextMu.Unlock()
		bsn, ok := fixtures.TestBSN(n)
		if ok && len(b.find(bsn, anyStatus)) == 0 {
			return bsn
		}
	}
	spec.Broke(errors.New("geen synthetische cliënt gevonden van wie de index nog niets houdt (40 geprobeerd)"))
	return ""
}

// submission is a new SubmissionSet id.
func (b *bench) submission() string {
	nextMu.Lock()
	defer nextMu.Unlock()
	next++
	return b.source + "|submission|" + fmt.Sprint(next, time.Now().UnixNano())
}

// pointer is the n-th synthetic pointer of a client at an invented publisher.
// When the bench reads the index as named professionals, the pointer names
// the reader's organisation as one with a care relationship
// (context.related): the bench's reads are its authorised view (IDX-09).
func (b *bench) pointer(bsn string, n int, publisher string) truth.Pointer {
	p := truth.Pointer{
		UniqueID: truth.PointerUniqueID(b.source, bsn, n),
		BSN:      bsn,
		URL:      "https://" + publisher + ".bcbench.invalid/fhir/Patient/" + truth.PatientID(bsn),
		Author:   fixtures.Provider{Name: "bcbench (synthetische bron)", URA: "99990999"},
		Date:     time.Now(),
	}
	if acc := spec.Current().Access; acc != nil && acc.Reader.OrgURA != "" {
		p.CareTeam = []string{acc.Reader.OrgURA}
	}
	return p
}

// provide sends an ITI-65 transaction and returns the status and answer.
func (b *bench) provide(bundle map[string]any) (int, map[string]any) {
	GinkgoHelper()
	status, answer, err := b.idx.Transaction(b.ctx, bundle)
	b.judge(err, "registreren (ITI-65)")
	return status, answer
}

// find returns a client's pointers with the given status (ITI-67).
func (b *bench) find(bsn, status string) []map[string]any {
	GinkgoHelper()
	return b.search(url.Values{"patient.identifier": {truth.BSNSystem + "|" + bsn}, "status": {status}})
}

func (b *bench) search(q url.Values) []map[string]any {
	GinkgoHelper()
	found, err := b.idx.Search(b.ctx, "DocumentReference", q)
	b.judge(err, "zoeken (ITI-67 DocumentReference?"+q.Encode()+")")
	return found
}

// read reads a pointer by id; nil when the index says it is not (any more)
// there (404 or 410).
func (b *bench) read(id string) map[string]any {
	GinkgoHelper()
	d, err := b.idx.Read(b.ctx, "DocumentReference", id)
	var status *harness.StatusError
	if errors.As(err, &status) && (status.Status == http.StatusNotFound || status.Status == http.StatusGone) {
		return nil
	}
	b.judge(err, "DocumentReference/"+id+" lezen")
	return d
}

// judge ends the spec on an error: a redirect elsewhere or a refused valid
// request is the index's fault; no answer at all is the bench's error.
func (b *bench) judge(err error, doing string) {
	GinkgoHelper()
	var redirect *harness.RedirectError
	var status *harness.StatusError
	switch {
	case err == nil:
	case errors.As(err, &redirect):
		Fail(fmt.Sprintf("%s: de index stuurt de bench naar een andere host (%s); niet gevolgd", doing, redirect.To))
	case errors.As(err, &status) && status.Status >= 400 && status.Status < 500:
		Fail(fmt.Sprintf("%s: de index weigert een geldige vraag met %d: %s", doing, status.Status, status.Body))
	default:
		spec.Broke(fmt.Errorf("%s: %w", doing, err))
	}
}

// replaced registers a client's pointer, then one replacing it (relatesTo
// replaces, the old one sent back as superseded), and returns both as the
// index holds them (nil when it does not).
func (b *bench) replaced(bsn string) (first, second map[string]any) {
	GinkgoHelper()
	p1 := b.pointer(bsn, 1, "bron")
	b.provide(truth.ProvideBundle(b.source, b.submission(), p1))
	first = byUniqueID(b.find(bsn, anyStatus), p1.UniqueID)
	if first == nil {
		return nil, nil
	}
	p2 := b.pointer(bsn, 2, "bron")
	p2.Replaces, p2.Old = "DocumentReference/"+fmt.Sprint(first["id"]), first
	status, answer := b.provide(truth.ProvideBundle(b.source, b.submission(), p2))
	if status < 200 || status > 299 {
		Fail(fmt.Sprintf("de index weigerde een vervangende verwijzing (%d): %s", status, outcomeText(answer)))
	}
	return first, byUniqueID(b.find(bsn, anyStatus), p2.UniqueID)
}

// readBack reads a registered pointer by the id its location gave.
func (b *bench) readBack(id string, sent truth.Pointer) []string {
	GinkgoHelper()
	d := b.read(id)
	if d == nil {
		return []string{fmt.Sprintf("DocumentReference/%s uit de bevestiging is niet te lezen", id)}
	}
	var out []string
	for _, p := range differences(sent, d) {
		out = append(out, "gelezen op id "+p)
	}
	return out
}

// responseProblems checks an ITI-65 answer: 200 with a
// transaction-response Bundle, one entry per request entry, each with a
// 2xx status and a location.
func responseProblems(status int, answer map[string]any, entries int) []string {
	if status != http.StatusOK {
		return []string{fmt.Sprintf("de index antwoordde %d op een geldige registratie: %s", status, outcomeText(answer))}
	}
	if answer["resourceType"] != "Bundle" || answer["type"] != "transaction-response" {
		return []string{fmt.Sprintf("het antwoord is %s van type %s, geen transaction-response Bundle", fact.Show(answer["resourceType"]), fact.Show(answer["type"]))}
	}
	got := truth.Items(answer["entry"])
	if len(got) != entries {
		return []string{fmt.Sprintf("de transaction-response heeft %d entries, verwacht %d (één per entry van de registratie)", len(got), entries)}
	}
	var problems []string
	for i, e := range got {
		resp, _ := e.(map[string]any)["response"].(map[string]any)
		st, _ := resp["status"].(string)
		loc, _ := resp["location"].(string)
		if !strings.HasPrefix(st, "20") || loc == "" {
			problems = append(problems, fmt.Sprintf("entry %d van de transaction-response: status %q, location %q; verwacht 201 of 200 met een location", i, st, loc))
		}
	}
	return problems
}

// differences compares a served pointer with what was sent.
func differences(sent truth.Pointer, got map[string]any) []string {
	var out []string
	name := sent.UniqueID
	if got["status"] != "current" {
		out = append(out, fmt.Sprintf("%s: status %s, geregistreerd current", name, fact.Show(got["status"])))
	}
	if bsn := spec.SubjectBSN(got); bsn != sent.BSN {
		out = append(out, fmt.Sprintf("%s: de cliënt is %s, geregistreerd %s", name, maskBSN(bsn), maskBSN(sent.BSN)))
	}
	att := spec.Attachment(got)
	if u, _ := att["url"].(string); u != sent.URL {
		out = append(out, fmt.Sprintf("%s: de verwijzing leidt naar %q, geregistreerd %q", name, u, sent.URL))
	}
	if ct, _ := att["contentType"].(string); ct != truth.PointerContentType {
		out = append(out, fmt.Sprintf("%s: contentType %q, geregistreerd %q", name, ct, truth.PointerContentType))
	}
	return out
}

// withheldInChain lists the clients of the replayed scenarios who withdrew
// consent or asked for deletion and still have a current pointer.
func (b *bench) withheldInChain() []string {
	GinkgoHelper()
	var problems []string
	for _, s := range spec.Current().Scenarios {
		if _, ok := spec.Current().ReplayOf(s.ID); !ok || fact.Withheld(s) == fact.Shared {
			continue
		}
		for _, person := range append([]fixtures.Client{s.Client}, s.Children...) {
			for _, d := range b.find(person.BSN, "current") {
				if spec.SubjectBSN(d) == person.BSN {
					problems = append(problems, fmt.Sprintf("%s (%s): %s %s heeft na %s nog een actuele verwijzing DocumentReference/%s naar %s",
						s.ID, s.Title, person.Given, person.Family, withholding(fact.Withheld(s)), d["id"], fact.Show(spec.Attachment(d)["url"])))
				}
			}
		}
	}
	return problems
}

func withholding(w fact.Withholding) string {
	if w == fact.Deleted {
		return "haar verzoek tot vernietiging"
	}
	return "het intrekken van haar toestemming"
}

// reachable finds every client each publisher publishes through the index
// and follows her pointer to the publisher; it returns the problems and
// how many (client, publisher) pairs it checked.
func (b *bench) reachable() ([]string, int) {
	GinkgoHelper()
	env := spec.Current()
	publishers := env.Publishers
	if len(publishers) == 0 && env.XIS != nil {
		publishers = []spec.Publisher{{Role: "xis", XIS: env.XIS, Adapter: env.Adapter}}
	}
	var problems []string
	checked := 0
	for _, s := range env.Scenarios {
		if _, ok := env.ReplayOf(s.ID); !ok || fact.Withheld(s) != fact.Shared {
			continue
		}
		for _, person := range append([]fixtures.Client{s.Client}, s.Children...) {
			var pointers []map[string]any
			for _, p := range publishers {
				pid, full := b.patientAt(p, person.BSN)
				if pid == "" {
					continue
				}
				checked++
				if pointers == nil {
					pointers = b.find(person.BSN, "current")
				}
				problems = append(problems, b.follow(p, s, person, pid, full, pointers)...)
			}
		}
	}
	return problems, checked
}

// patientAt returns the client's Patient id and fullUrl at a publisher, or
// "" when it publishes no Patient with her BSN.
func (b *bench) patientAt(p spec.Publisher, bsn string) (string, string) {
	GinkgoHelper()
	entries, err := p.XIS.SearchEntries(b.ctx, "Patient", url.Values{"identifier": {truth.BSNSystem + "|" + bsn}})
	if err != nil {
		spec.Broke(fmt.Errorf("de Patient met BSN …%s zoeken bij %s: %w", last3(bsn), p.Role, err))
	}
	for _, e := range entries {
		if e.Match && subjectIdentifiers(e.Resource["identifier"], bsn) {
			id, _ := e.Resource["id"].(string)
			return id, e.FullURL
		}
	}
	return "", ""
}

// follow checks that one of the client's current pointers leads to her
// Patient at the publisher, and reads it there through the publisher's
// recording proxy; a pointer elsewhere is never followed.
func (b *bench) follow(p spec.Publisher, s *fixtures.Scenario, person fixtures.Client, pid, full string, pointers []map[string]any) []string {
	GinkgoHelper()
	var seen []string
	for _, d := range pointers {
		u, _ := spec.Attachment(d)["url"].(string)
		seen = append(seen, u)
		if spec.SubjectBSN(d) != person.BSN || !spec.LeadsTo(u, full, pid) {
			continue
		}
		res, err := p.XIS.ReadURL(b.ctx, u)
		if err != nil {
			return []string{fmt.Sprintf("%s: de verwijzing %s van %s %s naar %s is niet te volgen: %v", s.ID, u, person.Given, person.Family, p.Role, err)}
		}
		if res["resourceType"] != "Patient" || !subjectIdentifiers(res["identifier"], person.BSN) {
			return []string{fmt.Sprintf("%s: de verwijzing %s leidt niet naar de Patient van %s %s", s.ID, u, person.Given, person.Family)}
		}
		return nil
	}
	slices.Sort(seen)
	return []string{fmt.Sprintf("%s (%s): %s %s wordt gepubliceerd door %s (%s), maar de index levert geen actuele verwijzing daarheen (wel: %s)",
		s.ID, s.Title, person.Given, person.Family, p.Role, full, strings.Join(seen, ", "))}
}

func subjectIdentifiers(ids any, bsn string) bool {
	for _, i := range truth.Items(ids) {
		m, _ := i.(map[string]any)
		if m["system"] == truth.BSNSystem && m["value"] == bsn {
			return true
		}
	}
	return false
}

func uniqueID(d map[string]any) string {
	m, _ := d["masterIdentifier"].(map[string]any)
	v, _ := m["value"].(string)
	return v
}

func byUniqueID(list []map[string]any, u string) map[string]any {
	for _, d := range list {
		if uniqueID(d) == u {
			return d
		}
	}
	return nil
}

func count(list []map[string]any, u string) int {
	n := 0
	for _, d := range list {
		if uniqueID(d) == u {
			n++
		}
	}
	return n
}

func uniqueIDs(list []map[string]any) string {
	var out []string
	for _, d := range list {
		out = append(out, fmt.Sprintf("DocumentReference/%s (%s)", d["id"], uniqueID(d)))
	}
	return strings.Join(out, ", ")
}

// sortedIDs lists the unique ids of pointers, sorted.
func sortedIDs(list []map[string]any) []string {
	out := make([]string, 0, len(list))
	for _, d := range list {
		out = append(out, uniqueID(d))
	}
	slices.Sort(out)
	return out
}

// locationID is the pointer id in the location of a transaction-response
// entry.
func locationID(answer map[string]any, entry int) string {
	return locationOf(answer, entry, "DocumentReference")
}

// locationOf is the id of a resource of the type in the location of a
// transaction-response entry, "" for none.
func locationOf(answer map[string]any, entry int, typ string) string {
	entries := truth.Items(answer["entry"])
	if entry >= len(entries) {
		return ""
	}
	resp, _ := entries[entry].(map[string]any)["response"].(map[string]any)
	loc, _ := resp["location"].(string)
	segs := strings.Split(loc, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == typ {
			return segs[i+1]
		}
	}
	return ""
}

func outcomeText(answer map[string]any) string {
	var out []string
	for _, i := range truth.Items(answer["issue"]) {
		m, _ := i.(map[string]any)
		out = append(out, fmt.Sprint(m["diagnostics"]))
	}
	if len(out) == 0 {
		return "geen OperationOutcome"
	}
	return strings.Join(out, "; ")
}

// maskBSN shows a BSN by its last three digits.
func maskBSN(bsn string) string { return "…" + last3(bsn) }

func last3(s string) string {
	if len(s) < 3 {
		return s
	}
	return s[len(s)-3:]
}
