package xis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reference/audit"
)

// Mutant is the reference XIS with one seeded defect. Violates lists the
// requirement IDs the bench must report as failed for it, and only those:
// the bench's mutation score counts the mutants it catches exactly.
type Mutant struct {
	Name        string
	Description string // Dutch, what is wrong
	Violates    []string
	resource    func(map[string]any) // changes one published resource in place
	metadata    func(map[string]any) // changes the CapabilityStatement in place
	leak        bool                 // searches ignore their criteria
	keepConsent bool                 // ignores withdrawn consent
	keepDeleted bool                 // ignores deletion requests
	// Partial defects: each sees the registration or the request it acts on.
	refuse     func(fixtures.Registration) bool                                           // the adapter refuses this event
	change     func(fixtures.Registration, []map[string]any) []map[string]any             // changes what one event publishes
	shareOnly  func(map[string]any) bool                                                  // still shared after consent is withdrawn
	spare      func(r map[string]any, child bool) bool                                    // kept after a deletion request
	mark       func(fixtures.Registration, map[string]any) bool                           // what is marked is kept after a deletion request
	shareLater bool                                                                       // what is registered after a withdrawal is shared anyway
	searchset  func(typ string, bundle map[string]any, all func(string) []map[string]any) // changes a searchset before it is sent
	audit      func(a *audit.Access, event map[string]any) bool                           // changes an AuditEvent; false: not logged
	late       func(fixtures.Registration) time.Duration                                  // what this event publishes appears only after this delay
}

func (m *Mutant) apply(resources []map[string]any) {
	if m.resource == nil {
		return
	}
	for _, r := range resources {
		m.resource(r)
	}
}

func (m *Mutant) applyMetadata(cs map[string]any) {
	if m.metadata != nil {
		m.metadata(cs)
	}
}

// Mutants lists every seeded defect of the reference XIS.
var Mutants = []Mutant{
	{
		Name: "gewicht-in-gram", Violates: []string{"INH-01"},
		Description: "het lichaamsgewicht wordt met eenheid g gepubliceerd terwijl de waarde in kg is",
		resource: onObservation("29463-7", func(r map[string]any) {
			if q, ok := r["valueQuantity"].(map[string]any); ok {
				q["unit"], q["code"] = "g", "g"
			}
		}),
	},
	{
		Name: "pariteit-plus-een", Violates: []string{"INH-01"},
		Description: "de pariteit wordt één hoger gepubliceerd dan geregistreerd",
		resource: onObservation("364325004", func(r map[string]any) {
			if n, ok := r["valueInteger"].(json.Number); ok {
				v, _ := n.Int64()
				r["valueInteger"] = json.Number(itoa(v + 1))
			} else if v, ok := r["valueInteger"].(int); ok {
				r["valueInteger"] = v + 1
			}
		}),
	},
	{
		Name: "geen-profielclaim", Violates: []string{"INH-02"},
		Description: "observaties noemen geen profiel in meta.profile",
		resource: func(r map[string]any) {
			if r["resourceType"] == "Observation" {
				if meta, ok := r["meta"].(map[string]any); ok {
					delete(meta, "profile")
					if len(meta) == 0 {
						delete(r, "meta") // an empty element is not valid FHIR (ele-1)
					}
				}
			}
		},
	},
	{
		// Facts pair with a resource by code and day: a resource of another
		// day is no pair, so every content requirement misses the fact.
		Name: "datum-verschoven", Violates: []string{"INH-01", "INH-02", "INH-03", "INH-04"},
		Description: "de datum van waarneming schuift één dag op",
		resource: func(r map[string]any) {
			if r["resourceType"] != "Observation" {
				return
			}
			if s, ok := r["effectiveDateTime"].(string); ok {
				r["effectiveDateTime"] = shiftDay(s)
			}
		},
	},
	{
		Name: "geen-uitvoerder", Violates: []string{"INH-04"},
		Description: "observaties zeggen niet wie ze vastlegde",
		resource: func(r map[string]any) {
			if r["resourceType"] == "Observation" {
				delete(r, "performer")
			}
		},
	},
	{
		// Without its end date an ended agreement looks current, so the
		// overview is wrong as well.
		Name: "zonder-gebruiksperiode", Violates: []string{"MP9-01", "MP9-04"},
		Description: "MedicatieAfspraken missen de gebruiksperiode",
		resource: func(r map[string]any) {
			if r["resourceType"] != "MedicationRequest" {
				return
			}
			exts, _ := r["extension"].([]any)
			r["extension"] = slices.DeleteFunc(slices.Clone(exts), func(e any) bool {
				m, _ := e.(map[string]any)
				u, _ := m["url"].(string)
				return strings.HasSuffix(u, "TimeInterval.Period") || strings.HasSuffix(u, "TimeInterval-Period")
			})
		},
	},
	{
		// The overview shows each agreement with its MBH id, so MP9-04 sees it too.
		Name: "mbh-per-bouwsteen", Violates: []string{"MP9-02", "MP9-04"},
		Description: "elke medicatiebouwsteen krijgt een eigen MBH-id, zodat de bouwstenen van één behandeling niet meer verbonden zijn",
		resource: func(r map[string]any) {
			for _, e := range asList(r["extension"]) {
				ext, _ := e.(map[string]any)
				if u, _ := ext["url"].(string); strings.HasSuffix(u, "ext-PharmaceuticalTreatment.Identifier") {
					if id, ok := ext["valueIdentifier"].(map[string]any); ok {
						id["value"] = fmt.Sprint(id["value"], "-", r["id"])
					}
				}
			}
		},
	},
	{
		// Without its stop type a stop agreement reads as a change that ends
		// on the stop date: the overview stays the same, only MP9-03 sees it.
		Name: "geen-stoptype", Violates: []string{"MP9-03"},
		Description: "een gestopte MedicatieAfspraak wordt zonder stoptype gepubliceerd",
		resource: func(r map[string]any) {
			if r["resourceType"] == "MedicationRequest" {
				delete(r, "modifierExtension")
			}
		},
	},
	{
		// The stop agreement is compared on its priorPrescription (MP9-01).
		Name: "stop-zonder-verwijzing", Violates: []string{"MP9-01", "MP9-04"},
		Description: "een stop-MedicatieAfspraak verwijst niet naar de afspraak die zij stopt, zodat die in het overzicht actief blijft",
		resource: func(r map[string]any) {
			if r["resourceType"] == "MedicationRequest" && r["modifierExtension"] != nil {
				delete(r, "priorPrescription")
			}
		},
	},
	{
		Name: "metadata-stu3", Violates: []string{"API-01"},
		Description: "het CapabilityStatement meldt FHIR 3.0.2 in plaats van 4.0.1",
		metadata:    func(cs map[string]any) { cs["fhirVersion"] = "3.0.2" },
	},
	{
		// Ignoring the criteria hands out other clients' data, never that of
		// a client who withdrew consent or asked for deletion (hidden or
		// erased before any search): API-02 alone.
		Name: "lekkende-zoekvraag", Violates: []string{"API-02"},
		Description: "een zoekvraag negeert de zoekcriteria en geeft gegevens van alle cliënten",
		leak:        true,
	},
	{
		Name: "negeert-intrekking", Violates: []string{"VTR-01"},
		Description: "het XIS blijft gegevens delen nadat de cliënt haar toestemming heeft ingetrokken",
		keepConsent: true,
	},
	{
		Name: "vernietigt-niet", Violates: []string{"VTR-02"},
		Description: "het XIS bevestigt een verzoek tot vernietiging maar bewaart de gegevens",
		keepDeleted: true,
	},
	{
		Name: "ongeldige-status", Violates: []string{"PRF-01"},
		Description: "observaties dragen een status buiten de verplichte waardelijst (FHIR observation-status)",
		resource: func(r map[string]any) {
			if r["resourceType"] == "Observation" {
				r["status"] = "afgerond"
			}
		},
	},
	{
		Name: "naam-verwisseld", Violates: []string{"INH-05"},
		Description: "voornaam en achternaam van de cliënt zijn verwisseld",
		resource: func(r map[string]any) {
			if r["resourceType"] != "Patient" {
				return
			}
			names, _ := r["name"].([]any)
			for _, n := range names {
				name, _ := n.(map[string]any)
				given, _ := name["given"].([]any)
				if family, ok := name["family"].(string); ok && len(given) > 0 {
					g, _ := given[0].(string)
					name["family"], name["given"] = g, []any{family}
					delete(name, "_family")
					delete(name, "text")
				}
			}
		},
	},
}

// LookupMutant returns the mutant with the given name.
func LookupMutant(name string) (Mutant, bool) {
	for _, m := range Mutants {
		if m.Name == name {
			return m, true
		}
	}
	return Mutant{}, false
}

// MutantNames lists the names of all mutants.
func MutantNames() []string {
	names := make([]string, len(Mutants))
	for i, m := range Mutants {
		names[i] = m.Name
	}
	return names
}

// onObservation applies change to Observations that carry the given code.
func onObservation(code string, change func(map[string]any)) func(map[string]any) {
	return func(r map[string]any) {
		if r["resourceType"] != "Observation" {
			return
		}
		concept, _ := r["code"].(map[string]any)
		codings, _ := concept["coding"].([]any)
		for _, c := range codings {
			coding, _ := c.(map[string]any)
			if coding["code"] == code {
				change(r)
				return
			}
		}
	}
}

// shiftDay moves a FHIR date or dateTime one day later.
func shiftDay(s string) string {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.AddDate(0, 0, 1).Format(layout)
		}
	}
	return s
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
