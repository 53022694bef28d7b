package xis

import (
	"strings"
)

// searchable lists the resource types the reference XIS serves.
var searchable = map[string]bool{
	"Patient": true, "Practitioner": true, "PractitionerRole": true, "Organization": true,
	"Observation": true, "Condition": true, "Procedure": true, "MedicationRequest": true,
	"MedicationDispense": true, "MedicationStatement": true, "Medication": true,
	"ServiceRequest": true, "Encounter": true, "EpisodeOfCare": true, "Consent": true,
	"RelatedPerson": true, "Flag": true, "Composition": true, "DocumentReference": true,
}

// criterion decides whether a resource matches one search parameter value.
type criterion interface{ match(map[string]any) bool }

// criteria are joined with AND.
type criteria []criterion

func (c criteria) match(r map[string]any) bool {
	for _, one := range c {
		if !one.match(r) {
			return false
		}
	}
	return true
}

type idCriterion string

func (c idCriterion) match(r map[string]any) bool { return r["id"] == string(c) }

type patientCriterion string

func (c patientCriterion) match(r map[string]any) bool { return patientOf(r) == string(c) }

// token is a [system|]code search value.
type token struct {
	system    string
	code      string
	hasSystem bool
}

func parseToken(v string) token {
	if system, code, ok := strings.Cut(v, "|"); ok {
		return token{system: system, code: code, hasSystem: true}
	}
	return token{code: v}
}

// tokenCriterion matches a token against an Identifier, CodeableConcept or a
// list of them in one field.
type tokenCriterion struct {
	field string
	token token
}

func (c tokenCriterion) match(r map[string]any) bool {
	for _, v := range asList(r[c.field]) {
		m, _ := v.(map[string]any)
		if m == nil {
			continue
		}
		if c.field == "identifier" {
			if c.token.matches(m["system"], m["value"]) {
				return true
			}
			continue
		}
		for _, cd := range asList(m["coding"]) {
			coding, _ := cd.(map[string]any)
			if coding != nil && c.token.matches(coding["system"], coding["code"]) {
				return true
			}
		}
	}
	return false
}

func (t token) matches(system, code any) bool {
	if code != t.code {
		return false
	}
	if !t.hasSystem {
		return true
	}
	s, _ := system.(string)
	return s == t.system
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// candidates are the resources a search must look at: those of the one
// Patient a patient criterion names, or every resource of the type.
func (s *Server) candidates(typ string, crit criteria) []map[string]any {
	for _, c := range crit {
		if p, ok := c.(patientCriterion); ok {
			return s.store.allOf(typ, string(p))
		}
	}
	return s.store.all(typ)
}
