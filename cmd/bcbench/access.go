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
	roles []string // the roles that trust it
}

// readRoles are the roles the bench reads as named professionals when they
// trust its authorization server: every publisher and the index.
func readRole(role string) bool { return harness.IsPublisher(role) || role == "index" }

// trusting lists the roles of the manifest that trust the bench's
// authorization server, in the manifest's order: the built-in references
// of xis and the index always do (a further built-in publisher, xis-<suffix>,
// does not: it plays a care provider the bench does not read as), a
// candidate's role when its manifest says auth: {bench: true}. A url: role
// cannot: it runs before the bench's issuer and its keys exist.
func trusting(m *harness.Manifest) ([]string, error) {
	var out []string
	for _, name := range m.RoleNames() {
		r := m.Roles[name]
		if !readRole(name) {
			continue
		}
		switch {
		case r.Builtin:
			if name == "xis" || name == "index" {
				out = append(out, name)
			}
		case r.Auth == nil || !r.Auth.Bench:
		case r.URL != "":
			return nil, fmt.Errorf("roles.%s: auth: {bench: true} needs a role the bench starts (image, command or builtin); a url: role cannot learn the keys of the bench's authorization server, which are made for each run", name)
		default:
			out = append(out, name)
		}
	}
	return out, nil
}

// startAuth starts the bench's authorization server on loopback and tells
// each role that trusts it, when the bench starts it, whom to trust: the
// built-in references by their options, a command or image by
// BCBENCH_AUTH_ISSUER and BCBENCH_AUTH_JWKS.
func startAuth(ctx context.Context, m *harness.Manifest) (*benchAuth, error) {
	roles, err := trusting(m)
	if err != nil {
		return nil, err
	}
	srv, err := token.Start(ctx)
	if err != nil {
		return nil, err
	}
	trust, err := token.NewVerifier(srv.URL(), srv.JWKS())
	if err != nil {
		srv.Close()
		return nil, err
	}
	env := map[string]string{envAuthIssuer: srv.URL(), envAuthJWKS: string(srv.JWKS())}
	for _, name := range roles {
		x := m.Roles[name]
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
	}
	return &benchAuth{srv: srv, trust: trust, roles: roles}, nil
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

// readAs makes the run read every role that trusts the bench as named
// professionals with the bench's tokens (spec.ReadAs): the publishers and
// the index of the run then read through those clients. It returns the
// Access of the LOG specs.
func (a *benchAuth) readAs(cand *running, scenarios []*fixtures.Scenario) (*spec.Access, error) {
	if a == nil {
		return nil, nil
	}
	var roles []spec.Reached
	for _, name := range a.roles {
		r := cand.Role(name)
		if r == nil {
			continue
		}
		roles = append(roles, spec.Reached{Role: name, Base: r.FHIRBase(), Client: r.Client(), Exchanges: r.Proxy.EntriesFrom})
	}
	readers, acc, err := spec.ReadAs(a.srv.Issuer, roles, scenarios, time.Now())
	if err != nil {
		return nil, err
	}
	for i, p := range cand.Publishers {
		if f, ok := readers[p.Role]; ok {
			cand.Publishers[i].XIS = f
		}
	}
	if f, ok := readers["xis"]; ok {
		cand.FHIR = f
	}
	if f, ok := readers["index"]; ok {
		cand.Index = f
	}
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
