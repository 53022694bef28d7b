package cert

import (
	"crypto/ed25519"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/pki"
	"github.com/bcbench/bcbench/register"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/requirements"
)

type bureau struct {
	dir    string
	issuer Issuer
}

func newBureau(t *testing.T) bureau {
	t.Helper()
	dir := t.TempDir()
	if err := pki.InitCA(dir, "Programmabureau (test)", 3*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	key, err := pki.ReadKey(filepath.Join(dir, pki.RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.ReadCertificate(filepath.Join(dir, pki.RootCertFile))
	if err != nil {
		t.Fatal(err)
	}
	return bureau{dir: dir, issuer: Issuer{Key: key, Cert: c, ID: "https://bureau.test/keurmerk"}}
}

// operator issues an operator certificate valid in [from, until].
func (b bureau) operator(t *testing.T, from, until time.Time) string {
	t.Helper()
	dir := t.TempDir()
	err := pki.Issue(filepath.Join(b.dir, pki.RootKeyFile), filepath.Join(b.dir, pki.RootCertFile), pki.Operator{Name: "Testlab", NotBefore: from, NotAfter: until}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

type runOpts struct {
	verdictFail bool
	dev         bool
	finished    time.Time
	// extraRoles are roles the candidate brought besides its xis
	extraRoles []string
}

// run writes a signed run into a new folder and returns its envelope path.
func run(t *testing.T, opDir string, o runOpts) string {
	t.Helper()
	cat, err := requirements.Default()
	if err != nil {
		t.Fatal(err)
	}
	status := reports.Pass
	if o.verdictFail {
		status = reports.Fail
	}
	roles := []reports.RoleIdentity{{Role: "xis", Kind: "image", Image: "mijnvis:4.2.0", Digest: "sha256:" + strings.Repeat("b", 64)}}
	for _, r := range o.extraRoles {
		roles = append(roles, reports.RoleIdentity{Role: r, Kind: "image", Image: "mijn" + r + ":1", Digest: "sha256:" + strings.Repeat("c", 64)})
	}
	res := reports.Assemble(reports.Input{
		Catalogue:     cat,
		Profile:       reports.ProfileInput{ID: "keurmerk-niveau1", Title: "Keurmerk niveau 1", Version: "0.2.0", Certifies: true, Requirements: []string{"API-01"}},
		ReferenceDate: "2026-06-01",
		Limits:        &reports.Limits{SpecTimeout: "2m0s", RequestTimeout: "30s", StartupTimeout: "1m0s", Memory: 512 << 20, PIDs: 256, CPUs: 1},
		Mode:          reports.ModeCertification,
		Specs:         []reports.SpecOutcome{{Name: "API-01: metadata", Requirements: []string{"API-01"}, Status: status}},
		Bench:         reports.Bench{Version: "test", Suite: strings.Repeat("a", 64)},
		Candidate:     reports.Candidate{Name: "MijnVIS", Vendor: "Voorbeeld BV", Version: "4.2.0", Roles: roles},
		Started:       o.finished.Add(-time.Minute),
		Finished:      o.finished,
		Scenarios:     []string{"ongecompliceerd"},
	})
	out := t.TempDir()
	var signer reports.Signer
	if o.dev {
		signer, err = reports.DevSigner()
	} else {
		signer, err = reports.LoadSigner(filepath.Join(opDir, pki.OperatorKeyFile))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteAll(out, res, signer); err != nil {
		t.Fatal(err)
	}
	crt, err := os.ReadFile(filepath.Join(opDir, pki.OperatorCertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, SignerCertFile), crt, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(out, reports.EnvelopeFile)
}

// The whole flow: root → operator certificate → certifying run → issue →
// register → verify; revoke → verify fails with the reason.
func TestIssueRegisterVerifyRevoke(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	b := newBureau(t)
	now := time.Now()
	op := b.operator(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	env := run(t, op, runOpts{finished: now.Add(-time.Minute)})
	out := t.TempDir()
	digest, err := Issue(env, out, b.issuer, DefaultPolicy, now)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(out, PageFile))
	for _, want := range []string{"MijnVIS", "4.2.0", "keurmerk-niveau1", "Geldig", "bcbench cert verify"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	certPath := filepath.Join(out, EnvelopeFile)
	st, d2, err := Read(certPath, b.issuer.Cert)
	if err != nil || d2 != digest {
		t.Fatalf("read: %v (digest %s vs %s)", err, d2, digest)
	}
	if st.Predicate.VerificationResult != "PASSED" || st.Predicate.Policy.URI != "urn:bcbench:profile:keurmerk-niveau1@0.2.0" ||
		!strings.Contains(strings.Join(st.Predicate.VerifiedLevels, " "), "BCBENCH_REQ_API-01") {
		t.Fatalf("predicate: %+v", st.Predicate)
	}
	reg := t.TempDir()
	open := func(root *x509.Certificate) *register.Log {
		t.Helper()
		l, err := register.Open(reg, Origin(root), root.PublicKey.(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if _, err := Verify(certPath, b.issuer.Cert, open(b.issuer.Cert), now); err == nil {
		t.Fatal("a certificate not in the register verified")
	}
	origin := Origin(b.issuer.Cert)
	if _, err := register.Append(reg, origin, b.issuer.Key, Entry(st, digest)); err != nil {
		t.Fatal(err)
	}
	s, err := Verify(certPath, b.issuer.Cert, open(b.issuer.Cert), now)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if s.Entry != 0 || s.Tree != 1 {
		t.Fatalf("status %+v", s)
	}
	if _, err := Verify(certPath, b.issuer.Cert, open(b.issuer.Cert), now.AddDate(2, 0, 0)); err == nil || !strings.Contains(err.Error(), "not valid now") {
		t.Fatalf("expired certificate: %v", err)
	}
	other := newBureau(t)
	if _, err := Verify(certPath, other.issuer.Cert, open(b.issuer.Cert), now); err == nil {
		t.Fatal("verified with another bureau's root")
	}
	if _, err := register.Append(reg, origin, b.issuer.Key, register.Entry{Kind: register.Revoked, Certificate: digest, Reason: "MP9-01 faalt na herkeuring"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(certPath, b.issuer.Cert, open(b.issuer.Cert), now); err == nil || !strings.Contains(err.Error(), "MP9-01 faalt na herkeuring") {
		t.Fatalf("revoked certificate: %v", err)
	}
}

// A certificate names only the roles the profile judged: a role the
// candidate brought that no passing requirement belongs to (a viewer's own
// XIS under keurmerk-viewer; here a viewer under an XIS profile) is not
// certified, a further publisher xis-<suffix> is when xis was judged.
func TestIssueCertifiesOnlyJudgedRoles(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	b := newBureau(t)
	now := time.Now()
	op := b.operator(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	env := run(t, op, runOpts{finished: now.Add(-time.Minute), extraRoles: []string{"viewer", "xis-ziekenhuis"}})
	out := t.TempDir()
	if _, err := Issue(env, out, b.issuer, DefaultPolicy, now); err != nil {
		t.Fatal(err)
	}
	st, _, err := Read(filepath.Join(out, EnvelopeFile), b.issuer.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Predicate.Details.Roles, ","); got != "xis,xis-ziekenhuis" {
		t.Fatalf("certified roles %s, want xis,xis-ziekenhuis (not the unjudged viewer)", got)
	}
	if levels := strings.Join(st.Predicate.VerifiedLevels, " "); strings.Contains(levels, "BCBENCH_ROLE_VIEWER") {
		t.Fatalf("verified levels %s name the unjudged viewer", levels)
	}
}

func TestIssueRefuses(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	b, other := newBureau(t), newBureau(t)
	now := time.Now()
	valid := b.operator(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cases := []struct {
		name string
		env  func(t *testing.T) string
		want string
	}{
		{"self-test run", func(t *testing.T) string { return run(t, valid, runOpts{dev: true, finished: now}) }, "does not verify"},
		{"failing run", func(t *testing.T) string { return run(t, valid, runOpts{verdictFail: true, finished: now}) }, "verdict is fail"},
		{"expired operator certificate", func(t *testing.T) string {
			return run(t, b.operator(t, now.Add(-2*time.Hour), now.Add(-time.Hour)), runOpts{finished: now})
		}, "not valid at"},
		{"operator of another root", func(t *testing.T) string {
			return run(t, other.operator(t, now.Add(-time.Hour), now.AddDate(1, 0, 0)), runOpts{finished: now})
		}, "not issued by root"},
		{"run too old", func(t *testing.T) string { return run(t, valid, runOpts{finished: now.AddDate(0, 0, -31)}) }, "more than"},
		{"results changed after signing", func(t *testing.T) string {
			env := run(t, valid, runOpts{finished: now})
			p := filepath.Join(filepath.Dir(env), reports.ResultsFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(data), "MijnVIS", "AnderVIS", 1)), 0o644)
			return env
		}, "does not verify"},
		{"no operator certificate", func(t *testing.T) string {
			env := run(t, valid, runOpts{finished: now})
			os.Remove(filepath.Join(filepath.Dir(env), SignerCertFile))
			return env
		}, "no operator certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			_, err := Issue(c.env(t), out, b.issuer, DefaultPolicy, now)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(out, EnvelopeFile)); err == nil {
				t.Fatal("a certificate was written")
			}
		})
	}
}
