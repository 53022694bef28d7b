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

// TestAccessLogMutantsFailExactlyTheirRequirements: the reference, started as
// a program that trusts the bench's authorization server, passes the chain
// profile with its LOG-* requirements; each access-log mutant fails exactly
// the requirements it declares.
func TestAccessLogMutantsFailExactlyTheirRequirements(t *testing.T) {
	variants := []xis.Mutant{{Name: ""}}
	for _, m := range xis.Mutants {
		if slices.ContainsFunc(m.Violates, func(id string) bool { return strings.HasPrefix(id, "LOG-") }) {
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
			out := filepath.Join(t.TempDir(), "out")
			code, text := bench(t, "run", "--candidate", commandManifest(t, m.Name), "--profile", "zelftest-keten", "--out", out, "--quiet")
			var want []string
			for _, id := range m.Violates {
				want = append(want, id+"=fail")
			}
			res := readResults(t, out)
			if got := failed(res); !slices.Equal(got, want) {
				t.Fatalf("requirements not passed = %v, want %v\n%s", got, want, text)
			}
			for _, id := range []string{"LOG-01", "LOG-02", "LOG-03", "LOG-04"} {
				if !slices.ContainsFunc(res.Requirements, func(r reports.RequirementResult) bool { return r.ID == id }) {
					t.Fatalf("%s was not judged", id)
				}
			}
			if wantCode := map[bool]int{true: 0, false: 1}[len(want) == 0]; code != wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, wantCode, text)
			}
		})
	}
}
