package viewer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/token"
)

// TestAStackForAViewerElsewhereSplitsWhatTheBrowserAndTheViewerReach: for
// a viewer in a container (Inner set) the launch's iss, the token endpoint
// and the token issuer are on the address the viewer reaches, the
// authorization endpoint on the loopback address the browser reaches, and
// the bench reads on loopback; without Inner all of them are on loopback.
func TestAStackForAViewerElsewhereSplitsWhatTheBrowserAndTheViewerReach(t *testing.T) {
	cases := []struct {
		name, inner string
		wantErr     bool
	}{
		{name: "on loopback"},
		{name: "in a container", inner: "http://bcbench-xis:8080"},
		{name: "in a container, trailing slash", inner: "http://bcbench-xis:8080/"},
		{name: "a path", inner: "http://bcbench-xis:8080/fhir", wantErr: true},
		{name: "no http", inner: "ftp://bcbench-xis", wantErr: true},
		{name: "no host", inner: "http://", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := Client{LaunchURL: "http://127.0.0.1:1/launch", ClientID: "v", RedirectURI: "http://127.0.0.1:1/callback"}
			st, err := StartStack(context.Background(), StackOptions{External: &client, Inner: tc.inner})
			if tc.wantErr {
				if err == nil {
					st.Close()
					t.Fatalf("inner %q accepted", tc.inner)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			inner := strings.TrimSuffix(tc.inner, "/")
			if inner == "" {
				inner = st.XISURL
			}
			if st.FHIR() != inner+"/fhir" || st.LocalFHIR() != st.XISURL+"/fhir" {
				t.Errorf("iss %s, the bench's base %s; want %s/fhir and %s/fhir", st.FHIR(), st.LocalFHIR(), inner, st.XISURL)
			}
			resp, err := http.Get(st.LocalFHIR() + "/.well-known/smart-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var cfg struct {
				Issuer    string `json:"issuer"`
				Authorize string `json:"authorization_endpoint"`
				Token     string `json:"token_endpoint"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cfg.Authorize, st.XISURL+AuthPrefix+"/") {
				t.Errorf("authorization_endpoint %s is not where the browser reaches it (%s)", cfg.Authorize, st.XISURL)
			}
			if !strings.HasPrefix(cfg.Token, inner+AuthPrefix+"/") || cfg.Issuer != inner+AuthPrefix {
				t.Errorf("token_endpoint %s, issuer %s: not where the viewer reaches them (%s)", cfg.Token, cfg.Issuer, inner)
			}
			if got := st.Origins(); len(got) != 1 || got[0] != st.XISURL {
				t.Errorf("the browser may pass %v, want only %s", got, st.XISURL)
			}
			innerReaches(t, st, tc.inner != "")
			launch, err := st.LaunchURL("p1", token.Professional{Name: "Anouk Verbeek", UZI: "999900011"})
			if err != nil || !strings.Contains(launch, "iss="+url.QueryEscape(inner+"/fhir")) {
				t.Errorf("launch %s (%v) does not name iss %s/fhir", launch, err, inner)
			}
		})
	}
}

// innerReaches checks what the address standing for Inner serves: the FHIR
// base and the authorization server, never the bench's adapter, which the
// bench reaches on loopback.
func innerReaches(t *testing.T, st *Stack, elsewhere bool) {
	t.Helper()
	if !elsewhere {
		if st.InnerTarget != "" {
			t.Errorf("a stack on loopback has an inner target %s", st.InnerTarget)
		}
		return
	}
	status := func(u string) int {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(st.XISURL + "/bench/health"); got != http.StatusOK {
		t.Fatalf("the bench's adapter on loopback answered %d, want 200", got)
	}
	inner := "http://" + st.InnerTarget
	tests := []struct {
		name, path string
		want       int
	}{
		{"the SMART configuration", "/fhir/.well-known/smart-configuration", http.StatusOK},
		{"the issuer's keys", AuthPrefix + token.JWKSPath, http.StatusOK},
		{"the bench's adapter", "/bench/health", http.StatusNotFound},
		{"the adapter through an encoded dot-dot", "/fhir/..%2Fbench/health", http.StatusNotFound},
		{"the adapter through a dot-dot segment", "/fhir/%2e%2e/bench/health", http.StatusNotFound},
		{"a path beside the FHIR base", "/fhirx/Patient", http.StatusNotFound},
	}
	for _, tc := range tests {
		if got := status(inner + tc.path); got != tc.want {
			t.Errorf("%s: %s answered %d, want %d", tc.name, tc.path, got, tc.want)
		}
	}
}
