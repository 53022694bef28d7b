package fact

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// SNOMED is the code system of the MP9 categories and stop types.
const SNOMED = "http://snomed.info/sct"

// PeriodOfUseURL is the MP9 / zib2020 extension that carries the period of use.
const PeriodOfUseURL = "http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Period"

// DurationURL is the extension on a period of use that gives its duration.
const DurationURL = "http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Duration"

// blockCategory maps an MP9 building block to its SNOMED category code.
var blockCategory = map[string]string{
	fixtures.MedicatieAfspraak:     "33633005",
	fixtures.VerstrekkingsVerzoek:  "52711000146108",
	fixtures.ToedieningsAfspraak:   "422037009",
	fixtures.MedicatieVerstrekking: "373784005",
	fixtures.MedicatieGebruik:      "422979000",
}

// Where each block carries what it carries (MP9 3.0 R4 profiles).
var (
	// dosed blocks carry a dosing (dose, frequency, route).
	dosed = map[string]bool{fixtures.MedicatieAfspraak: true, fixtures.ToedieningsAfspraak: true, fixtures.MedicatieGebruik: true}
	// priorElement is the element that refers to the block this one
	// changes, stops or is based on.
	priorElement = map[string]string{
		fixtures.MedicatieAfspraak:     "priorPrescription",
		fixtures.VerstrekkingsVerzoek:  "basedOn",
		fixtures.ToedieningsAfspraak:   "authorizingPrescription",
		fixtures.MedicatieVerstrekking: "authorizingPrescription",
		fixtures.MedicatieGebruik:      "derivedFrom",
	}
)

// Block compares a published MP9 building block with the registered one on
// everything it carries, except the MBH id (MP9-02) and the stop type
// (MP9-03): category, product, dose and unit, frequency and period, route,
// the period of use (start, end or duration) or validity, the amount to
// dispense, and the reference to the block it changes, stops or is based on.
func Block(r map[string]any, it Item, src Source) []Finding {
	m := it.Fact.Medication
	typ := str(r["resourceType"])
	var out []Finding
	miss := func(elem, want, got string) {
		out = append(out, Finding{Event: it.Event.ID, Fact: it.Fact.Key, Element: typ + "." + elem, Want: want, Got: got})
	}
	day := func(d int) string { return fixtures.Date(src.Reference, d).Format(fixtures.DateLayout) }
	if code := blockCategory[m.Block]; !hasCoding(categoryCodings(r), fixtures.Coding{System: SNOMED, Code: code}) {
		miss("category", SNOMED+"|"+code+" ("+m.Block+")", show(r["category"]))
	}
	if product := Product(r, src.Resolver); !hasCoding(product, m.Product) {
		got := show(product)
		if product == nil {
			got = "geen middel (medicationReference niet op te lossen of zonder code: " + show(r["medicationReference"]) + ")"
		}
		miss("medication[x]", productText(m.Product), got)
	}
	if dosed[m.Block] {
		dosing(r, m, miss)
	}
	periodFindings(r, m, day, miss)
	if m.Amount != nil {
		elem := "quantity"
		q := asMap(r["quantity"])
		if typ == "MedicationRequest" {
			elem = "dispenseRequest.quantity"
			q = asMap(asMap(r["dispenseRequest"])["quantity"])
		}
		if !sameQuantity(q, *m.Amount) {
			miss(elem, m.Amount.Value+" "+m.Amount.Unit, show(q))
		}
	}
	elem := priorElement[m.Block]
	got := PriorIDs(r, elem, src.Resolver)
	switch {
	case m.Prior != "" && !slices.Contains(got, m.Prior):
		miss(elem, "verwijzing naar "+m.Prior, orNothing(got))
	case m.Prior == "" && m.Block == fixtures.MedicatieAfspraak && len(got) > 0:
		miss(elem, "geen (de afspraak wijzigt of stopt niets)", strings.Join(got, ", "))
	}
	return out
}

// dosing compares dose and unit, frequency and period, and route.
func dosing(r map[string]any, m *fixtures.Medication, miss func(elem, want, got string)) {
	elem := "dosageInstruction"
	dosage := firstMap(r["dosageInstruction"])
	if _, ok := r["dosage"]; ok {
		elem, dosage = "dosage", firstMap(r["dosage"])
	}
	if m.Dose.Value != "" {
		dose := asMap(firstMap(dosage["doseAndRate"])["doseQuantity"])
		if !sameQuantity(dose, m.Dose) {
			miss(elem+".doseAndRate.doseQuantity", m.Dose.Value+" "+m.Dose.Unit, show(dose))
		}
	}
	if m.Frequency > 0 {
		repeat := asMap(asMap(dosage["timing"])["repeat"])
		freq, okF := number(repeat["frequency"])
		period, okP := number(repeat["period"])
		if !okP && repeat["period"] == nil {
			period, okP = big.NewRat(1, 1), true
		}
		if !okF || !okP || period.Sign() == 0 || new(big.Rat).Quo(freq, period).Cmp(big.NewRat(int64(m.Frequency), 1)) != 0 || repeat["periodUnit"] != m.Period {
			miss(elem+".timing.repeat", fmt.Sprintf("%d× per 1 %s", m.Frequency, m.Period), show(repeat))
		}
	}
	if m.Route != nil && !hasCoding(codings(dosage["route"]), *m.Route) {
		miss(elem+".route", codeText(*m.Route)+" ("+m.Route.Display+")", show(dosage["route"]))
	}
}

// periodFindings compares the period of use (MedicatieAfspraak,
// ToedieningsAfspraak, MedicatieGebruik) or the validity period
// (VerstrekkingsVerzoek) by day in Europe/Amsterdam; an end may be given as
// a duration.
func periodFindings(r map[string]any, m *fixtures.Medication, day func(int) string, miss func(elem, want, got string)) {
	elem := blockPeriodElement(r)
	if elem == "" {
		return // a Verstrekking carries no period of use
	}
	p := blockPeriod(r)
	start, end := PeriodDays(p)
	want := day(m.StartDay)
	wantEnd := "geen einde"
	if m.EndDay != nil {
		wantEnd = day(*m.EndDay)
	}
	gotEnd := end
	if gotEnd == "" {
		gotEnd = "geen einde"
	}
	if p == nil {
		miss(elem, fmt.Sprintf("start %s, %s", want, wantEnd), "geen periode")
		return
	}
	if start != want {
		miss(elem+".start", want, show(p["start"]))
	}
	if gotEnd != wantEnd {
		miss(elem+".end", wantEnd, show(p["end"])+durationText(p))
	}
}

func durationText(p map[string]any) string {
	for _, e := range list(p["extension"]) {
		if asMap(e)["url"] == DurationURL {
			return " (duur " + show(asMap(e)["valueDuration"]) + ")"
		}
	}
	return ""
}

// blockPeriodElement names where a block carries its period.
func blockPeriodElement(r map[string]any) string {
	switch r["resourceType"] {
	case "MedicationStatement":
		return "effectivePeriod"
	case "MedicationRequest":
		if hasCoding(categoryCodings(r), fixtures.Coding{System: SNOMED, Code: blockCategory[fixtures.VerstrekkingsVerzoek]}) {
			return "dispenseRequest.validityPeriod"
		}
	case "MedicationDispense":
		if !hasCoding(categoryCodings(r), fixtures.Coding{System: SNOMED, Code: blockCategory[fixtures.ToedieningsAfspraak]}) {
			return ""
		}
	}
	return "extension(ext-TimeInterval.Period).valuePeriod"
}

// blockPeriod returns the period a block carries (see blockPeriodElement).
func blockPeriod(r map[string]any) map[string]any {
	switch blockPeriodElement(r) {
	case "effectivePeriod":
		return asMap(r["effectivePeriod"])
	case "dispenseRequest.validityPeriod":
		return asMap(asMap(r["dispenseRequest"])["validityPeriod"])
	case "":
		return nil
	}
	for _, e := range list(r["extension"]) {
		if ext := asMap(e); ext["url"] == PeriodOfUseURL {
			return asMap(ext["valuePeriod"])
		}
	}
	return nil
}

// PeriodDays returns the first and last day (Europe/Amsterdam) of a period
// of use; the last day comes from its end or, without one, from its
// duration (ext-TimeInterval.Duration); "" when it has none.
func PeriodDays(p map[string]any) (start, end string) {
	s := str(p["start"])
	start = Day(s)
	if e := str(p["end"]); e != "" {
		return start, Day(e)
	}
	for _, x := range list(p["extension"]) {
		ext := asMap(x)
		if ext["url"] != DurationURL {
			continue
		}
		d := asMap(ext["valueDuration"])
		n, ok := number(d["value"])
		unit := map[string]time.Duration{"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "wk": 7 * 24 * time.Hour}[str(d["code"])]
		from, okFrom := Moment(s)
		if !okFrom {
			t, err := time.ParseInLocation(fixtures.DateLayout, start, fixtures.Amsterdam)
			from, okFrom = t, err == nil
		}
		if !ok || unit == 0 || !okFrom || n.Sign() <= 0 {
			return start, "onleesbare duur"
		}
		f, _ := n.Float64()
		last := from.Add(time.Duration(f*float64(unit)) - time.Second)
		return start, last.In(fixtures.Amsterdam).Format(fixtures.DateLayout)
	}
	return start, ""
}

// sameQuantity says whether a published Quantity states the registered one:
// the same number and the same UCUM code (a system, when given, is UCUM).
func sameQuantity(q map[string]any, want fixtures.Quantity) bool {
	if q == nil {
		return false
	}
	w, okW := new(big.Rat).SetString(want.Value)
	got, okG := number(q["value"])
	if !okW || !okG || got.Cmp(w) != 0 {
		return false
	}
	if sys, ok := q["system"]; ok && sys != UCUM {
		return false
	}
	return q["code"] == want.Unit
}

// PriorIDs returns the identifier values of the blocks a block's element
// (priorPrescription, basedOn, authorizingPrescription, derivedFrom) refers
// to: by a logical reference (identifier) or a literal one that resolves.
func PriorIDs(r map[string]any, elem string, rv Resolver) []string {
	var out []string
	for _, v := range list(r[elem]) {
		ref := asMap(v)
		if id := str(asMap(ref["identifier"])["value"]); id != "" {
			out = append(out, id)
		}
		if target := rv.Resolve(r, str(ref["reference"])); target != nil {
			for _, i := range list(target["identifier"]) {
				if id := str(asMap(i)["value"]); id != "" {
					out = append(out, id)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "niets"
	}
	return strings.Join(s, ", ")
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

// Treatment returns the MBH id (the identifier's value) of a published
// building block, "" when it has none.
func Treatment(r map[string]any) string {
	for _, e := range list(r["extension"]) {
		if ext := asMap(e); ext["url"] == TreatmentURL {
			return str(asMap(ext["valueIdentifier"])["value"])
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
	Ref       string   // Type/id of the published resource; "" when registered
	IDs       []string // business identifier values
	Prior     []string // identifier values of the agreement it changes or stops
	Product   []map[string]any
	Treatment string // MBH id value
	Dose      *fixtures.Quantity
	StopType  string // SNOMED code of the stop type, "" for none
	Start     string // first day of use (YYYY-MM-DD in Europe/Amsterdam); "" when absent
	End       string // last day of use; "" when open
}

// Agreements reads the person's published MedicatieAfspraken.
func Agreements(src Source) []Agreement {
	var out []Agreement
	for _, r := range src.Resources["MedicationRequest"] {
		if !RefersTo(r, src.PatientID, src.PatientURLs...) || !hasCoding(categoryCodings(r), fixtures.Coding{System: SNOMED, Code: blockCategory[fixtures.MedicatieAfspraak]}) {
			continue
		}
		a := Agreement{Ref: identity(r), Product: Product(r, src.Resolver), Treatment: Treatment(r),
			Prior: PriorIDs(r, "priorPrescription", src.Resolver)}
		if st := StopType(r); len(st) > 0 {
			a.StopType = str(st[0]["code"])
		}
		for _, i := range list(r["identifier"]) {
			if v := str(asMap(i)["value"]); v != "" {
				a.IDs = append(a.IDs, v)
			}
		}
		if q := asMap(firstMap(firstMap(r["dosageInstruction"])["doseAndRate"])["doseQuantity"]); q != nil {
			if v, ok := number(q["value"]); ok {
				a.Dose = &fixtures.Quantity{Value: decimalText(v), Unit: str(q["code"])}
				if sys, ok := q["system"]; ok && sys != UCUM {
					a.Dose.Unit = str(sys) + "|" + a.Dose.Unit
				}
			}
		}
		a.Start, a.End = PeriodDays(blockPeriod(r))
		out = append(out, a)
	}
	return out
}

// Registered returns the ground truth of the medication overview on the
// given day: the scenario's MedicatieAfspraken in force (fixtures derives
// them from the registered building blocks).
func Registered(s *fixtures.Scenario, day int) []Agreement {
	var out []Agreement
	for _, m := range fixtures.MedicationOverview(s, fixtures.MedicatieAfspraak, day) {
		dose := m.Dose
		out = append(out, Agreement{IDs: []string{m.ID}, Treatment: m.Treatment, Dose: &dose,
			Product: []map[string]any{{"system": m.Product.System, "code": m.Product.Code, "display": m.Product.Display}}})
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
		states[i] = &state{a: a, end: a.End}
		for _, id := range a.IDs {
			byID[id] = states[i]
		}
	}
	clip := func(st *state, last string) {
		if last != "" && (st.end == "" || last < st.end) {
			st.end = last
		}
	}
	for _, st := range states {
		for _, p := range st.a.Prior {
			prior := byID[p]
			switch {
			case st.a.StopType == stopCanceled:
				st.dropped = true
				if prior != nil {
					prior.dropped = true
				}
			case st.a.StopType != "":
				if prior != nil {
					clip(prior, st.a.End)
				}
			case prior != nil:
				clip(prior, dayBefore(st.a.Start))
			}
		}
		if st.a.StopType != "" {
			st.dropped = true
		}
	}
	var out []Agreement
	for _, st := range states {
		if st.dropped || st.a.Start != "" && st.a.Start > day || st.end != "" && day > st.end {
			continue
		}
		out = append(out, st.a)
	}
	return out
}

func dayBefore(d string) string {
	t, err := time.Parse(fixtures.DateLayout, d)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, -1).Format(fixtures.DateLayout)
}

// CompareOverviews lists the differences between the overview derived from
// the registration and the one derived from the publication on one moment:
// a product in use that is missing, shown with another dose or MBH, shown
// twice (a duplicate agreement), and a product shown in use that is not.
func CompareOverviews(registered, published []Agreement, moment string) []string {
	sameProduct := func(a, b Agreement) bool {
		for _, p := range a.Product {
			if hasCoding(b.Product, fixtures.Coding{System: str(p["system"]), Code: str(p["code"])}) {
				return true
			}
		}
		return false
	}
	name := func(a Agreement) string {
		if len(a.Product) == 0 {
			return "een middel zonder code"
		}
		if d := str(a.Product[0]["display"]); d != "" {
			return d
		}
		return str(a.Product[0]["system"]) + "|" + str(a.Product[0]["code"])
	}
	agrees := func(reg, pub Agreement) bool {
		return pub.Treatment == reg.Treatment && sameDose(pub.Dose, reg.Dose)
	}
	used := make([]bool, len(published))
	var out []string
	for _, r := range registered {
		best := -1
		for j, p := range published {
			if used[j] || !sameProduct(r, p) {
				continue
			}
			if best < 0 || agrees(r, p) && !agrees(r, published[best]) {
				best = j
			}
		}
		if best < 0 {
			out = append(out, fmt.Sprintf("op %s is %s in gebruik (afspraak %s, MBH %s), maar het gepubliceerde medicatieoverzicht toont het niet", moment, name(r), strings.Join(r.IDs, ", "), r.Treatment))
			continue
		}
		used[best] = true
		p := published[best]
		if !sameDose(p.Dose, r.Dose) {
			out = append(out, fmt.Sprintf("op %s toont het gepubliceerde medicatieoverzicht %s (%s) met dosis %s, geregistreerd is %s %s", moment, name(r), p.Ref, doseText(p.Dose), r.Dose.Value, r.Dose.Unit))
		}
		if p.Treatment != r.Treatment {
			out = append(out, fmt.Sprintf("op %s toont het gepubliceerde medicatieoverzicht %s (%s) met MBH %q, geregistreerd is %s", moment, name(r), p.Ref, p.Treatment, r.Treatment))
		}
	}
	for j, p := range published {
		if used[j] {
			continue
		}
		dup := false
		for _, r := range registered {
			dup = dup || sameProduct(r, p)
		}
		if dup {
			out = append(out, fmt.Sprintf("op %s toont het gepubliceerde medicatieoverzicht %s twee keer in gebruik: %s is een dubbele afspraak", moment, name(p), p.Ref))
			continue
		}
		out = append(out, fmt.Sprintf("op %s toont het gepubliceerde medicatieoverzicht %s (%s, MBH %s) in gebruik, maar volgens de registratie is het dat niet", moment, show(p.Product), p.Ref, p.Treatment))
	}
	return out
}

func sameDose(a, b *fixtures.Quantity) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, okX := new(big.Rat).SetString(a.Value)
	y, okY := new(big.Rat).SetString(b.Value)
	return okX && okY && x.Cmp(y) == 0 && a.Unit == b.Unit
}

// decimalText writes an exact number as a decimal (at most 6 places).
func decimalText(v *big.Rat) string {
	if v.IsInt() {
		return v.RatString()
	}
	return strings.TrimRight(strings.TrimRight(v.FloatString(6), "0"), ".")
}

func doseText(q *fixtures.Quantity) string {
	if q == nil {
		return "geen"
	}
	return q.Value + " " + q.Unit
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
