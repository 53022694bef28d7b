package xis

import (
	"maps"
	"slices"
	"strings"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// Partial defects of the trust framework, the child's record, the search
// API and the adapter: each one touches one event, one client, one child,
// one resource type or one element, the way real vendor bugs do.
func init() {
	Mutants = append(Mutants, partialMutants...)
}

var partialMutants = []Mutant{
	{
		Name: "intrekking-alleen-patient", Violates: []string{"VTR-01"},
		Description: "na intrekking van de toestemming verbergt het XIS alleen de Patient; haar waarnemingen, medicatie en verwijzingen blijven vindbaar",
		shareOnly:   func(r map[string]any) bool { return r["resourceType"] != "Patient" },
	},
	{
		Name: "intrekking-zonder-display", Violates: []string{"VTR-01"},
		Description: "het XIS schrijft subject zonder display en blijft na intrekking van de toestemming de waarnemingen van de cliënt delen",
		change: func(_ fixtures.Registration, rs []map[string]any) []map[string]any {
			for _, r := range rs {
				for _, field := range []string{"subject", "patient"} {
					if ref, ok := r[field].(map[string]any); ok {
						delete(ref, "display")
					}
				}
			}
			return rs
		},
		shareOnly: func(r map[string]any) bool { return r["resourceType"] == "Observation" },
	},
	{
		Name: "vernietigt-alleen-patient", Violates: []string{"VTR-02"},
		Description: "een verzoek tot vernietiging verwijdert alleen de Patient; haar gegevens blijven op id en met zoekvragen vindbaar",
		spare:       func(r map[string]any, _ bool) bool { return r["resourceType"] != "Patient" },
	},
	{
		Name: "vernietiging-houdt-medicatie", Violates: []string{"VTR-02"},
		Description: "een verzoek tot vernietiging slaat de medicatiebouwstenen over",
		spare: func(r map[string]any, _ bool) bool {
			switch r["resourceType"] {
			case "MedicationRequest", "MedicationDispense", "MedicationStatement":
				return true
			}
			return false
		},
	},
	{
		Name: "vernietiging-houdt-een-controle", Violates: []string{"VTR-02"},
		Description: "een verzoek tot vernietiging laat de bloeddruk van één controle (één waarneming op één dag) staan",
		mark: func(reg fixtures.Registration, r map[string]any) bool {
			return reg.Kind == fixtures.Vitals && r["resourceType"] == "Observation" && hasCode(r, fixtures.CodeBloodPressure.Code)
		},
	},
	{
		Name: "vernietigt-kind-niet", Violates: []string{"VTR-02"},
		Description: "een verzoek tot vernietiging verwijdert het dossier van de moeder, maar dat van haar pasgeboren kind blijft bestaan",
		spare:       func(_ map[string]any, child bool) bool { return child },
	},
	{
		Name: "apgar-een-kind", Violates: []string{"INH-01"},
		Description: "bij de tweeling krijgt het tweede kind de apgarscore na 1 minuut van het eerste kind (8 in plaats van 6)",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Scenario != "tweeling" || reg.Subject == nil || reg.Subject.ID != "iris-jansen-kind-2" {
				return rs
			}
			for _, r := range rs {
				if r["resourceType"] == "Observation" && hasCode(r, fixtures.CodeApgar1.Code) {
					r["valueInteger"] = 8
				}
			}
			return rs
		},
	},
	{
		Name: "kindgewicht-ook-bij-moeder", Violates: []string{"INH-03"},
		Description: "het geboortegewicht van het kind wordt ook in het dossier van de moeder gepubliceerd",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Subject == nil {
				return rs
			}
			mother := truth.PatientID(reg.Client.BSN)
			for _, r := range slices.Clone(rs) {
				if r["resourceType"] != "Observation" || !hasCode(r, fixtures.CodeBirthWeight.Code) {
					continue
				}
				c := maps.Clone(r)
				c["id"] = truth.ID("mother-copy|" + r["id"].(string))
				c["subject"] = map[string]any{"reference": "Patient/" + mother, "type": "Patient"}
				rs = append(rs, c)
			}
			return rs
		},
	},
	{
		Name: "kind-geboortedatum", Violates: []string{"INH-05"},
		Description: "de Patient van het pasgeboren kind draagt een geboortedatum één dag later dan geregistreerd",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Subject == nil {
				return rs
			}
			child := truth.PatientID(reg.Subject.BSN)
			for _, r := range rs {
				if r["resourceType"] == "Patient" && r["id"] == child {
					if d, ok := r["birthDate"].(string); ok {
						r["birthDate"] = shiftDay(d)
					}
				}
			}
			return rs
		},
	},
	{
		Name: "hoofdomtrek-in-mm", Violates: []string{"INH-01"},
		Description: "de schedelomtrek van het kind wordt met eenheid mm gepubliceerd terwijl de waarde in cm is",
		change: func(_ fixtures.Registration, rs []map[string]any) []map[string]any {
			for _, r := range rs {
				if q, ok := r["valueQuantity"].(map[string]any); ok && r["resourceType"] == "Observation" && hasCode(r, fixtures.CodeHeadCircum.Code) {
					q["unit"], q["code"] = "mm", "mm"
				}
			}
			return rs
		},
	},
	{
		// Without her own Patient every fact about the child is missing from
		// her record, and her BSN finds nothing.
		Name: "kind-in-dossier-moeder", Violates: []string{"API-02", "INH-01", "INH-02", "INH-03", "INH-04", "INH-05"},
		Description: "het XIS legt de gegevens van het pasgeboren kind vast in het dossier van de moeder, zonder eigen Patient voor het kind",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Subject == nil {
				return rs
			}
			child := truth.PatientID(reg.Subject.BSN)
			mother := map[string]any{"reference": "Patient/" + truth.PatientID(reg.Client.BSN), "type": "Patient"}
			out := rs[:0]
			for _, r := range rs {
				if r["resourceType"] == "Patient" && r["id"] == child {
					continue
				}
				if patientOf(r) == child {
					r["subject"] = maps.Clone(mother)
				}
				out = append(out, r)
			}
			return out
		},
	},
	{
		Name: "intrekking-deelt-nieuwe-gegevens", Violates: []string{"VTR-01"},
		Description: "na intrekking van de toestemming verbergt het XIS wat er al was, maar deelt wat daarna wordt vastgelegd",
		shareLater:  true,
	},
	{
		Name: "adapter-weigert-inzage", Violates: []string{"ADP-01"},
		Description: "de adapter kent het gebeurtenistype inzage niet en weigert die gebeurtenissen (422)",
		refuse:      func(reg fixtures.Registration) bool { return reg.Kind == fixtures.ClientAccess },
	},
	{
		Name: "metadata-zonder-json", Violates: []string{"API-01"},
		Description: "het CapabilityStatement noemt alleen xml als formaat",
		metadata:    func(cs map[string]any) { cs["format"] = []any{"xml"} },
	},
	{
		Name: "zoekvraag-vreemde-verwijzing", Violates: []string{"API-02"},
		Description: "een zoekvraag naar ServiceRequests van een cliënt geeft ook een verwijzing van een andere cliënt",
		searchset: func(typ string, b map[string]any, all func(string) []map[string]any) {
			entries, _ := b["entry"].([]any)
			if typ != "ServiceRequest" || len(entries) == 0 {
				return
			}
			first, _ := entries[0].(map[string]any)
			own := patientOf(first["resource"].(map[string]any))
			for _, r := range all(typ) {
				if patientOf(r) != own {
					b["entry"] = append(entries, map[string]any{"fullUrl": fullURL(b, typ, r), "resource": r, "search": map[string]any{"mode": "match"}})
					b["total"] = len(entries) + 1
					return
				}
			}
		},
	},
	{
		Name: "searchset-total-alle-clienten", Violates: []string{"API-02"},
		Description: "Bundle.total van een zoekvraag naar MedicationRequests telt de medicatieafspraken van alle cliënten",
		searchset: func(typ string, b map[string]any, all func(string) []map[string]any) {
			if typ == "MedicationRequest" {
				b["total"] = len(all(typ))
			}
		},
	},
	{
		Name: "fullurl-verkeerd-type", Violates: []string{"API-02"},
		Description: "in een searchset van ServiceRequests wijst fullUrl naar Observation/<id>",
		searchset: func(typ string, b map[string]any, _ func(string) []map[string]any) {
			if typ != "ServiceRequest" {
				return
			}
			entries, _ := b["entry"].([]any)
			for _, e := range entries {
				entry, _ := e.(map[string]any)
				r, _ := entry["resource"].(map[string]any)
				entry["fullUrl"] = selfBase(b) + "/Observation/" + r["id"].(string)
			}
		},
	},
}

// hasCode says whether a resource's code carries the code.
func hasCode(r map[string]any, code string) bool {
	concept, _ := r["code"].(map[string]any)
	for _, c := range asList(concept["coding"]) {
		if m, _ := c.(map[string]any); m != nil && m["code"] == code {
			return true
		}
	}
	return false
}

// selfBase is the FHIR base of a searchset, read from its self link.
func selfBase(b map[string]any) string {
	for _, l := range asList(b["link"]) {
		m, _ := l.(map[string]any)
		if u, _ := m["url"].(string); m["relation"] == "self" {
			u, _, _ = strings.Cut(u, "?")
			for i := len(u) - 1; i >= 0; i-- {
				if u[i] == '/' {
					return u[:i]
				}
			}
		}
	}
	return ""
}

func fullURL(b map[string]any, typ string, r map[string]any) string {
	return selfBase(b) + "/" + typ + "/" + r["id"].(string)
}
