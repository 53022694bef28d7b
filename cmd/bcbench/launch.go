package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/token"
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

// builtin returns the handlers of the bench's references; the reference
// XIS trusts the bench's authorization server when trust is set.
func builtin(trust *token.Verifier) func(role string) (http.Handler, error) {
	return func(role string) (http.Handler, error) {
		if role != "xis" {
			return nil, fmt.Errorf("the bench has no built-in reference for role %s yet", role)
		}
		return xis.New(xis.Options{Version: version, Trust: trust})
	}
}

// running is a started candidate as the run command uses it.
type running struct {
	*harness.Candidate
	FHIR    *harness.FHIR
	Adapter *harness.Adapter
}

// launch starts every role of the manifest behind a recording proxy; the
// evidence (HAR per role, logs) is written into evidenceDir when it stops.
// Before anything starts it removes what runs of benches that are gone
// left behind (kill -9, a crash), and says so on stderr.
func launch(ctx context.Context, m *harness.Manifest, limits certification.Limits, certifying bool, evidenceDir string, stderr io.Writer, logf func(string, ...any), trust *token.Verifier) (*running, error) {
	if certifying {
		if err := harness.CheckCertifying(m); err != nil {
			return nil, err
		}
	}
	sweepLeftovers(ctx, stderr)
	c, err := harness.Launch(ctx, m, harness.LaunchOptions{
		Builtin:        builtin(trust),
		StartupTimeout: limits.StartupTimeout,
		RequestTimeout: limits.RequestTimeout,
		EvidenceDir:    evidenceDir,
		BenchVersion:   version,
		Logf:           logf,
		Limits:         containerLimits(limits),
		Certifying:     certifying,
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
	return &running{
		Candidate: c,
		FHIR:      &harness.FHIR{Base: x.FHIRBase(), Client: client, Token: x.Token},
		Adapter:   &harness.Adapter{Base: x.AdapterBase(), Client: client, Token: x.Token},
	}, nil
}

// containerLimits are the profile's limits of each candidate container.
func containerLimits(l certification.Limits) harness.ContainerLimits {
	return harness.ContainerLimits{Memory: int64(l.Memory), Pids: l.PIDs, CPUs: l.CPUs}
}

// sweepLeftovers removes the containers, networks and processes of runs
// whose bench is gone, and says what it removed; it never stops a run.
func sweepLeftovers(ctx context.Context, stderr io.Writer) {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sw, err := harness.RemoveLeftovers(sctx)
	runs := map[string][]string{}
	var order []string
	for _, l := range sw.Removed {
		if _, ok := runs[l.Run]; !ok {
			order = append(order, l.Run)
		}
		runs[l.Run] = append(runs[l.Run], l.Kind+" "+l.ID)
	}
	for _, run := range order {
		fmt.Fprintf(stderr, "bcbench: removed what run %s left running after its bench was killed: %s\n", run, strings.Join(runs[run], ", "))
	}
	if err != nil {
		fmt.Fprintf(stderr, "bcbench: removing leftovers of earlier runs: %s\n", plainText(err.Error()))
	}
}

// identities converts the harness's identities for the report.
func identities(ids []harness.Identity) []reports.RoleIdentity {
	out := make([]reports.RoleIdentity, 0, len(ids))
	for _, i := range ids {
		ri := reports.RoleIdentity{Role: i.Role, Kind: i.Kind, Image: i.Image, Digest: i.Digest, Binary: i.Binary, SHA256: i.SHA256,
			URL: harness.RedactURL(i.URL), Software: i.Software, Args: i.Args, Manifest: i.Manifest}
		for _, f := range i.Files {
			ri.Files = append(ri.Files, reports.FileDigest{Path: f.Path, SHA256: f.SHA256})
		}
		out = append(out, ri)
	}
	return out
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
