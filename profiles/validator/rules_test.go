package validator

import (
	"context"
	"strings"
	"testing"
)

func TestResourceRules(t *testing.T) {
	v := r4(t)
	cases := []struct {
		name, json, want string // want "" means no error
	}{
		{"derived search parameter keeps its type", `{"resourceType":"SearchParameter","url":"http://example.org/sp","name":"n","status":"active","description":"d","code":"name","base":["Organization"],"type":"string","expression":"Organization.name","derivedFrom":"http://hl7.org/fhir/SearchParameter/Organization-name"}`, ""},
		{"derived search parameter with another type", `{"resourceType":"SearchParameter","url":"http://example.org/sp","name":"n","status":"active","description":"d","code":"name","base":["Organization"],"type":"token","expression":"Organization.name","derivedFrom":"http://hl7.org/fhir/SearchParameter/Organization-name"}`, "differs from the type string"},
		{"derived search parameter on another base", `{"resourceType":"SearchParameter","url":"http://example.org/sp","name":"n","status":"active","description":"d","code":"name","base":["Patient"],"type":"string","expression":"Patient.name","derivedFrom":"http://hl7.org/fhir/SearchParameter/Organization-name"}`, "not among the bases"},
		{"capability search parameter with the wrong type", `{"resourceType":"CapabilityStatement","status":"active","date":"2026-01-01","kind":"instance","fhirVersion":"4.0.1","format":["json"],"rest":[{"mode":"server","resource":[{"type":"Organization","searchParam":[{"name":"name","definition":"http://hl7.org/fhir/SearchParameter/Organization-name","type":"date"}]}]}]}`, "its definition"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := v.Validate(context.Background(), []byte(tc.json), Request{})
			var errs []string
			for _, i := range out.Errors() {
				errs = append(errs, i.Diagnostics)
			}
			got := strings.Join(errs, " | ")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
		})
	}
}
