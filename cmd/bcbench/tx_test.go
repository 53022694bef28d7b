package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/tx"
	"github.com/bcbench/bcbench/profiles/tx/txtest"
	"github.com/bcbench/bcbench/reports"
)

// TestValidateWithTerminologyServer: bcbench validate --tx asks the server
// what the packages cannot decide (a LOINC lab code outside the membership
// table), and a server that is absent or answers garbage leaves it
// undecided with the reason, without failing the file.
func TestValidateWithTerminologyServer(t *testing.T) {
	c := corpusDir(t)
	pkgs := []string{filepath.Join(c, "hl7-fhir-core", "4.0.1"), filepath.Join(c, "nictiz-r4-zib2020", "resources")}
	t.Setenv(tx.CacheEnv, "off")
	file := filepath.Join(t.TempDir(), "lab.json")
	lab := `{"resourceType":"Observation","id":"lab1","meta":{"profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-LaboratoryTestResult"]},
"status":"final","category":[{"coding":[{"system":"http://snomed.info/sct","code":"275711006"}]}],
"code":{"coding":[{"system":"http://loinc.org","code":"14771-0"}]},"subject":{"display":"Anna"},"effectiveDateTime":"2026-01-05",
"valueQuantity":{"value":5.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`
	if err := os.WriteFile(file, []byte(lab), 0o644); err != nil {
		t.Fatal(err)
	}
	good := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer good.Close()
	garbage := txtest.Start(txtest.ReferenceXIS(), txtest.Garbage)
	defer garbage.Close()
	absent := txtest.Absent()
	for _, tc := range []struct {
		name, tx      string
		undecided     bool
		summary, want string
	}{
		{"no server", "", true, "", "could not be checked"},
		{"server decides", good.URL(), false, "1 question(s) (1 server member)", ""},
		{"server answers garbage", garbage.URL(), true, "1 server unknown", "not JSON"},
		{"server absent", absent, true, "1 server unknown", "not reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runValidate(nil, &out, validateOptions{packages: pkgs, format: "text", fhirVersion: "4.0.1", tx: tc.tx}, []string{file})
			text := out.String()
			undecided := strings.Contains(text, "Observation.code: membership in the required value set")
			if undecided != tc.undecided || !strings.Contains(text, tc.summary) || !strings.Contains(text, tc.want) {
				t.Fatalf("undecided %v (want %v); output:\n%s", undecided, tc.undecided, text)
			}
			if strings.Contains(text, "Observation.code: code not in") {
				t.Errorf("a server problem became a wrong code:\n%s", text)
			}
			_ = err // the example's other findings decide the exit code, not the server
		})
	}
	var out bytes.Buffer
	if err := runValidate(nil, &out, validateOptions{packages: pkgs, format: "text", fhirVersion: "4.0.1", tx: "ftp://x"}, []string{file}); exitCode(err) != exitSetup {
		t.Errorf("--tx ftp://x: exit %d, want %d", exitCode(err), exitSetup)
	}
}

// TestRunWithTerminologyServer: bcbench run --tx sends its questions through
// a recording proxy (evidence/tx.har) and logs every answer
// (evidence/tx-answers.json), both signed with the rest; an absent server
// leaves the run going, with the problem reported.
func TestRunWithTerminologyServer(t *testing.T) {
	t.Parallel()
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	srv.RequireToken("tx-geheim-7f3a")
	out := filepath.Join(t.TempDir(), "out")
	code, text := benchWith(t, []string{tx.CacheEnv + "=off", tx.TokenEnv + "=tx-geheim-7f3a"}, "run", "--out", out, "--quiet", "--tx", srv.URL())
	if code != 0 {
		t.Fatalf("run --tx: exit %d\n%s", code, text)
	}
	var answers struct {
		Server  string
		Answers []tx.Answer
	}
	data, err := os.ReadFile(filepath.Join(out, "evidence", "tx-answers.json"))
	if err != nil || json.Unmarshal(data, &answers) != nil {
		t.Fatalf("evidence/tx-answers.json: %v", err)
	}
	// The reference's resources are decided offline (packages, membership
	// table): a run with a terminology server asks it nothing. The server's
	// answers in a run are tested with a code only it decides in
	// TestValidateWithTerminologyServer and fixtures/truth.
	if answers.Server != srv.URL() || len(answers.Answers) != 0 {
		t.Fatalf("tx answers: %s; want none (the reference is decided offline)", data)
	}
	for _, a := range answers.Answers {
		if a.From != "server" || a.Outcome != "member" {
			t.Errorf("answer from %s: %s %s", a.From, a.Outcome, a.Message)
		}
	}
	har, err := os.ReadFile(filepath.Join(out, "evidence", "tx.har"))
	if err != nil || strings.Contains(string(har), "$validate-code") {
		t.Fatalf("evidence/tx.har: %v; want it written, without exchanges", err)
	}
	if strings.Contains(string(har)+string(data), "tx-geheim-7f3a") {
		t.Errorf("the bearer token is in the evidence")
	}
	dsse, _ := os.ReadFile(filepath.Join(out, "results.dsse.json"))
	res := readResults(t, out)
	covered := 0
	for _, e := range res.Evidence {
		if e.Path == "evidence/tx.har" || e.Path == "evidence/tx-answers.json" {
			covered++
		}
	}
	for _, q := range res.Requirements {
		// Undecided checks that are not terminology (a profile the packages
		// lack) may remain; no binding may stay undecided.
		if q.ID == "PRF-01" && (q.Status != "pass" || strings.Contains(q.Reason, "membership in the")) {
			t.Errorf("with the terminology server PRF-01 is %s: %s; want pass with no undecided binding", q.Status, q.Reason)
		}
	}
	if res.Terminology != srv.URL() {
		t.Errorf("results.json names terminology server %q, want %q", res.Terminology, srv.URL())
	}
	if covered != 2 || len(dsse) == 0 {
		t.Errorf("the tx evidence is not among the signed evidence (%d of 2)", covered)
	}

	absent := txtest.Absent()
	out2 := filepath.Join(t.TempDir(), "out")
	code, text = benchWith(t, []string{tx.CacheEnv + "=off", tx.TokenEnv + "="}, "run", "--out", out2, "--quiet", "--tx", absent)
	if code == 2 {
		t.Fatalf("an absent terminology server stopped the run: exit 2\n%s", text)
	}
	// Nothing was left for the server to decide, so its absence changes
	// nothing: the run passes (a server that fails when asked is reported in
	// problems; fixtures/truth's hanging-server case covers the client).
	res = readResults(t, out2)
	if code != 0 || res.Verdict != reports.VerdictPass {
		t.Errorf("an absent, never asked terminology server: exit %d verdict %s problems %q", code, res.Verdict, res.Problems)
	}
	if code, text := benchWith(t, []string{tx.CacheEnv + "=off", tx.TokenEnv + "="}, "run", "--tx", "ftp://x", "--out", filepath.Join(t.TempDir(), "o"), "--quiet"); code != 2 || !strings.Contains(text, "--tx") {
		t.Errorf("--tx ftp://x: exit %d, %s", code, text)
	}
}
