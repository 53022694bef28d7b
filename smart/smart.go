// Package smart is the bench's side of a SMART App Launch 2.0 EHR launch
// (https://hl7.org/fhir/smart-app-launch/app-launch.html): the bench plays
// the XIS that opens a viewer in the professional's context. Its Server is
// the XIS's authorization server — launch contexts, the authorize endpoint
// (authorization code with PKCE S256), the token endpoint whose answer
// carries the context (patient, fhirUser) — and its access tokens are the
// bench's signed tokens (package token) that the reference XIS reads the
// professional from. Client is the viewer side of the same flow, as the
// reference viewer uses it.
package smart

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/token"
)

// ConfigPath is where a FHIR server (the iss of a launch) serves its SMART
// configuration, under its base.
const ConfigPath = "/.well-known/smart-configuration"

// Paths of the authorization server's endpoints, under its URL.
const (
	AuthorizePath = "/authorize"
	TokenPath     = "/token"
)

// Lifetimes of what the server hands out.
const (
	LaunchTTL = 5 * time.Minute  // a launch context, from Launch to /authorize
	CodeTTL   = time.Minute      // an authorization code, to /token
	AccessTTL = 15 * time.Minute // an access token
)

// maxPending bounds the launches and codes the server keeps.
const maxPending = 10000

// Config is the SMART configuration of a FHIR server, the subset a viewer
// needs for an EHR launch.
type Config struct {
	Issuer                        string   `json:"issuer,omitempty"`
	AuthorizationEndpoint         string   `json:"authorization_endpoint"`
	TokenEndpoint                 string   `json:"token_endpoint"`
	JWKSURI                       string   `json:"jwks_uri,omitempty"`
	GrantTypesSupported           []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
	ScopesSupported               []string `json:"scopes_supported"`
	ResponseTypesSupported        []string `json:"response_types_supported"`
	Capabilities                  []string `json:"capabilities"`
}

// Client is a registered viewer: its client_id and the redirect URI the
// authorization server may send codes to.
type Client struct {
	ID          string
	RedirectURI string
	// exchange marks a viewer registered for the token exchange
	// (RegisterExchange): only it may trade context tokens.
	exchange bool
}

// Context is what one launch opens: the client (Patient id at the FHIR
// server) and the launching professional.
type Context struct {
	Patient      string
	Professional token.Professional
	// Client is the viewer the launch is for (its client_id).
	Client string
}

// FHIRUser is the fhirUser of a professional: a Practitioner reference by
// her UZI number (else her AGB code).
func FHIRUser(base string, p token.Professional) string {
	return strings.TrimSuffix(base, "/") + "/Practitioner/" + p.ID()
}

// TokenResponse is the token endpoint's answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Patient     string `json:"patient"`
	FHIRUser    string `json:"fhirUser"`
	// NeedPatientBanner: the viewer shows who the client is.
	NeedPatientBanner bool `json:"need_patient_banner"`
	// IssuedTokenType is set in the answer to a token exchange (RFC 8693).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// Token exchange (RFC 8693) of a signed context token for an access token.
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// Server is the XIS's authorization server as the bench plays it.
type Server struct {
	// Audience is the aud of the access tokens; the FHIR base when empty.
	// A candidate XIS that trusts the bench's issuer expects its role key
	// (docs/logging.md). Set it before the server answers.
	Audience string

	url    string
	fhir   string
	issuer *token.Issuer
	trust  *token.Verifier // the issuer's own context tokens
	now    func() time.Time

	// browser is where the browser reaches the authorize endpoint, when
	// that is not url (a viewer in a container: BrowserURL)
	browser string

	mu       sync.Mutex
	clients  map[string]Client
	launches map[string]pendingLaunch
	codes    map[string]pendingCode
}

type pendingLaunch struct {
	ctx     Context
	expires time.Time
}

type pendingCode struct {
	ctx       Context
	redirect  string
	challenge string
	scope     string
	expires   time.Time
}

// NewServer returns an authorization server at url for the FHIR server at
// fhirBase (the aud it accepts and, unless Audience is set, the audience
// of its access tokens), signing access tokens with issuer. now is
// time.Now when nil.
func NewServer(url, fhirBase string, issuer *token.Issuer, now func() time.Time) (*Server, error) {
	if url == "" || fhirBase == "" || issuer == nil {
		return nil, errors.New("creating the authorization server: its URL, the FHIR base and the token issuer are required")
	}
	if now == nil {
		now = time.Now
	}
	trust, err := token.NewVerifier(issuer.URL(), issuer.JWKS())
	if err != nil {
		return nil, fmt.Errorf("creating the authorization server: %w", err)
	}
	return &Server{url: strings.TrimSuffix(url, "/"), fhir: strings.TrimSuffix(fhirBase, "/"), issuer: issuer, trust: trust, now: now,
		clients: map[string]Client{}, launches: map[string]pendingLaunch{}, codes: map[string]pendingCode{}}, nil
}

// URL is the authorization server's base.
func (s *Server) URL() string { return s.url }

// BrowserURL makes the configuration name the authorize endpoint under u
// instead of URL: the browser reaches the server at u, the viewer (in a
// container on another network) at URL. Call it before serving.
func (s *Server) BrowserURL(u string) { s.browser = strings.TrimSuffix(u, "/") }

// FHIR is the FHIR base the server authorizes access to (the launch's iss).
func (s *Server) FHIR() string { return s.fhir }

// Config is the SMART configuration the FHIR server serves at ConfigPath.
func (s *Server) Config() Config {
	browser := s.url
	if s.browser != "" {
		browser = s.browser
	}
	return Config{
		Issuer:                        s.issuer.URL(),
		AuthorizationEndpoint:         browser + AuthorizePath,
		TokenEndpoint:                 s.url + TokenPath,
		JWKSURI:                       s.issuer.URL() + token.JWKSPath,
		GrantTypesSupported:           []string{"authorization_code", GrantTokenExchange},
		CodeChallengeMethodsSupported: []string{"S256"},
		ScopesSupported:               []string{"launch", "openid", "fhirUser", "patient/*.rs"},
		ResponseTypesSupported:        []string{"code"},
		Capabilities:                  []string{"launch-ehr", "client-public", "context-ehr-patient", "permission-v2", "sso-openid-connect"},
	}
}

// RegisterExchange admits a viewer opened with a signed context token: it
// exchanges its context tokens at the token endpoint and has no redirect
// URI (it takes part in no authorization-code flow).
func (s *Server) RegisterExchange(id string) error {
	if id == "" {
		return errors.New("registering a viewer: a client_id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = Client{ID: id, exchange: true}
	return nil
}

// Register admits a viewer.
func (s *Server) Register(c Client) error {
	u, err := url.Parse(c.RedirectURI)
	if c.ID == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("registering viewer %q: a client_id and an absolute http(s) redirect URI are required", c.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
	return nil
}

// Launch creates a launch context, valid for LaunchTTL and used once, and
// returns its opaque launch value.
func (s *Server) Launch(c Context) (string, error) {
	return s.launchUntil(c, s.now().Add(LaunchTTL))
}

// LaunchExpired creates a launch context that is already past its expiry
// (the bench's expired-launch check).
func (s *Server) LaunchExpired(c Context) (string, error) {
	return s.launchUntil(c, s.now().Add(-time.Minute))
}

func (s *Server) launchUntil(c Context, until time.Time) (string, error) {
	if c.Patient == "" || c.Professional.ID() == "" || c.Client == "" {
		return "", errors.New("creating a launch: the patient, the professional (UZI or AGB) and the viewer are required")
	}
	id, err := random()
	if err != nil {
		return "", fmt.Errorf("creating a launch: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if len(s.launches) >= maxPending {
		return "", errors.New("creating a launch: too many launches pending")
	}
	s.launches[id] = pendingLaunch{ctx: c, expires: until}
	return id, nil
}

// LaunchURL is how the XIS opens a viewer: its launch URL with iss and
// launch.
func LaunchURL(viewerLaunch, iss, launch string) (string, error) {
	u, err := url.Parse(viewerLaunch)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("building the launch URL: %q is no absolute http(s) URL", viewerLaunch)
	}
	q := u.Query()
	q.Set("iss", iss)
	q.Set("launch", launch)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// expire drops what is past its time; s.mu is held.
func (s *Server) expire() {
	now := s.now()
	for k, l := range s.launches {
		if now.After(l.expires.Add(time.Minute)) {
			delete(s.launches, k)
		}
	}
	for k, c := range s.codes {
		if now.After(c.expires) {
			delete(s.codes, k)
		}
	}
}

// Handler serves the authorize and token endpoints and, for convenience,
// the SMART configuration at its own ConfigPath.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	mux.HandleFunc("POST "+TokenPath, s.token)
	mux.HandleFunc("GET "+ConfigPath, s.ServeConfig)
	return mux
}

// ServeConfig answers with the SMART configuration (a FHIR server mounts it
// at its base + ConfigPath).
func (s *Server) ServeConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Config())
}

// authorize checks the authorization request of an EHR launch and answers
// with a redirect carrying a code, or an error. The XIS's professional is
// already signed in: no log-in page is ever shown. Errors about the client
// or its redirect URI are answered here (never redirected to an unknown
// place); the others go back to the viewer as error=….
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	c, known := s.clients[q.Get("client_id")]
	s.mu.Unlock()
	if !known {
		http.Error(w, "authorize: unknown client_id", http.StatusBadRequest)
		return
	}
	if c.RedirectURI == "" || q.Get("redirect_uri") != c.RedirectURI {
		http.Error(w, "authorize: redirect_uri is not the one registered for this client", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		u, _ := url.Parse(c.RedirectURI)
		v := u.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case q.Get("state") == "":
		fail("invalid_request", "state is required")
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "PKCE with code_challenge_method S256 is required")
		return
	case strings.TrimSuffix(q.Get("aud"), "/") != s.fhir:
		fail("invalid_request", "aud is not the FHIR server of this authorization server")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "launch"):
		fail("invalid_scope", "an EHR launch asks for the scope launch")
		return
	}
	s.mu.Lock()
	l, ok := s.launches[q.Get("launch")]
	delete(s.launches, q.Get("launch")) // used once, also when refused
	s.mu.Unlock()
	switch {
	case !ok:
		fail("access_denied", "the launch is unknown or was used before")
		return
	case s.now().After(l.expires):
		fail("access_denied", "the launch has expired")
		return
	case l.ctx.Client != c.ID:
		fail("access_denied", "the launch was made for another viewer")
		return
	}
	code, err := random()
	if err != nil {
		fail("server_error", "no code could be made")
		return
	}
	s.mu.Lock()
	s.expire()
	if len(s.codes) >= maxPending {
		s.mu.Unlock()
		fail("temporarily_unavailable", "too many codes pending")
		return
	}
	s.codes[code] = pendingCode{ctx: l.ctx, redirect: c.RedirectURI, challenge: q.Get("code_challenge"),
		scope: q.Get("scope"), expires: s.now().Add(CodeTTL)}
	s.mu.Unlock()
	u, _ := url.Parse(c.RedirectURI)
	v := u.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// token exchanges a code (once, with its PKCE verifier) for an access token
// naming the launching professional, and the launch context.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "reading the form: "+err.Error())
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "authorization_code":
	case GrantTokenExchange:
		s.exchange(w, f)
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or "+GrantTokenExchange)
		return
	}
	s.mu.Lock()
	c, ok := s.codes[f.Get("code")]
	delete(s.codes, f.Get("code")) // used once
	s.mu.Unlock()
	switch {
	case !ok || s.now().After(c.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown, expired or was used before")
		return
	case f.Get("client_id") != c.ctx.Client || f.Get("redirect_uri") != c.redirect:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client or redirect URI")
		return
	case subtle.ConstantTimeCompare([]byte(Challenge(f.Get("code_verifier"))), []byte(c.challenge)) != 1:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code_verifier does not match the code_challenge")
		return
	}
	tok, err := s.issuer.Issue(c.ctx.Professional, s.audience(), s.now(), AccessTTL)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(AccessTTL.Seconds()),
		Scope: c.scope, Patient: c.ctx.Patient, FHIRUser: FHIRUser(s.fhir, c.ctx.Professional), NeedPatientBanner: true})
}

// exchange trades a context token (RFC 8693 subject_token, a JWT) for an
// access token of the same professional, audience the FHIR base. It checks
// the token as a JWT: the issuer's signature, iss, exp and iat (a minute's
// leeway), and that aud is the registered client presenting it. It does
// not remember the jti: refusing a context token that was used before is
// the viewer's own check (VWR-02). Only a client registered for the
// exchange (RegisterExchange) may use it, and only for a context token
// whose fhir_base is this server's FHIR base.
func (s *Server) exchange(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	c, known := s.clients[f.Get("client_id")]
	s.mu.Unlock()
	switch {
	case !known:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	case !c.exchange:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "this client is not registered for the token exchange")
		return
	case f.Get("subject_token_type") != TokenTypeJWT:
		oauthError(w, http.StatusBadRequest, "invalid_request", "subject_token_type must be "+TokenTypeJWT)
		return
	}
	l, err := s.trust.VerifyContext(f.Get("subject_token"), f.Get("client_id"), s.now())
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the subject_token is no valid context token for this client: "+err.Error())
		return
	}
	if strings.TrimSuffix(l.Context.FHIRBase, "/") != strings.TrimSuffix(s.fhir, "/") {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the context token's fhir_base is not this server's FHIR base")
		return
	}
	tok, err := s.issuer.Issue(l.Professional, s.audience(), s.now(), AccessTTL)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(AccessTTL.Seconds()),
		Scope: "patient/*.rs", Patient: l.Context.Patient, FHIRUser: FHIRUser(s.fhir, l.Professional), NeedPatientBanner: true,
		IssuedTokenType: TokenTypeAccess})
}

// audience is the aud of the access tokens (Audience, else the FHIR base).
func (s *Server) audience() string {
	if s.Audience != "" {
		return s.Audience
	}
	return s.fhir
}

// Challenge is the PKCE S256 code challenge of a verifier.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// random is 32 bytes from crypto/rand, base64url: a launch, code, state or
// PKCE verifier (43 characters).
func random() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
