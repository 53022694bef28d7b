package reports

import (
	"context"
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
	"time"
)

// Key file names written by InitKeys (bcbench keys init).
const (
	KeyFile  = "bcbench.key" // PKCS#8 PEM private key, mode 0600
	PubFile  = "bcbench.pub" // PKIX PEM public key
	CertFile = "bcbench.crt" // self-signed X.509 certificate of the public key
)

// maxKeyFileSize bounds key, public-key and certificate files.
const maxKeyFileSize = 64 << 10

// Signer signs the DSSE envelope of a run. It satisfies dsse.Signer.
type Signer interface {
	// Sign returns the signature over data (the DSSE pre-authentication
	// encoding).
	Sign(ctx context.Context, data []byte) ([]byte, error)
	// KeyID is the hex sha256 of the PKIX-encoded public key.
	KeyID() (string, error)
	// Public returns the public key.
	Public() crypto.PublicKey
	// Development reports whether this is a per-user development key: a
	// report signed with it is a self-test, never a certificate.
	Development() bool
}

type edSigner struct {
	priv  ed25519.PrivateKey
	keyID string
	dev   bool
}

func (s *edSigner) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, data), nil
}
func (s *edSigner) KeyID() (string, error)   { return s.keyID, nil }
func (s *edSigner) Public() crypto.PublicKey { return s.priv.Public() }
func (s *edSigner) Development() bool        { return s.dev }

// edVerifier checks Ed25519 signatures; it satisfies dsse.Verifier.
type edVerifier struct {
	pub   ed25519.PublicKey
	keyID string
}

func (v *edVerifier) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(v.pub, data, sig) {
		return errors.New("ed25519 signature does not verify")
	}
	return nil
}
func (v *edVerifier) KeyID() (string, error)   { return v.keyID, nil }
func (v *edVerifier) Public() crypto.PublicKey { return v.pub }

// KeyID returns the key ID bcbench uses for an Ed25519 public key: the hex
// sha256 of its PKIX encoding.
func KeyID(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// InitKeys makes a new Ed25519 key pair and a self-signed X.509 certificate
// (CN bcbench, valid one year) in dir as bcbench.key (mode 0600), bcbench.pub
// and bcbench.crt. It refuses to overwrite an existing key.
func InitKeys(dir string) error {
	for _, name := range []string{KeyFile, PubFile, CertFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("making keys: %s already exists; remove it or choose another folder", filepath.Join(dir, name))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making key folder: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating ed25519 key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encoding private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encoding public key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("making certificate serial: %w", err)
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "bcbench"},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return fmt.Errorf("making certificate: %w", err)
	}
	files := []struct {
		name  string
		block string
		der   []byte
		mode  os.FileMode
	}{
		{KeyFile, "PRIVATE KEY", privDER, 0o600},
		{PubFile, "PUBLIC KEY", pubDER, 0o644},
		{CertFile, "CERTIFICATE", certDER, 0o644},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		data := pem.EncodeToMemory(&pem.Block{Type: f.block, Bytes: f.der})
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		_, werr := fh.Write(data)
		cerr := fh.Close()
		if err := errors.Join(werr, cerr); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if err := os.Chmod(path, f.mode); err != nil { // the umask may have narrowed or widened it
			return fmt.Errorf("setting mode of %s: %w", path, err)
		}
	}
	return nil
}

// LoadSigner reads an Ed25519 private key in PKCS#8 PEM (as written by
// bcbench keys init). The per-user development key stays a development key
// when it is given by its path: Development reports true for it.
func LoadSigner(path string) (Signer, error) {
	s, err := loadSigner(path, false)
	if err != nil {
		return nil, err
	}
	if id, ok := devKeyID(); ok && id == s.keyID {
		s.dev = true
	}
	return s, nil
}

// devKeyID is the key id of the per-user development key, when there is one;
// it never makes one.
func devKeyID() (string, bool) {
	dir, err := DevKeyDir()
	if err != nil {
		return "", false
	}
	s, err := loadSigner(filepath.Join(dir, KeyFile), true)
	if err != nil {
		return "", false
	}
	return s.keyID, true
}

func loadSigner(path string, dev bool) (*edSigner, error) {
	data, err := readLimited(path, maxKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("loading signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("loading signing key %s: not a PKCS#8 PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("loading signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("loading signing key %s: %T is not an Ed25519 key", path, k)
	}
	id, err := KeyID(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &edSigner{priv: priv, keyID: id, dev: dev}, nil
}

// DevKeyDir is the folder of the per-user development key:
// os.UserConfigDir()/bcbench/dev.
func DevKeyDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config folder for the development key: %w", err)
	}
	return filepath.Join(base, "bcbench", "dev"), nil
}

// DevSigner returns the per-user development key, creating it on first use
// (mode 0600 in a 0700 folder). Reports it signs are self-tests
// ("zelftest — geen certificaat").
func DevSigner() (Signer, error) {
	dir, err := DevKeyDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, KeyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("making development key folder: %w", err)
		}
		if err := InitKeys(dir); err != nil {
			// Another bcbench may have made it at the same moment.
			if _, serr := os.Stat(path); serr != nil {
				return nil, fmt.Errorf("making development key: %w", err)
			}
		}
	}
	k, err := loadSigner(path, true)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// loadVerifier reads a PKIX PEM public key or an X.509 certificate (PEM).
func loadVerifier(path string) (*edVerifier, error) {
	v, _, err := loadVerifierCert(path)
	return v, err
}

// CheckPublicKey reads a public key (PKIX PEM) or certificate (PEM) as
// Verify would, so that a caller can tell an unusable key (the caller's
// mistake) from a report that does not verify.
func CheckPublicKey(path string) error {
	_, err := loadVerifier(path)
	return err
}
