package fact

import (
	"fmt"
	"math/big"
	"strings"

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
