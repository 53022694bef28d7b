package xis

import (
	"maps"
	"slices"
	"time"
)

// capabilityStatement describes what the reference XIS serves; loaded
// lists the types of the loaded resources too, and the writes a loaded XIS
// takes.
func capabilityStatement(version string, now time.Time, loaded []string) map[string]any {
	types := maps.Clone(searchable)
	interactions := []any{map[string]any{"code": "read"}, map[string]any{"code": "search-type"}}
	for _, t := range loaded {
		types[t] = true
	}
	if loaded != nil {
		interactions = append(interactions, map[string]any{"code": "create"}, map[string]any{"code": "update"}, map[string]any{"code": "delete"})
	}
	var resources []any
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		resources = append(resources, map[string]any{
			"type":        typ,
			"interaction": interactions,
			"searchParam": []any{
				map[string]any{"name": "_id", "type": "token"},
				map[string]any{"name": "identifier", "type": "token"},
				map[string]any{"name": "patient", "type": "reference"},
				map[string]any{"name": "code", "type": "token"},
				map[string]any{"name": "category", "type": "token"},
			},
		})
	}
	server := map[string]any{"mode": "server", "resource": resources}
	if loaded != nil {
		server["interaction"] = []any{map[string]any{"code": "transaction"}, map[string]any{"code": "batch"}}
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         now.UTC().Format("2006-01-02"),
		"kind":         "instance",
		"software":     map[string]any{"name": Software, "version": version},
		"fhirVersion":  "4.0.1",
		"format":       []any{"json"},
		"rest":         []any{server},
	}
}
