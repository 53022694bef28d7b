package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/browser"
)

// TestViewerOnCandidateXIS: a viewer reads the run's own XIS (roles viewer
// and xis, docs/viewer.md "A viewer on your XIS"). The XIS is the
// reference started as a process that trusts the bench's issuer; the
// scenarios are replayed into it, the viewer is launched with the FHIR base
// the bench fronts for it, and its reads reach that XIS through its
// recording proxy. The built-in reference viewer passes VWR-01..08; the
// viewer mutant gewicht-in-gram, as a process, fails exactly VWR-04. In the
// chain (zelftest-keten-viewer: the reference chain, the viewer on its xis)
// the mutant technisch-account fails exactly VWR-06 and every requirement
// of the chain passes.
func TestViewerOnCandidateXIS(t *testing.T) {
	if testing.Short() {
		t.Skip("three viewer runs in chromium")
	}
	if _, err := browser.Find(""); err != nil {
		t.Skip(err)
	}
	xisRole := fmt.Sprintf("  xis:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role xis --addr 127.0.0.1:$PORT']\n    auth: {bench: true}\n", bin)
	mutant := func(defect string) string {
		return fmt.Sprintf("  viewer:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role viewer --defect %s --addr 127.0.0.1:$PORT']\n    viewer:\n      clientId: bcbench-viewer\n      auditEvent: /fhir/AuditEvent\n", bin, defect)
	}
	cases := []struct {
		name, profile, roles string
		want                 []string
	}{
		{name: "reference-viewer", profile: "zelftest-viewer", roles: "  viewer:\n    builtin: true\n" + xisRole},
		{name: "viewer-gewicht-in-gram", profile: "zelftest-viewer", roles: mutant("gewicht-in-gram") + xisRole, want: []string{"VWR-04=fail"}},
		// the chain's other roles are the bench's references
		{name: "chain-technisch-account", profile: "zelftest-keten-viewer", roles: mutant("technisch-account"), want: []string{"VWR-06=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			manifest := filepath.Join(dir, "keten.yaml")
			if err := os.WriteFile(manifest, []byte("name: viewer op een XIS\nversion: dev\nroles:\n"+tc.roles), 0o644); err != nil {
				t.Fatal(err)
			}
			code, text := benchIn(t, filepath.Join(dir, "config"), "run", "--profile", tc.profile, "--candidate", manifest,
				"--out", out, "--quiet", "--timeliness-limit", "viewer=5s")
			res := readResults(t, out)
			if got := failed(res); !slices.Equal(got, tc.want) {
				t.Fatalf("requirements not passed = %v, want %v (exit %d)\n%s", got, tc.want, code, text)
			}
			// the viewer read the candidate's XIS: its searches are in
			// that role's recording, not in a XIS the bench played
			har, err := os.ReadFile(filepath.Join(out, "evidence", "xis.har"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"/fhir/RelatedPerson?identifier=", "/fhir/Observation?patient="} {
				if !strings.Contains(string(har), want) {
					t.Errorf("the XIS's recording has no %s: the viewer did not read it", want)
				}
			}
		})
	}
}

// TestViewerOnXISRefusals: a run whose viewer could not be judged on the
// run's XIS is refused before anything starts, with the reason.
func TestViewerOnXISRefusals(t *testing.T) {
	viewerRole := "  viewer:\n    builtin: true\n"
	cases := []struct {
		name, roles string
		args        []string
		want        string
	}{
		{name: "XIS that does not trust the bench",
			roles: viewerRole + "  xis:\n    command:\n      path: /bin/false\n",
			want:  "must trust the bench's authorization server: give the role auth: {bench: true}"},
		{name: "scenario with events at a further publisher",
			roles: viewerRole + "  xis:\n    builtin: true\n  xis-ziekenhuis:\n    builtin: true\n  index:\n    builtin: true\n",
			args:  []string{"--profile", "zelftest-keten", "--scenario", "ongecompliceerd", "--scenario", "spoedsectio"},
			want:  "scenario spoedsectio registers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			manifest := filepath.Join(dir, "m.yaml")
			if err := os.WriteFile(manifest, []byte("name: weigering\nversion: dev\nroles:\n"+tc.roles), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", "--candidate", manifest, "--out", filepath.Join(dir, "out"), "--quiet"}, tc.args...)
			if tc.args == nil {
				args = append(args, "--profile", "zelftest-viewer")
			}
			code, text := benchIn(t, filepath.Join(dir, "config"), args...)
			if code != exitSetup || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, exitSetup, tc.want, text)
			}
		})
	}
}
