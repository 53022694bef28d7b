package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
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

// runCLI runs the CLI in-process and returns the exit code and stdout.
func runCLI(args ...string) (int, string) {
	root := newRoot()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(io.Discard)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return exitPass, out.String()
	case errors.As(err, &ee):
		return ee.code, out.String() + "\nerror: " + err.Error()
	default:
		return exitSetup, out.String() + "\nerror: " + err.Error()
	}
}

// TestReportVerifySaysWhatItVerified: verify prints verdict, profile, mode,
// candidate, key id and certificate, and refuses (exit 1) a report that does
// not meet --require-profile / --require-mode / --require-verdict, that was
// changed anywhere (report.html, junit.xml included), or whose certificate
// has expired; unusable input exits 2.
func TestReportVerifySaysWhatItVerified(t *testing.T) {
	keys := t.TempDir()
	if err := reports.InitKeys(keys); err != nil {
		t.Fatal(err)
	}
	pub, crt := filepath.Join(keys, reports.PubFile), filepath.Join(keys, reports.CertFile)
	expired := expiredCert(t, filepath.Join(keys, reports.KeyFile))
	fresh := func(t *testing.T) string {
		return filepath.Join(writeSignedReport(t, keys, reports.Pass), reports.EnvelopeFile)
	}
	tamper := func(name, old, new string) func(t *testing.T, env string) {
		return func(t *testing.T, env string) {
			p := filepath.Join(filepath.Dir(env), name)
			data, _ := os.ReadFile(p)
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s lacks %q", name, old)
			}
			os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644)
		}
	}
	cases := []struct {
		name   string
		change func(t *testing.T, env string)
		args   []string
		code   int
		want   []string
	}{
		{"intact, with the certificate and every requirement", nil,
			[]string{"--cert", crt, "--require-profile", "p", "--require-mode", "certificering", "--require-verdict", "pass"}, exitPass,
			[]string{"verdict:     pass", "profile:     p 1 (certifies)", "mode:        certificering", "candidate:   ref-xis 1", "key id:", "certificate: CN=bcbench", "intact:"}},
		{"intact with the public key", nil, []string{"--key", pub}, exitPass, []string{"certificate: none", "intact:"}},
		{"another profile required", nil, []string{"--key", pub, "--require-profile", "keurmerk-niveau2"}, exitFail, []string{"profile is p, required keurmerk-niveau2"}},
		{"self-test required to be a certification", func(t *testing.T, env string) {
			dir := writeSignedReportMode(t, keys, false)
			os.RemoveAll(filepath.Dir(env))
			os.Rename(dir, filepath.Dir(env))
		}, []string{"--key", pub, "--require-mode", "certificering"}, exitFail, []string{"mode:        zelftest", "mode is zelftest, required certificering"}},
		{"verdict required", nil, []string{"--key", pub, "--require-verdict", "fail"}, exitFail, []string{"verdict is pass, required fail"}},
		{"report.html tampered", tamper(reports.HTMLFile, "Geslaagd", "Geslaagd met lof"), []string{"--key", pub}, exitFail, []string{"report.html: changed"}},
		{"junit.xml tampered", tamper(reports.JUnitFile, `name="verdict" value="pass"`, `name="verdict" value="pass "`), []string{"--key", pub}, exitFail, []string{"junit.xml: changed"}},
		{"expired certificate", nil, []string{"--cert", expired}, exitFail, []string{"has expired"}},
		{"garbage envelope", func(t *testing.T, env string) { os.WriteFile(env, []byte("garbage"), 0o644) }, []string{"--key", pub}, exitSetup, []string{"not a DSSE envelope"}},
		{"key and certificate both", nil, []string{"--key", pub, "--cert", crt}, exitSetup, []string{"not both"}},
		{"unknown mode required", nil, []string{"--key", pub, "--require-mode", "productie"}, exitSetup, []string{"--require-mode"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := fresh(t)
			if tc.change != nil {
				tc.change(t, env)
			}
			code, out := runCLI(append(append([]string{"report", "verify"}, tc.args...), env)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// writeSignedReportMode writes a signed passing report against a profile
// that certifies or not.
func writeSignedReportMode(t *testing.T, keys string, certifies bool) string {
	t.Helper()
	dir := t.TempDir()
	signer, err := reports.LoadSigner(filepath.Join(keys, reports.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	res := reports.Assemble(reports.Input{
		Profile:       reports.ProfileInput{ID: "zelftest-inhoud", Title: "Zelftest", Version: "1", Certifies: certifies, Requirements: []string{"INH-01"}},
		Mode:          reports.ModeCertification,
		ReferenceDate: "2026-06-01",
		Limits:        limitsInForce(certification.Limits{SpecTimeout: time.Minute, RequestTimeout: time.Second, StartupTimeout: time.Minute, Memory: 512 << 20, PIDs: 256, CPUs: 1}, nil),
		Specs:         []reports.SpecOutcome{{Name: "s", Requirements: []string{"INH-01"}, Status: reports.Pass}},
		Bench:         reports.Bench{Version: version},
		Candidate:     reports.Candidate{Name: "ref-xis", Version: "1", Roles: []reports.RoleIdentity{{Role: "xis", Kind: "builtin"}}},
		Started:       time.Now(), Finished: time.Now(),
	})
	if err := reports.WriteAll(dir, res, signer); err != nil {
		t.Fatal(err)
	}
	return dir
}

// expiredCert writes a certificate of the key that expired yesterday.
func expiredCert(t *testing.T, keyPath string) string {
	t.Helper()
	data, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := k.(ed25519.PrivateKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bcbench"},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "expired.crt")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return p
}
