package reports

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// ErrUnusable marks input verification could not use at all: a key or
// certificate that cannot be read, an envelope that is not a DSSE envelope.
// Everything else that fails verification is a change to the report.
var ErrUnusable = errors.New("unusable input")

// Verified is what a verification established: the signed statement, the key
// and certificate that verified it, and the files it covers.
type Verified struct {
	Statement Statement
	KeyID     string
	// Certificate is set when verified with an X.509 certificate.
	Certificate *x509.Certificate
	// Covered are the files re-hashed and found as signed.
	Covered []string
	// Uncovered names report files a v1 statement did not sign.
	Uncovered []string
}

// V1 reports whether the statement comes from a run before v2: it binds no
// limits, packages, report.html or junit.xml, and never counts as a
// certification.
func (v *Verified) V1() bool { return v.Statement.Predicate.Limits == nil }

// Verify checks results.dsse.json against a public key or certificate and
// that nothing it covers changed, as VerifyReport does, but leaves the
// certificate's validity to the caller (the bureau's issuing checks the
// operator's chain at the run's end itself).
func Verify(envelopePath, keyPath string) error {
	_, err := VerifyReport(envelopePath, keyPath, time.Time{})
	return err
}

// VerifyReport checks results.dsse.json against a public key (bcbench.pub)
// or an X.509 certificate (bcbench.crt), then re-hashes results.json,
// report.html, junit.xml and every evidence file relative to the envelope's
// folder; a file added to evidence/ is a change too. With a certificate, it
// must have been valid when the run finished (the signed time) and be valid
// at now (a zero now skips both checks). Errors wrapping ErrUnusable mean the input could not be used;
// any other error names what does not match.
func VerifyReport(envelopePath, keyPath string, now time.Time) (*Verified, error) {
	v, cert, err := loadVerifierCert(keyPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	data, err := readLimited(envelopePath, maxEnvelopeSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope %s is not a DSSE envelope: %w", ErrUnusable, envelopePath, err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: envelope %s: payloadType %q, want %q", ErrUnusable, envelopePath, env.PayloadType, PayloadType)
	}
	ev, err := dsse.NewEnvelopeVerifier(v)
	if err != nil {
		return nil, fmt.Errorf("verifying envelope: %w", err)
	}
	if _, err := ev.Verify(context.Background(), &env); err != nil {
		signedBy := make([]string, 0, len(env.Signatures))
		for _, s := range env.Signatures {
			signedBy = append(signedBy, s.KeyID)
		}
		return nil, fmt.Errorf("envelope %s: signature does not verify with key %s (key id %s; envelope signed by %s): the envelope was changed or signed with another key",
			envelopePath, keyPath, v.keyID, strings.Join(signedBy, ", "))
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("envelope %s: %w", envelopePath, err)
	}
	out := &Verified{KeyID: v.keyID, Certificate: cert}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out.Statement); err != nil {
		return nil, fmt.Errorf("envelope %s: statement: %w", envelopePath, err)
	}
	st := out.Statement
	if st.Type != StatementType || st.PredicateType != PredicateType {
		return nil, fmt.Errorf("envelope %s: statement type %q / predicate %q, want %q / %q", envelopePath, st.Type, st.PredicateType, StatementType, PredicateType)
	}
	if cert != nil && !now.IsZero() {
		if err := certValidAt(cert, st.Predicate.Finished, "when the run was signed"); err != nil {
			return out, err
		}
		if err := certValidAt(cert, now, "now"); err != nil {
			return out, err
		}
	}

	root, err := os.OpenRoot(filepath.Dir(envelopePath))
	if err != nil {
		return out, fmt.Errorf("%w: opening report folder: %w", ErrUnusable, err)
	}
	defer root.Close()
	var changed []string
	check := func(fd FileDigest) {
		sum, err := hashFile(root, fd.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changed = append(changed, fd.Path+": missing")
		case err != nil:
			changed = append(changed, err.Error())
		case sum != fd.SHA256:
			changed = append(changed, fmt.Sprintf("%s: changed (sha256 %s, signed %s)", fd.Path, sum, fd.SHA256))
		default:
			out.Covered = append(out.Covered, fd.Path)
		}
	}
	check(st.Predicate.Results)
	signedReports := map[string]bool{}
	for _, fd := range st.Predicate.Reports {
		signedReports[fd.Path] = true
		check(fd)
	}
	if !out.V1() {
		for _, name := range []string{HTMLFile, JUnitFile} {
			if !signedReports[name] {
				changed = append(changed, name+": not covered by the signature")
			}
		}
	} else {
		out.Uncovered = []string{HTMLFile, JUnitFile}
	}
	listed := map[string]bool{}
	for _, fd := range st.Predicate.Evidence {
		listed[path.Clean(fd.Path)] = true
		check(fd)
	}
	// A file added to the evidence folder is a change too.
	_ = fs.WalkDir(root.FS(), EvidenceDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if !listed[p] {
			changed = append(changed, p+": added, not covered by the signature")
		}
		return nil
	})
	if len(changed) > 0 {
		return out, fmt.Errorf("report changed since it was signed: %s", strings.Join(changed, "; "))
	}
	return out, nil
}

// certValidAt says when a certificate is not valid at t.
func certValidAt(c *x509.Certificate, t time.Time, when string) error {
	switch {
	case t.Before(c.NotBefore):
		return fmt.Errorf("certificate %s is not yet valid %s (%s; valid from %s)", c.Subject, when, t.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339))
	case t.After(c.NotAfter):
		return fmt.Errorf("certificate %s has expired %s (%s; valid until %s)", c.Subject, when, t.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// loadVerifierCert reads a PKIX PEM public key or an X.509 certificate
// (PEM); the certificate is returned too.
func loadVerifierCert(path string) (*edVerifier, *x509.Certificate, error) {
	data, err := readLimited(path, maxKeyFileSize)
	if err != nil {
		return nil, nil, fmt.Errorf("loading public key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, fmt.Errorf("loading public key %s: no PEM block", path)
	}
	var pub any
	var cert *x509.Certificate
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			pub = cert.PublicKey
		}
	case "PRIVATE KEY":
		return nil, nil, fmt.Errorf("loading public key %s: this is a private key; give bcbench.pub or bcbench.crt", path)
	default:
		return nil, nil, fmt.Errorf("loading public key %s: PEM block %q is neither PUBLIC KEY nor CERTIFICATE", path, block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading public key %s: %w", path, err)
	}
	edPub, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("loading public key %s: %T is not an Ed25519 key", path, pub)
	}
	id, err := KeyID(edPub)
	if err != nil {
		return nil, nil, err
	}
	return &edVerifier{pub: edPub, keyID: id}, cert, nil
}
