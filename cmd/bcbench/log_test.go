package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
)

// commandManifest writes a manifest that starts the bench's own reference
// XIS as a command candidate (with a seeded defect, when given) that trusts
// the bench's authorization server.
func commandManifest(t *testing.T, defect string) string {
	t.Helper()
	args := fmt.Sprintf("[reference, serve, --addr, \"127.0.0.1:{port}\"%s]", map[bool]string{true: ", --defect, " + defect, false: ""}[defect != ""])
	doc := fmt.Sprintf("name: referentie-als-programma\nvendor: bcbench\nversion: \"1.0\"\nroles:\n  xis:\n    command: {path: %s, args: %s}\n    auth: {bench: true}\n", bin, args)
	p := filepath.Join(t.TempDir(), "candidate.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// accessLogMutant says whether a mutant's defect is in the access log: it
// is judged with the bench's tokens, in the chain profile.
func accessLogMutant(m xis.Mutant) bool {
	return slices.ContainsFunc(m.Violates, func(id string) bool { return strings.HasPrefix(id, "LOG-") })
}

// TestAccessLogMutantsFailExactlyTheirRequirements: the reference, started as
// a program that trusts the bench's authorization server, passes the chain
// profile with its LOG-* requirements; each access-log mutant fails exactly
// the requirements it declares.
func TestAccessLogMutantsFailExactlyTheirRequirements(t *testing.T) {
	t.Parallel()
	variants := []xis.Mutant{{Name: ""}}
	for _, m := range xis.Mutants {
		if accessLogMutant(m) {
			variants = append(variants, m)
		}
	}
	if len(variants) < 4 {
		t.Fatalf("%d access-log mutants, want at least 3", len(variants)-1)
	}
	for _, m := range variants {
		name := m.Name
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			code, text := bench(t, "run", "--candidate", commandManifest(t, m.Name), "--profile", "zelftest-keten", "--out", out, "--quiet")
			var want []string
			for _, id := range m.Violates {
				want = append(want, id+"=fail")
			}
			// What failed is exactly what the mutant declares; every LOG-*
			// requirement it does not declare passes. (Other requirements of
			// the chain profile, such as the index's, may be skipped in a run
			// without an index: they are not this test's.)
			res := readResults(t, out)
			var got []string
			for _, r := range res.Requirements {
				switch {
				case r.Status == reports.Fail || r.Status == reports.Error:
					got = append(got, r.ID+"="+string(r.Status))
				case strings.HasPrefix(r.ID, "LOG-") && r.Status != reports.Pass:
					t.Errorf("%s is %s: %s", r.ID, r.Status, r.Reason)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("requirements failed = %v, want %v\n%s", got, want, text)
			}
			for _, id := range []string{"LOG-01", "LOG-02", "LOG-03", "LOG-04"} {
				if !slices.ContainsFunc(res.Requirements, func(r reports.RequirementResult) bool { return r.ID == id }) {
					t.Fatalf("%s was not judged", id)
				}
			}
			if len(want) > 0 && code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, text)
			}
		})
	}
}
