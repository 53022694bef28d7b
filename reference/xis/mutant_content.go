package xis

import (
	"encoding/json"
	"math/big"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// contentMutants are partial defects of the content and MP9 specs, as
// vendors make them: in one event, one client, one building block, one
// element; the rest of the publication is right.
var contentMutants = []Mutant{
	{
		Name: "gewicht-een-controle", Violates: []string{"INH-01"},
		Description: "bij één controle (ongecompliceerd, 24 weken) wordt het gewicht met verwisselde cijfers gepubliceerd (96.2 in plaats van 69.2 kg)",
		change: onFact("ongecompliceerd", "e05-controle-24", "weight", func(r map[string]any) {
			r["valueQuantity"].(map[string]any)["value"] = json.Number("96.2")
		}),
	},
	{
		Name: "tijdzone-een-observatie", Violates: []string{"INH-03"},
		Description: "één bloeddruk (hypertensie, 34 weken) draagt de Nederlandse kloktijd met Z, alsof het UTC was: het tijdstip schuift een of twee uur",
		change: onFact("hypertensie", "e05-controle-34", "bp", func(r map[string]any) {
			t, _ := time.Parse(time.RFC3339, r["effectiveDateTime"].(string))
			r["effectiveDateTime"] = t.Format("2006-01-02T15:04:05") + "Z"
		}),
	},
	{
		Name: "eenheid-een-observatie", Violates: []string{"INH-01"},
		Description: "één hemoglobinewaarde (ongecompliceerd, 30 weken) krijgt eenheid g/dL terwijl de waarde in mmol/L is",
		change: onFact("ongecompliceerd", "e06-controle-30", "hb", func(r map[string]any) {
			q := r["valueQuantity"].(map[string]any)
			q["unit"], q["code"] = "g/dL", "g/dL"
		}),
	},
	{
		Name: "waarde-en-datum-verwisseld", Violates: []string{"INH-01"},
		Description: "twee gewichten (ongecompliceerd, 16 en 24 weken) dragen elkaars datum: elke waarde staat bij de verkeerde meting",
		change: func(reg fixtures.Registration, resources []map[string]any) []map[string]any {
			other := map[string]string{"e04-controle-16": "e05-controle-24", "e05-controle-24": "e04-controle-16"}[reg.Event]
			if reg.Scenario != "ongecompliceerd" || other == "" {
				return resources
			}
			if r := byID(resources, truth.FactID(reg.Scenario, reg.Event, "weight")); r != nil {
				r["effectiveDateTime"] = timeOf(reg, other).Format(time.RFC3339)
			}
			return resources
		},
	},
	{
		Name: "dubbel-gepubliceerd", Violates: []string{"INH-01"},
		Description: "de hemoglobine van het eerste bloedonderzoek (ongecompliceerd) wordt twee keer gepubliceerd, als twee resources",
		change: func(reg fixtures.Registration, resources []map[string]any) []map[string]any {
			if reg.Scenario != "ongecompliceerd" || reg.Event != "e03-lab" {
				return resources
			}
			copied := deepCopy(byID(resources, truth.FactID(reg.Scenario, reg.Event, "hb")))
			copied["id"] = truth.ID("kopie|" + reg.Scenario + "|" + reg.Event + "|hb")
			return append(resources, copied)
		},
	},
	{
		Name: "auteur-verkeerd-een", Violates: []string{"INH-04"},
		Description: "één bloeddruk op de polikliniek (hypertensie) noemt de verloskundige als uitvoerder in plaats van de gynaecoloog",
		change: func(reg fixtures.Registration, resources []map[string]any) []map[string]any {
			if reg.Scenario != "hypertensie" || reg.Event != "e07-poli" {
				return resources
			}
			s, _ := fixtures.Lookup(reg.Scenario)
			midwife, _ := s.Provider("vp-dageraad")
			r := byID(resources, truth.FactID(reg.Scenario, reg.Event, "bp"))
			r["performer"] = []any{map[string]any{"reference": "PractitionerRole/" + truth.PractitionerRoleID(midwife), "type": "PractitionerRole"}}
			return resources
		},
	},
	{
		Name: "geslacht-onbekend", Violates: []string{"INH-05"},
		Description: "één cliënt (hypertensie) wordt gepubliceerd met geslacht unknown",
		change:      onClient("hypertensie", func(p map[string]any) { p["gender"] = "unknown" }),
	},
	{
		Name: "geen-patientprofiel", Violates: []string{"INH-05"},
		Description: "de Patient van één cliënt (rhesus-negatief) noemt het profiel nl-core-Patient niet",
		change:      onClient("rhesus-negatief", func(p map[string]any) { delete(p, "meta") }),
	},
	{
		Name: "toedieningsafspraak-dosis-maal-tien", Violates: []string{"MP9-05"},
		Description: "de ToedieningsAfspraak insuline (diabetes) wordt met een tien keer zo hoge dosis gepubliceerd",
		change: onBlock("TA-diabetes-insuline-1", func(r map[string]any) {
			timesTen(r["dosageInstruction"].([]any)[0].(map[string]any)["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any))
		}),
	},
	{
		Name: "verstrekking-hoeveelheid-maal-tien", Violates: []string{"MP9-05"},
		Description: "de Verstrekking insuline (diabetes) wordt met een tien keer zo grote hoeveelheid gepubliceerd",
		change:      onBlock("MVE-diabetes-insuline-1", func(r map[string]any) { timesTen(r["quantity"].(map[string]any)) }),
	},
	{
		Name: "gebruik-dosis-maal-tien", Violates: []string{"MP9-05"},
		Description: "het MedicatieGebruik insuline (diabetes) wordt met een tien keer zo hoge dosis gepubliceerd",
		change: onBlock("MGB-diabetes-insuline-1", func(r map[string]any) {
			timesTen(r["dosage"].([]any)[0].(map[string]any)["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any))
		}),
	},
	{
		Name: "gebruik-periode-verschoven", Violates: []string{"MP9-05"},
		Description: "het MedicatieGebruik insuline (diabetes) begint een week later dan geregistreerd",
		change: onBlock("MGB-diabetes-insuline-1", func(r map[string]any) {
			p := r["effectivePeriod"].(map[string]any)
			t, _ := time.Parse(time.RFC3339, p["start"].(string))
			p["start"] = t.AddDate(0, 0, 7).Format(time.RFC3339)
		}),
	},
	{
		Name: "verzoek-zonder-verwijzing", Violates: []string{"MP9-05"},
		Description: "het VerstrekkingsVerzoek insuline (diabetes) verwijst niet naar de MedicatieAfspraak waarop het berust",
		change:      onBlock("VV-diabetes-insuline-1", func(r map[string]any) { delete(r, "basedOn") }),
	},
	{
		Name: "stop-zonder-stoptype-een", Violates: []string{"MP9-03"},
		Description: "één stop-MedicatieAfspraak (insuline na de bevalling, diabetes) wordt zonder stoptype gepubliceerd",
		change:      onBlock("MA-diabetes-insuline-2-stop", func(r map[string]any) { delete(r, "modifierExtension") }),
	},
	{
		Name: "wijziging-zonder-prior", Violates: []string{"MP9-01"},
		Description: "de gewijzigde MedicatieAfspraak insuline 6 IE (diabetes) verwijst niet naar de afspraak die zij wijzigt",
		change:      onBlock("MA-diabetes-insuline-2", func(r map[string]any) { delete(r, "priorPrescription") }),
	},
	{
		Name: "startdatum-utc-afgekapt", Violates: []string{"MP9-01"},
		Description: "de startdatum van de MedicatieAfspraak labetalol (hypertensie) is in UTC afgekapt tot een datum: een dag te vroeg",
		change: onBlock("MA-hypertensie-labetalol-1", func(r map[string]any) {
			p := periodOfUse(r)
			t, _ := time.Parse(time.RFC3339, p["start"].(string))
			p["start"] = t.UTC().Format(fixtures.DateLayout)
		}),
	},
	{
		Name: "dubbele-afspraak", Violates: []string{"MP9-01", "MP9-04"},
		Description: "de MedicatieAfspraak labetalol (hypertensie) wordt twee keer gepubliceerd met dezelfde identificatie: het overzicht toont haar dubbel",
		change: func(reg fixtures.Registration, resources []map[string]any) []map[string]any {
			if r := byIdentifier(resources, "MA-hypertensie-labetalol-1"); r != nil {
				copied := deepCopy(r)
				copied["id"] = truth.ID("kopie|" + reg.Scenario + "|" + reg.Event + "|labetalol")
				return append(resources, copied)
			}
			return resources
		},
	},
	{
		Name: "mbh-een-verstrekking", Violates: []string{"MP9-02"},
		Description: "de Verstrekking insuline (diabetes) draagt een eigen MBH-id van de apotheek in plaats van dat van de behandeling",
		change: onBlock("MVE-diabetes-insuline-1", func(r map[string]any) {
			for _, e := range r["extension"].([]any) {
				if ext := e.(map[string]any); strings.HasSuffix(ext["url"].(string), "ext-PharmaceuticalTreatment.Identifier") {
					ext["valueIdentifier"].(map[string]any)["value"] = "MBH-apotheek-4711"
				}
			}
		}),
	},
}

func init() { Mutants = append(Mutants, contentMutants...) }

// timeOf returns when another event of the registration's scenario was
// registered, told the way fixtures tells it (the day's midnight in
// Europe/Amsterdam plus the event's minutes).
func timeOf(reg fixtures.Registration, event string) time.Time {
	s, _ := fixtures.Lookup(reg.Scenario)
	var this, that fixtures.Event
	for _, ev := range s.Events {
		switch ev.ID {
		case reg.Event:
			this = ev
		case event:
			that = ev
		}
	}
	midnight := reg.Time.Add(-time.Duration(this.Minute) * time.Minute).In(fixtures.Amsterdam)
	return midnight.AddDate(0, 0, that.Day-this.Day).Add(time.Duration(that.Minute) * time.Minute)
}

// onFact changes the resource of one fact of one event of one scenario.
func onFact(scenario, event, key string, change func(map[string]any)) func(fixtures.Registration, []map[string]any) []map[string]any {
	return func(reg fixtures.Registration, resources []map[string]any) []map[string]any {
		if reg.Scenario == scenario && reg.Event == event {
			if r := byID(resources, truth.FactID(scenario, event, key)); r != nil {
				change(r)
			}
		}
		return resources
	}
}

// onClient changes the Patient of one scenario's client (not her child).
func onClient(scenario string, change func(map[string]any)) func(fixtures.Registration, []map[string]any) []map[string]any {
	return func(reg fixtures.Registration, resources []map[string]any) []map[string]any {
		if reg.Scenario == scenario {
			if r := byID(resources, truth.PatientID(reg.Client.BSN)); r != nil {
				change(r)
			}
		}
		return resources
	}
}

// onBlock changes the building block with the given identifier.
func onBlock(id string, change func(map[string]any)) func(fixtures.Registration, []map[string]any) []map[string]any {
	return func(_ fixtures.Registration, resources []map[string]any) []map[string]any {
		if r := byIdentifier(resources, id); r != nil {
			change(r)
		}
		return resources
	}
}

func byID(resources []map[string]any, id string) map[string]any {
	for _, r := range resources {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

func byIdentifier(resources []map[string]any, value string) map[string]any {
	for _, r := range resources {
		for _, i := range asList(r["identifier"]) {
			if m, _ := i.(map[string]any); m["value"] == value {
				return r
			}
		}
	}
	return nil
}

func periodOfUse(r map[string]any) map[string]any {
	for _, e := range asList(r["extension"]) {
		if ext, _ := e.(map[string]any); strings.HasSuffix(ext["url"].(string), "ext-TimeInterval.Period") {
			return ext["valuePeriod"].(map[string]any)
		}
	}
	return map[string]any{}
}

// timesTen multiplies a Quantity's value by ten.
func timesTen(q map[string]any) {
	v, ok := new(big.Rat).SetString(stringOf(q["value"]))
	if !ok {
		return
	}
	v.Mul(v, big.NewRat(10, 1))
	q["value"] = json.Number(v.RatString())
}

func stringOf(v any) string {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func deepCopy(r map[string]any) map[string]any {
	b, _ := json.Marshal(r)
	var out map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	_ = d.Decode(&out)
	return out
}
