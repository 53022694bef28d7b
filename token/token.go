// Package token is the bench's test authorization server: it issues signed
// tokens (JWT, EdDSA) that name a synthetic professional of a scenario's
// organisation — UZI number, AGB code, UZI role, organisation URA — and
// serves the public keys (JWKS) a candidate trusts to read them. A Verifier
// is the candidate side, as the bench's reference XIS uses it.
package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Professional is who a token speaks for: a named care professional acting
// for one organisation.
type Professional struct {
	Name string `json:"name"`
	// UZI is the personal UZI number (http://fhir.nl/fhir/NamingSystem/uzi-nr-pers).
	UZI string `json:"uzi,omitempty"`
	// AGB is the personal AGB code (http://fhir.nl/fhir/NamingSystem/agb-z).
	AGB string `json:"agb,omitempty"`
	// Role is the UZI role code (http://fhir.nl/fhir/NamingSystem/uzi-rolcode), e.g. 03.000.
	Role        string `json:"role,omitempty"`
	RoleDisplay string `json:"role_display,omitempty"`
	// Organization the professional acts for.
	OrgName string `json:"org_name,omitempty"`
	OrgURA  string `json:"org_ura,omitempty"`
	OrgAGB  string `json:"org_agb,omitempty"`
}

// ID is how the bench tells professionals apart: the UZI number, else the
// AGB code.
func (p Professional) ID() string {
	if p.UZI != "" {
		return p.UZI
	}
	return p.AGB
}

// JWKSPath and ConfigPath are where an issuer serves its keys and its
// metadata, under its URL.
const (
	JWKSPath   = "/.well-known/jwks.json"
	ConfigPath = "/.well-known/openid-configuration"
)

// maxToken bounds a token a verifier reads, and maxJWKS a key set.
const (
	maxToken = 8 << 10
	maxJWKS  = 64 << 10
)

// Issuer signs tokens with one Ed25519 key, created when the issuer is.
type Issuer struct {
	url    string
	kid    string
	signer jose.Signer
	// ctxSigner signs context tokens: the same key, header typ ContextType.
	ctxSigner jose.Signer
	jwks      []byte
}

// AccessType and ContextType are the header typ of the two kinds of token
// an issuer signs: an access token (Issue) and a context token
// (IssueContext). Verify accepts only the first, VerifyContext only the
// second, so that one kind never opens what the other does.
const (
	AccessType  = "JWT"
	ContextType = "context+jwt"
)

// NewIssuer returns an issuer whose tokens carry iss = url.
func NewIssuer(url string) (*Issuer, error) {
	if url == "" {
		return nil, errors.New("creating the token issuer: the issuer URL is empty")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("creating the token issuer: %w", err)
	}
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	key := jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.EdDSA)}}
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType(AccessType))
	if err != nil {
		return nil, fmt.Errorf("creating the token issuer: %w", err)
	}
	ctxSigner, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType(ContextType))
	if err != nil {
		return nil, fmt.Errorf("creating the token issuer: %w", err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"}}}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("creating the token issuer: %w", err)
	}
	return &Issuer{url: strings.TrimSuffix(url, "/"), kid: kid, signer: signer, ctxSigner: ctxSigner, jwks: jwks}, nil
}

// URL is the issuer (the iss claim).
func (i *Issuer) URL() string { return i.url }

// JWKS is the issuer's public key set as JSON.
func (i *Issuer) JWKS() []byte { return append([]byte(nil), i.jwks...) }

// claims is the token's body: the registered claims and the professional.
type claims struct {
	jwt.Claims
	Professional
}

// Issue signs a token for p, valid from now for ttl, for the audience.
func (i *Issuer) Issue(p Professional, audience string, now time.Time, ttl time.Duration) (string, error) {
	if p.ID() == "" {
		return "", errors.New("issuing a token: the professional has no UZI number or AGB code")
	}
	id, err := randomID()
	if err != nil {
		return "", fmt.Errorf("issuing a token: %w", err)
	}
	c := claims{
		Claims: jwt.Claims{
			Issuer: i.url, Subject: p.ID(), Audience: jwt.Audience{audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			Expiry: jwt.NewNumericDate(now.Add(ttl)), ID: id,
		},
		Professional: p,
	}
	tok, err := jwt.Signed(i.signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("issuing a token for %s: %w", p.ID(), err)
	}
	return tok, nil
}

// randomID is a token's jti: 12 random bytes, base64url.
func randomID() (string, error) {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(id), nil
}

// Handler serves the issuer's JWKS and a minimal OpenID configuration
// (issuer, jwks_uri) naming it.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(i.jwks)
	})
	mux.HandleFunc("GET "+ConfigPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": i.url, "jwks_uri": i.url + JWKSPath,
			"id_token_signing_alg_values_supported": []string{string(jose.EdDSA)},
		})
	})
	return mux
}

// Verifier checks tokens of one issuer against its key set.
type Verifier struct {
	issuer string
	keys   jose.JSONWebKeySet
}

// NewVerifier trusts the issuer whose public keys are jwks (JSON).
func NewVerifier(issuer string, jwks []byte) (*Verifier, error) {
	if issuer == "" {
		return nil, errors.New("reading the trusted issuer: the issuer is empty")
	}
	if len(jwks) > maxJWKS {
		return nil, fmt.Errorf("reading the keys of %s: more than %d bytes", issuer, maxJWKS)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("reading the keys of %s: %w", issuer, err)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("reading the keys of %s: the key set is empty", issuer)
	}
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			return nil, fmt.Errorf("reading the keys of %s: key %q is not a valid public key", issuer, k.KeyID)
		}
	}
	return &Verifier{issuer: strings.TrimSuffix(issuer, "/"), keys: set}, nil
}

// ErrInvalid marks a token that is not valid: malformed, badly signed, of
// another issuer, expired or without a professional.
var ErrInvalid = errors.New("invalid token")

// Verify checks an access token's kind (header typ AccessType; a context
// token is refused), signature, issuer and validity at now (one minute
// leeway) and returns the professional it names.
func (v *Verifier) Verify(raw string, now time.Time) (Professional, error) {
	var c claims
	if err := v.read(raw, AccessType, now, &c, &c.Claims); err != nil {
		return Professional{}, err
	}
	if c.Professional.ID() == "" || c.Subject != c.Professional.ID() {
		return Professional{}, fmt.Errorf("%w: it names no professional (sub %q)", ErrInvalid, c.Subject)
	}
	return c.Professional, nil
}

// read checks a token's size, kind (header typ), signature, issuer and
// times at now (one minute leeway) and decodes its body into body, whose
// registered claims are reg.
func (v *Verifier) read(raw, typ string, now time.Time, body any, reg *jwt.Claims) error {
	if len(raw) > maxToken {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxToken)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].ExtraHeaders[jose.HeaderType] != typ {
		return fmt.Errorf("%w: it is not of kind typ %q", ErrInvalid, typ)
	}
	if err := tok.Claims(v.keys, body); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := reg.ValidateWithLeeway(jwt.Expected{Issuer: v.issuer, Time: now}, time.Minute); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
