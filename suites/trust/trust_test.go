package trust

import (
	"fmt"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
)

// TestOwnerRecognisesHerByIdentityNotOnlyByDisplay: a served resource is
// hers by recorded id, by reference to her Patient (also by fullUrl), by her
// BSN, or by her name; another client's resource is not.
func TestOwnerRecognisesHerByIdentityNotOnlyByDisplay(t *testing.T) {
	femke := &person{Client: fixtures.Client{BSN: "999911158", Given: "Femke", Family: "Smit"},
		patientIDs: []string{"p1"}, urls: []string{"urn:uuid:aa"}, held: map[string]bool{"Observation/o1": true}}
	people := []*person{femke}
	subject := func(m map[string]any) map[string]any {
		return map[string]any{"resourceType": "Observation", "subject": m}
	}
	cases := []struct {
		name string
		ref  string
		res  map[string]any
		want bool
	}{
		{"recorded id, subject gone", "Observation/o1", map[string]any{"resourceType": "Observation"}, true},
		{"relative reference without display", "Observation/o2", subject(map[string]any{"reference": "Patient/p1"}), true},
		{"absolute reference", "Observation/o3", subject(map[string]any{"reference": "https://x.example/fhir/Patient/p1"}), true},
		{"urn:uuid fullUrl of her Patient", "Observation/o4", subject(map[string]any{"reference": "urn:uuid:aa"}), true},
		{"her BSN as identifier", "Observation/o5", subject(map[string]any{"identifier": map[string]any{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911158"}}), true},
		{"her name as display only", "Observation/o6", subject(map[string]any{"display": "Femke Smit"}), true},
		{"another client", "Observation/o7", subject(map[string]any{"reference": "Patient/p2", "display": "Sanne de Jong"}), false},
		{"her Patient by BSN", "Patient/p9", map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911158"}}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := owner(people, tc.ref, tc.res) != nil; got != tc.want {
				t.Fatalf("owner() found her = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRefusedMeansNotServed: 401, 403, 404 and 410 mean "not served"; a
// server error or a broken connection is the bench's error.
func TestRefusedMeansNotServed(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"not found", &harness.StatusError{Status: 404}, true},
		{"gone", &harness.StatusError{Status: 410}, true},
		{"forbidden", &harness.StatusError{Status: 403}, true},
		{"unauthorised", fmt.Errorf("reading: %w", &harness.StatusError{Status: 401}), true},
		{"server error", &harness.StatusError{Status: 500}, false},
		{"bad request", &harness.StatusError{Status: 400}, false},
		{"no answer", fmt.Errorf("connection refused"), false},
		{"served", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := refused(tc.err); got != tc.want {
				t.Fatalf("refused(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
