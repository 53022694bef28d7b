package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/token"
)

// TestBenchAuthReachesTheRolesItCan: the built-in references of xis and
// the index and a started publisher or index with auth: {bench: true} trust
// the bench's authorization server (a started role learns it from its
// environment); a url: role cannot, and a role without it is read as
// before.
func TestBenchAuthReachesTheRolesItCan(t *testing.T) {
	cases := []struct {
		name    string
		key     string // the role
		role    string
		trusts  bool
		refused string
	}{
		{"builtin", "xis", "builtin: true", true, ""},
		{"builtin index", "index", "builtin: true", true, ""},
		{"builtin further publisher", "xis-ziekenhuis", "builtin: true", false, ""},
		{"command", "xis", "command: {path: /bin/true}\n    auth: {bench: true}", true, ""},
		{"command index", "index", "command: {path: /bin/true}\n    auth: {bench: true}", true, ""},
		{"command further publisher", "xis-ziekenhuis", "command: {path: /bin/true}\n    auth: {bench: true}", true, ""},
		{"image", "xis", "image: {name: mijnvis@sha256:" + strings.Repeat("a", 64) + ", port: 8080}\n    auth: {bench: true}", true, ""},
		{"url", "xis", "url: http://127.0.0.1:9\n    auth: {bench: true}", false, "url: role cannot"},
		{"url index", "index", "url: http://127.0.0.1:9\n    auth: {bench: true}", false, "url: role cannot"},
		{"fixed token", "xis", "url: http://127.0.0.1:9\n    auth: {bearerToken: geheim}", false, ""},
		{"no auth", "xis", "command: {path: /bin/true}", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := harness.ParseManifest([]byte("name: t\nroles:\n  " + tc.key + ":\n    " + tc.role + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			roles, err := trusting(m)
			trusts := slices.Contains(roles, tc.key)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("trusting = %v, %v; want an error about %q", roles, err, tc.refused)
				}
				return
			}
			if err != nil || trusts != tc.trusts {
				t.Fatalf("trusting = %v, %v; want %s: %v", roles, err, tc.key, tc.trusts)
			}
			if !trusts {
				return
			}
			auth, err := startAuth(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			defer auth.close()
			x := m.Roles[tc.key]
			env := harness.EnvVars{}
			switch {
			case x.Command != nil:
				env = x.Command.Env
			case x.Image != nil:
				env = x.Image.Env
			}
			if x.Builtin != (env[envAuthIssuer] == "") {
				t.Fatalf("environment of the role: %v", env)
			}
			// What the role is told verifies what the bench issues.
			trust := auth.verifier()
			if !x.Builtin {
				if trust, err = trustFromEnv(func(k string) string { return env[k] }); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := auth.srv.Issue(token.Professional{Name: "Anouk Verbeek", UZI: "999900011"}, "xis", time.Now(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := trust.Verify(tok, time.Now()); err != nil || p.UZI != "999900011" {
				t.Fatalf("the role's trust does not verify the bench's token: %+v, %v", p, err)
			}
		})
	}
	if _, err := trustFromEnv(func(k string) string { return map[string]string{envAuthIssuer: "http://x"}[k] }); err == nil {
		t.Error("an issuer without keys was trusted")
	}
	if v, err := trustFromEnv(func(string) string { return "" }); v != nil || err != nil {
		t.Errorf("no variables: %v, %v; want no trust and no error", v, err)
	}
}
