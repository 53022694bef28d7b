package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/reports"
)

// programmeBureau is the bureau's root and one operator's key, made by the
// real binary as the bureau makes them, and the register certificates go
// into.
type programmeBureau struct {
	dir string
}

// newBureau runs keys init --ca and keys issue.
func newBureau(t *testing.T) programmeBureau {
	t.Helper()
	b := programmeBureau{dir: t.TempDir()}
	b.must(t, 0, "keys", "init", "--ca", "--name", "Programmabureau (test)", "--out", b.path("root"))
	b.must(t, 0, "keys", "issue", "--root-key", b.path("root", "root.key"), "--name", "Testlab", "--out", b.path("op"))
	if err := os.MkdirAll(b.path("register"), 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b programmeBureau) path(parts ...string) string {
	return filepath.Join(append([]string{b.dir}, parts...)...)
}

// operatorKey is what a certifying run is signed with.
func (b programmeBureau) operatorKey() string { return b.path("op", "bcbench.key") }

// must runs the binary with env added and wants exit code want; with -v
// the test reads as a transcript of the bureau's commands.
func (b programmeBureau) must(t *testing.T, want int, args ...string) string {
	t.Helper()
	return b.mustEnv(t, want, nil, args...)
}

func (b programmeBureau) mustEnv(t *testing.T, want int, env []string, args ...string) string {
	t.Helper()
	code, out := benchEnvIn(t, filepath.Join(t.TempDir(), "config"), env, args...)
	if code != want {
		t.Fatalf("bcbench %s = exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
	}
	t.Logf("$ bcbench %s\n%s(exit %d)", strings.Join(args, " "), out, code)
	return out
}

// certifies: the signed run verifies against the bureau's root as a
// certification run, becomes a certificate in the register, and the
// certificate names the profile and the role.
func (b programmeBureau) certifies(t *testing.T, run, profile, role string) {
	t.Helper()
	env := filepath.Join(run, reports.EnvelopeFile)
	b.must(t, 0, "report", "verify", "--root", b.path("root", "root.crt"), "--require-mode", "certificering", "--require-profile", profile, "--require-verdict", "pass", env)
	out := filepath.Join(t.TempDir(), "cert")
	b.must(t, 0, "cert", "issue", "--root-key", b.path("root", "root.key"), "--out", out, "--register", b.path("register"), env)
	text := b.must(t, 0, "cert", "verify", "--root", b.path("root", "root.crt"), "--register", b.path("register"), filepath.Join(out, "certificaat.dsse.json"))
	if !strings.Contains(text, "profiel "+profile+" ") || !strings.Contains(text, "rollen "+role+"\n") {
		t.Fatalf("the certificate does not name profile %s and role %s:\n%s", profile, role, text)
	}
}

// refuses: the bureau issues no certificate from the signed run, and says
// why (want).
func (b programmeBureau) refuses(t *testing.T, run, want string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cert")
	text := b.must(t, 1, "cert", "issue", "--root-key", b.path("root", "root.key"), "--out", out, "--register", b.path("register"), filepath.Join(run, reports.EnvelopeFile))
	if !strings.Contains(text, want) {
		t.Fatalf("cert issue refused without saying %q:\n%s", want, text)
	}
	if _, err := os.Stat(filepath.Join(out, "certificaat.dsse.json")); err == nil {
		t.Fatal("a refused certificate was written anyway")
	}
}

// pinnedImage builds the reference image of a role (skipping without a
// Docker engine) and names it by its digest, as a certifying run wants.
func pinnedImage(t *testing.T, role string) string {
	t.Helper()
	image := roleImage(t, role)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Id}}", image).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", image, err)
	}
	return strings.Split(image, ":")[0] + "@" + strings.TrimSpace(string(id))
}

// TestCertifyTranslator: the bureau certifies a translator (seed 001 X12)
// with keurmerk-vertaler: the reference translator's certifying run, signed
// with an operator key, becomes a certificate for the role translator; the
// reference image with the seeded defect bsn-gelekt (pinned by digest, as a
// certifying run wants) fails exactly VRT-03 and gets none.
func TestCertifyTranslator(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("certifying translator runs")
	}
	b := newBureau(t)
	t.Run("reference", func(t *testing.T) {
		run := filepath.Join(t.TempDir(), "run")
		b.must(t, 0, "run", "--profile", "keurmerk-vertaler", "--key", b.operatorKey(), "--out", run, "--quiet")
		res := readResults(t, run)
		if res.Mode != reports.ModeCertification || res.Profile.ID != "keurmerk-vertaler" || res.Verdict != reports.VerdictPass {
			t.Fatalf("mode %s profile %s verdict %s, want a certifying pass of keurmerk-vertaler", res.Mode, res.Profile.ID, res.Verdict)
		}
		// VRT-06 judged with the pinned STU3 packages and nothing else
		var ids []string
		for _, p := range res.Packages {
			ids = append(ids, p.ID+"#"+p.Version)
		}
		if want := []string{"hl7.fhir.core#3.0.1", "nictiz.fhir.nl.stu3.zib2017#2.2.18", "geboortezorgnictiz#3.0.0"}; !slices.Equal(ids, want) {
			t.Errorf("packages %v, want the pinned %v", ids, want)
		}
		b.certifies(t, run, "keurmerk-vertaler", "translator")
	})
	t.Run("mutant bsn-gelekt", func(t *testing.T) {
		image := pinnedImage(t, "translator")
		dir := t.TempDir()
		manifest := filepath.Join(dir, "vertaler.yaml")
		doc := fmt.Sprintf("name: vertaler bsn-gelekt\nversion: \"1\"\nroles:\n  translator:\n    image:\n      name: %s\n      port: 8080\n      env: {BCBENCH_REFERENCE_DEFECT: bsn-gelekt}\n", image)
		if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(dir, "run")
		b.mustEnv(t, 1, []string{"BCBENCH_RUN_ID=" + runID()}, "run", "--profile", "keurmerk-vertaler", "--key", b.operatorKey(), "--candidate", manifest, "--out", run, "--quiet")
		res := readResults(t, run)
		if got := failed(res); res.Mode != reports.ModeCertification || !slices.Equal(got, []string{"VRT-03=fail"}) {
			t.Fatalf("mode %s, requirements not passed %v, want a certification run failing exactly VRT-03", res.Mode, got)
		}
		b.refuses(t, run, "verdict is fail, not pass")
	})
}

// TestCertifyViewer: the bureau certifies a viewer (seed 001 X13) with
// keurmerk-viewer: the reference viewer's certifying run in chromium,
// signed with an operator key, becomes a certificate for the role viewer;
// the reference viewer image with the seeded defect gewicht-in-gram (pinned
// by digest) fails exactly VWR-04 and gets none; a certifying run on a
// machine without the browser judges nothing (every VWR requirement is the
// bench's error, never pass) and gets none either.
func TestCertifyViewer(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a certifying viewer run in chromium")
	}
	b := newBureau(t)
	t.Run("reference", func(t *testing.T) {
		if _, err := browser.Find(""); err != nil {
			t.Skip(err)
		}
		run := filepath.Join(t.TempDir(), "run")
		b.must(t, 0, "run", "--profile", "keurmerk-viewer", "--key", b.operatorKey(), "--out", run, "--quiet")
		res := readResults(t, run)
		if got := failed(res); res.Mode != reports.ModeCertification || res.Profile.ID != "keurmerk-viewer" || len(got) > 0 {
			t.Fatalf("mode %s profile %s, requirements not passed %v, want a certifying pass of keurmerk-viewer", res.Mode, res.Profile.ID, got)
		}
		b.certifies(t, run, "keurmerk-viewer", "viewer")
	})
	t.Run("mutant gewicht-in-gram", func(t *testing.T) {
		if _, err := browser.Find(""); err != nil {
			t.Skip(err)
		}
		image := pinnedImage(t, "viewer")
		dir := t.TempDir()
		manifest := filepath.Join(dir, "viewer.yaml")
		doc := fmt.Sprintf("name: viewer gewicht-in-gram\nversion: \"1\"\nroles:\n  viewer:\n    image:\n      name: %s\n      port: 8080\n      env: {BCBENCH_REFERENCE_DEFECT: gewicht-in-gram}\n    viewer:\n      clientId: bcbench-viewer\n      auditEvent: /fhir/AuditEvent\n", image)
		if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(dir, "run")
		b.mustEnv(t, 1, []string{"BCBENCH_RUN_ID=" + runID()}, "run", "--profile", "keurmerk-viewer", "--key", b.operatorKey(), "--candidate", manifest, "--out", run, "--quiet")
		res := readResults(t, run)
		if got := failed(res); res.Mode != reports.ModeCertification || !slices.Equal(got, []string{"VWR-04=fail"}) {
			t.Fatalf("mode %s, requirements not passed %v, want a certification run failing exactly VWR-04", res.Mode, got)
		}
		b.refuses(t, run, "verdict is fail, not pass")
	})
	t.Run("no browser", func(t *testing.T) {
		run := filepath.Join(t.TempDir(), "run")
		// the bench's missing browser is its setup problem: exit 2,
		// verdict incomplete, nothing judged — never the viewer's fail
		b.mustEnv(t, 2, []string{"BCBENCH_CHROMIUM=" + filepath.Join(t.TempDir(), "chromium")}, "run", "--profile", "keurmerk-viewer", "--key", b.operatorKey(), "--out", run, "--quiet")
		res := readResults(t, run)
		if res.Verdict != reports.VerdictIncomplete || !strings.Contains(res.SetupProblem, "geen browser") {
			t.Errorf("verdict %s, setup problem %q, want incomplete because the bench has no browser", res.Verdict, res.SetupProblem)
		}
		for _, q := range res.Requirements {
			if q.Status != reports.NotTested {
				t.Errorf("%s is %s (%s), want not-tested: the bench judged nothing", q.ID, q.Status, q.Reason)
			}
		}
		b.refuses(t, run, "not pass")
	})
}
