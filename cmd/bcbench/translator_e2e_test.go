package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/reports"
)

// TestTranslatorRun: `bcbench run --profile zelftest-vertaler` judges a
// translator alone: the built-in reference and the reference started as a
// process pass every VRT requirement (VRT-06 with the embedded STU3
// packages); a process mutant fails exactly its declared requirement;
// without STU3 packages (--package none) VRT-06 skips, never passes. Every
// mutant is judged suite-level in suites/translator
// (TestMutantsFailExactlyTheirRequirements).
func TestTranslatorRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("five translator runs")
	}
	cases := []struct {
		name, defect string
		process      bool
		noPackages   bool
		want         []string
	}{
		{name: "builtin"},
		{name: "process", process: true},
		{name: "process-bsn-gelekt", defect: "bsn-gelekt", process: true, want: []string{"VRT-03=fail"}},
		{name: "process-bloeddruk-zonder-categorie", defect: "bloeddruk-zonder-categorie", process: true, want: []string{"VRT-06=fail"}},
		{name: "builtin-no-packages", noPackages: true, want: []string{"VRT-06=skip"}},
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
			if tc.noPackages {
				args = append(args, "--package", "none")
			}
			code, text := bench(t, args...)
			res := readResults(t, out)
			if got := failed(res); !slices.Equal(got, tc.want) {
				t.Fatalf("requirements not passed = %v, want %v (exit %d)\n%s", got, tc.want, code, text)
			}
			// VRT-06 validated with the embedded STU3 packages: the results name them.
			if !tc.noPackages && !slices.ContainsFunc(res.Packages, func(p reports.Package) bool { return p.ID == "geboortezorgnictiz" && p.SHA256 != "" }) {
				t.Errorf("results.json packages %+v lack the birth-care STU3 package VRT-06 validated with", res.Packages)
			}
		})
	}
}

// TestTranslatorImageRun: the reference translator as its scratch image
// (images/reference-translator.Dockerfile, built by images/build.sh) is a
// candidate like any other: `bcbench run --profile zelftest-vertaler`
// starts the container, judges it, passes every VRT requirement, names the
// image by its digest and leaves no container or network behind. It skips
// when no Docker engine answers.
func TestTranslatorImageRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and runs it")
	}
	image := roleImage(t, "translator")
	dir := t.TempDir()
	manifest := filepath.Join(dir, "vertaler.yaml")
	if err := os.WriteFile(manifest, []byte("name: vertaler in een container\nversion: dev\nroles:\n  translator:\n    image: {name: "+image+", port: 8080}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	id := runID()
	t.Setenv("BCBENCH_RUN_ID", id)
	code, text := bench(t, "run", "--profile", "zelftest-vertaler", "--candidate", manifest, "--out", out, "--quiet")
	res := readResults(t, out)
	if got := failed(res); len(got) != 0 {
		t.Fatalf("requirements not passed = %v, want none (exit %d)\n%s", got, code, text)
	}
	if len(res.Candidate.Roles) != 1 || res.Candidate.Roles[0].Kind != "image" || !strings.HasPrefix(res.Candidate.Roles[0].Digest, "sha256:") {
		t.Fatalf("identity %+v, want the image with its digest", res.Candidate.Roles)
	}
	if st := status(res, "VRT-06"); st != reports.Pass {
		t.Errorf("VRT-06 is %q, want pass", st)
	}
	if left := leftovers(t, id); left != "" {
		t.Fatalf("the run left behind:\n%s", left)
	}
	t.Logf("translator image run passed; digest %s", res.Candidate.Roles[0].Digest)
}
