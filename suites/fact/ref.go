package fact

import (
	"regexp"
	"strings"
)

// References resolve the FHIR way: relative ("Medication/x"), absolute on
// the candidate's base ("https://host/fhir/Medication/x", with or without
// "/_history/n"), to a contained resource ("#x") and to another entry of the
// same Bundle by its fullUrl ("urn:uuid:…").

// Resolver finds the resource a reference points at.
type Resolver struct {
	// ByURL holds resources by the fullUrl they had in a Bundle the bench
	// received (urn:uuid:… and absolute URLs).
	ByURL map[string]map[string]any
	// ByRef holds resources the bench read from the candidate, by "Type/id".
	ByRef map[string]map[string]any
	// Fetch, when set, resolves a reference that is neither contained, in
	// the Bundle nor in ByRef (it may read it from the candidate).
	Fetch func(ref string) map[string]any
}

// Resolve returns the resource the reference ref in resource from points
// at, or nil when it cannot be resolved.
func (rv Resolver) Resolve(from map[string]any, ref string) map[string]any {
	if ref == "" {
		return nil
	}
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		for _, c := range list(from["contained"]) {
			if m, _ := c.(map[string]any); m != nil && m["id"] == id {
				return m
			}
		}
		return nil
	}
	if r, ok := rv.ByURL[ref]; ok {
		return r
	}
	if typ, id, ok := TypeID(ref); ok {
		if r := rv.ByRef[typ+"/"+id]; r != nil {
			return r
		}
	}
	if rv.Fetch != nil {
		return rv.Fetch(ref)
	}
	return nil
}

// literalRe is a literal reference: [base/]Type/id[/_history/version].
var literalRe = regexp.MustCompile(`(?:^|/)([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$`)

// TypeID splits a relative or absolute literal reference into its resource
// type and id. Contained ("#x") and urn: references have neither.
func TypeID(ref string) (typ, id string, ok bool) {
	if strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") || len(ref) > 1024 {
		return "", "", false
	}
	m := literalRe.FindStringSubmatch(ref)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Reference returns the reference string of a Reference element ("" when
// it has none).
func Reference(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["reference"].(string)
	return s
}
