package smart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswer bounds a configuration or token answer a viewer reads.
const maxAnswer = 64 << 10

// Scope is what the reference viewer asks for in an EHR launch.
const Scope = "launch openid fhirUser patient/*.rs"

// Discover reads the SMART configuration of the FHIR server iss.
func Discover(ctx context.Context, hc *http.Client, iss string) (Config, error) {
	var cfg Config
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("reading the SMART configuration: iss %q is no absolute http(s) URL", iss)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(iss, "/")+ConfigPath, nil)
	if err != nil {
		return cfg, fmt.Errorf("reading the SMART configuration: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if err := do(hc, req, &cfg); err != nil {
		return cfg, fmt.Errorf("reading the SMART configuration of %s: %w", iss, err)
	}
	if cfg.AuthorizationEndpoint == "" || cfg.TokenEndpoint == "" {
		return cfg, fmt.Errorf("reading the SMART configuration of %s: no authorization or token endpoint", iss)
	}
	return cfg, nil
}

// Request is one authorization request of a viewer.
type Request struct {
	ClientID, RedirectURI, Launch, ISS, Scope string
	// State and Verifier are fresh random values (NewRequest makes them).
	State, Verifier string
}

// NewRequest makes an authorization request with a fresh state and PKCE
// verifier.
func NewRequest(clientID, redirectURI, iss, launch string) (Request, error) {
	state, err := random()
	if err != nil {
		return Request{}, fmt.Errorf("making the authorization request: %w", err)
	}
	verifier, err := random()
	if err != nil {
		return Request{}, fmt.Errorf("making the authorization request: %w", err)
	}
	return Request{ClientID: clientID, RedirectURI: redirectURI, Launch: launch, ISS: iss, Scope: Scope, State: state, Verifier: verifier}, nil
}

// AuthorizeURL is where the viewer sends the browser.
func (r Request) AuthorizeURL(cfg Config) (string, error) {
	u, err := url.Parse(cfg.AuthorizationEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("building the authorization request: endpoint %q is no absolute http(s) URL", cfg.AuthorizationEndpoint)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", r.ClientID)
	q.Set("redirect_uri", r.RedirectURI)
	q.Set("launch", r.Launch)
	q.Set("scope", r.Scope)
	q.Set("state", r.State)
	q.Set("aud", r.ISS)
	q.Set("code_challenge", Challenge(r.Verifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Exchange trades a code for the access token and the launch context.
func (r Request) Exchange(ctx context.Context, hc *http.Client, cfg Config, code string) (TokenResponse, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.RedirectURI},
		"client_id": {r.ClientID}, "code_verifier": {r.Verifier}}
	return tokenRequest(ctx, hc, cfg.TokenEndpoint, form, "the code")
}

// ExchangeContext trades a signed context token for an access token and the
// client's context at the token endpoint (RFC 8693 token exchange).
func ExchangeContext(ctx context.Context, hc *http.Client, tokenEndpoint, clientID, contextToken string) (TokenResponse, error) {
	form := url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {contextToken}, "subject_token_type": {TokenTypeJWT},
		"requested_token_type": {TokenTypeAccess}, "client_id": {clientID}}
	return tokenRequest(ctx, hc, tokenEndpoint, form, "the context token")
}

// tokenRequest posts form to the token endpoint and reads a bearer token
// with a patient from the answer; what names the grant for errors.
func tokenRequest(ctx context.Context, hc *http.Client, endpoint string, form url.Values, what string) (TokenResponse, error) {
	var tr TokenResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return tr, fmt.Errorf("exchanging %s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if err := do(hc, req, &tr); err != nil {
		return tr, fmt.Errorf("exchanging %s: %w", what, err)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") || tr.Patient == "" {
		return tr, fmt.Errorf("exchanging %s: the answer has no bearer token or no patient", what)
	}
	return tr, nil
}

// do sends req and decodes a 200 JSON answer of at most maxAnswer bytes.
func do(hc *http.Client, req *http.Request, v any) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return err
	}
	if len(body) > maxAnswer {
		return fmt.Errorf("the answer is larger than %d bytes", maxAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("HTTP %d %s %s", resp.StatusCode, e.Error, e.Description)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
