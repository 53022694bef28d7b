package main

import (
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
)

// A certifying run judges nothing unless every package the profile pins was
// loaded with exactly that version and sha256 (the "missing package" attack:
// a run with zib2020 / nl-core absent must not certify).
func TestCheckPins(t *testing.T) {
	sum := func(c byte) string { return strings.Repeat(string(c), 64) }
	pins := []certification.Package{
		{ID: "hl7.fhir.r4.core", Version: "4.0.1", SHA256: sum('a')},
		{ID: "nictiz.fhir.nl.r4.zib2020", Version: "0.12.1-beta.1", SHA256: sum('b')},
	}
	all := []reports.Package{
		{ID: "hl7.fhir.r4.core", Version: "4.0.1", SHA256: sum('a')},
		{ID: "nictiz.fhir.nl.r4.zib2020", Version: "0.12.1-beta.1", SHA256: sum('b')},
	}
	cases := []struct {
		name   string
		loaded []reports.Package
		want   string // "" means no problem
	}{
		{"all pinned packages loaded", all, ""},
		{"an extra package does not matter", append(append([]reports.Package{}, all...), reports.Package{ID: "extra", Version: "1"}), ""},
		{"zib2020 absent", all[:1], "nictiz.fhir.nl.r4.zib2020#0.12.1-beta.1 missing"},
		{"other version", []reports.Package{all[0], {ID: "nictiz.fhir.nl.r4.zib2020", Version: "0.11.0", SHA256: sum('b')}}, "loaded as version 0.11.0"},
		{"other bytes", []reports.Package{all[0], {ID: "nictiz.fhir.nl.r4.zib2020", Version: "0.12.1-beta.1", SHA256: sum('c')}}, "pinned " + sum('b')},
		{"loaded from a folder (no sha256)", []reports.Package{all[0], {ID: "nictiz.fhir.nl.r4.zib2020", Version: "0.12.1-beta.1"}}, `has sha256 ""`},
		{"nothing loaded", nil, "hl7.fhir.r4.core#4.0.1 missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(checkPins(pins, c.loaded), "; ")
			switch {
			case c.want == "" && got != "":
				t.Fatalf("problems %q, want none", got)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Fatalf("problems %q, want one containing %q", got, c.want)
			}
		})
	}
}
