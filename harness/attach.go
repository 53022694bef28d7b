package harness

import (
	"context"
	"fmt"
	"strings"
)

// AttachConfig describes a role that already runs at a URL.
type AttachConfig struct {
	Role string
	// URL is the role's base URL (FHIRBase and Adapter are appended).
	URL      string
	FHIRBase string // default /fhir
	Adapter  string // default /bench
	// Token is sent as a bearer token to the health and metadata endpoints.
	Token string
}

// Attach returns a target for a system that already runs: Start waits for
// its health endpoint; Stop does nothing to the system. Launch reads the
// CapabilityStatement's software for the identity through the recording
// proxy, like every other exchange.
func Attach(cfg AttachConfig) Target {
	if cfg.FHIRBase == "" {
		cfg.FHIRBase = DefaultFHIRBase
	}
	if cfg.Adapter == "" {
		cfg.Adapter = DefaultAdapter
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	return &attachTarget{cfg: cfg}
}

type attachTarget struct {
	cfg AttachConfig
}

func (a *attachTarget) Start(ctx context.Context) error {
	if err := waitHealthy(ctx, a.cfg.URL+a.cfg.Adapter+"/health", a.cfg.Token, nil); err != nil {
		return fmt.Errorf("attaching to %s at %s: %w", a.cfg.Role, RedactURL(a.cfg.URL), err)
	}
	return nil
}

// Stop leaves the attached system alone: the bench did not start it.
func (a *attachTarget) Stop(context.Context) error { return nil }

func (a *attachTarget) Identity() Identity {
	return Identity{Role: a.cfg.Role, Kind: "url", URL: RedactURL(a.cfg.URL)}
}

func (a *attachTarget) BaseURL() string { return a.cfg.URL }
