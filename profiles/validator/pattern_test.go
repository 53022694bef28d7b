package validator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/outcome"
)

func TestDocumentationOnly(t *testing.T) {
	const pattern = "http://nictiz.nl/fhir/StructureDefinition/pattern-NlCoreHealthProfessionalReference"
	for _, tc := range []struct {
		name     string
		profiles []string
		want     bool
	}{
		{"the nl-core author pattern", []string{pattern}, true},
		{"an unknown profile", []string{"http://example.org/StructureDefinition/unknown"}, false},
		{"the pattern beside an unknown profile", []string{pattern, "http://example.org/StructureDefinition/unknown"}, false},
		{"no profile", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := documentationOnly(tc.profiles); got != tc.want {
				t.Errorf("documentationOnly(%v) = %v, want %v", tc.profiles, got, tc.want)
			}
		})
	}
}

// TestAuthorPattern validates an MP9 certification fixture whose requester
// names pattern-NlCoreHealthProfessionalReference (defined in no loaded
// package): it is not undecided, says why in an information issue, and the
// reference is still judged by its target profiles.
func TestAuthorPattern(t *testing.T) {
	root := corpus(t)
	data, err := os.ReadFile(filepath.Join(root, "nictiz-testscripts/output/R4/MP9-3-0-0-beta/MO/Cert/_reference/fixtures/mp-MedAgr-mp9-MBH300SCRIPT8MASTAKEN-tmg.xml"))
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	v := r4(t)
	for _, tc := range []struct {
		name      string
		data      string
		wantError string // "" no error expected
	}{
		{name: "as published", data: string(data)},
		{name: "requester refers to an Observation", data: strings.Replace(string(data),
			`<reference value="PractitionerRole/nl-core-HPrf-PracRol-mp9-PrcRol-2165281100731-000001112"/>
    <type value="PractitionerRole"/>`, `<reference value="Observation/x"/>
    <type value="Observation"/>`, 1), wantError: "MedicationRequest.requester"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantError != "" && tc.data == string(data) {
				t.Fatal("the mutation did not apply")
			}
			out := v.Validate(context.Background(), []byte(tc.data), Request{FillPlaceholders: true})
			for _, is := range out.Undecided() {
				if strings.Contains(is.Diagnostics, "pattern-NlCoreHealthProfessionalReference") {
					t.Errorf("undecided: %s", is.Diagnostics)
				}
			}
			info := false
			for _, is := range out.Issue {
				if is.Severity == outcome.Information && strings.Contains(is.Diagnostics, "pattern-NlCoreHealthProfessionalReference is not loaded") {
					info = true
				}
			}
			if !info {
				t.Errorf("no information issue about the pattern: %s", out.Text())
			}
			found := false
			for _, is := range out.Issue {
				if is.Severity == outcome.Error && tc.wantError != "" && strings.Contains(strings.Join(is.Expression, ",")+is.Diagnostics, tc.wantError) {
					found = true
				}
			}
			if tc.wantError == "" && out.HasErrors() {
				t.Errorf("errors: %s", out.Text())
			}
			if tc.wantError != "" && !found {
				t.Errorf("no error at %s: %s", tc.wantError, out.Text())
			}
		})
	}
}
