// Package pki holds the programme bureau's keys with roles: an offline root
// (Ed25519, a self-signed X.509 CA certificate) and operator certificates it
// issues for the benches that sign certifying runs. A run's signature counts
// for certification when its key's certificate chains to the bureau's root
// and was valid when the run was signed.
package pki

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names.
const (
	RootKeyFile  = "root.key" // the bureau's root private key, PKCS#8 PEM, mode 0600
	RootCertFile = "root.crt" // the bureau's root certificate
	// An operator's folder holds the names bcbench keys init writes, so a
	// run signs with it as with any key (--key DIR/bcbench.key).
	OperatorKeyFile  = "bcbench.key"
	OperatorPubFile  = "bcbench.pub"
	OperatorCertFile = "bcbench.crt"
)

const maxPEMSize = 64 << 10

// InitCA makes the bureau's root key and self-signed CA certificate in dir.
// It refuses to overwrite either file.
func InitCA(dir, name string, validity time.Duration) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("making root: the bureau's name is empty")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("making root: %w", err)
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := create(tmpl, tmpl, pub, priv)
	if err != nil {
		return fmt.Errorf("making root: %w", err)
	}
	return writeSet(dir, []file{
		{RootKeyFile, "PRIVATE KEY", mustPKCS8(priv), 0o600},
		{RootCertFile, "CERTIFICATE", der, 0o644},
	})
}

// Operator describes an operator certificate to issue.
type Operator struct {
	Name      string // who runs the bench, e.g. "Testlab Utrecht"
	NotBefore time.Time
	NotAfter  time.Time
}

// Issue makes an operator key pair and a certificate for it signed by the
// root, in dir as bcbench.key, bcbench.pub and bcbench.crt.
func Issue(rootKeyPath, rootCertPath string, op Operator, dir string) error {
	root, err := ReadCertificate(rootCertPath)
	if err != nil {
		return err
	}
	if !root.IsCA {
		return fmt.Errorf("issuing operator certificate: %s is not a CA certificate", rootCertPath)
	}
	rootKey, err := ReadKey(rootKeyPath)
	if err != nil {
		return err
	}
	if !rootKey.Public().(ed25519.PublicKey).Equal(root.PublicKey) {
		return fmt.Errorf("issuing operator certificate: %s is not the key of %s", rootKeyPath, rootCertPath)
	}
	if strings.TrimSpace(op.Name) == "" {
		return errors.New("issuing operator certificate: the operator's name is empty")
	}
	if !op.NotAfter.After(op.NotBefore) {
		return errors.New("issuing operator certificate: validity ends before it starts")
	}
	if op.NotAfter.After(root.NotAfter) {
		return fmt.Errorf("issuing operator certificate: valid until %s, after the root (%s)", op.NotAfter.Format(time.DateOnly), root.NotAfter.Format(time.DateOnly))
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("issuing operator certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: op.Name},
		NotBefore:             op.NotBefore.UTC(),
		NotAfter:              op.NotAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := create(tmpl, root, pub, rootKey)
	if err != nil {
		return fmt.Errorf("issuing operator certificate: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	return writeSet(dir, []file{
		{OperatorKeyFile, "PRIVATE KEY", mustPKCS8(priv), 0o600},
		{OperatorPubFile, "PUBLIC KEY", pubDER, 0o644},
		{OperatorCertFile, "CERTIFICATE", der, 0o644},
	})
}

// VerifyOperator checks that an operator certificate was issued by the root,
// is meant for signing, and was valid at the moment at.
func VerifyOperator(op, root *x509.Certificate, at time.Time) error {
	if op.IsCA {
		return errors.New("the signing certificate is a CA certificate, not an operator's")
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	_, err := op.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return fmt.Errorf("operator certificate %q was not valid at %s (valid %s to %s)", op.Subject.CommonName,
				at.UTC().Format(time.RFC3339), op.NotBefore.UTC().Format(time.RFC3339), op.NotAfter.UTC().Format(time.RFC3339))
		}
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			return fmt.Errorf("operator certificate %q was not issued by root %q", op.Subject.CommonName, root.Subject.CommonName)
		}
		return fmt.Errorf("operator certificate %q: %w", op.Subject.CommonName, err)
	}
	if op.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("operator certificate %q is not for signing", op.Subject.CommonName)
	}
	return nil
}

// Fingerprint is the hex sha256 of a certificate's DER: how the register
// names an operator certificate it revokes.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// ReadCertificate reads one PEM certificate.
func ReadCertificate(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("reading certificate %s: %w", path, err)
	}
	if _, ok := c.PublicKey.(ed25519.PublicKey); !ok {
		return nil, fmt.Errorf("reading certificate %s: not an Ed25519 key", path)
	}
	return c, nil
}

// ReadKey reads an Ed25519 PKCS#8 PEM private key.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("reading key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

func readPEM(path, kind string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxPEMSize {
		return nil, fmt.Errorf("reading %s: not a regular file of at most %d bytes", path, maxPEMSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != kind {
		return nil, fmt.Errorf("reading %s: no PEM %s block", path, kind)
	}
	return b.Bytes, nil
}

func create(tmpl, parent *x509.Certificate, pub ed25519.PublicKey, signer crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

func mustPKCS8(k ed25519.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // an Ed25519 key always encodes
	}
	return der
}

type file struct {
	name, block string
	der         []byte
	mode        os.FileMode
}

// writeSet writes all files or none: it refuses when any exists.
func writeSet(dir string, files []file) error {
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f.name)); err == nil {
			return fmt.Errorf("%s already exists; remove it or choose another folder", filepath.Join(dir, f.name))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making key folder: %w", err)
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		_, werr := fh.Write(pem.EncodeToMemory(&pem.Block{Type: f.block, Bytes: f.der}))
		if err := errors.Join(werr, fh.Close(), os.Chmod(p, f.mode)); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}
