// Package cert turns a passing, certifying, verified run into the programme
// bureau's certificate: an in-toto Statement whose predicate is an SLSA
// Verification Summary Attestation (verifier = the bureau, resource = the
// candidate, policy = the certification profile and version, result PASSED,
// levels = the roles and requirements met, input = the run's signed
// statement), in a DSSE envelope signed with the bureau's root key, and a
// printable Dutch page beside it.
package cert

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/bcbench/bcbench/pki"
	"github.com/bcbench/bcbench/register"
	"github.com/bcbench/bcbench/reports"
)

// Identifiers of the certificate statement.
const (
	PredicateType = "https://slsa.dev/verification_summary/v1"
	EnvelopeFile  = "certificaat.dsse.json"
	PageFile      = "certificaat.html"
	// SignerCertFile is the operator certificate a run leaves beside its
	// envelope when it was signed with a key that has one.
	SignerCertFile = "signer.crt"
	maxFile        = 64 << 20
)

// ResourceDescriptor is an in-toto resource descriptor.
type ResourceDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Summary is the SLSA VSA v1 predicate, with the bureau's own details under
// "bcbench" (generic VSA readers ignore it).
type Summary struct {
	Verifier struct {
		ID      string            `json:"id"`
		Version map[string]string `json:"version,omitempty"`
	} `json:"verifier"`
	TimeVerified       time.Time            `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	SlsaVersion        string               `json:"slsaVersion"`
	Details            Details              `json:"bcbench"`
}

// Details are what a person reads on the certificate.
type Details struct {
	System         string            `json:"system"`
	Vendor         string            `json:"vendor,omitempty"`
	Version        string            `json:"version"`
	Profile        string            `json:"profile"`
	ProfileTitle   string            `json:"profileTitle,omitempty"`
	ProfileVersion string            `json:"profileVersion"`
	Roles          []string          `json:"roles"`
	Requirements   []string          `json:"requirements"`
	NotBefore      time.Time         `json:"notBefore"`
	NotAfter       time.Time         `json:"notAfter"`
	RunFinished    time.Time         `json:"runFinished"`
	Operator       string            `json:"operator"`            // operator certificate subject
	OperatorCert   string            `json:"operatorCertificate"` // its sha256 fingerprint
	Candidate      reports.Candidate `json:"candidate"`
}

// Statement is the in-toto Statement of a certificate.
type Statement struct {
	Type          string            `json:"_type"`
	Subject       []reports.Subject `json:"subject"`
	PredicateType string            `json:"predicateType"`
	Predicate     Summary           `json:"predicate"`
}

// Policy says how long a run stays good for a certificate and how long a
// certificate is valid.
type Policy struct {
	MaxRunAge time.Duration // a run older than this is refused
	Validity  time.Duration // from the moment of issue
}

// DefaultPolicy is used when the certification profile says nothing.
var DefaultPolicy = Policy{MaxRunAge: 30 * 24 * time.Hour, Validity: 365 * 24 * time.Hour}

// Issuer is the bureau: its root key and certificate.
type Issuer struct {
	Key  ed25519.PrivateKey
	Cert *x509.Certificate
	ID   string // verifier id, e.g. https://keurmerk.example/bureau
	// Register, when set, is the bureau's register: a run signed by a
	// revoked operator certificate is refused.
	Register *register.Log
}

// CheckOperator checks the operator certificate that signed a run: issued by
// the root, valid at the run's end, and (with a register) not revoked.
func CheckOperator(op, root *x509.Certificate, at time.Time, reg *register.Log) error {
	if err := pki.VerifyOperator(op, root, at); err != nil {
		return err
	}
	if reg == nil {
		return nil
	}
	r, err := reg.OperatorRevocation(pki.Fingerprint(op))
	if err != nil {
		return err
	}
	if r != nil {
		return fmt.Errorf("operator certificate %q was revoked on %s: %s", op.Subject.CommonName, r.Time.Format(time.DateOnly), r.Reason)
	}
	return nil
}

// Issue verifies the run whose envelope is at envelopePath (its signature
// with the operator certificate beside it, the operator certificate's chain
// to the bureau's root at the run's end, every file of the run), checks that
// the run is certifying, passed, and is recent enough, and writes the
// certificate envelope and its page into outDir. It returns the envelope's
// sha256.
func Issue(envelopePath, outDir string, is Issuer, pol Policy, now time.Time) (string, error) {
	opPath := filepath.Join(filepath.Dir(envelopePath), SignerCertFile)
	op, err := pki.ReadCertificate(opPath)
	if err != nil {
		return "", fmt.Errorf("issuing certificate: the run has no operator certificate (%s): runs for certification are signed with an operator key issued by 'bcbench keys issue': %w", SignerCertFile, err)
	}
	if err := reports.Verify(envelopePath, opPath); err != nil {
		return "", fmt.Errorf("issuing certificate: the run does not verify: %w", err)
	}
	res, err := readResults(filepath.Join(filepath.Dir(envelopePath), reports.ResultsFile))
	if err != nil {
		return "", fmt.Errorf("issuing certificate: %w", err)
	}
	switch {
	case res.Mode != reports.ModeCertification || !res.Profile.Certifies:
		return "", fmt.Errorf("issuing certificate: the run was a %s under profile %s, not a certification run", res.Mode, res.Profile.ID)
	case res.Verdict != reports.VerdictPass:
		return "", fmt.Errorf("issuing certificate: the run's verdict is %s, not pass", res.Verdict)
	case now.Sub(res.Finished) > pol.MaxRunAge:
		return "", fmt.Errorf("issuing certificate: the run finished %s, more than %s before now", res.Finished.UTC().Format(time.RFC3339), pol.MaxRunAge)
	case res.Finished.After(now.Add(time.Hour)):
		return "", fmt.Errorf("issuing certificate: the run finished in the future (%s)", res.Finished.UTC().Format(time.RFC3339))
	}
	if err := CheckOperator(op, is.Cert, res.Finished, is.Register); err != nil {
		return "", fmt.Errorf("issuing certificate: %w", err)
	}
	env, err := os.ReadFile(envelopePath)
	if err != nil {
		return "", fmt.Errorf("issuing certificate: %w", err)
	}
	if is.Register != nil {
		// Refuse before anything is written: one run, one certificate.
		if i, err := is.Register.CertifiedRun(sha(env)); err != nil || i >= 0 {
			return "", fmt.Errorf("issuing certificate: this run was certified already (register entry %d)", i)
		}
	}
	st := Statement{Type: "https://in-toto.io/Statement/v1", Subject: reports.Subjects(res.Candidate), PredicateType: PredicateType}
	s := &st.Predicate
	s.Verifier.ID = is.ID
	if s.Verifier.ID == "" {
		s.Verifier.ID = "urn:bcbench:bureau:" + is.Cert.Subject.CommonName
	}
	s.Verifier.Version = map[string]string{"bcbench": res.Bench.Version}
	s.TimeVerified = now.UTC().Truncate(time.Second)
	s.ResourceURI = resourceURI(res.Candidate)
	s.Policy = ResourceDescriptor{URI: "urn:bcbench:profile:" + res.Profile.ID + "@" + res.Profile.Version}
	s.InputAttestations = []ResourceDescriptor{{URI: reports.EnvelopeFile, Digest: map[string]string{"sha256": sha(env)}}}
	s.VerificationResult = "PASSED"
	s.SlsaVersion = "1.0"
	d := &s.Details
	d.System, d.Vendor, d.Version, d.Candidate = res.Candidate.Name, res.Candidate.Vendor, res.Candidate.Version, res.Candidate
	d.Profile, d.ProfileTitle, d.ProfileVersion = res.Profile.ID, res.Profile.Title, res.Profile.Version
	judged := map[string]bool{} // the roles a passing requirement belongs to
	for _, r := range res.Requirements {
		if r.Status == reports.Pass {
			judged[r.Role] = true
		}
	}
	for _, r := range res.Candidate.Roles {
		if r.Source == reports.SourceReference {
			continue // played by the bench for a role no candidate brought: not certified
		}
		if !judgedRole(judged, r.Role) {
			continue // brought but not judged by the profile (the XIS a certified viewer reads): not certified
		}
		d.Roles = append(d.Roles, r.Role)
	}
	slices.Sort(d.Roles)
	d.Roles = slices.Compact(d.Roles)
	for _, r := range res.Requirements {
		if r.Status == reports.Pass {
			d.Requirements = append(d.Requirements, r.ID)
		}
	}
	for _, role := range d.Roles {
		s.VerifiedLevels = append(s.VerifiedLevels, "BCBENCH_ROLE_"+strings.ToUpper(role))
	}
	for _, id := range d.Requirements {
		s.VerifiedLevels = append(s.VerifiedLevels, "BCBENCH_REQ_"+id)
	}
	d.NotBefore = s.TimeVerified
	d.NotAfter = s.TimeVerified.Add(pol.Validity)
	if d.NotAfter.After(is.Cert.NotAfter) {
		d.NotAfter = is.Cert.NotAfter.UTC()
	}
	d.RunFinished = res.Finished.UTC()
	d.Operator, d.OperatorCert = op.Subject.CommonName, pki.Fingerprint(op)

	payload, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	es, err := dsse.NewEnvelopeSigner(edKey{priv: is.Key})
	if err != nil {
		return "", err
	}
	signed, err := es.SignPayload(context.Background(), "application/vnd.in-toto+json", payload)
	if err != nil {
		return "", fmt.Errorf("signing certificate: %w", err)
	}
	out, err := json.MarshalIndent(signed, "", "  ")
	if err != nil {
		return "", err
	}
	out = append(out, '\n')
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{EnvelopeFile, PageFile} {
		if _, err := os.Lstat(filepath.Join(outDir, name)); err == nil {
			return "", fmt.Errorf("issuing certificate: %s exists already", filepath.Join(outDir, name))
		}
	}
	if err := os.WriteFile(filepath.Join(outDir, EnvelopeFile), out, 0o644); err != nil {
		return "", err
	}
	page, err := Page(st, sha(out))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(outDir, PageFile), page, 0o644); err != nil {
		return "", err
	}
	return sha(out), nil
}

// judgedRole reports whether a role key (xis, viewer, xis-ziekenhuis, …)
// is one some passing requirement judged: its own role, or for a further
// publisher xis-<suffix> the role xis.
func judgedRole(judged map[string]bool, role string) bool {
	if judged[role] {
		return true
	}
	base, _, ok := strings.Cut(role, "-")
	return ok && judged[base]
}

// Entry is the register entry for an issued certificate.
func Entry(st Statement, digest string) register.Entry {
	d := st.Predicate.Details
	var run string
	if in := st.Predicate.InputAttestations; len(in) > 0 {
		run = in[0].Digest["sha256"]
	}
	return register.Entry{Kind: register.Issued, Certificate: digest, Run: run, System: d.System, Vendor: d.Vendor, Version: d.Version,
		Profile: d.Profile, ProfileVersion: d.ProfileVersion, Roles: d.Roles, Requirements: d.Requirements,
		NotBefore: d.NotBefore, NotAfter: d.NotAfter}
}

// Read opens a certificate envelope, checks its signature with the bureau's
// root certificate and returns its statement and the envelope's sha256.
func Read(path string, root *x509.Certificate) (Statement, string, error) {
	data, err := readLimited(path)
	if err != nil {
		return Statement{}, "", err
	}
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return Statement{}, "", fmt.Errorf("certificate %s is not a DSSE envelope: %w", path, err)
	}
	pub, ok := root.PublicKey.(ed25519.PublicKey)
	if !ok {
		return Statement{}, "", errors.New("the root certificate has no Ed25519 key")
	}
	ev, err := dsse.NewEnvelopeVerifier(edKey{pub: pub})
	if err != nil {
		return Statement{}, "", err
	}
	if _, err := ev.Verify(context.Background(), &env); err != nil {
		return Statement{}, "", fmt.Errorf("certificate %s is not signed by root %q: %w", path, root.Subject.CommonName, err)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return Statement{}, "", err
	}
	var st Statement
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return Statement{}, "", fmt.Errorf("certificate %s: %w", path, err)
	}
	if st.PredicateType != PredicateType || st.Predicate.VerificationResult != "PASSED" {
		return Statement{}, "", fmt.Errorf("certificate %s: predicate %s with result %s", path, st.PredicateType, st.Predicate.VerificationResult)
	}
	return st, sha(data), nil
}

// Status is what Verify found.
type Status struct {
	Statement Statement
	Digest    string
	Entry     int64 // its index in the register
	Tree      int64 // the register's size it was checked against
}

// Verify checks a certificate: signed by the root, valid at now, entered in
// the register l (opened, and so verified whole, with the root's key) with an
// inclusion proof against its signed checkpoint, and not revoked there.
func Verify(path string, root *x509.Certificate, l *register.Log, now time.Time) (Status, error) {
	st, digest, err := Read(path, root)
	if err != nil {
		return Status{}, err
	}
	d := st.Predicate.Details
	if now.Before(d.NotBefore) || now.After(d.NotAfter) {
		return Status{}, fmt.Errorf("certificate for %s %s is not valid now (valid %s to %s)", d.System, d.Version,
			d.NotBefore.Format(time.DateOnly), d.NotAfter.Format(time.DateOnly))
	}
	pub := root.PublicKey.(ed25519.PublicKey)
	if l.Checkpoint().Origin != Origin(root) {
		return Status{}, fmt.Errorf("the register is %s, not the register of root %q", l.Checkpoint().Origin, root.Subject.CommonName)
	}
	i, r, err := l.Find(digest)
	if err != nil {
		return Status{}, err
	}
	if i < 0 {
		return Status{}, fmt.Errorf("certificate %s is not in the register", digest)
	}
	p, err := l.Prove(i)
	if err != nil {
		return Status{}, err
	}
	if _, err := register.CheckProof(p, Origin(root), pub); err != nil {
		return Status{}, err
	}
	if r >= 0 {
		e, _, _ := l.Entry(r)
		return Status{}, fmt.Errorf("certificate for %s %s was revoked on %s: %s", d.System, d.Version, e.Time.Format(time.DateOnly), e.Reason)
	}
	return Status{Statement: st, Digest: digest, Entry: i, Tree: l.Len()}, nil
}

// Origin is the register's name for a bureau root: derived from the root's
// key so that no configuration can point a verifier at another log.
func Origin(root *x509.Certificate) string {
	return "bcbench.register/" + pki.Fingerprint(root)[:16]
}

func resourceURI(c reports.Candidate) string {
	subs := reports.Subjects(c)
	if len(subs) > 0 {
		if d, ok := subs[0].Digest["sha256"]; ok {
			return "urn:bcbench:candidate:" + c.Name + "@" + c.Version + ":sha256:" + d
		}
	}
	return "urn:bcbench:candidate:" + c.Name + "@" + c.Version
}

func readResults(path string) (*reports.Results, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	return reports.ParseResults(data)
}

func readLimited(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxFile {
		return nil, fmt.Errorf("%s is not a regular file of at most %d bytes", path, maxFile)
	}
	return os.ReadFile(path)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// edKey signs and verifies DSSE envelopes with an Ed25519 key.
type edKey struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func (k edKey) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, data), nil
}

func (k edKey) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(k.Public().(ed25519.PublicKey), data, sig) {
		return errors.New("ed25519 signature does not verify")
	}
	return nil
}

func (k edKey) Public() crypto.PublicKey {
	if k.pub != nil {
		return k.pub
	}
	return k.priv.Public()
}

func (k edKey) KeyID() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return "", err
	}
	return sha(der), nil
}
