package main

import (
	"context"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/token"
)

// TestAContextTokenViewerLearnsTheIssuerOfItsXIS: a command viewer opened
// with a context token gets the prepared XIS host's issuer and keys in its
// environment; a SMART viewer gets no host; an image viewer is refused.
func TestAContextTokenViewerLearnsTheIssuerOfItsXIS(t *testing.T) {
	viewerRole := func(r harness.RoleSpec, mode string) *harness.Manifest {
		r.Viewer = &harness.ViewerSpec{ClientID: "v", LaunchMode: mode}
		return &harness.Manifest{Roles: map[string]*harness.RoleSpec{"viewer": &r}}
	}
	cases := []struct {
		name    string
		m       *harness.Manifest
		host    bool
		problem string
	}{
		{"command with a context token", viewerRole(harness.RoleSpec{Command: &harness.CommandSpec{Path: "v"}}, harness.ViewerLaunchContextToken), true, ""},
		{"builtin with a context token", viewerRole(harness.RoleSpec{Builtin: true}, harness.ViewerLaunchContextToken), true, ""},
		{"command with the SMART launch", viewerRole(harness.RoleSpec{Command: &harness.CommandSpec{Path: "v"}}, ""), false, ""},
		{"image with a context token", viewerRole(harness.RoleSpec{Image: &harness.ImageSpec{Name: "v", Port: 80}}, harness.ViewerLaunchContextToken), false, "command or builtin"},
		{"on the run's XIS", &harness.Manifest{Roles: map[string]*harness.RoleSpec{"xis": {Builtin: true},
			"viewer": {Builtin: true, Viewer: &harness.ViewerSpec{ClientID: "v", LaunchMode: harness.ViewerLaunchContextToken}}}}, false, "SMART launch"},
		{"no viewer", &harness.Manifest{Roles: map[string]*harness.RoleSpec{"xis": {Builtin: true}}}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vh, err := prepareViewerHost(context.Background(), tc.m)
			defer vh.close()
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err = %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (vh != nil) != tc.host || (vh.verifier() != nil) != tc.host || (vh.prepared() != nil) != tc.host {
				t.Fatalf("host %v, want %v", vh, tc.host)
			}
			r := tc.m.Roles["viewer"]
			if r == nil || r.Command == nil {
				return
			}
			iss, jwks := r.Command.Env[envAuthIssuer], r.Command.Env[envAuthJWKS]
			if !tc.host {
				if iss != "" || jwks != "" {
					t.Fatalf("a SMART viewer was told an issuer: %q", iss)
				}
				return
			}
			_, err = token.NewVerifier(iss, []byte(jwks))
			if err != nil || iss != vh.prepared().Issuer.URL() || !strings.HasSuffix(iss, "/auth") {
				t.Fatalf("the viewer was told issuer %q (%v), the host's is %s", iss, err, vh.prepared().Issuer.URL())
			}
		})
	}
}

// TestReferenceViewerWithAContextTokenNeedsItsIssuer: `bcbench reference
// serve --role viewer --launch context-token` trusts the issuer of
// BCBENCH_AUTH_ISSUER/BCBENCH_AUTH_JWKS and refuses to start without it.
func TestReferenceViewerWithAContextTokenNeedsItsIssuer(t *testing.T) {
	iss, err := token.NewIssuer("http://127.0.0.1:1/auth")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envAuthIssuer: iss.URL(), envAuthJWKS: string(iss.JWKS())}
	cases := []struct {
		name, defect, launch string
		env                  map[string]string
		ok                   bool
	}{
		{"context token with the issuer", "", "context-token", env, true},
		{"a context-token mutant takes its launch", "token-hergebruik", "", env, true},
		{"context token without the issuer", "", "context-token", nil, false},
		{"a context-token mutant without the issuer", "token-hergebruik", "", nil, false},
		{"SMART needs no issuer", "", "", nil, true},
		{"an unknown launch", "", "saml", env, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := referenceViewer("", tc.defect, tc.launch, func(k string) string { return tc.env[k] })
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
