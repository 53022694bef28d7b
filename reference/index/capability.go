package index

import "time"

// capabilityStatement describes what the reference index serves: the MHD
// Document Recipient (ITI-65) and Document Responder (ITI-67) actors.
func capabilityStatement(version string, now time.Time) map[string]any {
	token := func(name, doc string) map[string]any {
		return map[string]any{"name": name, "type": "token", "documentation": doc}
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         now.UTC().Format("2006-01-02"),
		"kind":         "instance",
		"software":     map[string]any{"name": Software, "version": version},
		"fhirVersion":  "4.0.1",
		"format":       []any{"json"},
		"instantiates": []any{
			"https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentRecipient",
			"https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentResponder",
		},
		"rest": []any{map[string]any{
			"mode":        "server",
			"interaction": []any{map[string]any{"code": "transaction", "documentation": "ITI-65 Provide Document Bundle (MHD Minimal option), atomic"}},
			"resource": []any{
				map[string]any{
					"type": "DocumentReference",
					"interaction": []any{
						map[string]any{"code": "read"}, map[string]any{"code": "search-type"},
						map[string]any{"code": "create"}, map[string]any{"code": "delete"},
					},
					"searchParam": []any{
						token("patient.identifier", "the client's BSN, system|value"),
						map[string]any{"name": "patient", "type": "reference"},
						token("status", "current, superseded, entered-in-error; a comma means or"),
						token("identifier", "masterIdentifier or identifier"),
						token("type", ""), token("category", ""), token("_id", ""),
					},
				},
				map[string]any{"type": "List", "interaction": []any{map[string]any{"code": "read"}}},
			},
		}},
	}
}
