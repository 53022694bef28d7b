package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
)

// Environment variables that tell a started role (and `bcbench reference
// serve`) which authorization server to trust: the issuer and its public
// keys (a JWKS, JSON).
const (
	envAuthIssuer = "BCBENCH_AUTH_ISSUER"
	envAuthJWKS   = "BCBENCH_AUTH_JWKS"
)

// benchAuth is the bench's test authorization server of one run.
type benchAuth struct {
	srv   *token.Server
	trust *token.Verifier
}

// trustsBench says whether the manifest's XIS trusts the bench's
// authorization server: the built-in reference always does, a candidate
// when its manifest says auth: {bench: true}. A url: role cannot: it runs
// before the bench's issuer and its keys exist.
func trustsBench(m *harness.Manifest) (bool, error) {
	x := m.Roles["xis"]
	switch {
	case x == nil:
		return false, nil
	case x.Builtin:
		return true, nil
	case x.Auth == nil || !x.Auth.Bench:
		return false, nil
	case x.URL != "":
		return false, fmt.Errorf("roles.xis: auth: {bench: true} needs a role the bench starts (image, command or builtin); a url: role cannot learn the keys of the bench's authorization server, which are made for each run")
	}
	return true, nil
}

// startAuth starts the bench's authorization server on loopback and tells
// the XIS, when the bench starts it, whom to trust: the built-in reference
// by its options, a command or image by BCBENCH_AUTH_ISSUER and
// BCBENCH_AUTH_JWKS.
func startAuth(ctx context.Context, m *harness.Manifest) (*benchAuth, error) {
	srv, err := token.Start(ctx)
	if err != nil {
		return nil, err
	}
	trust, err := token.NewVerifier(srv.URL(), srv.JWKS())
	if err != nil {
		srv.Close()
		return nil, err
	}
	x := m.Roles["xis"]
	env := map[string]string{envAuthIssuer: srv.URL(), envAuthJWKS: string(srv.JWKS())}
	for k, v := range env {
		switch {
		case x.Command != nil:
			if x.Command.Env == nil {
				x.Command.Env = harness.EnvVars{}
			}
			x.Command.Env[k] = v
		case x.Image != nil:
			if x.Image.Env == nil {
				x.Image.Env = harness.EnvVars{}
			}
			x.Image.Env[k] = v
		}
	}
	return &benchAuth{srv: srv, trust: trust}, nil
}

// close stops the authorization server; nil-safe.
func (a *benchAuth) close() {
	if a != nil {
		_ = a.srv.Close()
	}
}

// verifier is whom the built-in reference trusts: nil without the bench's
// authorization server.
func (a *benchAuth) verifier() *token.Verifier {
	if a == nil {
		return nil
	}
	return a.trust
}

// readAs makes the run read the XIS as named professionals with the bench's
// tokens (spec.ReadAs) and returns the Access of the LOG specs.
func (a *benchAuth) readAs(cand *running, scenarios []*fixtures.Scenario) (*spec.Access, error) {
	if a == nil {
		return nil, nil
	}
	x := cand.Role("xis")
	reader, acc, err := spec.ReadAs(a.srv.Issuer, x.FHIRBase(), x.Client(), x.Proxy.EntriesFrom, scenarios, time.Now())
	if err != nil {
		return nil, err
	}
	cand.FHIR = reader
	return acc, nil
}

// trustFromEnv reads the authorization server `bcbench reference serve`
// trusts from BCBENCH_AUTH_ISSUER and BCBENCH_AUTH_JWKS; nil when neither
// is set.
func trustFromEnv(getenv func(string) string) (*token.Verifier, error) {
	issuer, jwks := getenv(envAuthIssuer), getenv(envAuthJWKS)
	if issuer == "" && jwks == "" {
		return nil, nil
	}
	if issuer == "" || jwks == "" {
		return nil, fmt.Errorf("trusting the bench's authorization server: set both %s and %s", envAuthIssuer, envAuthJWKS)
	}
	return token.NewVerifier(issuer, []byte(jwks))
}
