package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMedMijRun: `bcbench run --profile zelftest-medmij` judges a DVZA with
// the bench as every client's app: the built-in reference DVZA passes every
// MM requirement (MM-11 with the embedded STU3 packages); the reference and
// one mutant started as a process (told the bench's test identity provider
// in BCBENCH_IDP_URL) pass, and fail exactly the mutant's requirement.
// Every mutant is judged suite-level in suites/dvza
// (TestDVZASuiteJudgesEveryVariant).
func TestMedMijRun(t *testing.T) {
	if testing.Short() {
		t.Skip("three MedMij runs")
	}
	cases := []struct {
		name, defect string
		process      bool
		want         []string
	}{
		{name: "builtin"},
		{name: "process", process: true},
		{name: "process-bsn-in-antwoord", defect: "bsn-in-antwoord", process: true, want: []string{"MM-07=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := []string{"run", "--profile", "zelftest-medmij", "--out", out, "--quiet"}
			if tc.process {
				manifest := filepath.Join(dir, "dvza.yaml")
				doc := fmt.Sprintf("name: dvza %s\nversion: dev\nroles:\n  dvza:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role dvza --defect \"%s\" --addr 127.0.0.1:$PORT']\n", tc.name, bin, tc.defect)
				if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--candidate", manifest)
			}
			code, text := bench(t, args...)
			got := failed(readResults(t, out))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("requirements not passed = %v, want %v (exit %d)\n%s", got, tc.want, code, text)
			}
		})
	}
}
