package main

import (
	"context"
	"fmt"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/viewer"
	"github.com/bcbench/bcbench/token"
)

// viewerHost is the XIS host of a viewer opened with a signed context token,
// made before the viewer starts (docs/viewer.md): the viewer verifies the
// context tokens with the keys of its issuer, which it learns as every role
// learns the bench's authorization server — BCBENCH_AUTH_ISSUER and
// BCBENCH_AUTH_JWKS in a command's environment, Options.Trust for the
// builtin. Nil when the run's viewer takes the SMART launch.
type viewerHost struct {
	host  *viewer.Host
	trust *token.Verifier
}

// prepareViewerHost makes the host when the manifest's viewer is opened
// with a context token, and tells a command role its issuer.
func prepareViewerHost(ctx context.Context, m *harness.Manifest) (*viewerHost, error) {
	r, ok := m.Roles["viewer"]
	if !ok || !r.Viewer.ContextToken() {
		return nil, nil
	}
	if m.Roles[viewedRole] != nil {
		return nil, fmt.Errorf("roles.viewer: a viewer opened with a context token is judged on the XIS the bench plays for it only; on the run's own XIS (role %s) it takes the SMART launch (docs/viewer.md)", viewedRole)
	}
	if r.URL != "" || r.Image != nil {
		return nil, fmt.Errorf("roles.viewer: a viewer opened with a context token must be a command or builtin role (it learns the bench's issuer when it starts and reads the bench's XIS on loopback)")
	}
	host, err := viewer.PrepareHost(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing the viewer's XIS: %w", err)
	}
	trust, err := token.NewVerifier(host.Issuer.URL(), host.Issuer.JWKS())
	if err != nil {
		_ = host.Close()
		return nil, fmt.Errorf("preparing the viewer's XIS: %w", err)
	}
	if r.Command != nil {
		if r.Command.Env == nil {
			r.Command.Env = harness.EnvVars{}
		}
		r.Command.Env[envAuthIssuer] = host.Issuer.URL()
		r.Command.Env[envAuthJWKS] = string(host.Issuer.JWKS())
	}
	return &viewerHost{host: host, trust: trust}, nil
}

// verifier is whom the builtin viewer trusts; nil for a SMART launch.
func (v *viewerHost) verifier() *token.Verifier {
	if v == nil {
		return nil
	}
	return v.trust
}

// prepared is the host for StartStack; nil for a SMART launch.
func (v *viewerHost) prepared() *viewer.Host {
	if v == nil {
		return nil
	}
	return v.host
}

// close releases a host no stack took over; nil-safe.
func (v *viewerHost) close() {
	if v != nil {
		_ = v.host.Close()
	}
}
