package fact

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
)

func ptr[T any](v T) *T { return &v }

func resolve(day int) string { return []string{"2026-03-02", "2026-03-03"}[day] }

func obs(extra map[string]any) map[string]any {
	r := map[string]any{"resourceType": "Observation", "subject": map[string]any{"reference": "Patient/p1"}}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

func TestValue(t *testing.T) {
	kg := fixtures.Value{Quantity: &fixtures.Quantity{Value: "71.5", Unit: "kg"}}
	cases := []struct {
		name  string
		value fixtures.Value
		res   map[string]any
		want  string // "" means no finding; otherwise a part of the finding
	}{
		{"integer equal", fixtures.Value{Integer: ptr(2)}, obs(map[string]any{"valueInteger": json.Number("2")}), ""},
		{"integer differs", fixtures.Value{Integer: ptr(2)}, obs(map[string]any{"valueInteger": json.Number("3")}), "valueInteger"},
		{"integer missing", fixtures.Value{Integer: ptr(2)}, obs(nil), "niets"},
		{"quantity equal with other decimal text", kg, obs(map[string]any{"valueQuantity": map[string]any{"value": json.Number("71.50"), "system": UCUM, "code": "kg"}}), ""},
		{"quantity in another unit", kg, obs(map[string]any{"valueQuantity": map[string]any{"value": json.Number("71.5"), "system": UCUM, "code": "g"}}), "valueQuantity.code"},
		{"quantity without UCUM system", kg, obs(map[string]any{"valueQuantity": map[string]any{"value": json.Number("71.5"), "code": "kg"}}), "valueQuantity.code"},
		{"quantity value differs", kg, obs(map[string]any{"valueQuantity": map[string]any{"value": 71.4, "system": UCUM, "code": "kg"}}), "valueQuantity.value"},
		{"coding equal", fixtures.Value{Coding: &fixtures.Coding{System: "http://snomed.info/sct", Code: "112144000"}},
			obs(map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "112144000"}}}}), ""},
		{"coding in another system", fixtures.Value{Coding: &fixtures.Coding{System: "http://snomed.info/sct", Code: "112144000"}},
			obs(map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "112144000"}}}}), "valueCodeableConcept"},
		{"coded value of a referral", fixtures.Value{Coding: &fixtures.Coding{System: "s", Code: "01.046"}},
			map[string]any{"resourceType": "ServiceRequest", "performerType": map[string]any{"coding": []any{map[string]any{"system": "s", "code": "01.046"}}}}, ""},
		{"date equal", fixtures.Value{DateDay: ptr(1)}, obs(map[string]any{"valueDateTime": "2026-03-03"}), ""},
		{"date differs", fixtures.Value{DateDay: ptr(1)}, obs(map[string]any{"valueDateTime": "2026-03-02"}), "valueDateTime"},
		{"string equal", fixtures.Value{String: ptr("A")}, obs(map[string]any{"valueString": "A"}), ""},
		{"boolean differs", fixtures.Value{Boolean: ptr(true)}, obs(map[string]any{"valueBoolean": false}), "valueBoolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Report(Value(tc.res, "e1", fixtures.Fact{Key: "k", Value: tc.value}, resolve))
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("Value() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValueComponents(t *testing.T) {
	sys := fixtures.Coding{System: "http://loinc.org", Code: "8480-6"}
	f := fixtures.Fact{Key: "bp", Components: []fixtures.Fact{{Key: "sys", Code: sys, Value: fixtures.Value{Quantity: &fixtures.Quantity{Value: "124", Unit: "mm[Hg]"}}}}}
	comp := func(v string) map[string]any {
		return obs(map[string]any{"component": []any{map[string]any{
			"code":          map[string]any{"coding": []any{map[string]any{"system": sys.System, "code": sys.Code}}},
			"valueQuantity": map[string]any{"value": json.Number(v), "system": UCUM, "code": "mm[Hg]"},
		}}})
	}
	if got := Value(comp("124"), "e1", f, resolve); len(got) != 0 {
		t.Fatalf("equal component: %v", got)
	}
	if got := Value(comp("125"), "e1", f, resolve); len(got) != 1 || got[0].Fact != "bp.sys" {
		t.Fatalf("different component: %v", got)
	}
	if got := Value(obs(nil), "e1", f, resolve); len(got) != 1 || got[0].Got != "niets" {
		t.Fatalf("missing component: %v", got)
	}
}

func TestExpected(t *testing.T) {
	f := fixtures.Fact{Key: "k", ResourceType: "Observation"}
	cases := []struct {
		name       string
		events     []fixtures.Event
		wantItems  int
		wantShared bool
	}{
		{"plain", []fixtures.Event{{ID: "a", Facts: []fixtures.Fact{f}}, {ID: "b", Facts: []fixtures.Fact{f}}}, 2, true},
		{"deleted", []fixtures.Event{{ID: "a", Facts: []fixtures.Fact{f}}, {ID: "d", Kind: fixtures.Deletion}}, 0, false},
		{"withdrawn", []fixtures.Event{{ID: "a", Facts: []fixtures.Fact{f}}, {ID: "c", Kind: fixtures.Consent, Consent: ptr(false)}}, 0, false},
		{"withdrawn then given again", []fixtures.Event{{ID: "a", Facts: []fixtures.Fact{f}}, {ID: "c", Consent: ptr(false)}, {ID: "g", Consent: ptr(true)}}, 1, true},
		{"patient facts are not items", []fixtures.Event{{ID: "a", Facts: []fixtures.Fact{{Key: "p", ResourceType: "Patient"}}}}, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, shared := Expected(&fixtures.Scenario{Events: tc.events})
			if len(items) != tc.wantItems || shared != tc.wantShared {
				t.Fatalf("Expected() = %d items, shared %v; want %d, %v", len(items), shared, tc.wantItems, tc.wantShared)
			}
		})
	}
}
