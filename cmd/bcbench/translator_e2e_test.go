package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTranslatorRun: `bcbench run --profile zelftest-vertaler` judges a
// translator alone: the built-in reference and the reference started as a
// process pass every VRT requirement; a process mutant fails exactly its
// declared requirement. Every mutant is judged suite-level in
// suites/translator (TestMutantsFailExactlyTheirRequirements).
func TestTranslatorRun(t *testing.T) {
	if testing.Short() {
		t.Skip("three translator runs")
	}
	cases := []struct {
		name, defect string
		process      bool
		want         []string
	}{
		{name: "builtin"},
		{name: "process", process: true},
		{name: "process-bsn-gelekt", defect: "bsn-gelekt", process: true, want: []string{"VRT-03=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := []string{"run", "--profile", "zelftest-vertaler", "--out", out, "--quiet"}
			if tc.process {
				manifest := filepath.Join(dir, "vertaler.yaml")
				doc := fmt.Sprintf("name: vertaler %s\nversion: dev\nroles:\n  translator:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role translator --defect \"%s\" --addr 127.0.0.1:$PORT']\n", tc.name, bin, tc.defect)
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
