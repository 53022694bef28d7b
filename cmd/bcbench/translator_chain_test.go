package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reference/translator"
	"github.com/bcbench/bcbench/reports"
)

// translatorManifest is a candidate whose midwife practice publishes
// through a translator (the reference translator started as a program,
// with a seeded defect when defect is set), next to the bench's reference
// XIS as the hospital's.
func translatorManifest(t *testing.T, defect string) string {
	t.Helper()
	args := "[reference, serve, --role, translator, --addr, \"127.0.0.1:{port}\""
	if defect != "" {
		args += ", --defect, " + defect
	}
	doc := fmt.Sprintf("name: LegacyVIS met vertaler\nversion: \"1\"\nroles:\n  xis:\n    command: {path: %s, args: %s]}\n    contract: translator\n  xis-ziekenhuis:\n    builtin: true\n", bin, args)
	p := filepath.Join(t.TempDir(), "candidate.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTranslatorPublishesIntoTheChain: a translator in front of the
// midwife's legacy XIS (contract translator) is sent each of her events as
// ADA at /bench/publish and publishes them into the chain (R4 at its FHIR
// base, registered in the index). The reference translator passes the
// consumer requirements of zelftest-keten-vertaler; the transfer to the
// JGZ, whose hand-over the ADA cannot carry, is never a pass. Each
// translator mutant that declares chain requirements fails exactly those,
// each finding naming the translator's role, never the hospital's XIS.
func TestTranslatorPublishesIntoTheChain(t *testing.T) {
	t.Parallel()
	variants := []translator.Mutant{{}}
	for _, m := range translator.Mutants {
		if len(m.InChain) > 0 {
			variants = append(variants, m)
		}
	}
	if len(variants) < 2 {
		t.Fatal("no translator mutant declares what it fails in a chain")
	}
	for _, m := range variants {
		name := m.Name
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			code, text := bench(t, "run", "--candidate", translatorManifest(t, m.Name), "--profile", certification.ChainTranslator,
				"--scenario", "spoedsectio", "--scenario", "overdracht-jgz", "--out", out, "--quiet")
			res := readResults(t, out)
			if res.SetupProblem != "" {
				t.Fatalf("setup problem %q (exit %d): %s", res.SetupProblem, code, text)
			}
			var got []string
			for _, r := range res.Requirements {
				switch {
				case r.ID == "OVD-02" || r.ID == "OVD-03":
					if r.Status == reports.Pass || r.Status == reports.Fail || !strings.Contains(r.Reason, "vertaler xis") {
						t.Errorf("%s is %s (%s), want it not judged: the hand-over to the JGZ went to the translator", r.ID, r.Status, r.Reason)
					}
				case r.Status == reports.Fail || r.Status == reports.Error:
					got = append(got, r.ID)
					if !strings.Contains(r.Reason, "bij xis ") || strings.Contains(r.Reason, "bij xis-ziekenhuis") {
						t.Errorf("%s names not the translator's role xis alone: %s", r.ID, r.Reason)
					}
				case r.Status != reports.Pass:
					t.Errorf("%s is %s: %s", r.ID, r.Status, r.Reason)
				}
			}
			if !slices.Equal(got, m.InChain) {
				t.Fatalf("requirements failed = %v, want %v (exit %d)\n%s", got, m.InChain, code, text)
			}
			if m.Name != "" {
				return
			}
			// The translator got the midwife's events as ADA at /publish,
			// none as a registration, and registered in the index.
			published := 0
			for _, e := range harEntries(t, filepath.Join(out, "evidence", "xis.har")) {
				if e.Request.Method == "POST" && strings.HasSuffix(e.Request.URL, "/bench/events") {
					t.Errorf("the translator was sent a registration: %s", e.Request.URL)
				}
				if e.Request.Method == "POST" && strings.HasSuffix(e.Request.URL, "/bench/publish") {
					if !strings.Contains(e.Request.PostData.Text, "<verloskundig_dossier_23") || e.Response.Status != 201 {
						t.Errorf("publish answered %d to %.80s", e.Response.Status, e.Request.PostData.Text)
					}
					published++
				}
			}
			if published == 0 {
				t.Error("nothing was published at the translator")
			}
			if n := registrations(t, filepath.Join(out, "evidence", "index.har")); n["Verloskundigenpraktijk De Dageraad"] == 0 {
				t.Errorf("registrations in the index by %v, want the midwife's translator's", n)
			}
		})
	}
	// Without a candidate the profile runs the bench's reference chain with
	// the hospital's legacy system behind the built-in reference translator:
	// every requirement passes, the transfer to the JGZ too (its hand-over
	// is the midwife's, at a reference XIS).
	t.Run("the reference chain, the hospital's translator built in", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out")
		code, text := bench(t, "run", "--profile", certification.ChainTranslator, "--out", out, "--quiet")
		res := readResults(t, out)
		for _, r := range res.Requirements {
			if r.Status != reports.Pass {
				t.Errorf("%s is %s: %s", r.ID, r.Status, r.Reason)
			}
		}
		if code != exitPass {
			t.Errorf("exit %d: %s", code, text)
		}
		if kinds := authorKinds(t, filepath.Join(out, "evidence", "xis.har")); kinds["ziekenhuis"] != 0 {
			t.Errorf("the midwife's XIS got the hospital's events: %v", kinds)
		}
		published := 0
		for _, e := range harEntries(t, filepath.Join(out, "evidence", "xis-ziekenhuis.har")) {
			if e.Request.Method == "POST" && strings.HasSuffix(e.Request.URL, "/bench/publish") && e.Response.Status == 201 {
				published++
			}
		}
		if published == 0 {
			t.Error("the hospital's translator published nothing")
		}
	})
	// A translator publisher is refused, before anything starts, under a
	// profile that does not judge it as one, and with a scenario that
	// withdraws consent or asks for deletion (the ADA cannot tell it).
	refusals := []struct{ name, profile, scenario, want string }{
		{"under zelftest-niveau1", "zelftest-niveau1", "", "--profile " + certification.ChainTranslator},
		{"under zelftest-keten", "zelftest-keten", "", "--profile " + certification.ChainTranslator},
		{"under zelftest-keten-viewer", "zelftest-keten-viewer", "", "--profile " + certification.ChainTranslator},
		{"with a deletion request", certification.ChainTranslator, "vernietiging", "which scenario vernietiging holds"},
		{"with consent withdrawn", certification.ChainTranslator, "toestemming-ingetrokken", "which scenario toestemming-ingetrokken holds"},
	}
	for _, tc := range refusals {
		t.Run("refused "+tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"run", "--candidate", translatorManifest(t, ""), "--profile", tc.profile, "--out", filepath.Join(t.TempDir(), "out"), "--quiet"}
			if tc.scenario != "" {
				args = append(args, "--scenario", tc.scenario)
			}
			code, text := bench(t, args...)
			if code != exitSetup || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d: %s", code, text)
			}
		})
	}
}
