package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
)

// writeSignedReport makes keys with `bcbench keys init` and a signed report
// over the embedded catalogue's INH-01 with the given spec status.
func writeSignedReport(t *testing.T, keys string, st reports.Status) string {
	t.Helper()
	dir := t.TempDir()
	signer, err := reports.LoadSigner(filepath.Join(keys, reports.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "evidence"), 0o755)
	os.WriteFile(filepath.Join(dir, "evidence", "xis.har"), []byte(`{"log":{"entries":[]}}`), 0o644)
	res := reports.Assemble(reports.Input{
		Profile:       reports.ProfileInput{ID: "p", Title: "Testprofiel", Version: "1", Certifies: true, Requirements: []string{"INH-01"}},
		Mode:          reports.ModeCertification,
		ReferenceDate: "2026-06-01",
		Limits: limitsInForce(certification.Limits{SpecTimeout: time.Minute, RequestTimeout: time.Second, StartupTimeout: time.Minute,
			Memory: 512 << 20, PIDs: 256, CPUs: 1}, nil),
		Specs:     []reports.SpecOutcome{{Name: "s", Requirements: []string{"INH-01"}, Status: st, Failure: "boom"}},
		Bench:     reports.Bench{Version: version},
		Candidate: reports.Candidate{Name: "ref-xis", Version: "1", Roles: []reports.RoleIdentity{{Role: "xis", Kind: "builtin"}}},
		Started:   time.Now(), Finished: time.Now(),
		Evidence: []reports.Evidence{{Path: "evidence/xis.har"}},
	})
	if err := reports.WriteAll(dir, res, signer); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestKeysInitAndReportVerify(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if code := execute([]string{"keys", "init", "--out", keys}); code != exitPass {
		t.Fatalf("keys init exit %d", code)
	}
	if code := execute([]string{"keys", "init", "--out", keys}); code != exitSetup {
		t.Fatalf("second keys init exit %d, want %d (refuses to overwrite)", code, exitSetup)
	}
	st, err := os.Stat(filepath.Join(keys, reports.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st.Mode())
	}
	dir := writeSignedReport(t, keys, reports.Pass)
	env := filepath.Join(dir, reports.EnvelopeFile)
	pub := filepath.Join(keys, reports.PubFile)

	cases := []struct {
		name   string
		change func()
		args   []string
		want   int
	}{
		{"intact with the public key", func() {}, []string{"report", "verify", "--key", pub, env}, exitPass},
		{"intact with the certificate", func() {}, []string{"report", "verify", "--key", filepath.Join(keys, reports.CertFile), env}, exitPass},
		{"no key flag", func() {}, []string{"report", "verify", env}, exitSetup},
		{"missing envelope", func() {}, []string{"report", "verify", "--key", pub, filepath.Join(dir, "nope.json")}, exitSetup},
		{"one byte of results.json changed", func() {
			p := filepath.Join(dir, reports.ResultsFile)
			data, _ := os.ReadFile(p)
			data[10] ^= 1
			os.WriteFile(p, data, 0o644)
		}, []string{"report", "verify", "--key", pub, env}, exitFail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			if code := execute(tc.args); code != tc.want {
				t.Fatalf("exit %d, want %d", code, tc.want)
			}
		})
	}
}

func TestReportRenderAndDiff(t *testing.T) {
	keys := t.TempDir()
	if err := reports.InitKeys(keys); err != nil {
		t.Fatal(err)
	}
	good := writeSignedReport(t, keys, reports.Pass)
	bad := writeSignedReport(t, keys, reports.Fail)

	out := t.TempDir()
	if code := execute([]string{"report", "render", filepath.Join(good, reports.ResultsFile), "--out", out}); code != exitPass {
		t.Fatalf("render exit %d", code)
	}
	h, err := os.ReadFile(filepath.Join(out, reports.HTMLFile))
	if err != nil || !strings.Contains(string(h), "Geslaagd") {
		t.Fatalf("rendered report.html: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, reports.JUnitFile)); err != nil {
		t.Fatalf("rendered junit.xml: %v", err)
	}
	broken := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(broken, []byte(`{"schema":"bcbench.results/v1"}`), 0o644)
	if code := execute([]string{"report", "render", broken}); code != exitSetup {
		t.Fatalf("render of an invalid results.json exit %d, want %d", code, exitSetup)
	}

	cases := []struct {
		name string
		a, b string
		want int
	}{
		{"same", good, good, exitPass},
		{"got better", bad, good, exitPass},
		{"got worse", good, bad, exitFail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code := execute([]string{"report", "diff", filepath.Join(tc.a, reports.ResultsFile), filepath.Join(tc.b, reports.ResultsFile)})
			if code != tc.want {
				t.Fatalf("diff exit %d, want %d", code, tc.want)
			}
		})
	}
	if code := execute([]string{"report", "diff", broken, filepath.Join(good, reports.ResultsFile)}); code != exitSetup {
		t.Fatalf("diff with an invalid file exit %d, want %d", code, exitSetup)
	}
}

func TestReportSchemaPrints(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(reports.Schema(), &m); err != nil {
		t.Fatal(err)
	}
	if code := execute([]string{"report", "schema"}); code != exitPass {
		t.Fatalf("report schema exit %d", code)
	}
}
