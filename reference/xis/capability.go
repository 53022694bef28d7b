package xis

import (
	"maps"
	"slices"
	"time"
)

// capabilityStatement describes what the reference XIS serves.
func capabilityStatement(version string, now time.Time) map[string]any {
	var resources []any
	for _, typ := range slices.Sorted(maps.Keys(searchable)) {
		resources = append(resources, map[string]any{
			"type":        typ,
			"interaction": []any{map[string]any{"code": "read"}, map[string]any{"code": "search-type"}},
			"searchParam": []any{
				map[string]any{"name": "_id", "type": "token"},
				map[string]any{"name": "identifier", "type": "token"},
				map[string]any{"name": "patient", "type": "reference"},
				map[string]any{"name": "code", "type": "token"},
				map[string]any{"name": "category", "type": "token"},
			},
		})
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         now.UTC().Format("2006-01-02"),
		"kind":         "instance",
		"software":     map[string]any{"name": Software, "version": version},
		"fhirVersion":  "4.0.1",
		"format":       []any{"json"},
		"rest": []any{map[string]any{
			"mode":     "server",
			"resource": resources,
		}},
	}
}
