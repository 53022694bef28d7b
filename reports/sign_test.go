package reports

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestInitKeys(t *testing.T) {
	dir := t.TempDir()
	if err := InitKeys(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, want 0600", st.Mode().Perm())
	}
	signer, err := LoadSigner(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if signer.Development() {
		t.Error("a key from keys init must not count as a development key")
	}
	pubPEM, _ := os.ReadFile(filepath.Join(dir, PubFile))
	block, _ := pem.Decode(pubPEM)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("bcbench.pub: %v", err)
	}
	if !pub.(ed25519.PublicKey).Equal(signer.Public()) {
		t.Error("bcbench.pub is not the public half of bcbench.key")
	}
	crtPEM, _ := os.ReadFile(filepath.Join(dir, CertFile))
	block, _ = pem.Decode(crtPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("bcbench.crt: %v", err)
	}
	if cert.Subject.CommonName != "bcbench" || !cert.PublicKey.(ed25519.PublicKey).Equal(signer.Public()) {
		t.Errorf("certificate CN %q or key does not match", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d < 364*24*time.Hour || d > 367*24*time.Hour {
		t.Errorf("certificate validity %v, want one year", d)
	}
	if err := InitKeys(dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second InitKeys = %v, want a refusal to overwrite", err)
	}
}

func TestLoadSignerRejects(t *testing.T) {
	dir := t.TempDir()
	if err := InitKeys(dir); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o600)
		return p
	}
	cases := map[string]string{
		"missing file":   filepath.Join(dir, "nope.key"),
		"not PEM":        write("garbage.key", "hello"),
		"public key":     filepath.Join(dir, PubFile),
		"broken PKCS#8":  write("broken.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"too large file": write("huge.key", strings.Repeat("x", maxKeyFileSize+1)),
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadSigner(p); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestDevSigner(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	a, err := DevSigner()
	if err != nil {
		t.Fatal(err)
	}
	if !a.Development() {
		t.Error("DevSigner is not marked as development key")
	}
	dir, _ := DevKeyDir()
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("development key %v mode %v, want 0600", err, st.Mode().Perm())
	}
	b, err := DevSigner()
	if err != nil {
		t.Fatal(err)
	}
	if !a.Public().(ed25519.PublicKey).Equal(b.Public()) {
		t.Error("second DevSigner made a new key instead of reusing the first")
	}
}

// signedRun writes a complete signed report into a fresh folder and returns
// the folder and the key folder.
func signedRun(t *testing.T) (dir, keys string) {
	t.Helper()
	dir, keys = t.TempDir(), t.TempDir()
	if err := InitKeys(keys); err != nil {
		t.Fatal(err)
	}
	signer, err := LoadSigner(filepath.Join(keys, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, EvidenceDir), 0o755)
	os.WriteFile(filepath.Join(dir, "evidence", "xis.har"), []byte(`{"log":{"entries":[]}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "evidence", "xis.log"), []byte("started\n"), 0o644)
	res := richResults(t)
	// signed after the key's certificate was made, as in a real run
	res.Started, res.Finished = time.Now().UTC().Add(-time.Minute), time.Now().UTC()
	res.Evidence = []Evidence{{Path: "evidence/xis.har"}, {Path: "evidence/xis.log"}}
	if err := WriteAll(dir, res, signer); err != nil {
		t.Fatalf("WriteAll: %v", err)
	}
	return dir, keys
}

func TestVerifyIntact(t *testing.T) {
	dir, keys := signedRun(t)
	env := filepath.Join(dir, EnvelopeFile)
	for _, key := range []string{PubFile, CertFile} {
		if err := Verify(env, filepath.Join(keys, key)); err != nil {
			t.Errorf("Verify with %s: %v", key, err)
		}
	}
	// The statement is what the issue asks for.
	data, _ := os.ReadFile(env)
	var e dsse.Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	payload, _ := e.DecodeB64Payload()
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if e.PayloadType != PayloadType || st.Type != StatementType || st.PredicateType != PredicateType {
		t.Errorf("types %q %q %q", e.PayloadType, st.Type, st.PredicateType)
	}
	if len(st.Subject) != 2 || st.Subject[0].Name != "ref-xis@1.0.0#xis" || st.Subject[0].Digest["sha256"] != strings.Repeat("ab", 32) ||
		st.Subject[1].Digest["sha256"] != strings.Repeat("cd", 32) {
		t.Errorf("subjects = %+v, want the image digest and the binary sha256", st.Subject)
	}
	results, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	if st.Predicate.Results.SHA256 != sha256hex(results) || len(st.Predicate.Evidence) != 2 || st.Predicate.Verdict != VerdictFail ||
		st.Predicate.Profile.ID != "keurmerk-test" || st.Predicate.Bench.Version != "0.1.0-test" {
		t.Errorf("predicate = %+v", st.Predicate)
	}
}

func TestVerifyDetectsChanges(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, dir, keys string) (keyPath string)
		want   string
	}{
		{"one byte of results.json", func(t *testing.T, dir, keys string) string {
			flipByte(t, filepath.Join(dir, ResultsFile), 40)
			return filepath.Join(keys, PubFile)
		}, "results.json: changed"},
		{"verdict in results.json rewritten", func(t *testing.T, dir, keys string) string {
			p := filepath.Join(dir, ResultsFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(data), `"verdict": "fail"`, `"verdict": "pass"`, 1)), 0o644)
			return filepath.Join(keys, PubFile)
		}, "results.json: changed"},
		{"an evidence file changed", func(t *testing.T, dir, keys string) string {
			flipByte(t, filepath.Join(dir, "evidence", "xis.har"), 3)
			return filepath.Join(keys, PubFile)
		}, "evidence/xis.har: changed"},
		{"an evidence file deleted", func(t *testing.T, dir, keys string) string {
			os.Remove(filepath.Join(dir, "evidence", "xis.log"))
			return filepath.Join(keys, PubFile)
		}, "evidence/xis.log: missing"},
		{"results.json deleted", func(t *testing.T, dir, keys string) string {
			os.Remove(filepath.Join(dir, ResultsFile))
			return filepath.Join(keys, CertFile)
		}, "results.json: missing"},
		{"an evidence file added", func(t *testing.T, dir, keys string) string {
			os.WriteFile(filepath.Join(dir, "evidence", "extra.har"), []byte("{}"), 0o644)
			return filepath.Join(keys, PubFile)
		}, "evidence/extra.har: added"},
		{"envelope payload tampered", func(t *testing.T, dir, keys string) string {
			editEnvelope(t, dir, func(e *dsse.Envelope) {
				p, _ := e.DecodeB64Payload()
				p = []byte(strings.Replace(string(p), `"verdict":"fail"`, `"verdict":"pass"`, 1))
				e.Payload = base64.StdEncoding.EncodeToString(p)
			})
			return filepath.Join(keys, PubFile)
		}, "signature does not verify"},
		{"envelope signature tampered", func(t *testing.T, dir, keys string) string {
			editEnvelope(t, dir, func(e *dsse.Envelope) {
				sig, _ := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
				sig[0] ^= 1
				e.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
			})
			return filepath.Join(keys, PubFile)
		}, "signature does not verify"},
		{"envelope payload type changed", func(t *testing.T, dir, keys string) string {
			editEnvelope(t, dir, func(e *dsse.Envelope) { e.PayloadType = "text/plain" })
			return filepath.Join(keys, PubFile)
		}, "payloadType"},
		{"envelope without signatures", func(t *testing.T, dir, keys string) string {
			editEnvelope(t, dir, func(e *dsse.Envelope) { e.Signatures = nil })
			return filepath.Join(keys, PubFile)
		}, "signature does not verify"},
		{"envelope not JSON", func(t *testing.T, dir, keys string) string {
			os.WriteFile(filepath.Join(dir, EnvelopeFile), []byte("<html>"), 0o644)
			return filepath.Join(keys, PubFile)
		}, "not a DSSE envelope"},
		{"wrong key", func(t *testing.T, dir, keys string) string {
			other := t.TempDir()
			if err := InitKeys(other); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(other, PubFile)
		}, "signature does not verify"},
		{"wrong certificate", func(t *testing.T, dir, keys string) string {
			other := t.TempDir()
			if err := InitKeys(other); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(other, CertFile)
		}, "signature does not verify"},
		{"private key given as public key", func(t *testing.T, dir, keys string) string {
			return filepath.Join(keys, KeyFile)
		}, "private key"},
		{"one word of report.html changed", func(t *testing.T, dir, keys string) string {
			p := filepath.Join(dir, HTMLFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(data), "Niet geslaagd", "Geslaagd", 1)), 0o644)
			return filepath.Join(keys, PubFile)
		}, "report.html: changed"},
		{"junit.xml rewritten to pass", func(t *testing.T, dir, keys string) string {
			p := filepath.Join(dir, JUnitFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.ReplaceAll(string(data), "<failure", "<system-out")), 0o644)
			return filepath.Join(keys, PubFile)
		}, "junit.xml: changed"},
		{"report.html deleted", func(t *testing.T, dir, keys string) string {
			os.Remove(filepath.Join(dir, HTMLFile))
			return filepath.Join(keys, PubFile)
		}, "report.html: missing"},
		{"certificate expired before the run was signed", func(t *testing.T, dir, keys string) string {
			return certFor(t, keys, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		}, "has expired when the run was signed"},
		{"certificate not yet valid when the run was signed", func(t *testing.T, dir, keys string) string {
			return certFor(t, keys, time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))
		}, "not yet valid when the run was signed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, keys := signedRun(t)
			key := tc.change(t, dir, keys)
			_, err := VerifyReport(filepath.Join(dir, EnvelopeFile), key, time.Now())
			if err == nil {
				t.Fatal("Verify accepted a changed report")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestVerifyRefusesPathsOutsideTheFolder(t *testing.T) {
	// A statement signed with a valid key that points outside its folder
	// must not make Verify read there.
	dir, keys := t.TempDir(), t.TempDir()
	InitKeys(keys)
	signer, _ := LoadSigner(filepath.Join(keys, KeyFile))
	st := Statement{Type: StatementType, PredicateType: PredicateType, Subject: Subjects(Candidate{Name: "x", Version: "1"}),
		Predicate: Certification{Results: FileDigest{Path: "../../etc/passwd", SHA256: strings.Repeat("0", 64)},
			Evidence: []FileDigest{{Path: "/etc/hostname", SHA256: strings.Repeat("0", 64)}}}}
	payload, _ := json.Marshal(st)
	es, _ := dsse.NewEnvelopeSigner(signer)
	env, err := es.SignPayload(t.Context(), PayloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(env)
	os.WriteFile(filepath.Join(dir, EnvelopeFile), data, 0o644)
	err = Verify(filepath.Join(dir, EnvelopeFile), filepath.Join(keys, PubFile))
	if err == nil || !strings.Contains(err.Error(), "not a path inside the report folder") {
		t.Fatalf("Verify = %v, want refusal of paths outside the folder", err)
	}
}

func TestSubjectsWithoutDigests(t *testing.T) {
	c := Candidate{Name: "xis", Version: "2", Roles: []RoleIdentity{{Role: "xis", Kind: "url", URL: "http://127.0.0.1:1"}}}
	s := Subjects(c)
	canon, _ := json.Marshal(c)
	if len(s) != 1 || s[0].Name != "xis@2" || s[0].Digest["sha256"] != sha256hex(canon) {
		t.Fatalf("subjects = %+v, want one subject digesting the identity JSON", s)
	}
	c.Roles[0].URL = "http://127.0.0.1:2"
	if Subjects(c)[0].Digest["sha256"] == s[0].Digest["sha256"] {
		t.Fatal("a different identity gave the same subject digest")
	}
}

func flipByte(t *testing.T, p string, i int) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[i] ^= 0x01
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func editEnvelope(t *testing.T, dir string, edit func(e *dsse.Envelope)) {
	t.Helper()
	p := filepath.Join(dir, EnvelopeFile)
	data, _ := os.ReadFile(p)
	var e dsse.Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	edit(&e)
	data, _ = json.Marshal(e)
	os.WriteFile(p, data, 0o644)
}

// TestStatementIsValidInToto reads our statement with the in-toto project's
// own Go bindings and runs their validation.
func TestStatementIsValidInToto(t *testing.T) {
	dir, _ := signedRun(t)
	data, _ := os.ReadFile(filepath.Join(dir, EnvelopeFile))
	var e dsse.Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	payload, err := e.DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		t.Fatalf("in-toto bindings cannot read the statement: %v", err)
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("in-toto validation: %v", err)
	}
	if st.GetPredicate().GetFields()["verdict"].GetStringValue() != "fail" {
		t.Fatalf("predicate verdict = %v", st.GetPredicate().GetFields()["verdict"])
	}
}

func TestVerifyHostileEnvelopes(t *testing.T) {
	keys := t.TempDir()
	InitKeys(keys)
	cases := map[string]string{
		"deeply nested":     strings.Repeat("[", 200000) + strings.Repeat("]", 200000),
		"payload not b64":   `{"payloadType":"application/vnd.in-toto+json","payload":"%%%","signatures":[{"keyid":"","sig":"AA=="}]}`,
		"signature not b64": `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"%%%"}]}`,
		"empty":             ``,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, EnvelopeFile)
			os.WriteFile(p, []byte(body), 0o644)
			if err := Verify(p, filepath.Join(keys, PubFile)); err == nil {
				t.Fatal("Verify accepted a hostile envelope")
			}
		})
	}
}

// certFor writes a certificate of the key in keys valid from notBefore to
// notAfter, self-signed with that key.
func certFor(t *testing.T, keys string, notBefore, notAfter time.Time) string {
	t.Helper()
	signer, err := loadSigner(filepath.Join(keys, KeyFile), false)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "bureau-test"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.priv.Public(), signer.priv)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bureau.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A certificate valid when the run was signed but expired since fails now;
// VerifyReport at the signing time passes and says what it verified.
func TestVerifyReportSaysWhatItVerified(t *testing.T) {
	dir, keys := signedRun(t)
	crt := certFor(t, keys, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	env := filepath.Join(dir, EnvelopeFile)
	v, err := VerifyReport(env, crt, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := v.Statement.Predicate
	if p.Profile.ID != "keurmerk-test" || p.Verdict != VerdictFail || p.Mode == "" || v.KeyID == "" ||
		v.Certificate == nil || v.Certificate.Subject.CommonName != "bureau-test" || v.V1() {
		t.Errorf("verified %+v", v)
	}
	for _, f := range []string{ResultsFile, HTMLFile, JUnitFile, "evidence/xis.har"} {
		if !slices.Contains(v.Covered, f) {
			t.Errorf("%s not among the covered files %v", f, v.Covered)
		}
	}
	if _, err := VerifyReport(env, crt, time.Now().Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "has expired now") {
		t.Errorf("VerifyReport after the certificate expired = %v", err)
	}
	if _, err := VerifyReport(env, filepath.Join(keys, KeyFile), time.Now()); !errors.Is(err, ErrUnusable) {
		t.Errorf("a private key as verification key: %v, want ErrUnusable", err)
	}
}
