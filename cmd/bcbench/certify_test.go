package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
)

// copyFile copies src to dst with the given mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// initKeys makes a key pair in a fresh folder and returns the key file.
func initKeys(t *testing.T, dir string) string {
	t.Helper()
	if err := reports.InitKeys(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, reports.KeyFile)
}

// TestCertifyingRunRefuses: every way to make a certification out of less
// than the whole profile is refused before anything starts, with exit 2 and
// one line saying why.
func TestCertifyingRunRefuses(t *testing.T) {
	t.Parallel()
	key := initKeys(t, t.TempDir())
	config := t.TempDir() // XDG_CONFIG_HOME: holds the development key
	dev := initKeys(t, filepath.Join(config, "bcbench", "dev"))
	devCopy := filepath.Join(t.TempDir(), "bureau.key")
	copyFile(t, dev, devCopy, 0o600)
	openKey := filepath.Join(t.TempDir(), "open.key")
	copyFile(t, key, openKey, 0o644)
	vendorDir := t.TempDir()
	manifest := filepath.Join(vendorDir, "candidate.yaml")
	if err := os.WriteFile(manifest, []byte("name: leverancier\nversion: \"1\"\nroles:\n  xis:\n    image: {name: \"leverancier/vis@sha256:"+strings.Repeat("0", 64)+"\", port: 8080}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keyInVendorDir := filepath.Join(vendorDir, "keys", "bcbench.key")
	copyFile(t, key, keyInVendorDir, 0o600)
	translatorCommand := filepath.Join(t.TempDir(), "vertaler.yaml")
	if err := os.WriteFile(translatorCommand, []byte("name: vertaler\nversion: \"1\"\nroles:\n  translator:\n    command: {path: /bin/true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"subset of scenarios", []string{"--key", key, "--scenario", "diabetes", "--scenario", "vernietiging"}, nil, "--scenario is refused"},
		{"request timeout override", []string{"--key", key, "--request-timeout", "1s"}, nil, "--request-timeout"},
		{"spec timeout override", []string{"--key", key, "--spec-timeout", "5m"}, nil, "--spec-timeout are refused"},
		{"startup timeout override", []string{"--key", key, "--startup-timeout", "2s"}, nil, "--startup-timeout"},
		{"timeliness limit override", []string{"--key", key, "--timeliness-limit", "publication=5m"}, nil, "--timeliness-limit"},
		{"package substitute", []string{"--key", key, "--package", t.TempDir()}, nil, "--package is refused"},
		{"packages from the environment", []string{"--key", key}, []string{"BCBENCH_PACKAGES=" + t.TempDir()}, "BCBENCH_PACKAGES is set"},
		{"generated population", []string{"--key", key, "--population", "5"}, nil, "--population is refused"},
		{"manual registrations", []string{"--key", key, "--manual"}, nil, "--manual is refused"},
		{"default development key", []string{"--profile", "keurmerk-niveau1"}, nil, "development key never certifies"},
		{"development key given with --key", []string{"--key", dev}, []string{"XDG_CONFIG_HOME=" + config}, "is the development key"},
		{"copy of the development key", []string{"--key", devCopy}, []string{"XDG_CONFIG_HOME=" + config}, "is the development key"},
		{"key readable by others", []string{"--key", openKey}, nil, "readable by others"},
		{"key inside the candidate's folder", []string{"--key", keyInVendorDir, "--candidate", manifest}, nil, "candidate manifest's folder"},
		// the viewer's and the translator's certifying profiles refuse the
		// same, and name their own self-test twin as the way out
		{"viewer: shorter viewer limit", []string{"--profile", "keurmerk-viewer", "--key", key, "--timeliness-limit", "viewer=5s"}, nil, "--profile zelftest-viewer for a self-test"},
		{"viewer: one scenario", []string{"--profile", "keurmerk-viewer", "--key", key, "--scenario", "diabetes"}, nil, "--scenario is refused"},
		{"viewer: development key", []string{"--profile", "keurmerk-viewer"}, nil, "development key never certifies; use --profile zelftest-viewer"},
		{"translator: without packages", []string{"--profile", "keurmerk-vertaler", "--key", key, "--package", "none"}, nil, "--package is refused"},
		{"translator: generated population", []string{"--profile", "keurmerk-vertaler", "--key", key, "--population", "5"}, nil, "--profile zelftest-vertaler for a self-test"},
		{"translator: development key given with --key", []string{"--profile", "keurmerk-vertaler", "--key", dev}, []string{"XDG_CONFIG_HOME=" + config}, "is the development key"},
		{"translator: a command candidate", []string{"--profile", "keurmerk-vertaler", "--key", key, "--candidate", translatorCommand}, nil, "a certifying run does not start command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := runHostileEnv(t, 30*time.Second, tc.env, append([]string{"run", "--out", out, "--quiet"}, tc.args...)...)
			r.check(t, exitSetup, tc.want, 1)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a refused run wrote its output folder (%v)", err)
			}
		})
	}
}

// TestSelfTestProfilesNeverCertify: a profile that does not certify is a
// self-test in results.json, on the page and in the signed statement, also
// when a real key signs it; its overrides are allowed and recorded.
func TestSelfTestProfilesNeverCertify(t *testing.T) {
	t.Parallel()
	keys := t.TempDir()
	key := initKeys(t, keys)
	cases := []struct {
		name       string
		args       []string
		overridden []string
	}{
		{"zelftest-inhoud with the bureau's key", []string{"--profile", "zelftest-inhoud"}, nil},
		{"zelftest-niveau1 with overrides", []string{"--profile", "zelftest-niveau1", "--request-timeout", "20s", "--spec-timeout", "90s"}, []string{"requestTimeout", "specTimeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "--key", key, "--scenario", "ongecompliceerd", "--out", out, "--quiet"}, tc.args...)
			if r := runHostile(t, 90*time.Second, args...); r.code == exitSetup {
				t.Fatalf("refused: %s", r.stderr)
			}
			res := readResults(t, out)
			if res.Mode != reports.ModeSelfTest || res.Profile.Certifies {
				t.Errorf("results.json: mode %q certifies %v, want zelftest false", res.Mode, res.Profile.Certifies)
			}
			if res.Limits == nil || strings.Join(res.Limits.Overridden, ",") != strings.Join(tc.overridden, ",") {
				t.Errorf("limits %+v, want overridden %v", res.Limits, tc.overridden)
			}
			page, _ := os.ReadFile(filepath.Join(out, reports.HTMLFile))
			if !strings.Contains(string(page), "Zelftest — geen certificaat") || strings.Contains(string(page), "Certificeringsrun") {
				t.Error("report.html does not say zelftest — geen certificaat")
			}
			code, text := bench(t, "report", "verify", "--key", filepath.Join(keys, reports.PubFile), filepath.Join(out, reports.EnvelopeFile))
			if code != exitPass || !strings.Contains(text, "zelftest") {
				t.Errorf("verify: exit %d\n%s", code, text)
			}
		})
	}
}

// TestPlantedEvidenceIsNotSigned: a file put into the output folder before
// the run is never signed as this run's evidence: the run refuses a
// non-empty folder, and --force clears it first.
func TestPlantedEvidenceIsNotSigned(t *testing.T) {
	t.Parallel()
	config := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + config}
	out := filepath.Join(t.TempDir(), "out")
	planted := filepath.Join(out, "evidence", "xis-vals.har")
	if err := os.MkdirAll(filepath.Dir(planted), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(planted, []byte(`{"log":{"entries":[]}}`), 0o644)
	args := []string{"run", "--profile", "zelftest-inhoud", "--scenario", "ongecompliceerd", "--out", out, "--quiet"}

	r := runHostileEnv(t, 30*time.Second, env, args...)
	r.check(t, exitSetup, "not empty", 1)
	if _, err := os.Stat(planted); err != nil {
		t.Fatalf("the refused run touched the folder: %v", err)
	}

	if r := runHostileEnv(t, 90*time.Second, env, append(args, "--force")...); r.code == exitSetup {
		t.Fatalf("--force: %s", r.stderr)
	}
	if _, err := os.Stat(planted); !os.IsNotExist(err) {
		t.Errorf("the planted file survived --force (%v)", err)
	}
	for _, e := range readResults(t, out).Evidence {
		if strings.Contains(e.Path, "vals") {
			t.Errorf("planted evidence %s is in results.json", e.Path)
		}
	}
	pub := filepath.Join(config, "bcbench", "dev", reports.PubFile)
	if code, text := bench(t, "report", "verify", "--key", pub, filepath.Join(out, reports.EnvelopeFile)); code != exitPass {
		t.Errorf("verify after --force: exit %d\n%s", code, text)
	}
}

// TestSetupProblemsJudgeNothing: when the bench cannot judge (a limit no
// system meets, a candidate that never starts), the requirements are not
// judged, the verdict is incomplete, the exit code 2, and the page says
// that nothing was judged, with no subsidy sentence.
func TestSetupProblemsJudgeNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"request timeout of 1ns", []string{"--request-timeout", "1ns"}, "requestTimeout 1ns"},
		{"candidate never starts", []string{"--candidate", attachManifest(t, "http://127.0.0.1:1"), "--startup-timeout", "2s"}, "niet gestart"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := runHostile(t, 60*time.Second, append([]string{"run", "--scenario", "ongecompliceerd", "--out", out, "--quiet"}, tc.args...)...)
			if r.code != exitSetup {
				t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
			}
			res := readResults(t, out)
			if res.Verdict != reports.VerdictIncomplete || !strings.Contains(res.SetupProblem, tc.want) {
				t.Errorf("verdict %s setup problem %q, want incomplete mentioning %q", res.Verdict, res.SetupProblem, tc.want)
			}
			for _, q := range res.Requirements {
				if q.Status != reports.NotTested && q.Status != reports.Error {
					t.Errorf("%s is %s, want not-tested or error", q.ID, q.Status)
				}
			}
			for _, g := range res.OutcomeGoals {
				if g.Assessed {
					t.Errorf("outcome goal %d assessed", g.Goal)
				}
			}
			page, _ := os.ReadFile(filepath.Join(out, reports.HTMLFile))
			for _, w := range []string{"niets beoordeeld", "Er is niets getoetst"} {
				if !strings.Contains(string(page), w) {
					t.Errorf("report.html lacks %q", w)
				}
			}
			for _, w := range []string{"terugbetaald", "Realisatie"} {
				if strings.Contains(string(page), w) {
					t.Errorf("report.html has %q", w)
				}
			}
		})
	}
}

// TestCertificationRunPassesAndVerifies: the bureau's flow on the bench's own
// reference: keys init, run with the key (keurmerk-niveau1, its pinned
// packages embedded), verify with the certificate and the requirements.
func TestCertificationRunPassesAndVerifies(t *testing.T) {
	t.Parallel()
	p, err := certification.Lookup(certification.Default)
	if err != nil {
		t.Fatal(err)
	}
	if u := p.Unpinned(); len(u) > 0 {
		t.Skipf("%s does not pin the sha256 of %v yet: this build cannot certify", p.ID, u)
	}
	keys := t.TempDir()
	key := initKeys(t, keys)
	out := filepath.Join(t.TempDir(), "out")
	if r := runHostile(t, 10*time.Minute, "run", "--key", key, "--out", out, "--quiet"); r.code == exitSetup {
		t.Fatalf("certifying run on the reference: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	res := readResults(t, out)
	if res.Mode != reports.ModeCertification || !res.Profile.Certifies || res.Profile.ID != p.ID || res.Verdict != reports.VerdictPass {
		t.Errorf("mode %s certifies %v profile %s verdict %s, want a certifying pass", res.Mode, res.Profile.Certifies, res.Profile.ID, res.Verdict)
	}
	// Without a terminology server, every check on the reference is decided
	// offline (the packages, the shipped membership table, the
	// documentation-only pattern profiles): no requirement is left
	// not-tested for undecided checks, and no reason counts any.
	for _, q := range res.Requirements {
		if q.Status != reports.Pass || strings.Contains(q.Reason, "onbeslist") {
			t.Errorf("%s is %s on the reference: %s", q.ID, q.Status, q.Reason)
		}
	}
	if strings.Join(res.Scenarios, ",") != strings.Join(p.Scenarios, ",") || res.Limits == nil || len(res.Limits.Overridden) > 0 {
		t.Errorf("scenarios %v limits %+v, want the profile's", res.Scenarios, res.Limits)
	}
	for _, pin := range p.Packages {
		if !slices.Contains(res.Packages, reports.Package{ID: pin.ID, Version: pin.Version, SHA256: pin.SHA256}) {
			t.Errorf("pinned package %s sha256 %s not recorded in %v", pin, pin.SHA256, res.Packages)
		}
	}
	env := filepath.Join(out, reports.EnvelopeFile)
	crt := filepath.Join(keys, reports.CertFile)
	code, text := runCLI("report", "verify", "--cert", crt, "--require-profile", p.ID, "--require-mode", "certificering", "--require-verdict", string(res.Verdict), env)
	if code != exitPass || !strings.Contains(text, "mode:        certificering") || !strings.Contains(text, "verdict:     "+string(res.Verdict)) {
		t.Errorf("verify: exit %d\n%s", code, text)
	}
	if res.Verdict != reports.VerdictPass {
		if code, text := runCLI("report", "verify", "--cert", crt, "--require-verdict", "pass", env); code != exitFail {
			t.Errorf("verify --require-verdict pass of an incomplete run: exit %d\n%s", code, text)
		}
	}
	if code, text := runCLI("report", "verify", "--cert", crt, "--require-profile", certification.DefaultSelfTest, env); code != exitFail {
		t.Errorf("verify --require-profile of another profile: exit %d\n%s", code, text)
	}
}
