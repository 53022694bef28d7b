package dvza

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// Mutant is the reference DVZA with one seeded defect. Violates lists the
// requirement IDs the bench must report as failed for it, and only those.
type Mutant struct {
	Name        string
	Description string // Dutch, what is wrong
	Violates    []string

	showBSN             bool                      // her Patient carries her BSN
	patientParam        bool                      // patient= / subject= in the URL is taken (and ignored)
	leakContext         bool                      // context= searches every client's data
	leakID              bool                      // _id and read by id reach every client's data
	reuseCode           bool                      // an authorization code works twice
	queryToken          bool                      // the token is taken from ?access_token=
	acceptExpired       bool                      // an expired token still works
	totalIncludes       bool                      // Bundle.total counts _include'd entries
	emptyNotFound       bool                      // a client without data gets 404
	keepAfterWithdrawal bool                      // withdrawn consent is not honoured
	logOnlySuccess      bool                      // refusals are not logged
	noExpiryUnknown     bool                      // the token answer of a client without a record lacks expires_in
	failingInclude      string                    // this _include answers 500 once it finds a resource to include
	staleCache          bool                      // a client's record, once read, is served from a cache for StaleFor
	ignoredParam        string                    // "Type:param": that search parameter is taken and ignored
	change              func(map[string]any)      // changes a resource as it is stored
	loseOne             func(map[string]any) bool // the first resource it matches is never stored (one event of one client)
}

// Mutants lists every seeded defect of the reference DVZA.
var Mutants = []Mutant{
	{Name: "bsn-in-antwoord", Violates: []string{"MM-07"}, showBSN: true,
		Description: "de Patient in een antwoord draagt het BSN van de cliënt"},
	{Name: "patient-in-url", Violates: []string{"MM-08"}, patientParam: true,
		Description: "een zoekvraag met patient= of subject= in de URL wordt aangenomen"},
	{Name: "andere-client-context", Violates: []string{"MM-09"}, leakContext: true,
		Description: "een zoekvraag met context=EpisodeOfCare/… levert ook het dossier van een andere cliënt"},
	{Name: "andere-client-id", Violates: []string{"MM-09"}, leakID: true,
		Description: "met _id of lezen op id krijgt een cliënt een resource van een andere cliënt"},
	{Name: "code-hergebruik", Violates: []string{"MM-02"}, reuseCode: true,
		Description: "een autorisatiecode levert ook een tweede keer een toegangstoken"},
	{Name: "token-in-query", Violates: []string{"MM-03"}, queryToken: true,
		Description: "het toegangstoken wordt ook als access_token-parameter in de URL aangenomen"},
	{Name: "verlopen-token", Violates: []string{"MM-04"}, acceptExpired: true,
		Description: "een verlopen toegangstoken geeft nog toegang"},
	{Name: "total-telt-include", Violates: []string{"MM-06"}, totalIncludes: true,
		Description: "Bundle.total telt ook de met _include meegeleverde resources"},
	{Name: "lege-client-404", Violates: []string{"MM-12"}, emptyNotFound: true,
		Description: "een cliënt zonder gegevens krijgt 404 in plaats van een lege searchset"},
	{Name: "gewicht-in-gram", Violates: []string{"MM-10"}, change: weightInGrams,
		Description: "het lichaamsgewicht van de moeder wordt in gram geleverd in plaats van kilogram (zelfde hoeveelheid, verkeerde eenheid)"},
	{Name: "een-gewicht-kwijt", Violates: []string{"MM-10", "MM-15"}, loseOne: isWeight,
		Description: "het eerste geregistreerde lichaamsgewicht van één cliënt wordt nooit opgeslagen (één gebeurtenis kwijt); MM-15 faalt mee zolang de run minder dan vier cliënten met gegevens heeft"},
	{Name: "geen-expires-in-zonder-dossier", Violates: []string{"MM-01"}, noExpiryUnknown: true,
		Description: "het tokenantwoord voor een cliënt van wie de DVZA (nog) geen dossier heeft mist expires_in (de levensduur wordt uit haar dossier gelezen)"},
	{Name: "include-uitvoerder-500", Violates: []string{"MM-05"}, failingInclude: "Procedure:performer",
		Description: "de zoekvraag Procedure met _include=Procedure:performer faalt met 500 (OperationOutcome) zodra er een uitvoerder mee moet; de andere zoekvragen werken"},
	{Name: "geboortedatum-nederlands", Violates: []string{"MM-11"}, change: dutchBirthDate,
		Description: "Patient.birthDate staat in Nederlandse notatie (dd-mm-jjjj), geen FHIR-date; de rest van de Patient klopt"},
	{Name: "verouderde-cache", Violates: []string{"MM-16"}, staleCache: true,
		Description: "het dossier van een cliënt wordt na het opvragen " + StaleFor.String() + " uit een cache geleverd: een gegeven dat in die tijd geregistreerd wordt, is pas daarna beschikbaar (te laat onder een verkorte beschikbaarheidsgrens)"},
	{Name: "practitioner-genegeerd", Violates: []string{"TS-01"}, ignoredParam: "PractitionerRole:practitioner",
		Description: "de zoekparameter practitioner van PractitionerRole wordt genegeerd: elke zoekvraag levert al haar PractitionerRoles (een zoekvraag van de TestScripts, niet van de PGO-zoekvragen)"},
	{Name: "na-intrekking", Violates: []string{"MM-13"}, keepAfterWithdrawal: true,
		Description: "na het intrekken van de toestemming levert de DVZA haar gegevens nog"},
	{Name: "weigering-niet-gelogd", Violates: []string{"MM-14"}, logOnlySuccess: true,
		Description: "geweigerde verzoeken (zonder of met ongeldig token) staan niet in het toegangslog"},
}

// StaleFor is how long the mutant verouderde-cache serves a client's
// record from its cache after she read it: longer than the availability
// limit the suite test runs under, far within the seed's week.
const StaleFor = 2500 * time.Millisecond

// isWeight: a body weight (LOINC 29463-7) Observation.
func isWeight(res map[string]any) bool {
	if res["resourceType"] != "Observation" {
		return false
	}
	code, _ := res["code"].(map[string]any)
	for _, c := range items(code["coding"]) {
		if m, _ := c.(map[string]any); m["code"] == "29463-7" {
			return true
		}
	}
	return false
}

// weightInGrams rewrites a body weight (LOINC 29463-7) from kg to g.
func weightInGrams(res map[string]any) {
	q, _ := res["valueQuantity"].(map[string]any)
	if !isWeight(res) || q == nil || q["code"] != "kg" {
		return
	}
	if n, ok := q["value"].(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			q["value"] = f * 1000
		}
	} else if f, ok := q["value"].(float64); ok {
		q["value"] = f * 1000
	}
	q["unit"], q["code"] = "g", "g"
}

// dutchBirthDate writes a Patient's birthDate as dd-mm-yyyy.
func dutchBirthDate(res map[string]any) {
	d, _ := res["birthDate"].(string)
	if res["resourceType"] != "Patient" || len(d) != len("2006-01-02") {
		return
	}
	res["birthDate"] = d[8:10] + "-" + d[5:7] + "-" + d[0:4]
}

// withBSN is her Patient with the BSN value unmasked (another Patient is
// left as it is).
func withBSN(p map[string]any, bsn string) map[string]any {
	if p["id"] != truth.PatientID(bsn) {
		return p
	}
	out := truth.Clone(p)
	ids, _ := out["identifier"].([]any)
	for _, i := range ids {
		m, _ := i.(map[string]any)
		if m["system"] == fixtures.BSNSystem {
			delete(m, "_value")
			m["value"] = bsn
		}
	}
	return out
}

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
