package index

import (
	"net/http"
	"slices"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reference/audit"
)

// Timeliness mutants (TIJ-02, TIJ-03) are late for one client only: the
// mother of the acute referral (scenario spoedsectio), as the reference
// XIS's late mutant is, for registratie-laat; the mother of ongecompliceerd
// for verwijzing-laat (a consumer late for the acute referral is OVD-01's
// finding as well, docs/transfer.md). Their delays fit the short limits the mutant test
// runs under (a self-test override, docs/timeliness.md: index 5 s, consumer
// 12 s): each is past its own hop's limit and within that limit's horizon
// (three times the limit), and the registration delay stays within the
// consumer limit, so each fails its own requirement only.
const (
	// RegisteredLateBy is how long registratie-laat keeps a new pointer of
	// that client out of its searches.
	RegisteredLateBy = 7 * time.Second
	// PointedLateBy is how long verwijzing-laat serves a new pointer of
	// that client with a location that is not yet the publisher's.
	PointedLateBy = 16 * time.Second
)

// clientOf is the BSN of a golden scenario's client.
func clientOf(scenario string) string {
	s, ok := fixtures.Lookup(scenario)
	if !ok {
		panic("reference index: scenario " + scenario + " is not among the golden scenarios")
	}
	return s.Client.BSN
}

// Mutant is the reference index with one seeded defect. Violates lists the
// requirement IDs the bench must report as failed for it, and only those.
type Mutant struct {
	Name        string
	Description string // Dutch, what is wrong
	Violates    []string
	loseSecond  bool   // the second new pointer of a transaction is answered but not stored
	keepDeleted bool   // a withdrawal is answered but the pointer stays
	otherClient bool   // a search adds another client's pointer
	keepCurrent bool   // a replaced pointer stays current
	ignore      string // a search parameter the index ignores
	half        bool   // a failing transaction keeps the entries before the bad one
	redirect    bool   // pointers are served pointing at the index, which redirects to another host
	duplicate   bool   // the same registration sent again is stored again
	// hideFor keeps a new pointer of lateClient out of searches this long
	// after it was stored; misleadFor serves it this long with a location
	// at the index (which holds no document) instead of the publisher's.
	hideFor, misleadFor time.Duration
	lateFor             string // the BSN of the client they are late for
	// audit changes an AuditEvent of a read; false: it is not logged.
	audit func(a *audit.Access, event map[string]any) bool
	// open serves every organisation every pointer: no authorised view.
	open bool
	// leak skips the authorised view for the pointer searches or reads it
	// says yes to (one form of asking), and applies it to the others.
	leak func(r *http.Request) bool
	// once logs a served search for a client's pointers once this long:
	// the repeated ones within it are not logged (refusals are).
	once time.Duration
}

// Mutants lists every seeded defect of the reference index.
var Mutants = []Mutant{
	{
		Name: "registratie-kwijt", Violates: []string{"IDX-02"},
		Description: "de index bevestigt een registratie met meerdere verwijzingen, maar bewaart de tweede niet",
		loseSecond:  true,
	},
	{
		Name: "verwijzing-blijft", Violates: []string{"IDX-07"},
		Description: "de index bevestigt het intrekken van een verwijzing (vernietiging, ingetrokken toestemming) maar blijft haar leveren",
		keepDeleted: true,
	},
	{
		Name: "dubbel-geregistreerd", Violates: []string{"IDX-03"},
		Description: "de index slaat dezelfde registratie die een bron opnieuw aanbiedt nogmaals op, als tweede verwijzing",
		duplicate:   true,
	},
	{
		Name: "andere-client", Violates: []string{"IDX-04"},
		Description: "een zoekvraag naar de verwijzingen van een cliënt levert ook een verwijzing van een andere cliënt",
		otherClient: true,
	},
	{
		Name: "vervangen-blijft-actueel", Violates: []string{"IDX-06"},
		Description: "een vervangen verwijzing blijft status current houden",
		keepCurrent: true,
	},
	{
		Name: "status-genegeerd", Violates: []string{"IDX-05"},
		Description: "de index negeert de zoekparameter status en levert ook vervangen verwijzingen",
		ignore:      "status",
	},
	{
		Name: "half-toegepast", Violates: []string{"IDX-01"},
		Description: "een afgekeurde registratie wordt half verwerkt: wat vóór de foute entry stond, wordt toch bewaard",
		half:        true,
	},
	{
		// No consumer gets past the index: not the clock's (TIJ-03), not
		// the receiver of a transfer (OVD-*).
		Name: "omleiding", Violates: []string{"IDX-02", "IDX-08", "OVD-01", "OVD-02", "OVD-03", "TIJ-03"},
		Description: "de index levert verwijzingen die naar de index zelf wijzen en stuurt de consument daar door naar een andere host",
		redirect:    true,
	},
	{
		Name: "registratie-laat", Violates: []string{"TIJ-02"},
		Description: "de index verwerkt de registraties van één cliënt (de spoedverwijzing) pas enkele seconden later, via een wachtrij: " +
			"zolang is haar nieuwe verwijzing niet te vinden; alle andere meteen",
		hideFor: RegisteredLateBy, lateFor: clientOf("spoedsectio"),
	},
	{
		Name: "verwijzing-laat", Violates: []string{"TIJ-03"},
		Description: "de index toont de nieuwe verwijzing van één cliënt (een ongecompliceerde zwangerschap) meteen, maar laat haar de eerste seconden " +
			"naar de eigen opslag wijzen, waar het document nog niet staat; een afnemer vindt haar gegevens pas daarna bij de bron",
		misleadFor: PointedLateBy, lateFor: clientOf("ongecompliceerd"),
	},
	{
		Name: "buiten-behandelrelatie", Violates: []string{"IDX-09"},
		Description: "de index levert de verwijzingen van een cliënt ook aan een organisatie zonder behandelrelatie met haar (geen geautoriseerde weergave)",
		open:        true,
	},
	{
		Name: "zoekformulier-buiten-behandelrelatie", Violates: []string{"IDX-09"},
		Description: "de index past de geautoriseerde weergave toe op GET DocumentReference?…, maar niet op het zoekformulier (POST DocumentReference/_search): daar krijgt elke organisatie de verwijzingen van elke cliënt",
		leak:        func(r *http.Request) bool { return r.Method == http.MethodPost },
	},
	{
		Name: "lezen-buiten-behandelrelatie", Violates: []string{"IDX-09"},
		Description: "de index past de geautoriseerde weergave toe op zoekvragen, maar niet op het lezen van één verwijzing (GET DocumentReference/<id>): wie haar id kent, leest haar verwijzing",
		leak:        func(r *http.Request) bool { return r.PathValue("id") != "" },
	},
	// Defects of the access log (LOG-*): the index serves and refuses as the
	// reference does and gets one thing of its log wrong.
	{
		Name: "herhaalde-zoekvraag-niet-gelogd", Violates: []string{"LOG-01"},
		Description: "de index vat zijn log samen: van de beantwoorde zoekvragen naar de verwijzingen van één cliënt logt hij er één per minuut; de herhaalde zoekvragen daarbinnen staan niet in het log (weigeringen wel)",
		once:        time.Minute,
	},
	{
		Name: "zoekformulier-niet-gelogd", Violates: []string{"LOG-01"},
		Description: "de index logt zoekvragen met GET, maar niet dezelfde zoekvraag als formulier (POST DocumentReference/_search)",
		audit:       func(a *audit.Access, _ map[string]any) bool { return !a.Search || a.Method != http.MethodPost },
	},
	{
		Name: "index-log-technisch-account", Violates: []string{"LOG-02"},
		Description: "de index logt elke raadpleging onder het technische account van de regionale koppeling in plaats van de zorgverlener uit het token",
		audit: func(_ *audit.Access, ev map[string]any) bool {
			audit.AsAccount(ev, "https://index.bcbench.test/account", "svc-regio", "Regionale koppeling")
			return true
		},
	},
	{
		Name: "index-log-zonder-client", Violates: []string{"LOG-03"},
		Description: "de index logt wie zocht, wat en wanneer, maar niet naar welke cliënt (haar BSN staat alleen in de zoekvraag)",
		audit: func(_ *audit.Access, ev map[string]any) bool {
			audit.WithoutClient(ev)
			return true
		},
	},
}

// leaks says whether the mutant serves this pointer search or read outside
// the authorised view.
func (m *Mutant) leaks(r *http.Request) bool {
	return m != nil && m.leak != nil && m.leak(r)
}

// hidden says whether a mutant keeps the pointer out of searches now.
func (m *Mutant) hidden(p *pointer, now time.Time) bool {
	return m != nil && m.hideFor > 0 && p.client() == m.lateFor && now.Before(p.at.Add(m.hideFor))
}

// misleads says whether a mutant serves the pointer with a location at the
// index now.
func (m *Mutant) misleads(p *pointer, now time.Time) bool {
	return m != nil && m.misleadFor > 0 && p.client() == m.lateFor && now.Before(p.at.Add(m.misleadFor))
}

// Delay is how long after a registration a timeliness mutant may still
// serve it late (0 for the others): a run's clock settles past it before
// the specs read the index.
func (m Mutant) Delay() time.Duration { return max(m.hideFor, m.misleadFor) }

// LookupMutant returns the mutant with the given name.
func LookupMutant(name string) (Mutant, bool) {
	i := slices.IndexFunc(Mutants, func(m Mutant) bool { return m.Name == name })
	if i < 0 {
		return Mutant{}, false
	}
	return Mutants[i], true
}

// MutantNames lists the names of all mutants.
func MutantNames() []string {
	var names []string
	for _, m := range Mutants {
		names = append(names, m.Name)
	}
	return names
}
