package token

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestVerifyContextAcceptsAValidContextTokenForItsViewerOnly(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	iss, v := trusted(t, "http://127.0.0.1:1/auth")
	c := Context{Patient: "p-1", FHIRBase: "http://127.0.0.1:1/fhir"}
	good, err := iss.IssueContext(anouk, c, "viewer", now, ContextTTL)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := iss.IssueContext(anouk, c, "viewer", now, ContextTTL)
	other, _ := iss.IssueContext(anouk, c, "another-viewer", now, ContextTTL)
	access, _ := iss.Issue(anouk, "viewer", now, time.Hour) // no client, no FHIR base
	// a context token's body signed as an access token (typ JWT)
	body := contextClaims{Claims: jwt.Claims{Issuer: iss.URL(), Subject: anouk.ID(), Audience: jwt.Audience{"viewer"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ContextTTL)), ID: "j-1"}, Professional: anouk, Context: c}
	asAccess, err := jwt.Signed(iss.signer).Claims(body).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1 // another base64url letter: a broken signature
	broken := parts[0] + "." + parts[1] + "." + string(sig)
	cases := []struct {
		name  string
		token string
		at    time.Time
		ok    bool
	}{
		{"valid", good, now, true},
		{"valid within the leeway", good, now.Add(ContextTTL + 30*time.Second), true},
		{"expired", good, now.Add(ContextTTL + 2*time.Minute), false},
		{"issued later", good, now.Add(-5 * time.Minute), false},
		{"broken signature", broken, now, false},
		{"another viewer", other, now, false},
		{"an access token", access, now, false},
		{"a context body signed as an access token", asAccess, now, false},
		{"empty", "", now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := v.VerifyContext(tc.token, "viewer", tc.at)
			if !tc.ok {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("VerifyContext = %+v, %v; want ErrInvalid", l, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Professional.UZI != anouk.UZI || l.Context != c || l.ID == "" || !l.Expiry.Equal(now.Add(ContextTTL)) {
				t.Errorf("VerifyContext = %+v", l)
			}
		})
	}
	l1, _ := v.VerifyContext(good, "viewer", now)
	l2, _ := v.VerifyContext(again, "viewer", now)
	if l1.ID == l2.ID {
		t.Errorf("two context tokens share the jti %q", l1.ID)
	}
}

// trusted is a fresh issuer at url and a verifier of its tokens.
func trusted(t *testing.T, url string) (*Issuer, *Verifier) {
	t.Helper()
	iss, err := NewIssuer(url)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(iss.URL(), iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	return iss, v
}
