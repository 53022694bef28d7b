package xis

import (
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Variant is a valid way of publishing the same thing that a correct system
// may choose (FHIR allows it); the bench must accept every one: the
// reference with any variant passes every requirement.
type Variant struct {
	Name        string
	Description string // Dutch
	apply       func(resources []map[string]any, base string) []map[string]any
}

// Variants lists the valid variants of the reference XIS.
var Variants = []Variant{
	{
		Name:        "utc",
		Description: "alle tijdstippen in UTC (2026-12-31T23:00:00Z voor middernacht van 1 januari in Nederland)",
		apply: func(resources []map[string]any, _ string) []map[string]any {
			for _, r := range resources {
				walkStrings(r, func(s string) string {
					if len(s) <= len(fixtures.DateLayout) {
						return s
					}
					t, err := time.Parse(time.RFC3339, s)
					if err != nil {
						return s
					}
					return t.UTC().Format(time.RFC3339)
				})
			}
			return resources
		},
	},
	{
		Name:        "absolute-verwijzingen",
		Description: "alle verwijzingen absoluut op de eigen FHIR-basis (https://…/fhir/Patient/…)",
		apply: func(resources []map[string]any, base string) []map[string]any {
			for _, r := range resources {
				walkReferences(r, func(ref string) string {
					if strings.Contains(ref, "://") || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
						return ref
					}
					return base + "/" + ref
				})
			}
			return resources
		},
	},
	{
		Name:        "medicatie-contained",
		Description: "het middel van een medicatiebouwsteen als contained Medication (#id) in plaats van een eigen resource",
		apply: func(resources []map[string]any, _ string) []map[string]any {
			meds := map[string]map[string]any{}
			for _, r := range resources {
				if r["resourceType"] == "Medication" {
					meds["Medication/"+r["id"].(string)] = r
				}
			}
			var out []map[string]any
			for _, r := range resources {
				if r["resourceType"] == "Medication" {
					continue
				}
				if ref, ok := r["medicationReference"].(map[string]any); ok {
					if m := meds[ref["reference"].(string)]; m != nil {
						c := map[string]any{}
						for k, v := range m {
							if k != "text" {
								c[k] = v
							}
						}
						r["contained"] = []any{c}
						ref["reference"] = "#" + m["id"].(string)
					}
				}
				out = append(out, r)
			}
			return out
		},
	},
}

// LookupVariant returns the variant with the given name.
func LookupVariant(name string) (Variant, bool) {
	for _, v := range Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// walkStrings replaces every string value in a JSON tree.
func walkStrings(v any, f func(string) string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				x[k] = f(s)
				continue
			}
			walkStrings(e, f)
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok {
				x[i] = f(s)
				continue
			}
			walkStrings(e, f)
		}
	}
}

// walkReferences replaces every Reference.reference in a JSON tree.
func walkReferences(v any, f func(string) string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				x[k] = f(s)
				continue
			}
			walkReferences(e, f)
		}
	case []any:
		for _, e := range x {
			walkReferences(e, f)
		}
	}
}
