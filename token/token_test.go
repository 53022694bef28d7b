package token

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

var anouk = Professional{Name: "Anouk Verbeek", UZI: "999900011", AGB: "99991011", Role: "03.000", RoleDisplay: "Verloskundige",
	OrgName: "Verloskundigenpraktijk De Dageraad", OrgURA: "99990101", OrgAGB: "99990011"}

func TestVerifyReadsTheProfessionalOfAValidTokenOnly(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	iss, err := NewIssuer("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewIssuer("http://127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(iss.URL(), iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	good, err := iss.Issue(anouk, "xis", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Issue(anouk, "xis", now, time.Hour)
	// the other issuer's key, this issuer's name: the signature does not verify
	impostor, _ := NewIssuer(iss.URL())
	forged, _ := impostor.Issue(anouk, "xis", now, time.Hour)
	// a context token of the same issuer and key, its aud the FHIR base
	launch, _ := iss.IssueContext(anouk, Context{Patient: "p-1", FHIRBase: "xis"}, "xis", now, ContextTTL)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	cases := []struct {
		name  string
		token string
		at    time.Time
		ok    bool
	}{
		{"valid", good, now, true},
		{"expired", good, now.Add(2 * time.Hour), false},
		{"not yet valid", good, now.Add(-time.Hour), false},
		{"another issuer", foreign, now, false},
		{"a context token", launch, now, false},
		{"forged key", forged, now, false},
		{"tampered body", tampered, now, false},
		{"garbage", "not-a-token", now, false},
		{"empty", "", now, false},
		{"huge", strings.Repeat("a", maxToken+1), now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(tc.token, tc.at)
			if tc.ok {
				if err != nil || p != anouk {
					t.Fatalf("Verify = %+v, %v; want %+v", p, err, anouk)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", p, err)
			}
		})
	}
}

func TestIssueRefusesAProfessionalWithoutIdentifier(t *testing.T) {
	iss, err := NewIssuer("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Issue(Professional{Name: "Zonder Nummer"}, "xis", time.Now(), time.Hour); err == nil {
		t.Fatal("a token without UZI or AGB was issued")
	}
}

func TestNewVerifierRefusesBadKeySets(t *testing.T) {
	iss, _ := NewIssuer("http://127.0.0.1:1")
	cases := []struct {
		name   string
		issuer string
		jwks   string
	}{
		{"no issuer", "", string(iss.JWKS())},
		{"not JSON", iss.URL(), "{"},
		{"empty set", iss.URL(), `{"keys":[]}`},
		{"too large", iss.URL(), `{"keys":[` + strings.Repeat(" ", maxJWKS) + `]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewVerifier(tc.issuer, []byte(tc.jwks)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestServerServesItsKeysOnLoopback(t *testing.T) {
	s, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("issuer %s is not on loopback", s.URL())
	}
	resp, err := http.Get(s.URL() + ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	err = json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if err != nil || cfg.Issuer != s.URL() {
		t.Fatalf("configuration %+v, %v", cfg, err)
	}
	resp, err = http.Get(cfg.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v, err := NewVerifier(cfg.Issuer, jwks)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Issue(anouk, "xis", time.Now(), time.Minute)
	if p, err := v.Verify(tok, time.Now()); err != nil || p.UZI != anouk.UZI {
		t.Fatalf("a token verified with the served keys: %+v, %v", p, err)
	}
}
