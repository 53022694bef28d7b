package translator

import (
	"reflect"
	"testing"
)

// TestConformPatchesEachResource: what conform fills in is each
// resource's own, all the way down: changing the category of one
// translation's resource changes neither another resource, another
// translation nor the templates.
func TestConformPatchesEachResource(t *testing.T) {
	cases := []struct {
		name     string
		profile  string
		typ      string
		category func(r map[string]any) map[string]any // the coding to change
		template map[string]any
	}{
		{"vital sign", "zib-BodyWeight", "Observation", func(r map[string]any) map[string]any { return firstCoding(list(r["category"])[0]) }, vitalSigns},
		{"laboratory result", "zib-LaboratoryTestResult-Observation", "Observation", func(r map[string]any) map[string]any { return firstCoding(list(r["category"])[0]) }, labFinding},
		{"obstetric procedure", "bc-ObstetricProcedure", "Procedure", func(r map[string]any) map[string]any { return firstCoding(r["category"]) }, obstetric},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := deepCopy(c.template)
			translation := func() []map[string]any {
				rs := []map[string]any{
					{"resourceType": c.typ, "id": "1", "meta": profileMeta(c.profile)},
					{"resourceType": c.typ, "id": "2", "meta": profileMeta(c.profile)},
				}
				conform(rs)
				return rs
			}
			first, second := translation(), translation()
			coding := c.category(first[0])
			if coding == nil {
				t.Fatalf("no category filled in: %v", first[0])
			}
			coding["code"] = "changed"
			for name, r := range map[string]map[string]any{"the other resource": first[1], "the next translation": second[0]} {
				if got := c.category(r)["code"]; got == "changed" {
					t.Errorf("%s's category changed with the first one's", name)
				}
			}
			if !reflect.DeepEqual(c.template, want) {
				t.Errorf("the template changed: %v", c.template)
			}
		})
	}
}
