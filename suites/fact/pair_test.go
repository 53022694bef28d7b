package fact

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, fixtures.Amsterdam)

func weight(id, patient, when, kg string) map[string]any {
	return map[string]any{"resourceType": "Observation", "id": id,
		"subject":           map[string]any{"reference": patient},
		"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "29463-7"}}},
		"effectiveDateTime": when,
		"valueQuantity":     map[string]any{"value": json.Number(kg), "system": UCUM, "code": "kg"}}
}

func weightItem(event string, day int, kg string) Item {
	return Item{Event: fixtures.Event{ID: event, Day: day, Minute: 9 * 60},
		Fact: fixtures.Fact{Key: "weight", ResourceType: "Observation", Code: fixtures.Coding{System: "http://loinc.org", Code: "29463-7"},
			Value: fixtures.Value{Quantity: &fixtures.Quantity{Value: kg, Unit: "kg"}}}}
}

func TestPairs(t *testing.T) {
	items := []Item{weightItem("e1", 0, "64.5"), weightItem("e2", 7, "66.0")}
	cases := []struct {
		name      string
		published []map[string]any
		want      []string // per item: the id paired, "-" for none; "+dup" when it has duplicates
	}{
		{"each on its day", []map[string]any{
			weight("a", "Patient/p1", "2026-03-02T09:00:00+01:00", "64.5"),
			weight("b", "Patient/p1", "2026-03-09T09:00:00+01:00", "66.0")}, []string{"a", "b"}},
		{"a day written in UTC is still the Amsterdam day", []map[string]any{
			weight("a", "Patient/p1", "2026-03-01T23:30:00Z", "64.5"),
			weight("b", "Patient/p1", "2026-03-09", "66.0")}, []string{"a", "b"}},
		{"values on each other's dates pair by date", []map[string]any{
			weight("a", "Patient/p1", "2026-03-09T09:00:00+01:00", "64.5"),
			weight("b", "Patient/p1", "2026-03-02T09:00:00+01:00", "66.0")}, []string{"b", "a"}},
		{"another client's weight does not pair", []map[string]any{
			weight("a", "Patient/p2", "2026-03-02T09:00:00+01:00", "64.5"),
			weight("b", "https://xis.example/fhir/Patient/p1", "2026-03-09T09:00:00+01:00", "66.0")}, []string{"-", "b"}},
		{"published twice", []map[string]any{
			weight("a", "Patient/p1", "2026-03-02T09:00:00+01:00", "64.5"),
			weight("a2", "Patient/p1", "2026-03-02T09:00:00+01:00", "64.5"),
			weight("b", "Patient/p1", "2026-03-09T09:00:00+01:00", "66.0")}, []string{"a+dup", "b"}},
		{"the better of two candidates pairs, the other is a duplicate", []map[string]any{
			weight("x", "Patient/p1", "2026-03-02T10:00:00+01:00", "99"),
			weight("a", "Patient/p1", "2026-03-02T09:00:00+01:00", "64.5")}, []string{"a+dup", "-"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := Source{Resources: map[string][]map[string]any{"Observation": tc.published}, PatientID: "p1", Reference: day0}
			pairs := Pairs(src, items)
			for i, p := range pairs {
				got := "-"
				if p.Resource != nil {
					got = p.Resource["id"].(string)
				}
				if len(p.Duplicates) > 0 {
					got += "+dup"
				}
				if got != tc.want[i] {
					t.Fatalf("item %d paired with %s, want %s", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestUnpairedNamesTheEventTheFactAndOtherDates(t *testing.T) {
	src := Source{Resources: map[string][]map[string]any{"Observation": {weight("a", "Patient/p1", "2026-03-03T09:00:00+01:00", "64.5")}}, PatientID: "p1", Reference: day0}
	p := Pairs(src, []Item{weightItem("e1", 0, "64.5")})[0]
	if p.Resource != nil {
		t.Fatalf("a weight of another day paired")
	}
	got := p.Unpaired(day0).String()
	for _, want := range []string{"e1", "weight", "2026-03-02", "2026-03-03"} {
		if !strings.Contains(got, want) {
			t.Fatalf("Unpaired() = %q, want it to mention %q", got, want)
		}
	}
}

func TestTwinsFactsWithOneKeyPairByValue(t *testing.T) {
	mode := func(key, code string) Item {
		return Item{Event: fixtures.Event{ID: "e6", Day: 0, Minute: 600}, Fact: fixtures.Fact{Key: key, ResourceType: "Observation",
			Code: fixtures.Coding{System: "s", Code: "mode"}, Value: fixtures.Value{Coding: &fixtures.Coding{System: "s", Code: code}}}}
	}
	obsMode := func(id, code string) map[string]any {
		return map[string]any{"resourceType": "Observation", "id": id, "subject": map[string]any{"reference": "Patient/p1"},
			"code": map[string]any{"coding": []any{map[string]any{"system": "s", "code": "mode"}}}, "effectiveDateTime": "2026-03-02T10:00:00+01:00",
			"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "s", "code": code}}}}
	}
	src := Source{Resources: map[string][]map[string]any{"Observation": {obsMode("r1", "vacuum"), obsMode("r2", "spontaan")}}, PatientID: "p1", Reference: day0}
	pairs := Pairs(src, []Item{mode("kind-1", "spontaan"), mode("kind-2", "vacuum")})
	if pairs[0].Resource["id"] != "r2" || pairs[1].Resource["id"] != "r1" {
		t.Fatalf("twins paired %v and %v, want r2 and r1", pairs[0].Resource["id"], pairs[1].Resource["id"])
	}
}

func TestPairsIsBoundedForThousandsOfResources(t *testing.T) {
	var many []map[string]any
	for i := range 5000 {
		many = append(many, weight("w"+itoa(i), "Patient/p1", "2026-03-02T09:00:00+01:00", "64.5"))
	}
	src := Source{Resources: map[string][]map[string]any{"Observation": many}, PatientID: "p1", Reference: day0}
	p := Pairs(src, []Item{weightItem("e1", 0, "64.5")})[0]
	if p.Resource == nil || len(p.Duplicated()) != 1 || !strings.Contains(p.Duplicated()[0].Got, "5000 keer") {
		t.Fatalf("5000 copies of one weight: %v", p.Duplicated())
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestDayAndSameTime(t *testing.T) {
	registered := time.Date(2027, 1, 1, 0, 0, 0, 0, fixtures.Amsterdam)
	cases := []struct {
		name, published string
		day             string
		same            bool
	}{
		{"local midnight written in UTC", "2026-12-31T23:00:00Z", "2027-01-01", true},
		{"the same moment with its offset", "2027-01-01T00:00:00+01:00", "2027-01-01", true},
		{"a date", "2027-01-01", "2027-01-01", true},
		{"the date of UTC, not of Amsterdam", "2026-12-31", "2026-12-31", false},
		{"local time written as UTC", "2027-01-01T00:00:00Z", "2027-01-01", false},
		{"a month is no day", "2027-01", "", false},
		{"garbage", "gisteren", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Day(tc.published); got != tc.day {
				t.Fatalf("Day(%q) = %q, want %q", tc.published, got, tc.day)
			}
			if got := SameTime(tc.published, registered); got != tc.same {
				t.Fatalf("SameTime(%q) = %v, want %v", tc.published, got, tc.same)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	med := map[string]any{"resourceType": "Medication", "id": "m1"}
	inBundle := map[string]any{"resourceType": "Medication", "id": "m2"}
	from := map[string]any{"contained": []any{map[string]any{"resourceType": "Medication", "id": "c1"}}}
	rv := Resolver{ByRef: map[string]map[string]any{"Medication/m1": med}, ByURL: map[string]map[string]any{"urn:uuid:0b7e": inBundle}}
	cases := []struct {
		name, ref, wantID string
	}{
		{"relative", "Medication/m1", "m1"},
		{"absolute on the candidate's base", "https://xis.example/fhir/Medication/m1", "m1"},
		{"a version", "Medication/m1/_history/3", "m1"},
		{"contained", "#c1", "c1"},
		{"urn:uuid in the Bundle", "urn:uuid:0b7e", "m2"},
		{"unknown", "Medication/nope", ""},
		{"not a reference", "Medication", ""},
		{"contained but absent", "#x", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rv.Resolve(from, tc.ref)
			if id, _ := got["id"].(string); id != tc.wantID {
				t.Fatalf("Resolve(%q) = %v, want id %q", tc.ref, got, tc.wantID)
			}
		})
	}
}

func TestRefersTo(t *testing.T) {
	r := func(ref string) map[string]any { return map[string]any{"subject": map[string]any{"reference": ref}} }
	cases := []struct {
		name string
		res  map[string]any
		want bool
	}{
		{"relative", r("Patient/p1"), true},
		{"absolute", r("https://xis.example/fhir/Patient/p1"), true},
		{"urn:uuid fullUrl of her Patient", r("urn:uuid:aa"), true},
		{"another patient", r("Patient/p11"), false},
		{"another type", r("Group/p1"), false},
		{"patient element", map[string]any{"patient": map[string]any{"reference": "Patient/p1"}}, true},
		{"no subject", map[string]any{}, false},
		{"a logical reference by her BSN", map[string]any{"subject": map[string]any{"identifier": map[string]any{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999900011"}}}, true},
		{"a logical reference by another BSN", map[string]any{"subject": map[string]any{"identifier": map[string]any{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999900023"}}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RefersTo(tc.res, "p1", "urn:uuid:aa", "http://fhir.nl/fhir/NamingSystem/bsn|999900011"); got != tc.want {
				t.Fatalf("RefersTo() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	insulin := fixtures.Coding{System: "urn:oid:2.16.840.1.113883.2.4.4.10", Code: "123", Display: "INSULINE"}
	route := fixtures.Coding{System: "urn:oid:2.16.840.1.113883.2.4.4.9", Code: "2", Display: "subcutaan"}
	ta := fixtures.Medication{Block: fixtures.ToedieningsAfspraak, ID: "TA-1", Prior: "MA-1", Product: insulin,
		Dose: fixtures.Quantity{Value: "4", Unit: "[iU]"}, Frequency: 3, Period: "d", Route: &route, StartDay: 0, EndDay: ptr(6)}
	good := func() map[string]any {
		return map[string]any{
			"resourceType": "MedicationDispense", "id": "ta1",
			"identifier":          []any{map[string]any{"system": "urn:oid:1.2.3", "value": "TA-1"}},
			"category":            map[string]any{"coding": []any{map[string]any{"system": SNOMED, "code": "422037009"}}},
			"medicationReference": map[string]any{"reference": "#m"},
			"contained":           []any{map[string]any{"resourceType": "Medication", "id": "m", "code": map[string]any{"coding": []any{map[string]any{"system": insulin.System, "code": insulin.Code}}}}},
			"dosageInstruction": []any{map[string]any{
				"route":       map[string]any{"coding": []any{map[string]any{"system": route.System, "code": route.Code}}},
				"doseAndRate": []any{map[string]any{"doseQuantity": map[string]any{"value": json.Number("4"), "system": UCUM, "code": "[iU]"}}},
				"timing":      map[string]any{"repeat": map[string]any{"frequency": json.Number("3"), "period": json.Number("1"), "periodUnit": "d"}},
			}},
			"extension":               []any{map[string]any{"url": PeriodOfUseURL, "valuePeriod": map[string]any{"start": "2026-03-01T23:00:00Z", "end": "2026-03-08T23:59:59+01:00"}}},
			"authorizingPrescription": []any{map[string]any{"identifier": map[string]any{"value": "MA-1"}}},
		}
	}
	dosage := func(r map[string]any) map[string]any { return r["dosageInstruction"].([]any)[0].(map[string]any) }
	cases := []struct {
		name   string
		change func(map[string]any)
		want   string // "" no finding, else part of the report
	}{
		{"as registered (start in UTC is local midnight)", func(map[string]any) {}, ""},
		{"tenfold dose", func(r map[string]any) {
			dosage(r)["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any)["value"] = json.Number("40")
		}, "doseQuantity"},
		{"dose in another unit", func(r map[string]any) {
			dosage(r)["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any)["code"] = "ml"
		}, "doseQuantity"},
		{"twice a day", func(r map[string]any) {
			dosage(r)["timing"] = map[string]any{"repeat": map[string]any{"frequency": 2, "periodUnit": "d"}}
		}, "timing.repeat"},
		{"six per two days is three a day", func(r map[string]any) {
			dosage(r)["timing"] = map[string]any{"repeat": map[string]any{"frequency": 6, "period": 2, "periodUnit": "d"}}
		}, ""},
		{"another route", func(r map[string]any) {
			dosage(r)["route"] = map[string]any{"coding": []any{map[string]any{"system": route.System, "code": "9"}}}
		}, "route"},
		{"the end as a duration of 7 days", func(r map[string]any) {
			r["extension"] = []any{map[string]any{"url": PeriodOfUseURL, "valuePeriod": map[string]any{"start": "2026-03-02",
				"extension": []any{map[string]any{"url": DurationURL, "valueDuration": map[string]any{"value": 7, "system": UCUM, "code": "d"}}}}}}
		}, ""},
		{"a start one day early", func(r map[string]any) {
			r["extension"] = []any{map[string]any{"url": PeriodOfUseURL, "valuePeriod": map[string]any{"start": "2026-03-01", "end": "2026-03-08"}}}
		}, "valuePeriod.start"},
		{"no end", func(r map[string]any) {
			r["extension"] = []any{map[string]any{"url": PeriodOfUseURL, "valuePeriod": map[string]any{"start": "2026-03-02"}}}
		}, "valuePeriod.end"},
		{"no reference to the agreement", func(r map[string]any) { delete(r, "authorizingPrescription") }, "authorizingPrescription"},
		{"a literal reference to the agreement resolves", func(r map[string]any) {
			r["authorizingPrescription"] = []any{map[string]any{"reference": "https://xis.example/fhir/MedicationRequest/ma1"}}
		}, ""},
		{"another product", func(r map[string]any) {
			r["contained"].([]any)[0].(map[string]any)["code"] = map[string]any{"coding": []any{map[string]any{"system": insulin.System, "code": "999"}}}
		}, "medication[x]"},
		{"an unresolvable product names the reference, not null", func(r map[string]any) {
			r["medicationReference"] = map[string]any{"reference": "Medication/nope"}
		}, "niet op te lossen"},
		{"the category of a dispense", func(r map[string]any) {
			r["category"] = map[string]any{"coding": []any{map[string]any{"system": SNOMED, "code": "373784005"}}}
		}, "category"},
	}
	rv := Resolver{ByRef: map[string]map[string]any{"MedicationRequest/ma1": {"resourceType": "MedicationRequest", "id": "ma1", "identifier": []any{map[string]any{"value": "MA-1"}}}}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.change(r)
			it := Item{Event: fixtures.Event{ID: "e7"}, Fact: fixtures.Fact{Key: "ta-1", ResourceType: "MedicationDispense", Medication: &ta}}
			got := Report(Block(r, it, Source{Resolver: rv, Reference: day0}))
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("Block() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnpairedBlockNamesTheOtherIdentifiers(t *testing.T) {
	m := fixtures.Medication{Block: fixtures.MedicatieAfspraak, ID: "MA-2", Product: fixtures.Coding{System: "s", Code: "p", Display: "LABETALOL"}}
	other := map[string]any{"resourceType": "MedicationRequest", "id": "x", "subject": map[string]any{"reference": "Patient/p1"},
		"identifier": []any{map[string]any{"value": "MA-2-kopie"}},
		"category":   []any{map[string]any{"coding": []any{map[string]any{"system": SNOMED, "code": "33633005"}}}}}
	src := Source{Resources: map[string][]map[string]any{"MedicationRequest": {other}}, PatientID: "p1", Reference: day0}
	p := Pairs(src, []Item{{Event: fixtures.Event{ID: "e8"}, Fact: fixtures.Fact{Key: "ma", ResourceType: "MedicationRequest", Medication: &m}}})[0]
	got := p.Unpaired(day0).String()
	for _, want := range []string{"e8 › ma", "MA-2", "LABETALOL", "MA-2-kopie"} {
		if p.Resource != nil || !strings.Contains(got, want) {
			t.Fatalf("Unpaired() = %q, want it to mention %q", got, want)
		}
	}
}
