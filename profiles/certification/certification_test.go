package certification

import (
	"strings"
	"testing"
)

func TestEmbeddedProfilesAreValid(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no embedded profiles")
	}
	if _, err := Lookup(Default); err != nil {
		t.Fatalf("default profile: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"broken yaml", "id: [", "reading profile"},
		{"no requirements", "id: x\ntitle: X\nscenarios: [a]\n", "required"},
		{"unknown requirement", "id: x\ntitle: X\nscenarios: [a]\nrequirements: [NOPE-01]\n", "NOPE-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() = %v, want error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "keurmerk-niveau1") {
		t.Fatalf("Lookup(nope) = %v, want an error listing known profiles", err)
	}
}
