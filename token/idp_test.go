package token

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestIdP: the test identity provider logs in only the BSNs it allows, a
// code is redeemed once, for the client and redirect URI it was given to,
// and the id_token names who logged in for that client only.
func TestIdP(t *testing.T) {
	p, err := NewIdP("http://idp.test", func(bsn string) bool { return strings.HasPrefix(bsn, "9999") })
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler()
	login := func(bsn string) (int, string) {
		q := url.Values{"response_type": {"code"}, "client_id": {"rp"}, "redirect_uri": {"https://rp.test/cb"}, "state": {"s1"}}
		if bsn != "" {
			q.Set("bsn", bsn)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if loc == nil {
			return rec.Code, ""
		}
		return rec.Code, loc.Query().Get("code")
	}
	redeem := func(code, client, redirect string) (int, string) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {client}, "redirect_uri": {redirect}}
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, _ := login(""); code != http.StatusOK {
		t.Errorf("no bsn: %d, want 200 (the login form)", code)
	}
	if code, _ := login("123456782"); code != http.StatusForbidden {
		t.Errorf("a BSN outside the allowed range: %d, want 403", code)
	}
	status, code := login("999901011")
	if status != http.StatusFound || code == "" {
		t.Fatalf("login: %d, code %q", status, code)
	}
	if got, _ := redeem(code, "other", "https://rp.test/cb"); got != http.StatusBadRequest {
		t.Errorf("the code for another client: %d, want 400", got)
	}
	// the failed attempt above used the code up
	if got, _ := redeem(code, "rp", "https://rp.test/cb"); got != http.StatusBadRequest {
		t.Errorf("a code presented a second time: %d, want 400", got)
	}
	_, code = login("999901011")
	got, body := redeem(code, "rp", "https://rp.test/cb")
	if got != http.StatusOK {
		t.Fatalf("redeem: %d %s", got, body)
	}
	start := strings.Index(body, `"id_token":"`) + len(`"id_token":"`)
	idToken := body[start : start+strings.Index(body[start:], `"`)]
	v, err := NewVerifier("http://idp.test", p.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if bsn, err := v.Person(idToken, "rp", time.Now()); err != nil || bsn != "999901011" {
		t.Errorf("Person = %q, %v; want 999901011", bsn, err)
	}
	if _, err := v.Person(idToken, "another-rp", time.Now()); err == nil {
		t.Error("an id_token for another relying party was accepted")
	}
	if _, err := v.Verify(idToken, time.Now()); err == nil {
		t.Error("a person's id_token passed as a professional's token")
	}
}
