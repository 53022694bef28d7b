package token

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// ContextTTL is how long a context token the bench issues is valid: long
// enough to open the viewer, short enough that a copied token is soon
// worthless.
const ContextTTL = 2 * time.Minute

// Context is what a signed context token opens besides the professional:
// the client, by her Patient id at the FHIR server, and that server's base.
type Context struct {
	Patient  string `json:"patient"`
	FHIRBase string `json:"fhir_base"`
}

// Launch is a verified context token: whom it speaks for, what it opens,
// its unique id and when it expires.
type Launch struct {
	Professional Professional
	Context      Context
	ID           string
	Expiry       time.Time
}

// contextClaims is a context token's body.
type contextClaims struct {
	jwt.Claims
	Professional
	Context
}

// IssueContext signs a context token (docs/viewer.md; header typ
// ContextType): the professional,
// the client and FHIR base of c, aud = the viewer, iat = now, exp = now +
// ttl and a unique jti.
func (i *Issuer) IssueContext(p Professional, c Context, audience string, now time.Time, ttl time.Duration) (string, error) {
	if p.ID() == "" || c.Patient == "" || c.FHIRBase == "" || audience == "" {
		return "", errors.New("issuing a context token: the professional (UZI or AGB), the patient, the FHIR base and the audience are required")
	}
	id, err := randomID()
	if err != nil {
		return "", fmt.Errorf("issuing a context token: %w", err)
	}
	body := contextClaims{
		Claims: jwt.Claims{
			Issuer: i.url, Subject: p.ID(), Audience: jwt.Audience{audience},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)), ID: id,
		},
		Professional: p,
		Context:      c,
	}
	tok, err := jwt.Signed(i.ctxSigner).Claims(body).Serialize()
	if err != nil {
		return "", fmt.Errorf("issuing a context token for %s: %w", p.ID(), err)
	}
	return tok, nil
}

// VerifyContext checks a context token for the audience (a viewer's
// client_id): its kind (header typ ContextType; an access token is
// refused), signature, issuer, aud, exp and iat at now (one minute
// leeway), and that it names a professional, a client and a FHIR base, with
// a jti. Whether the jti was seen before is the caller's check.
func (v *Verifier) VerifyContext(raw, audience string, now time.Time) (Launch, error) {
	var c contextClaims
	if err := v.read(raw, ContextType, now, &c, &c.Claims); err != nil {
		return Launch{}, err
	}
	switch {
	case audience == "" || !slices.Contains(c.Audience, audience):
		return Launch{}, fmt.Errorf("%w: aud %v is not %q", ErrInvalid, []string(c.Audience), audience)
	case c.Expiry == nil || c.IssuedAt == nil:
		return Launch{}, fmt.Errorf("%w: it has no exp or iat", ErrInvalid)
	case c.Claims.ID == "":
		return Launch{}, fmt.Errorf("%w: it has no jti", ErrInvalid)
	case c.Professional.ID() == "" || c.Subject != c.Professional.ID():
		return Launch{}, fmt.Errorf("%w: it names no professional (sub %q)", ErrInvalid, c.Subject)
	case c.Context.Patient == "" || c.Context.FHIRBase == "":
		return Launch{}, fmt.Errorf("%w: it names no client or FHIR base", ErrInvalid)
	}
	return Launch{Professional: c.Professional, Context: c.Context, ID: c.Claims.ID, Expiry: c.Expiry.Time()}, nil
}

// Issuer is the issuer a verifier trusts (the iss claim).
func (v *Verifier) Issuer() string { return v.issuer }
