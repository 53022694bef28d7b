package translator

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Mutant is the reference translator with one seeded defect. Each is
// partial (one element, one kind of event or one client) and must fail
// exactly the requirements in Violates, no more and no fewer.
type Mutant struct {
	Name        string
	Description string
	Violates    []string
	// apply changes direction B's output; tx is the ADA it came from.
	apply func(rs []map[string]any, tx *Node) []map[string]any
	// back changes what direction D reads of a Bundle (its resources)
	// before it writes the legacy ADA.
	back func(rs []map[string]any) []map[string]any
	// reshape changes the legacy ADA direction D writes (its elements).
	reshape func(root *Node)
	// accepts, when it returns true for the error direction B met, makes
	// the translator answer 200 with an empty Bundle instead of a 4xx.
	accepts func(err error) bool
	// publish changes what the translator publishes into a chain (POST
	// /bench/publish) before its XIS renders it; InChain lists the
	// requirements it then fails in a chain run (profile
	// zelftest-keten-vertaler, the translator as the midwife's publisher).
	publish func(reg *fixtures.Registration)
	InChain []string
}

// Mutants are the translator's seeded-defect mutants (issue 13).
var Mutants = []Mutant{
	{Name: "eenheid-weg", Description: "het eerste lichaamsgewicht verliest zijn eenheid (ook zib-BodyWeight eist unit, system en code)", Violates: []string{"VRT-01", "VRT-06"},
		apply: first(isProfile("zib-BodyWeight"), func(o map[string]any) {
			if q := mapOf(o["valueQuantity"]); q != nil {
				delete(q, "unit")
				delete(q, "system")
				delete(q, "code")
			}
		})},
	{Name: "eenheid-omgerekend", Description: "het eerste lichaamsgewicht in kg krijgt de eenheid g zonder de waarde om te rekenen (in een keten: elk gepubliceerd lichaamsgewicht)", Violates: []string{"VRT-01"},
		InChain: []string{"OVD-01"},
		publish: func(reg *fixtures.Registration) {
			for i, f := range reg.Facts {
				if f.Code == fixtures.CodeBodyWeight && f.Value.Quantity != nil && f.Value.Quantity.Unit == "kg" {
					q := *f.Value.Quantity
					q.Unit = "g"
					reg.Facts[i].Value.Quantity = &q
				}
			}
		},
		apply: first(isProfile("zib-BodyWeight"), func(o map[string]any) {
			if q := mapOf(o["valueQuantity"]); q != nil && q["code"] == "kg" {
				q["unit"], q["code"] = "g", "g"
			}
		})},
	{Name: "datum-tijdzone", Description: "de eerste bloeddruk krijgt de Nederlandse kloktijd als UTC: het moment verschuift een of twee uur", Violates: []string{"VRT-01"},
		apply: first(isProfile("zib-BloodPressure"), func(o map[string]any) {
			if t, err := time.Parse(time.RFC3339, s(o["effectiveDateTime"])); err == nil {
				o["effectiveDateTime"] = t.In(Amsterdam).Format("2006-01-02T15:04:05") + "Z"
			}
		})},
	{Name: "codesysteem-oid", Description: "de bloedgroep (SNOMED) houdt de OID van het codesysteem als system-URI (urn:oid:2.16.840.1.113883.6.96)", Violates: []string{"VRT-01"},
		apply: first(hasCode("883-9"), func(o map[string]any) {
			if c := firstCoding(o["valueCodeableConcept"]); c != nil && c["system"] == snomed {
				c["system"] = "urn:oid:2.16.840.1.113883.6.96"
			}
		})},
	{Name: "tweeling-samengevoegd", Description: "bij een meerling blijft één type partus over: de kinderen zijn samengevoegd", Violates: []string{"VRT-01"},
		apply: func(rs []map[string]any, _ *Node) []map[string]any {
			return dropRepeats(rs, isProfile("bc-BirthObservation"))
		}},
	{Name: "herhaling-samengevoegd", Description: "herhaalde laboratoriumuitslagen met dezelfde code (de glucosecurve) worden één uitslag", Violates: []string{"VRT-01"},
		apply: func(rs []map[string]any, _ *Node) []map[string]any {
			return dropRepeats(rs, isProfile("zib-LaboratoryTestResult-Observation"))
		}},
	{Name: "nullflavor-als-waarde", Description: "een onbekende waarde (nullFlavor) wordt de waarde 0", Violates: []string{"VRT-01"},
		apply: first(func(o map[string]any) bool { return o["dataAbsentReason"] != nil }, func(o map[string]any) {
			delete(o, "dataAbsentReason")
			o["valueQuantity"] = map[string]any{"value": 0}
		})},
	{Name: "tweede-lijn-kwijt", Description: "wat het ziekenhuis (de tweede lijn) vastlegde, gaat verloren", Violates: []string{"VRT-01"},
		apply: func(rs []map[string]any, tx *Node) []map[string]any {
			if !strings.HasPrefix(tx.Path("zorgverlenerzorginstelling/zorginstelling/naam_zorginstelling").Get("value"), "Ziekenhuis") {
				return rs
			}
			var out []map[string]any
			for _, r := range rs {
				if r["resourceType"] != "Observation" {
					out = append(out, r)
				}
			}
			return out
		}},
	{Name: "gewicht-verzonnen", Description: "het eerste lichaamsgewicht wordt ook een dag later nog eens geleverd: een meting die niet in de invoer staat", Violates: []string{"VRT-02"},
		apply: func(rs []map[string]any, _ *Node) []map[string]any {
			for _, r := range rs {
				if !isProfile("zib-BodyWeight")(r) {
					continue
				}
				t, err := time.Parse(time.RFC3339, s(r["effectiveDateTime"]))
				if err != nil {
					continue
				}
				extra := map[string]any{}
				for k, v := range r {
					extra[k] = v
				}
				extra["id"] = s(r["id"]) + "-verzonnen"
				extra["effectiveDateTime"] = t.AddDate(0, 0, 1).Format(time.RFC3339)
				return append(rs, extra)
			}
			return rs
		}},
	{Name: "terug-glucose-kwijt", Description: "de terugvertaling (D) schrijft van een glucosecurve alleen de eerste waarde in het verloskundig dossier: de tweede meting gaat verloren", Violates: []string{"VRT-04"},
		back: func(rs []map[string]any) []map[string]any {
			seen := 0
			for i, r := range rs {
				if r["resourceType"] == "Observation" && hasCode(fixtures.CodeGlucose.Code)(r) {
					if seen++; seen == 2 {
						return slices.Delete(slices.Clone(rs), i, i+1)
					}
				}
			}
			return rs
		}},
	{Name: "terug-bloeddruk-achteraan", Description: "de terugvertaling (D) zet de bloeddruk van een prenatale controle na het gemeten gewicht: de waarden kloppen, maar de volgorde is niet die van de transactie", Violates: []string{"VRT-04"},
		reshape: func(root *Node) {
			for _, c := range root.Path("zwangerschap").All("prenatale_controle") {
				if i := slices.IndexFunc(c.Kids, func(k *Node) bool { return k.Name == "bloeddruk" }); i >= 0 {
					bp := c.Kids[i]
					c.Kids = append(slices.Delete(c.Kids, i, i+1), bp)
				}
			}
		}},
	{Name: "terug-bloedverlies-hernoemd", Description: "de terugvertaling (D) schrijft het bloedverlies bij de bevalling als <bloedverlies> in plaats van <hoeveelheid_bloedverlies>", Violates: []string{"VRT-04"},
		reshape: func(root *Node) {
			if n := root.Path("bevalling/hoeveelheid_bloedverlies"); n != nil {
				n.Name = "bloedverlies"
			}
		}},
	{Name: "onbekende-transactie-leeg", Description: "een ADA-instantie van een onbekende transactie krijgt 200 met een lege Bundle in plaats van een 4xx", Violates: []string{"VRT-05"},
		accepts: func(err error) bool { return errors.Is(err, ErrUnknown) }},
	{Name: "bloeddruk-zonder-categorie", Description: "de eerste bloeddruk mist de categorie vital-signs die zib-BloodPressure eist (category 1..1): de resource voldoet niet aan het profiel dat zij claimt", Violates: []string{"VRT-06"},
		apply: first(isProfile("zib-BloodPressure"), func(o map[string]any) { delete(o, "category") })},
	{Name: "bloeddruk-zonder-profiel", Description: "elke bloeddruk claimt geen profiel meer (meta.profile weg): de waarden kloppen, maar de resource ontloopt zib-BloodPressure", Violates: []string{"VRT-06"},
		apply: func(rs []map[string]any, _ *Node) []map[string]any {
			for _, r := range rs {
				if r["resourceType"] == "Observation" && isProfile("zib-BloodPressure")(r) {
					delete(r, "meta")
				}
			}
			return rs
		}},
	{Name: "gewicht-als-basisprofiel", Description: "het eerste lichaamsgewicht claimt alleen nl-core-observation in plaats van zib-BodyWeight", Violates: []string{"VRT-06"},
		apply: first(isProfile("zib-BodyWeight"), func(o map[string]any) {
			o["meta"] = map[string]any{"profile": []any{nlCoreSD + "nl-core-observation"}}
		})},
	{Name: "bsn-gelekt", Description: "het BSN van de cliënt staat onversleuteld in de MedMij-uitvoer", Violates: []string{"VRT-03"},
		apply: func(rs []map[string]any, tx *Node) []map[string]any {
			bsn := tx.Path("vrouw/burgerservicenummer").Get("value")
			for _, r := range rs {
				if r["resourceType"] == "Patient" && bsn != "" && strings.Contains(s(mapOf(r["meta"])["profile"]), "bc-Woman") {
					r["identifier"] = []any{map[string]any{"system": bsnURI, "value": bsn}}
					break
				}
			}
			return rs
		}},
}

// MutantNames lists the translator's mutants.
func MutantNames() []string {
	out := make([]string, len(Mutants))
	for i, m := range Mutants {
		out[i] = m.Name
	}
	return out
}

func mutantByName(name string) (Mutant, bool) {
	for _, m := range Mutants {
		if m.Name == name {
			return m, true
		}
	}
	return Mutant{}, false
}

func isProfile(p string) func(map[string]any) bool {
	return func(r map[string]any) bool { return strings.Contains(s(mapOf(r["meta"])["profile"]), "/"+p) }
}

func hasCode(c string) func(map[string]any) bool {
	return func(r map[string]any) bool { return s(firstCoding(r["code"])["code"]) == c }
}

// first changes the first resource that matches, only.
func first(match func(map[string]any) bool, change func(map[string]any)) func([]map[string]any, *Node) []map[string]any {
	return func(rs []map[string]any, _ *Node) []map[string]any {
		for _, r := range rs {
			if r["resourceType"] == "Observation" && match(r) {
				change(r)
				break
			}
		}
		return rs
	}
}

// dropRepeats keeps the first of the matching observations with the same code.
func dropRepeats(rs []map[string]any, match func(map[string]any) bool) []map[string]any {
	seen := map[string]bool{}
	var out []map[string]any
	for _, r := range rs {
		if r["resourceType"] == "Observation" && match(r) {
			k := s(firstCoding(r["code"])["code"])
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, r)
	}
	return out
}
