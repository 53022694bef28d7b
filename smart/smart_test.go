package smart

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/token"
)

var anouk = token.Professional{Name: "Anouk Verbeek", UZI: "999900011", AGB: "99991011", Role: "03.000", RoleDisplay: "Verloskundige",
	OrgName: "Verloskundigenpraktijk De Dageraad", OrgURA: "99990101"}

const redirect = "http://viewer.test/callback"

type bench struct {
	srv    *Server
	http   *httptest.Server
	issuer *token.Issuer
	now    time.Time
}

func newBench(t *testing.T) *bench {
	t.Helper()
	b := &bench{now: time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)}
	var err error
	b.issuer, err = token.NewIssuer("http://issuer.test")
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	b.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(b.http.Close)
	b.srv, err = NewServer(b.http.URL, b.http.URL+"/fhir", b.issuer, func() time.Time { return b.now })
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", b.srv.Handler())
	mux.HandleFunc("GET /fhir"+ConfigPath, b.srv.ServeConfig)
	h = mux
	for _, c := range []Client{{ID: "viewer", RedirectURI: redirect}, {ID: "other", RedirectURI: "http://other.test/cb"}} {
		if err := b.srv.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

// authorize sends the browser's authorization request and returns where
// the server sent it back to.
func (b *bench) authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("authorize redirected to %q", resp.Header.Get("Location"))
	}
	return loc.Query()
}

func TestAValidEHRLaunchGivesTheContextAndATokenTheXISReads(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	launch, err := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	iss := b.srv.FHIR()
	cfg, err := Discover(ctx, nil, iss)
	if err != nil {
		t.Fatal(err)
	}
	req, err := NewRequest("viewer", redirect, iss, launch)
	if err != nil {
		t.Fatal(err)
	}
	au, err := req.AuthorizeURL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back := b.authorize(t, au)
	if back.Get("state") != req.State || back.Get("code") == "" {
		t.Fatalf("callback %v", back)
	}
	tr, err := req.Exchange(ctx, nil, cfg, back.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Patient != "p1" || tr.FHIRUser != iss+"/Practitioner/"+anouk.UZI || !tr.NeedPatientBanner {
		t.Fatalf("context %+v", tr)
	}
	v, err := token.NewVerifier(b.issuer.URL(), b.issuer.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(tr.AccessToken, b.now); err != nil || p != anouk {
		t.Fatalf("the access token names %+v, %v", p, err)
	}
	if _, err := req.Exchange(ctx, nil, cfg, back.Get("code")); err == nil {
		t.Fatal("a code was exchanged twice")
	}
}

func TestTheAuthorizationServerRefusesABadLaunch(t *testing.T) {
	cases := []struct {
		name  string
		setup func(b *bench) (launch string, edit func(url.Values))
		want  string
	}{
		{"no launch", func(*bench) (string, func(url.Values)) { return "", nil }, "access_denied"},
		{"tampered launch", func(b *bench) (string, func(url.Values)) {
			l, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
			return l[:len(l)-2] + "xx", nil
		}, "access_denied"},
		{"expired launch", func(b *bench) (string, func(url.Values)) {
			l, _ := b.srv.LaunchExpired(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
			return l, nil
		}, "access_denied"},
		{"launch for another viewer", func(b *bench) (string, func(url.Values)) {
			l, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "other"})
			return l, nil
		}, "access_denied"},
		{"wrong audience", func(b *bench) (string, func(url.Values)) {
			l, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
			return l, func(q url.Values) { q.Set("aud", "http://elders.test/fhir") }
		}, "invalid_request"},
		{"no PKCE", func(b *bench) (string, func(url.Values)) {
			l, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
			return l, func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }
		}, "invalid_request"},
		{"no launch scope", func(b *bench) (string, func(url.Values)) {
			l, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
			return l, func(q url.Values) { q.Set("scope", "openid") }
		}, "invalid_scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			launch, edit := tc.setup(b)
			cfg, err := Discover(context.Background(), nil, b.srv.FHIR())
			if err != nil {
				t.Fatal(err)
			}
			req, _ := NewRequest("viewer", redirect, b.srv.FHIR(), launch)
			au, _ := req.AuthorizeURL(cfg)
			if edit != nil {
				u, _ := url.Parse(au)
				q := u.Query()
				edit(q)
				u.RawQuery = q.Encode()
				au = u.String()
			}
			back := b.authorize(t, au)
			if back.Get("error") != tc.want || back.Get("code") != "" {
				t.Fatalf("callback %v, want error %s", back, tc.want)
			}
		})
	}
}

func TestALaunchIsUsedOnceAndACodeNeedsItsVerifier(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	launch, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
	cfg, _ := Discover(ctx, nil, b.srv.FHIR())
	req, _ := NewRequest("viewer", redirect, b.srv.FHIR(), launch)
	au, _ := req.AuthorizeURL(cfg)
	back := b.authorize(t, au)
	if back.Get("code") == "" {
		t.Fatalf("first use refused: %v", back)
	}
	if again := b.authorize(t, au); again.Get("error") != "access_denied" {
		t.Fatalf("a replayed launch gave %v", again)
	}
	wrong := req
	wrong.Verifier = strings.Repeat("a", 43)
	if _, err := wrong.Exchange(ctx, nil, cfg, back.Get("code")); err == nil {
		t.Fatal("a code was exchanged with another verifier")
	}
	// the failed attempt spent the code
	if _, err := req.Exchange(ctx, nil, cfg, back.Get("code")); err == nil {
		t.Fatal("a code was exchanged after a failed attempt")
	}
	b.now = b.now.Add(2 * CodeTTL)
	if _, err := b.srv.Launch(Context{Professional: anouk, Client: "viewer"}); err == nil {
		t.Fatal("a launch without a patient was made")
	}
}

func TestAuthorizeNeverRedirectsToAnUnregisteredPlace(t *testing.T) {
	b := newBench(t)
	launch, _ := b.srv.Launch(Context{Patient: "p1", Professional: anouk, Client: "viewer"})
	cfg, _ := Discover(context.Background(), nil, b.srv.FHIR())
	for _, tc := range []struct{ name, client, redirect string }{
		{"unknown client", "onbekend", redirect},
		{"other redirect", "viewer", "http://evil.test/cb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := NewRequest(tc.client, tc.redirect, b.srv.FHIR(), launch)
			au, _ := req.AuthorizeURL(cfg)
			resp, err := noRedirect.Get(au)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestAContextTokenIsExchangedForAnAccessTokenOfItsProfessional(t *testing.T) {
	b := newBench(t)
	if err := b.srv.RegisterExchange("token-viewer"); err != nil {
		t.Fatal(err)
	}
	c := token.Context{Patient: "p1", FHIRBase: b.srv.FHIR()}
	issue := func(aud string, at time.Time) string {
		t.Helper()
		tok, err := b.issuer.IssueContext(anouk, c, aud, at, token.ContextTTL)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := issue("token-viewer", b.now)
	elsewhere, err := b.issuer.IssueContext(anouk, token.Context{Patient: "p1", FHIRBase: "http://127.0.0.1:1/fhir"}, "token-viewer", b.now, token.ContextTTL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	endpoint := b.http.URL + TokenPath
	tr, err := ExchangeContext(ctx, nil, endpoint, "token-viewer", good)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(b.issuer.URL(), b.issuer.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(tr.AccessToken, b.now); err != nil || p != anouk || tr.Patient != "p1" || tr.IssuedTokenType != TokenTypeAccess {
		t.Fatalf("the exchange answered %+v; its token names %+v, %v", tr, p, err)
	}
	// the jti is the viewer's check: the exchange does not remember it
	if _, err := ExchangeContext(ctx, nil, endpoint, "token-viewer", good); err != nil {
		t.Fatalf("a second exchange of the same context token: %v", err)
	}
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	cases := []struct {
		name, client, token string
	}{
		{"broken signature", "token-viewer", parts[0] + "." + parts[1] + "." + string(sig)},
		{"expired", "token-viewer", issue("token-viewer", b.now.Add(-10*time.Minute))},
		{"another viewer's token", "token-viewer", issue("viewer", b.now)},
		{"an unknown client", "nobody", good},
		{"a client of the code flow", "viewer", issue("viewer", b.now)},
		{"a token for another FHIR base", "token-viewer", elsewhere},
		{"no token", "token-viewer", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tr, err := ExchangeContext(ctx, nil, endpoint, tc.client, tc.token); err == nil {
				t.Fatalf("exchanged: %+v", tr)
			}
		})
	}
	// a client registered for the exchange takes part in no code flow
	resp, err := noRedirect.Get(b.http.URL + AuthorizePath + "?client_id=token-viewer&response_type=code")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("authorize for an exchange-only client answered %d, want 400", resp.StatusCode)
	}
}
