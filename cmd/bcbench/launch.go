package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
)

// defaultManifest is the built-in candidate: the bench's own reference XIS.
const defaultManifest = `name: bcbench-referentie
vendor: bcbench
version: dev
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

// builtin returns the handler of the bench's reference for a role.
func builtin(role string) (http.Handler, error) {
	if role != "xis" {
		return nil, fmt.Errorf("the bench has no built-in reference for role %s yet", role)
	}
	return xis.New(xis.Options{Version: version})
}

// running is a started candidate as the run command uses it.
type running struct {
	*harness.Candidate
	FHIR    *harness.FHIR
	Adapter *harness.Adapter
}

// launch starts every role of the manifest behind a recording proxy; the
// evidence (HAR per role, logs) is written into evidenceDir when it stops.
func launch(ctx context.Context, m *harness.Manifest, limits certification.Limits, evidenceDir string, logf func(string, ...any)) (*running, error) {
	c, err := harness.Launch(ctx, m, harness.LaunchOptions{
		Builtin:        builtin,
		StartupTimeout: limits.StartupTimeout,
		RequestTimeout: limits.RequestTimeout,
		EvidenceDir:    evidenceDir,
		BenchVersion:   version,
		Logf:           logf,
		// BCBENCH_RUN_ID lets a CI pipeline find (and clean) the run's
		// containers and network by the Docker label bcbench.run.
		RunID: os.Getenv("BCBENCH_RUN_ID"),
	})
	if err != nil {
		return nil, err
	}
	x := c.Role("xis")
	if x == nil {
		_ = c.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("the candidate has no role xis")
	}
	client := x.Client()
	client.Transport, err = proxyOnly(client.Transport, x.Proxy)
	if err != nil {
		_ = c.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return &running{
		Candidate: c,
		FHIR:      &harness.FHIR{Base: x.FHIRBase(), Client: client, Token: x.Token},
		Adapter:   &harness.Adapter{Base: x.AdapterBase(), Client: client, Token: x.Token},
	}, nil
}

// identities converts the harness's identities for the report.
func identities(ids []harness.Identity) []reports.RoleIdentity {
	out := make([]reports.RoleIdentity, 0, len(ids))
	for _, i := range ids {
		out = append(out, reports.RoleIdentity{Role: i.Role, Kind: i.Kind, Image: i.Image, Digest: i.Digest, Binary: i.Binary, SHA256: i.SHA256, URL: redactURL(i.URL), Software: i.Software})
	}
	return out
}

// redactURL hides a password written into a role's URL
// (http://user:secret@host) before it goes into the report.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// evidence lists the files in the output folder's evidence/ (written when the
// candidate stopped), relative to the output folder.
func evidence(out string) []reports.Evidence {
	entries, err := os.ReadDir(filepath.Join(out, "evidence"))
	if err != nil {
		return nil
	}
	var files []reports.Evidence
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		kind := strings.TrimPrefix(filepath.Ext(e.Name()), ".")
		role := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		files = append(files, reports.Evidence{Path: "evidence/" + e.Name(), Kind: kind, Role: role})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

// proxyOnly keeps every request the bench sends to a role on the role's
// recording proxy, so that every exchange is evidence and a candidate cannot
// point the bench at another host: a URL on the candidate's own address (an
// absolute next link or redirect it built from its own base) goes through
// the proxy instead, and one anywhere else is refused.
func proxyOnly(base http.RoundTripper, p *harness.Proxy) (http.RoundTripper, error) {
	proxy, err := url.Parse(p.URL())
	if err != nil {
		return nil, fmt.Errorf("reading the proxy's address: %w", err)
	}
	upstream, err := url.Parse(p.Upstream())
	if err != nil {
		return nil, fmt.Errorf("reading the candidate's address: %w", err)
	}
	return &onProxy{base: base, proxy: proxy.Host, upstream: upstream.Host}, nil
}

type onProxy struct {
	base            http.RoundTripper
	proxy, upstream string
}

func (o *onProxy) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Host {
	case o.proxy:
	case o.upstream:
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = "http", o.proxy, ""
	default:
		return nil, fmt.Errorf("the candidate sent the bench to %s, outside its recording proxy: refused", req.URL.Redacted())
	}
	return o.base.RoundTrip(req)
}
