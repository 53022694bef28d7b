package fact

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// PeriodOfUseURL is the MP9 / zib2020 extension that carries the period of use.
const PeriodOfUseURL = "http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Period"

// blockCategory maps an MP9 building block to its SNOMED category code.
var blockCategory = map[string]string{
	"MedicatieAfspraak":     "33633005",
	"VerstrekkingsVerzoek":  "52711000146108",
	"ToedieningsAfspraak":   "422037009",
	"MedicatieVerstrekking": "373784005",
	"MedicatieGebruik":      "422979000",
}

// Medication compares a published MP9 building block with the registered
// one: category, dose, frequency and period of use. resolve turns a day
// offset into YYYY-MM-DD.
func Medication(r map[string]any, ev, key string, m fixtures.Medication, resolve func(int) string) []Finding {
	typ, _ := r["resourceType"].(string)
	var out []Finding
	miss := func(elem, want, got string) {
		out = append(out, Finding{Event: ev, Fact: key, Element: typ + "." + elem, Want: want, Got: got})
	}
	if code, ok := blockCategory[m.Block]; ok {
		if !hasCoding(codings(r["category"]), fixtures.Coding{System: "http://snomed.info/sct", Code: code}) {
			miss("category", "http://snomed.info/sct|"+code+" ("+m.Block+")", show(r["category"]))
		}
	}
	dosage := firstMap(r["dosageInstruction"])
	if dosage == nil {
		dosage = firstMap(r["dosage"])
	}
	if m.Dose.Value != "" {
		dose, _ := firstMap(dosage["doseAndRate"])["doseQuantity"].(map[string]any)
		want, _ := new(big.Rat).SetString(m.Dose.Value)
		got, ok := number(dose["value"])
		if dose == nil || !ok || want == nil || got.Cmp(want) != 0 || (dose["code"] != m.Dose.Unit && dose["unit"] != m.Dose.Unit) {
			miss("dosageInstruction.doseAndRate.doseQuantity", m.Dose.Value+" "+m.Dose.Unit, show(dose))
		}
	}
	if m.Frequency > 0 {
		timing, _ := dosage["timing"].(map[string]any)
		repeat, _ := timing["repeat"].(map[string]any)
		freq, ok := number(repeat["frequency"])
		if !ok || freq.Cmp(big.NewRat(int64(m.Frequency), 1)) != 0 || repeat["periodUnit"] != m.Period {
			miss("dosageInstruction.timing.repeat", fmt.Sprintf("%d× per %s", m.Frequency, m.Period), show(repeat))
		}
	}
	period := periodOfUse(r)
	start, _ := period["start"].(string)
	if want := resolve(m.StartDay); !strings.HasPrefix(start, want) {
		miss("extension(ext-TimeInterval.Period).valuePeriod.start", want, show(period["start"]))
	}
	if m.EndDay != nil {
		end, _ := period["end"].(string)
		if want := resolve(*m.EndDay); !strings.HasPrefix(end, want) {
			miss("extension(ext-TimeInterval.Period).valuePeriod.end", want, show(period["end"]))
		}
	}
	return out
}

// periodOfUse returns the valuePeriod of the period-of-use extension, or the
// effectivePeriod of a MedicationStatement.
func periodOfUse(r map[string]any) map[string]any {
	for _, e := range list(r["extension"]) {
		ext, _ := e.(map[string]any)
		if ext["url"] == PeriodOfUseURL {
			p, _ := ext["valuePeriod"].(map[string]any)
			return p
		}
	}
	p, _ := r["effectivePeriod"].(map[string]any)
	return p
}

func firstMap(v any) map[string]any {
	l := list(v)
	if len(l) == 0 {
		return nil
	}
	m, _ := l[0].(map[string]any)
	return m
}

// TreatmentURL is the MP9 extension that carries the MBH id (medicamenteuze
// behandeling) linking the building blocks of one treatment.
const TreatmentURL = "http://nictiz.nl/fhir/StructureDefinition/ext-PharmaceuticalTreatment.Identifier"

// StopTypeURL is the MP9 modifier extension that stops or suspends a treatment.
const StopTypeURL = "http://nictiz.nl/fhir/StructureDefinition/ext-StopType"

// registrationURL is the MP9 extension with the registration date/time.
const registrationURL = "http://nictiz.nl/fhir/StructureDefinition/ext-RegistrationDateTime"

// Treatment returns the MBH id (system|value) of a published building block.
func Treatment(r map[string]any) string {
	for _, e := range list(r["extension"]) {
		ext, _ := e.(map[string]any)
		if ext["url"] == TreatmentURL {
			id, _ := ext["valueIdentifier"].(map[string]any)
			s, _ := id["system"].(string)
			v, _ := id["value"].(string)
			if v != "" {
				return s + "|" + v
			}
		}
	}
	return ""
}

// StopType returns the stop type coding of a published building block.
func StopType(r map[string]any) []map[string]any {
	for _, e := range list(r["modifierExtension"]) {
		ext, _ := e.(map[string]any)
		if ext["url"] == StopTypeURL {
			return codings(ext["valueCodeableConcept"])
		}
	}
	return nil
}

// Agreement is a MedicatieAfspraak reduced to what the medication overview
// needs, published or registered.
type Agreement struct {
	ID        string // business identifier value
	Prior     string // identifier value of the agreement it changes or stops
	Product   []map[string]any
	Treatment string
	StopType  string // SNOMED code of the stop type, "" for none
	Start     string // period of use, YYYY-MM-DD…; "" when absent
	End       string
}

// Agreements reads the client's published MedicatieAfspraken.
func Agreements(published map[string][]map[string]any, patientID string, lookup func(string) map[string]any) []Agreement {
	var out []Agreement
	for _, r := range published["MedicationRequest"] {
		if !refersTo(r, patientID) || !categoryHas(r, fixtures.Coding{System: "http://snomed.info/sct", Code: blockCategory["MedicatieAfspraak"]}) {
			continue
		}
		a := Agreement{Product: Product(r, lookup), Treatment: Treatment(r)}
		if st := StopType(r); len(st) > 0 {
			a.StopType, _ = st[0]["code"].(string)
		}
		if id := firstMap(r["identifier"]); id != nil {
			a.ID, _ = id["value"].(string)
		}
		if prior, ok := r["priorPrescription"].(map[string]any); ok {
			id, _ := prior["identifier"].(map[string]any)
			a.Prior, _ = id["value"].(string)
		}
		a.Start, _ = periodOfUse(r)["start"].(string)
		a.End, _ = periodOfUse(r)["end"].(string)
		out = append(out, a)
	}
	return out
}

// Registered returns the ground truth of the medication overview on the
// given day: the scenario's MedicatieAfspraken in force (fixtures derives
// them from the registered building blocks).
func Registered(s *fixtures.Scenario, day int) []Agreement {
	var out []Agreement
	for _, m := range fixtures.MedicationOverview(s, "MedicatieAfspraak", day) {
		out = append(out, Agreement{ID: m.ID, Treatment: m.Treatment,
			Product: []map[string]any{{"system": m.Product.System, "code": m.Product.Code}}})
	}
	return out
}

// Stop type codes (SNOMED CT) of MP9 3.0.
const (
	stopCanceled = "89925002" // geannuleerd: the agreement and the one it refers to never applied
)

// Overview is the medication overview on a day (YYYY-MM-DD) as it follows
// from published MedicatieAfspraken, by the MP9 rules: a stop agreement is
// not itself in force and ends the agreement it refers to on its own end
// date (a cancellation drops both); a changed agreement ends the one it
// refers to the day before it starts; an agreement is in force from the
// start to the end of its period of use, both inclusive.
func Overview(agreements []Agreement, day string) []Agreement {
	type state struct {
		a       Agreement
		end     string
		dropped bool
	}
	states := make([]*state, len(agreements))
	byID := map[string]*state{}
	for i, a := range agreements {
		states[i] = &state{a: a, end: dayOf(a.End)}
		if a.ID != "" {
			byID[a.ID] = states[i]
		}
	}
	clip := func(st *state, last string) {
		if last != "" && (st.end == "" || last < st.end) {
			st.end = last
		}
	}
	for _, st := range states {
		prior := byID[st.a.Prior]
		switch {
		case st.a.StopType == stopCanceled:
			st.dropped = true
			if prior != nil {
				prior.dropped = true
			}
		case st.a.StopType != "":
			st.dropped = true
			if prior != nil {
				clip(prior, dayOf(st.a.End))
			}
		case prior != nil:
			clip(prior, dayBefore(dayOf(st.a.Start)))
		}
	}
	var out []Agreement
	for _, st := range states {
		if st.dropped || st.a.Start != "" && dayOf(st.a.Start) > day || st.end != "" && day > st.end {
			continue
		}
		out = append(out, st.a)
	}
	return out
}

func dayOf(s string) string { return s[:min(len(s), 10)] }

func dayBefore(d string) string {
	t, err := time.Parse(fixtures.DateLayout, d)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, -1).Format(fixtures.DateLayout)
}

// CompareOverviews lists the differences between the overview derived from
// the registration and the one derived from the publication: a product in
// use that is missing, and a product shown in use that is not.
func CompareOverviews(registered, published []Agreement, moment string) []string {
	has := func(list []Agreement, c map[string]any) bool {
		for _, a := range list {
			for _, p := range a.Product {
				if p["code"] == c["code"] && p["system"] == c["system"] {
					return true
				}
			}
		}
		return false
	}
	var out []string
	for _, r := range registered {
		if !has(published, r.Product[0]) {
			out = append(out, fmt.Sprintf("op %s is %s in gebruik (MBH %s), maar het gepubliceerde medicatieoverzicht toont het niet", moment, show(r.Product[0]["code"]), r.Treatment))
		}
	}
	for _, p := range published {
		found := false
		for _, c := range p.Product {
			found = found || has(registered, c)
		}
		if !found {
			out = append(out, fmt.Sprintf("op %s toont het gepubliceerde medicatieoverzicht %s (MBH %s) in gebruik, maar volgens de registratie is het dat niet", moment, show(p.Product), p.Treatment))
		}
	}
	return out
}

// Moments returns the days (relative to the reference date) on which the
// medication overview is compared: every day an event happened, and the day
// after the last one, in order.
func Moments(s *fixtures.Scenario) []int {
	seen := map[int]bool{}
	var days []int
	last := 0
	for _, ev := range s.Events {
		if !seen[ev.Day] {
			seen[ev.Day] = true
			days = append(days, ev.Day)
		}
		last = max(last, ev.Day)
	}
	days = append(days, last+1)
	sort.Ints(days)
	return days
}
