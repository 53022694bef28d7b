package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/tx/txtest"
	"github.com/bcbench/bcbench/reports"
)

// TestBureauFlow is the programme bureau's whole flow on the real binary:
// root → operator certificate → certifying run → report verify --root →
// cert issue → register → cert verify; then revocation, and a register
// edited or cut short.
func TestBureauFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	must := func(want int, args ...string) string {
		t.Helper()
		code, out := bench(t, args...)
		if code != want {
			t.Fatalf("bcbench %s = exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		// With -v the flow reads as a transcript of the bureau's commands.
		t.Logf("$ bcbench %s\n%s(exit %d)", strings.Join(args, " "), out, code)
		return out
	}
	must(0, "keys", "init", "--ca", "--name", "Programmabureau (test)", "--out", p("root"))
	must(0, "keys", "issue", "--root-key", p("root", "root.key"), "--name", "Testlab", "--out", p("op"))

	// What the embedded packages cannot decide offline goes to a
	// terminology server (here our loopback one), as a certification would.
	tx := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer tx.Close()
	code, out := bench(t, "run", "--key", p("op", "bcbench.key"), "--tx", tx.URL(), "--out", p("run"), "--quiet")
	if code != 0 {
		var why []string
		if data, err := os.ReadFile(p("run", "results.json")); err == nil {
			if res, err := reports.ParseResults(data); err == nil {
				for _, r := range res.Requirements {
					if r.Status != reports.Pass {
						why = append(why, r.ID+" "+string(r.Status)+": "+r.Reason)
					}
				}
			}
		}
		t.Fatalf("certifying run = exit %d, want 0\n%s\n%s", code, out, strings.Join(why, "\n"))
	}
	env := p("run", "results.dsse.json")
	if _, err := os.Stat(p("run", "signer.crt")); err != nil {
		t.Fatalf("the run left no signer.crt: %v", err)
	}
	out = must(0, "report", "verify", "--root", p("root", "root.crt"), "--require-mode", "certificering", env)
	if !strings.Contains(out, "chains to the bureau's root") {
		t.Fatalf("verify --root does not say it checked the chain:\n%s", out)
	}
	// Another bureau's root does not accept the run.
	must(0, "keys", "init", "--ca", "--name", "Ander bureau", "--out", p("other"))
	must(1, "report", "verify", "--root", p("other", "root.crt"), env)

	reg := p("register")
	if err := os.MkdirAll(reg, 0o755); err != nil {
		t.Fatal(err)
	}
	must(0, "cert", "issue", "--root-key", p("root", "root.key"), "--out", p("cert"), "--register", reg, env)
	crt := p("cert", "certificaat.dsse.json")
	out = must(0, "cert", "verify", "--root", p("root", "root.crt"), "--register", reg, crt)
	if !strings.Contains(out, "geldig certificaat") || !strings.Contains(out, "keurmerk-niveau1") {
		t.Fatalf("cert verify output:\n%s", out)
	}
	// The same run cannot be certified twice into the register.
	must(1, "cert", "issue", "--root-key", p("root", "root.key"), "--out", p("cert2"), "--register", reg, env)
	if _, err := os.Stat(p("cert2", "certificaat.dsse.json")); err == nil {
		t.Fatal("a refused second certificate was written anyway")
	}
	must(0, "register", "site", "--root", p("root", "root.crt"), "--register", reg, "--out", p("site"))

	// Revoking the operator: its runs no longer verify against the register,
	// and no new certificate is issued from them.
	must(0, "register", "revoke", "--root-key", p("root", "root.key"), "--register", reg, "--reason", "sleutel gelekt", p("op", "bcbench.crt"))
	out = must(1, "report", "verify", "--root", p("root", "root.crt"), "--register", reg, env)
	if !strings.Contains(out, "sleutel gelekt") {
		t.Fatalf("verify of a revoked operator's run does not give the reason:\n%s", out)
	}
	must(1, "cert", "issue", "--root-key", p("root", "root.key"), "--out", p("cert3"), "--register", reg, env)

	// Revoking the certificate.
	must(0, "register", "revoke", "--root-key", p("root", "root.key"), "--register", reg, "--reason", "herkeuring MP9-01 mislukt", crt)
	out = must(1, "cert", "verify", "--root", p("root", "root.crt"), "--register", reg, crt)
	if !strings.Contains(out, "herkeuring MP9-01 mislukt") {
		t.Fatalf("cert verify of a revoked certificate does not give the reason:\n%s", out)
	}
	must(0, "register", "verify", "--root", p("root", "root.crt"), "--register", reg)
	saved, err := os.ReadFile(filepath.Join(reg, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("saved-checkpoint"), saved, 0o644); err != nil {
		t.Fatal(err)
	}
	must(0, "register", "verify", "--root", p("root", "root.crt"), "--register", reg, "--since", p("saved-checkpoint"))

	// Editing an entry, or dropping the last one, is detected, and nothing
	// is appended to such a register.
	rec := filepath.Join(reg, "records", "0000000000.json")
	orig, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, []byte(strings.Replace(string(orig), "keurmerk-niveau1", "keurmerk-niveau2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	must(1, "register", "verify", "--root", p("root", "root.crt"), "--register", reg)
	must(1, "register", "revoke", "--root-key", p("root", "root.key"), "--register", reg, "--reason", "x", strings.Repeat("a", 64))
	if err := os.WriteFile(rec, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	must(0, "register", "verify", "--root", p("root", "root.crt"), "--register", reg)
	if err := os.Remove(filepath.Join(reg, "records", "0000000002.json")); err != nil {
		t.Fatal(err)
	}
	out = must(1, "register", "verify", "--root", p("root", "root.crt"), "--register", reg)
	if !strings.Contains(out, "dropped") {
		t.Fatalf("a dropped entry is not named:\n%s", out)
	}
}

// A certificate is never issued from a self-test run.
func TestCertIssueRefusesSelfTest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	if code, out := bench(t, "keys", "init", "--ca", "--out", p("root")); code != 0 {
		t.Fatal(out)
	}
	if code, out := bench(t, "keys", "issue", "--root-key", p("root", "root.key"), "--name", "Testlab", "--out", p("op")); code != 0 {
		t.Fatal(out)
	}
	code, out := bench(t, "run", "--profile", "zelftest-niveau1", "--key", p("op", "bcbench.key"), "--out", p("run"), "--quiet")
	if code != 0 && code != 1 {
		t.Fatalf("self-test run = exit %d\n%s", code, out)
	}
	code, out = bench(t, "cert", "issue", "--root-key", p("root", "root.key"), "--out", p("cert"), p("run", "results.dsse.json"))
	if code != 1 || !strings.Contains(out, "not a certification run") {
		t.Fatalf("cert issue from a self-test = exit %d, want 1 naming it\n%s", code, out)
	}
	if _, err := os.Stat(p("cert", "certificaat.dsse.json")); err == nil {
		t.Fatal("a certificate was written")
	}
}
