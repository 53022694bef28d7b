package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
)

// defaultManifest is the built-in candidate: the bench's own reference XIS.
const defaultManifest = `name: bcbench-referentie
vendor: bcbench
version: ` + "dev" + `
roles:
  xis:
    builtin: true
`

func loadCandidate(path string) (*harness.Manifest, error) {
	if path == "" {
		m, err := harness.ParseManifest([]byte(defaultManifest))
		if err != nil {
			return nil, fmt.Errorf("reading the built-in candidate: %w", err)
		}
		m.Version = version
		return m, nil
	}
	m, err := harness.LoadManifest(path)
	if err != nil {
		return nil, err
	}
	if m.Roles["xis"] == nil {
		return nil, fmt.Errorf("candidate %s: the profile tests role xis, but the manifest has no role xis", path)
	}
	return m, nil
}

// running is a started candidate as the run command uses it.
type running struct {
	FHIR       *harness.FHIR
	Adapter    *harness.Adapter
	targets    map[string]harness.Target
	proxies    map[string]*harness.Proxy
	identities []harness.Identity
}

// launch starts every role of the manifest with a recording proxy in front.
// On error the partly started candidate is returned too, so that it can be
// stopped and its evidence kept.
func launch(ctx context.Context, m *harness.Manifest, limits certification.Limits, benchVersion string) (*running, error) {
	r := &running{targets: map[string]harness.Target{}, proxies: map[string]*harness.Proxy{}}
	client := &http.Client{Timeout: limits.RequestTimeout}
	for _, role := range m.RoleNames() {
		spec := m.Roles[role]
		t, err := target(role, spec)
		if err != nil {
			return r, err
		}
		r.targets[role] = t
		startCtx, cancel := context.WithTimeout(ctx, limits.StartupTimeout)
		err = t.Start(startCtx)
		cancel()
		if err != nil {
			return r, fmt.Errorf("starting role %s: %w", role, err)
		}
		token := ""
		if spec.Auth != nil {
			if token, err = spec.Auth.Token(); err != nil {
				return r, fmt.Errorf("role %s: %w", role, err)
			}
		}
		var secrets []string
		if token != "" {
			secrets = append(secrets, token)
		}
		opts := harness.ProxyOptions{Role: role, Secrets: secrets, RequestTimeout: limits.RequestTimeout, BenchVersion: benchVersion}
		if p, ok := t.(harness.Prober); ok {
			opts.Diagnose = func() error {
				c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return p.Alive(c)
			}
		}
		proxy, err := harness.NewProxy(t.BaseURL(), opts)
		if err != nil {
			return r, fmt.Errorf("role %s: %w", role, err)
		}
		r.proxies[role] = proxy
		r.identities = append(r.identities, t.Identity())
		if role == "xis" {
			fhirBase, adapter := orDefault(spec.FHIRBase, harness.DefaultFHIRBase), orDefault(spec.Adapter, harness.DefaultAdapter)
			r.FHIR = &harness.FHIR{Base: proxy.URL() + fhirBase, Client: client, Token: token}
			r.Adapter = &harness.Adapter{Base: proxy.URL() + adapter, Client: client, Token: token}
		}
	}
	if r.FHIR == nil {
		return r, errors.New("the candidate has no role xis")
	}
	return r, nil
}

func target(role string, spec *harness.RoleSpec) (harness.Target, error) {
	switch {
	case spec.Builtin:
		if role != "xis" {
			return nil, fmt.Errorf("role %s: the bench has no built-in reference for this role yet", role)
		}
		srv, err := xis.New(xis.Options{Version: version})
		if err != nil {
			return nil, err
		}
		return harness.Serve(role, srv), nil
	case spec.URL != "":
		return harness.Attach(harness.AttachConfig{Role: role, URL: spec.URL, FHIRBase: spec.FHIRBase, Adapter: spec.Adapter}), nil
	default:
		return nil, fmt.Errorf("role %s: kind %s is not supported by this build", role, spec.Kind())
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Identities returns what ran in each role, for the report.
func (r *running) Identities() []reports.RoleIdentity {
	out := make([]reports.RoleIdentity, 0, len(r.identities))
	for _, i := range r.identities {
		out = append(out, reports.RoleIdentity{Role: i.Role, Kind: i.Kind, Image: i.Image, Digest: i.Digest, Binary: i.Binary, SHA256: i.SHA256, URL: i.URL, Software: i.Software})
	}
	return out
}

// WriteEvidence writes each role's exchanges as HAR (and its logs, where the
// target keeps them) into dir/evidence and lists the files.
func (r *running) WriteEvidence(dir string) []reports.Evidence {
	var out []reports.Evidence
	roles := make([]string, 0, len(r.proxies))
	for role := range r.proxies {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		rel := filepath.Join("evidence", role+".har")
		if err := r.proxies[role].WriteHAR(filepath.Join(dir, rel)); err == nil {
			out = append(out, reports.Evidence{Path: filepath.ToSlash(rel), Kind: "har"})
		}
		if l, ok := r.targets[role].(harness.Logger); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			logs, err := l.Logs(ctx)
			cancel()
			rel := filepath.Join("evidence", role+".log")
			if err == nil && os.WriteFile(filepath.Join(dir, rel), logs, 0o644) == nil {
				out = append(out, reports.Evidence{Path: filepath.ToSlash(rel), Kind: "log"})
			}
		}
	}
	return out
}

// Stop stops every proxy and target; it is safe to call more than once.
func (r *running) Stop(ctx context.Context) error {
	var errs []error
	for _, p := range r.proxies {
		errs = append(errs, p.Close())
	}
	for _, t := range r.targets {
		errs = append(errs, t.Stop(ctx))
	}
	return errors.Join(errs...)
}
