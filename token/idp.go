package token

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The test identity provider (IdP) is what the bench runs in place of
// DigiD when it plays a client's app (PGO): a small OpenID Provider whose
// authorization endpoint authenticates a synthetic client by her BSN (the
// bench, as her browser, fills in the login form) and whose token endpoint
// gives the relying party (the DVZA) a signed id_token naming her. Only
// BSNs its Allow function accepts (the bench: the test range) log in.

// IdP paths under the issuer URL.
const (
	IdPAuthorizePath = "/authorize"
	IdPTokenPath     = "/token"
)

// Bounds of the IdP's state.
const (
	idpCodeTTL    = 2 * time.Minute
	idpMaxPending = 10000
	idpTokenTTL   = 5 * time.Minute
	idpMaxForm    = 16 << 10
)

// IdP is a test OpenID Provider.
type IdP struct {
	*Issuer
	// Allow says whether a BSN may log in (the bench: test range only).
	Allow func(bsn string) bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	pending map[string]idpCode
}

type idpCode struct {
	bsn, client, redirect, nonce string
	expires                      time.Time
}

// personClaims is the body of an id_token: who logged in.
type personClaims struct {
	jwt.Claims
	BSN   string `json:"bsn"`
	Nonce string `json:"nonce,omitempty"`
}

// NewIdP returns a test identity provider whose issuer is url.
func NewIdP(url string, allow func(string) bool) (*IdP, error) {
	iss, err := NewIssuer(url)
	if err != nil {
		return nil, fmt.Errorf("creating the test identity provider: %w", err)
	}
	if allow == nil {
		return nil, errors.New("creating the test identity provider: no rule for which BSNs may log in")
	}
	return &IdP{Issuer: iss, Allow: allow, pending: map[string]idpCode{}}, nil
}

func (p *IdP) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Handler serves the IdP: its keys, its configuration, the authorization
// endpoint (a login form, or with bsn= the login itself) and the token
// endpoint.
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+JWKSPath, p.Issuer.Handler())
	mux.HandleFunc("GET "+ConfigPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.url, "jwks_uri": p.url + JWKSPath,
			"authorization_endpoint": p.url + IdPAuthorizePath, "token_endpoint": p.url + IdPTokenPath,
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{string(jose.EdDSA)},
		})
	})
	mux.HandleFunc("GET "+IdPAuthorizePath, p.authorize)
	mux.HandleFunc("POST "+IdPTokenPath, p.token)
	return mux
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err)) // the system's randomness failed
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("response_type") != "code" || q.Get("client_id") == "" || err != nil || !redirect.IsAbs() || redirect.Host == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "response_type=code, client_id and an absolute redirect_uri are required")
		return
	}
	bsn := q.Get("bsn")
	if bsn == "" {
		// The login page a person sees; the bench fills in bsn.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="nl"><title>Test-inlog (in plaats van DigiD)</title><form method="get" action="%s">`,
			html.EscapeString(p.url+IdPAuthorizePath))
		for k, vs := range q {
			for _, v := range vs {
				fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
			}
		}
		fmt.Fprint(w, `<label>BSN (testreeks) <input name="bsn"></label><button>Inloggen</button></form></html>`)
		return
	}
	if !p.Allow(bsn) {
		oauthError(w, http.StatusForbidden, "access_denied", "only synthetic clients (test-range BSNs) log in at the test identity provider")
		return
	}
	code := randomString(24)
	p.mu.Lock()
	now := p.now()
	if len(p.pending) >= idpMaxPending {
		for k, c := range p.pending {
			if now.After(c.expires) {
				delete(p.pending, k)
			}
		}
	}
	if len(p.pending) >= idpMaxPending {
		p.mu.Unlock()
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "too many logins in progress")
		return
	}
	p.pending[code] = idpCode{bsn: bsn, client: q.Get("client_id"), redirect: redirect.String(), nonce: q.Get("nonce"), expires: now.Add(idpCodeTTL)}
	p.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	if s := q.Get("state"); s != "" {
		back.Set("state", s)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, idpMaxForm)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "reading the form: "+err.Error())
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	c, ok := p.pending[code]
	delete(p.pending, code) // a code is used once
	p.mu.Unlock()
	now := p.now()
	if !ok || now.After(c.expires) || subtle.ConstantTimeCompare([]byte(c.client), []byte(r.PostForm.Get("client_id"))) != 1 || c.redirect != r.PostForm.Get("redirect_uri") {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown, used, expired, or for another client or redirect_uri")
		return
	}
	claims := personClaims{
		Claims: jwt.Claims{Issuer: p.url, Subject: c.bsn, Audience: jwt.Audience{c.client},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			Expiry: jwt.NewNumericDate(now.Add(idpTokenTTL)), ID: randomString(12)},
		BSN: c.bsn, Nonce: c.nonce,
	}
	idToken, err := jwt.Signed(p.signer).Claims(claims).Serialize()
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "signing the id_token: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"id_token": idToken, "token_type": "Bearer", "access_token": randomString(24), "expires_in": int(idpTokenTTL.Seconds())})
}

// Person checks an id_token of the IdP for the audience (the relying
// party's client id) and returns the BSN of who logged in.
func (v *Verifier) Person(raw, audience string, now time.Time) (string, error) {
	if len(raw) > maxToken {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxToken)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var c personClaims
	if err := tok.Claims(v.keys, &c); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{audience}, Time: now}, time.Minute); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.BSN == "" || c.Subject != c.BSN {
		return "", fmt.Errorf("%w: it names no person", ErrInvalid)
	}
	return c.BSN, nil
}

// IdPServer is a test identity provider served on a loopback port.
type IdPServer struct {
	*IdP
	loop *loopback
}

// StartIdP serves a test identity provider on 127.0.0.1 until Close.
func StartIdP(ctx context.Context, allow func(string) bool) (*IdPServer, error) {
	s := &IdPServer{}
	loop, err := serveLoopback(ctx, "the test identity provider", func(url string) (http.Handler, error) {
		p, err := NewIdP(url, allow)
		if err != nil {
			return nil, err
		}
		s.IdP = p
		return p.Handler(), nil
	})
	if err != nil {
		return nil, err
	}
	s.loop = loop
	return s, nil
}

// Close stops serving; it is safe to call more than once.
func (s *IdPServer) Close() error {
	if s == nil {
		return nil
	}
	return s.loop.close()
}
