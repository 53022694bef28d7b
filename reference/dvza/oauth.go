package dvza

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/token"
)

// The DVZA's own client id at the test identity provider.
const idpClientID = "dvza.bcbench.test"

// Lifetimes and bounds of the authorization flow.
const (
	sessionTTL = 10 * time.Minute
	codeTTL    = time.Minute
	maxForm    = 16 << 10
	maxIdP     = 64 << 10
)

// session is an authorization request waiting for the login at the IdP.
type session struct {
	client, redirect, state, challenge, scope, correlation string
	expires                                                time.Time
}

// grant is an authorization code the DVZA gave the PGO.
type grant struct {
	session
	bsn    string
	used   bool
	tokens []string // issued with it: revoked when the code is presented again
}

// access is an issued access token.
type access struct {
	bsn, client, scope, correlation string
	expires                         time.Time
	revoked                         bool
}

type authServer struct {
	s        *Server
	mu       sync.Mutex
	sessions map[string]session
	grants   map[string]*grant
	tokens   map[string]*access
	verifier *token.Verifier
}

func newAuthServer(s *Server) *authServer {
	a := &authServer{s: s}
	a.reset()
	return a
}

func (a *authServer) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions, a.grants, a.tokens = map[string]session{}, map[string]*grant{}, map[string]*access{}
	for bsn, tok := range a.s.opts.Tokens {
		a.tokens[tok] = &access{bsn: bsn, client: "fixed", expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
}

func random() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// self is the DVZA's own URL as the request reached it.
func self(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// authorize is the authorization endpoint: it checks the PGO against the
// client list, keeps the request and sends the browser to the identity
// provider. A bad client or redirect URI is answered here, never by a
// redirect (RFC 6749 §4.1.2.1).
func (a *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client, redirect := q.Get("client_id"), q.Get("redirect_uri")
	uris, known := a.s.opts.Clients[client]
	if !known || !slices.Contains(uris, redirect) {
		a.s.log.add(logEntry{what: "autorisatie", outcome: "refused", correlation: correlation(r), request: requestID(r), detail: "client of redirect_uri niet op de OAuth-clientlijst"})
		oauthError(w, http.StatusBadRequest, "invalid_request", "the client is not on the OAuth client list, or the redirect_uri is not its own")
		return
	}
	back := func(code, desc string) {
		u, _ := url.Parse(redirect)
		v := u.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back("unsupported_response_type", "only response_type=code")
		return
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		back("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}
	if a.s.opts.IdP == "" {
		back("temporarily_unavailable", "no identity provider is configured")
		return
	}
	sid := random()
	a.mu.Lock()
	now := a.s.opts.Now()
	if len(a.sessions) >= maxSessions {
		for k, se := range a.sessions {
			if now.After(se.expires) {
				delete(a.sessions, k)
			}
		}
	}
	if len(a.sessions) >= maxSessions {
		a.mu.Unlock()
		back("temporarily_unavailable", "too many logins in progress")
		return
	}
	a.sessions[sid] = session{client: client, redirect: redirect, state: q.Get("state"), challenge: q.Get("code_challenge"),
		scope: q.Get("scope"), correlation: correlation(r), expires: now.Add(sessionTTL)}
	a.mu.Unlock()
	v := url.Values{"response_type": {"code"}, "client_id": {idpClientID}, "redirect_uri": {self(r) + "/oauth/idp"},
		"scope": {"openid"}, "state": {sid}}
	http.Redirect(w, r, strings.TrimSuffix(a.s.opts.IdP, "/")+token.IdPAuthorizePath+"?"+v.Encode(), http.StatusFound)
}

// idpReturn is where the identity provider sends the browser back: the
// DVZA redeems the IdP's code for an id_token, learns who logged in and
// gives the PGO its own code.
func (a *authServer) idpReturn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	se, ok := a.sessions[q.Get("state")]
	delete(a.sessions, q.Get("state"))
	a.mu.Unlock()
	if !ok || a.s.opts.Now().After(se.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unknown or expired login")
		return
	}
	bsn, err := a.login(r.Context(), q.Get("code"), self(r)+"/oauth/idp")
	u, _ := url.Parse(se.redirect)
	v := u.Query()
	if se.state != "" {
		v.Set("state", se.state)
	}
	if err != nil {
		v.Set("error", "access_denied")
		v.Set("error_description", "the login at the identity provider failed")
	} else {
		code := random()
		a.mu.Lock()
		a.grants[code] = &grant{session: session{client: se.client, redirect: se.redirect, challenge: se.challenge, scope: se.scope,
			correlation: se.correlation, expires: a.s.opts.Now().Add(codeTTL)}, bsn: bsn}
		a.mu.Unlock()
		v.Set("code", code)
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// login redeems the IdP's code and verifies its id_token.
func (a *authServer) login(ctx context.Context, code, redirect string) (string, error) {
	ver, err := a.idpVerifier(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {idpClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.s.opts.IdP, "/")+token.IdPTokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("redeeming the login: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.s.opts.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("redeeming the login: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIdP)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("redeeming the login: status %d", resp.StatusCode)
	}
	return ver.Person(body.IDToken, idpClientID, a.s.opts.Now())
}

// idpVerifier fetches (once) the identity provider's keys.
func (a *authServer) idpVerifier(ctx context.Context) (*token.Verifier, error) {
	a.mu.Lock()
	v := a.verifier
	a.mu.Unlock()
	if v != nil {
		return v, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.s.opts.IdP, "/")+token.JWKSPath, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the identity provider's keys: %w", err)
	}
	resp, err := a.s.opts.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the identity provider's keys: %w", err)
	}
	defer resp.Body.Close()
	jwks, err := io.ReadAll(io.LimitReader(resp.Body, maxIdP))
	if err != nil {
		return nil, fmt.Errorf("reading the identity provider's keys: %w", err)
	}
	v, err = token.NewVerifier(a.s.opts.IdP, jwks)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.verifier = v
	a.mu.Unlock()
	return v, nil
}

// token is the token endpoint: a code once, with the PKCE verifier, for
// the client and redirect URI it was given to.
func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "reading the form: "+err.Error())
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	reuse := a.s.has(func(m *Mutant) bool { return m.reuseCode })
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.grants[f.Get("code")]
	now := a.s.opts.Now()
	refuse := func(desc string) {
		a.s.log.add(logEntry{what: "token", outcome: "refused", correlation: correlation(r), request: requestID(r), detail: desc})
		oauthError(w, http.StatusBadRequest, "invalid_grant", desc)
	}
	switch {
	case g == nil:
		refuse("unknown code")
		return
	case g.used && !reuse:
		// RFC 6749 §4.1.2: a code presented twice voids what it gave.
		for _, t := range g.tokens {
			if acc := a.tokens[t]; acc != nil {
				acc.revoked = true
			}
		}
		refuse("the code was used before")
		return
	case now.After(g.expires):
		refuse("the code has expired")
		return
	case subtle.ConstantTimeCompare([]byte(g.client), []byte(f.Get("client_id"))) != 1 || g.redirect != f.Get("redirect_uri"):
		refuse("the code was given to another client or redirect_uri")
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		g.used = true
		refuse("the code_verifier does not match the code_challenge")
		return
	}
	g.used = true
	tok := random()
	a.tokens[tok] = &access{bsn: g.bsn, client: g.client, scope: g.scope, correlation: g.correlation, expires: now.Add(TokenLifetime)}
	g.tokens = append(g.tokens, tok)
	a.s.log.add(logEntry{what: "token", outcome: "success", correlation: correlation(r), request: requestID(r), client: pseudonym(g.bsn)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	answer := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(TokenLifetime.Seconds()), "scope": g.scope}
	if a.s.has(func(m *Mutant) bool { return m.noExpiryUnknown }) && !a.s.store.known(g.bsn) {
		delete(answer, "expires_in")
	}
	_ = json.NewEncoder(w).Encode(answer)
}

// bearer returns the client of a request's access token, or answers the
// refusal itself (RFC 6750 §3.1) and returns false.
func (a *authServer) bearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw, hasHeader := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !hasHeader && r.URL.Query().Has("access_token") && a.s.has(func(m *Mutant) bool { return m.queryToken }) {
		raw, hasHeader = r.URL.Query().Get("access_token"), true
	}
	if !hasHeader {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bcbench-dvza"`)
		return "", false
	}
	a.mu.Lock()
	acc := a.tokens[strings.TrimSpace(raw)]
	a.mu.Unlock()
	expiredOK := a.s.has(func(m *Mutant) bool { return m.acceptExpired })
	if acc == nil || acc.revoked || (!expiredOK && a.s.opts.Now().After(acc.expires)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bcbench-dvza", error="invalid_token"`)
		return "", false
	}
	return acc.bsn, true
}

func (a *authServer) expire(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc := a.tokens[tok]
	if acc == nil {
		return false
	}
	acc.expires = a.s.opts.Now().Add(-time.Second)
	return true
}

// correlation and requestID are the MedMij headers of a request (or, on
// the authorization request, its query parameters).
func correlation(r *http.Request) string {
	if v := r.Header.Get("X-Correlation-ID"); v != "" {
		return v
	}
	return r.URL.Query().Get("X-Correlation-ID")
}

func requestID(r *http.Request) string {
	if v := r.Header.Get("MedMij-Request-ID"); v != "" {
		return v
	}
	return r.URL.Query().Get("MedMij-Request-ID")
}

// pseudonym names a client in the log without her BSN.
func pseudonym(bsn string) string {
	sum := sha256.Sum256([]byte("bcbench-dvza|" + bsn))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}
