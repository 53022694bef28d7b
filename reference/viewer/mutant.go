package viewer

import (
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Mutant is the reference viewer with one seeded defect, and the VWR
// requirements the bench must find it violating (exactly these).
type Mutant struct {
	Name        string
	Description string
	Violates    []string
	// Launch is the launch mode the defect is of (LaunchSMART when empty).
	Launch string

	loginForm  bool // shows a log-in form with a password field
	replay     bool // opens a record for a replayed return address (no state check, codes cached)
	keepOld    bool // keeps the earlier client after a new launch in the same browser
	unit       func(code fixtures.Coding, v fixtures.Value, shown string) string
	ignoreStop bool // a stopped medication stays on the overview
	logo       bool // an image without a text alternative
	pale       bool // text with a contrast below 4.5:1
	trap       bool // a keyboard trap
	noLang     bool // no page language
	technical  bool // logs views under the viewer's system account
	stale      bool // serves a client's record read in the last StaleFor again
	misfile    bool // the second twin's birth weight shown under the first
	reuse      bool // accepts a context token whose jti it saw before
	hiddenName bool // refusing a replayed return address, hides her name and BSN in the page
	leakFetch  bool // refusing an already used launch, fetches her data as JSON it does not show
}

// LaunchMode is the launch mode the mutant runs in.
func (m Mutant) LaunchMode() string {
	if m.Launch == "" {
		return LaunchSMART
	}
	return m.Launch
}

// StaleFor is how long the verouderd-dossier mutant serves a client's
// record as it read it: a fact registered meanwhile shows only after it.
const StaleFor = 10 * time.Minute

// Mutants are the seeded-defect viewers; each fails exactly Violates.
var Mutants = []Mutant{
	{Name: "inlogformulier", Description: "vraagt na de opening om een gebruikersnaam en wachtwoord", Violates: []string{"VWR-01"}, loginForm: true},
	{Name: "zonder-launch", Description: "opent het dossier ook voor een herhaald terugkeeradres zonder eigen opening (state niet gecontroleerd, code bewaard)", Violates: []string{"VWR-02"}, replay: true},
	{Name: "vorige-client", Description: "toont na het openen van cliënt B ook nog cliënt A", Violates: []string{"VWR-03"}, keepOld: true},
	{Name: "gewicht-in-gram", Description: "toont het lichaamsgewicht met de eenheid g in plaats van kg", Violates: []string{"VWR-04"}, unit: func(code fixtures.Coding, v fixtures.Value, shown string) string {
		if code == fixtures.CodeBodyWeight && v.Quantity != nil {
			return strings.TrimSuffix(shown, " kg") + " g"
		}
		return shown
	}},
	{Name: "tweeling-verwisseld", Description: "toont het geboortegewicht van het tweede kind van een tweeling bij het eerste kind", Violates: []string{"VWR-04"}, misfile: true},
	{Name: "stop-genegeerd", Description: "laat een gestopte medicatieafspraak op het medicatieoverzicht staan", Violates: []string{"VWR-05"}, ignoreStop: true},
	{Name: "technisch-account", Description: "logt inzage onder het systeemaccount van de viewer in plaats van de zorgverlener", Violates: []string{"VWR-06"}, technical: true},
	{Name: "logo-zonder-alt", Description: "een afbeelding zonder tekstalternatief", Violates: []string{"VWR-07"}, logo: true},
	{Name: "laag-contrast", Description: "tekst met een contrast onder 4,5:1", Violates: []string{"VWR-07"}, pale: true},
	{Name: "toetsenbordval", Description: "een invoerveld dat de focus vasthoudt (Tab werkt niet)", Violates: []string{"VWR-07"}, trap: true},
	{Name: "verouderd-dossier", Description: "bewaart het dossier van een cliënt 10 minuten: een nieuw geregistreerd gegeven verschijnt pas daarna", Violates: []string{"VWR-08"}, stale: true},
	{Name: "token-hergebruik", Description: "opent het dossier ook voor een contexttoken dat al gebruikt is (jti niet onthouden)", Violates: []string{"VWR-02"}, Launch: LaunchContextToken, reuse: true},
	{Name: "verborgen-naam", Description: "weigert een herhaald terugkeeradres, maar zet naam en BSN van de cliënt in een verborgen element en een HTML-commentaar van de weigeringspagina", Violates: []string{"VWR-02"}, hiddenName: true},
	{Name: "lekkende-fetch", Description: "weigert een al gebruikte opening, maar de weigeringspagina haalt de gegevens van de cliënt (naam, BSN, geboortedatum) als JSON op zonder ze te tonen", Violates: []string{"VWR-02"}, leakFetch: true},
	{Name: "geen-taal", Description: "de pagina noemt haar taal niet", Violates: []string{"VWR-07"}, noLang: true},
}

// LookupMutant finds a mutant by name.
func LookupMutant(name string) (Mutant, bool) {
	i := slices.IndexFunc(Mutants, func(m Mutant) bool { return m.Name == name })
	if i < 0 {
		return Mutant{}, false
	}
	return Mutants[i], true
}

// MutantNames lists the mutants' names.
func MutantNames() []string {
	out := make([]string, len(Mutants))
	for i, m := range Mutants {
		out[i] = m.Name
	}
	return out
}
