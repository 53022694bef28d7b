package viewer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/smart"
	"github.com/bcbench/bcbench/token"
)

// TestTheFrontLaunchesOnTheRunsXIS: through the front a viewer discovers
// the bench's SMART configuration, gets a token of the issuer the XIS
// trusts with the XIS's role key as aud, and its reads reach the XIS with
// that token; what is no read never reaches the XIS.
func TestTheFrontLaunchesOnTheRunsXIS(t *testing.T) {
	issuer, err := token.NewIssuer("http://issuer.test")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := token.NewVerifier(issuer.URL(), issuer.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // method, path?query, and who the token names
	xis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "-"
		if p, err := trust.Verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), time.Now()); err == nil {
			who = p.UZI
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+who)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"Bundle"}`)
	}))
	defer xis.Close()
	const redirect = "http://viewer.test/callback"
	st, err := StartFront(context.Background(), FrontOptions{Upstream: xis.URL + "/base/fhir", Transport: http.DefaultTransport,
		Issuer: issuer, Audience: "xis", Viewer: Client{LaunchURL: "http://viewer.test/launch", ClientID: "v", RedirectURI: redirect}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	anouk := token.Professional{Name: "Anouk Verbeek", UZI: "999900011", AGB: "99991011", Role: "03.000"}
	lu, err := st.LaunchURL("p-1", anouk)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(lu)
	iss := u.Query().Get("iss")
	if iss != st.FHIR() {
		t.Fatalf("iss = %s, want the front's FHIR base %s", iss, st.FHIR())
	}
	ctx := context.Background()
	cfg, err := smart.Discover(ctx, nil, iss)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.AuthorizationEndpoint, st.XISURL+AuthPrefix) || cfg.JWKSURI != issuer.URL()+token.JWKSPath {
		t.Fatalf("configuration %+v", cfg)
	}
	req, err := smart.NewRequest("v", redirect, iss, u.Query().Get("launch"))
	if err != nil {
		t.Fatal(err)
	}
	au, err := req.AuthorizeURL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(au)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	tr, err := req.Exchange(ctx, nil, cfg, back.Query().Get("code"))
	if err != nil {
		t.Fatalf("exchange after %s: %v", resp.Header.Get("Location"), err)
	}
	if got := audience(t, tr.AccessToken); got != "xis" {
		t.Errorf("the access token's aud = %v, want the role key xis", got)
	}
	cases := []struct {
		name, method, path string
		status             int
		want               string // what the XIS saw; "" nothing
	}{
		{"a read", http.MethodGet, "/fhir/Patient/p-1", 200, "GET /base/fhir/Patient/p-1 999900011"},
		{"a search", http.MethodGet, "/fhir/RelatedPerson?identifier=http%3A%2F%2Ffhir.nl%2Ffhir%2FNamingSystem%2Fbsn%7C999901011", 200,
			"GET /base/fhir/RelatedPerson?identifier=http%3A%2F%2Ffhir.nl%2Ffhir%2FNamingSystem%2Fbsn%7C999901011 999900011"},
		{"a POST search", http.MethodPost, "/fhir/Observation/_search", 200, "POST /base/fhir/Observation/_search 999900011"},
		{"a write", http.MethodPut, "/fhir/Patient/p-1", http.StatusMethodNotAllowed, ""},
		{"a delete", http.MethodDelete, "/fhir/Patient/p-1", http.StatusMethodNotAllowed, ""},
		{"outside the FHIR base", http.MethodGet, "/bench/events", http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			r, _ := http.NewRequest(tc.method, st.XISURL+tc.path, nil)
			r.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if want := []string{tc.want}; (tc.want == "" && len(seen) != 0) || (tc.want != "" && (len(seen) != 1 || seen[0] != want[0])) {
				t.Errorf("the XIS saw %q, want %q", seen, tc.want)
			}
		})
	}
}

// audience reads a JWT's aud (a string or a list of one).
func audience(t *testing.T, jwt string) any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("no JWT: %q", jwt)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Aud any `json:"aud"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if l, ok := c.Aud.([]any); ok && len(l) == 1 {
		return l[0]
	}
	return c.Aud
}
