package dvza

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/suites/spec"
)

// The bench as the client's app (PGO): it logs her in at the DVZA with
// the OAuth 2.0 authorization code flow and PKCE, as her browser (following
// the DVZA's redirects to the bench's test identity provider and back,
// never to another host) and as the PGO's server (redeeming the code), and
// collects her data with the token in the Authorization header only, sent
// to the DVZA's FHIR base and nowhere else.

// Bounds of the flow.
const (
	maxHops  = 10
	maxReply = 32 << 20
)

// pgo talks to one DVZA.
type pgo struct {
	d *spec.DVZA
}

// grantResult is the end of the browser part of the flow.
type grantResult struct {
	Code, State, Error string
	// Hosts lists the hosts the browser was sent to, in order.
	Hosts []string
}

// flow is one authorization request: its PKCE verifier, state and
// correlation id.
type flow struct {
	Verifier, Challenge, State, Correlation string
	ClientID, RedirectURI                   string
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (p *pgo) newFlow() flow {
	v := make([]byte, 32)
	_, _ = rand.Read(v)
	verifier := base64.RawURLEncoding.EncodeToString(v)
	sum := sha256.Sum256([]byte(verifier))
	return flow{Verifier: verifier, Challenge: base64.RawURLEncoding.EncodeToString(sum[:]), State: newID(), Correlation: newID(),
		ClientID: p.d.ClientID, RedirectURI: p.d.RedirectURI}
}

// ErrElsewhere marks a redirect of the flow to a host the bench does not go to.
var ErrElsewhere = errors.New("the authorization flow was sent to another host")

// ErrFlow marks an authorization flow the DVZA did not complete as OAuth
// asks (a redirect loop, a step without a usable answer, no code, no token):
// the candidate's finding, not the bench's failure.
var ErrFlow = errors.New("the authorization flow failed")

// authorize runs the browser part: the authorization request, the login of
// the client with the BSN at the bench's identity provider, and the
// redirects back, up to the PGO's redirect URI.
func (p *pgo) authorize(ctx context.Context, f flow, bsn string) (grantResult, error) {
	var res grantResult
	q := url.Values{"response_type": {"code"}, "client_id": {f.ClientID}, "redirect_uri": {f.RedirectURI},
		"scope": {"geboortezorg"}, "state": {f.State}, "code_challenge": {f.Challenge}, "code_challenge_method": {"S256"},
		"MedMij-Request-ID": {newID()}, "X-Correlation-ID": {f.Correlation}}
	next := p.d.Authorize + "?" + q.Encode()
	authURL, _ := url.Parse(p.d.Authorize)
	idpURL, _ := url.Parse(p.d.IdP)
	redirect, _ := url.Parse(f.RedirectURI)
	for hop := 0; hop <= maxHops; hop++ {
		u, err := url.Parse(next)
		if err != nil {
			return res, fmt.Errorf("following the authorization flow: %w", err)
		}
		res.Hosts = append(res.Hosts, u.Host)
		if u.Scheme == redirect.Scheme && u.Host == redirect.Host && u.Path == redirect.Path {
			v := u.Query()
			res.Code, res.State, res.Error = v.Get("code"), v.Get("state"), v.Get("error")
			return res, nil
		}
		client := p.d.HTTP
		switch {
		case u.Host == authURL.Host || slices.Contains(p.d.Hosts, u.Host):
		case u.Host == idpURL.Host:
			if !u.Query().Has("bsn") { // the bench fills in the login form
				v := u.Query()
				v.Set("bsn", bsn)
				u.RawQuery = v.Encode()
			}
			if p.d.IdPHTTP != nil {
				client = p.d.IdPHTTP
			}
		default:
			return res, fmt.Errorf("%w: %s (after %d redirects)", ErrElsewhere, u.Redacted(), hop)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return res, fmt.Errorf("following the authorization flow: %w", err)
		}
		req.Header.Set("MedMij-Request-ID", newID())
		req.Header.Set("X-Correlation-ID", f.Correlation)
		resp, err := client.Do(req)
		if err != nil {
			return res, fmt.Errorf("following the authorization flow at %s: %w", u.Host, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return res, &StepError{Host: u.Host, Status: resp.StatusCode}
		}
		loc, err := u.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			return res, fmt.Errorf("%w: %s answered %d without a usable Location", ErrFlow, u.Host, resp.StatusCode)
		}
		next = loc.String()
	}
	return res, fmt.Errorf("%w: more than %d redirects (a loop?)", ErrFlow, maxHops)
}

// StepError is a step of the flow that neither redirected nor ended it.
type StepError struct {
	Host   string
	Status int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("the authorization flow stopped at %s with status %d instead of a redirect", e.Host, e.Status)
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	Status      int
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   *int   `json:"expires_in"`
	Error       string `json:"error"`
}

// redeem asks the token endpoint for a token with the code.
func (p *pgo) redeem(ctx context.Context, f flow, code, verifier string) (tokenAnswer, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.RedirectURI}, "client_id": {f.ClientID}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.d.Token, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("asking for a token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MedMij-Request-ID", newID())
	req.Header.Set("X-Correlation-ID", f.Correlation)
	resp, err := p.d.HTTP.Do(req)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("asking for a token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("reading the token answer: %w", err)
	}
	var a tokenAnswer
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &a); err != nil && resp.StatusCode == http.StatusOK {
			return tokenAnswer{Status: resp.StatusCode}, fmt.Errorf("%w: the token answer is not JSON: %v", ErrFlow, err)
		}
	}
	a.Status = resp.StatusCode
	return a, nil
}

// session is a client logged in: her token and the flow's correlation id.
type session struct {
	Token, Correlation string
	Flow               flow
	Grant              grantResult
	Answer             tokenAnswer
	// At is when the token was asked for (zero for a fixed token).
	At time.Time
}

// validAt says whether the session's token is still valid at t by what
// the DVZA said of it: a fixed token, or one without expires_in, always;
// else until At plus expires_in.
func (s *session) validAt(t time.Time) bool {
	if s.At.IsZero() || s.Answer.ExpiresIn == nil {
		return true
	}
	return t.Before(s.At.Add(time.Duration(*s.Answer.ExpiresIn) * time.Second))
}

// login runs the whole flow for the client; fixed tokens, when the DVZA
// takes those, replace it.
func (p *pgo) login(ctx context.Context, bsn string) (*session, error) {
	if tok, ok := p.d.Tokens[bsn]; ok {
		return &session{Token: tok, Correlation: newID()}, nil
	}
	f := p.newFlow()
	g, err := p.authorize(ctx, f, bsn)
	s := &session{Correlation: f.Correlation, Flow: f, Grant: g}
	if err != nil {
		return s, err
	}
	if g.Code == "" {
		return s, fmt.Errorf("%w: it ended without a code (error %q)", ErrFlow, g.Error)
	}
	s.At = time.Now()
	a, err := p.redeem(ctx, f, g.Code, f.Verifier)
	s.Answer = a
	if err != nil {
		return s, err
	}
	if a.Status != http.StatusOK || a.AccessToken == "" {
		return s, fmt.Errorf("%w: the token endpoint answered %d (error %q) without an access token", ErrFlow, a.Status, a.Error)
	}
	s.Token = a.AccessToken
	return s, nil
}

// reply is one answer of the resource server; Status 0 is no answer
// within the request timeout (MedMij: a response within 60 s).
type reply struct {
	URL    string
	Status int
	Header http.Header
	Body   []byte
	Bundle map[string]any // when the body is a JSON object
}

// get sends a GET to the FHIR base: path with the query, the token in the
// Authorization header (none when token is ""), the MedMij headers. The
// URL is always under the FHIR base, so the token goes nowhere else.
func (p *pgo) get(ctx context.Context, token, correlation, path string, q url.Values, requestID string) (*reply, error) {
	u := strings.TrimSuffix(p.d.FHIR, "/") + "/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if requestID == "" {
		requestID = newID()
	}
	req.Header.Set("MedMij-Request-ID", requestID)
	if correlation != "" {
		req.Header.Set("X-Correlation-ID", correlation)
	}
	resp, err := p.d.HTTP.Do(req)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		return &reply{URL: u}, nil // the candidate did not answer in time: a finding
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		return &reply{URL: u}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading GET %s: %w", path, err)
	}
	if len(body) > maxReply {
		return nil, fmt.Errorf("reading GET %s: the answer is larger than %d bytes", path, maxReply)
	}
	r := &reply{URL: u, Status: resp.StatusCode, Header: resp.Header, Body: body}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&m) == nil {
		r.Bundle = m
	}
	return r, nil
}

// post sends a JSON body to the adapter.
func (p *pgo) adapter(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("encoding the request to %s: %w", path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(p.d.Adapter, "/")+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("building %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.d.HTTP.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	return resp.StatusCode, data, err
}
