package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reference/dvza"
	"github.com/bcbench/bcbench/reference/index"
	"github.com/bcbench/bcbench/reference/translator"
	"github.com/bcbench/bcbench/reference/viewer"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/suites/spec"
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

// hospital is the role key of the reference chain's second publisher.
const hospital = "xis-ziekenhuis"

// loadCandidates reads the candidate manifests and combines them (a role
// named twice is an error naming both files), then adds the bench's
// reference for every role the profile judges that no candidate brings.
// Without manifests the built-in candidate is the bench's reference for
// every role of the profile; for a chain (the profile judges the index) it
// is the reference chain: two reference XIS (xis, the midwife practice, and
// xis-ziekenhuis, the hospital) and the reference index; under
// zelftest-keten-vertaler the hospital's publisher is the reference
// translator (contract translator).
func loadCandidates(paths []string, roles []string, profile string) (*harness.Manifest, error) {
	var ms []*harness.Manifest
	for _, p := range paths {
		m, err := harness.LoadManifest(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		doc := defaultManifest
		if !slices.Contains(roles, "xis") && (slices.Contains(roles, "dvza") || slices.Contains(roles, "translator") || slices.Contains(roles, "viewer")) {
			// a DVZA alone takes the events itself, a translator is sent
			// them as ADA, a viewer reads the XIS the bench plays for it:
			// no XIS in the run
			doc = strings.TrimSuffix(strings.TrimSuffix(defaultManifest, "  xis:\n    builtin: true\n"), "\n") + "\n"
		}
		for _, r := range roles {
			if r != "xis" {
				doc += "  " + r + ":\n    builtin: true\n"
			}
		}
		if slices.Contains(roles, "index") {
			doc += "  " + hospital + ":\n    builtin: true\n"
			if profile == certification.ChainTranslator {
				doc += "    contract: " + harness.ContractTranslator + "\n"
			}
		}
		m, err := harness.ParseManifest([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("reading the built-in candidate: %w", err)
		}
		m.Version = version
		return m, nil
	}
	m, err := harness.Combine(ms...)
	if err != nil {
		return nil, err
	}
	// A translator publishes into a chain only under the chain profile for
	// translators: its scenarios are those the legacy ADA can tell (no
	// consent withdrawal, no deletion, docs/translator.md).
	for _, name := range m.RoleNames() {
		if r := m.Roles[name]; harness.IsPublisher(name) && r.Contract == harness.ContractTranslator && profile != certification.ChainTranslator {
			return nil, fmt.Errorf("role %s is a translator that publishes into a chain (contract: translator), which this profile does not judge (it judges %s): run it with --profile %s, or judge the translator alone as role translator (--profile zelftest-vertaler)",
				name, strings.Join(roles, ", "), certification.ChainTranslator)
		}
	}
	// A further publisher takes the events of its organisations away from
	// xis: only a chain profile judges each where it went.
	if !slices.Contains(roles, "index") {
		for _, name := range m.RoleNames() {
			if name != "xis" && harness.IsPublisher(name) {
				return nil, fmt.Errorf("role %s is a further publisher of a chain, which this profile does not judge (it judges %s): run it with a chain profile such as --profile %s, or leave the role out",
					name, strings.Join(roles, ", "), certification.Chain)
			}
		}
	}
	brought := false
	for _, r := range roles {
		if !m.AddReference(r) {
			brought = true
		}
	}
	if !brought {
		return nil, fmt.Errorf("the profile judges %s, but no candidate manifest brings any of them (they bring %s): the run would judge only the bench's own reference",
			strings.Join(roles, ", "), strings.Join(m.RoleNames(), ", "))
	}
	return m, nil
}

// builtin returns the handlers of the bench's references: every publisher
// (xis, xis-<suffix>) is a reference XIS, registering in the chain's index
// when there is one; xis, the XIS the bench reads as named professionals
// (docs/logging.md), and the index trust the bench's authorization server
// when trust is set. The index is the reference index. The viewer is
// opened with a context token of viewerTrust's issuer when it is set, else
// with the SMART launch.
func builtin(trust, viewerTrust *token.Verifier) func(role string, w harness.Wiring) (http.Handler, error) {
	return func(role string, w harness.Wiring) (http.Handler, error) {
		switch {
		case harness.IsPublisher(role) && w.Contract == harness.ContractTranslator:
			// A translator in front of a legacy XIS: it publishes through the
			// reference XIS it embeds, which checks no token (the ADA names
			// no care relationship).
			return translator.New(translator.ServerOptions{Version: version, Index: w.Index, Logf: func(string, ...any) {}})
		case harness.IsPublisher(role):
			opts := xis.Options{Version: version, Index: w.Index, Logf: func(string, ...any) {}}
			if role == "xis" {
				opts.Trust = trust
			}
			// What goes wrong with the index is judged from the index's side
			// (IDX, TIJ); the in-process XIS does not write to the terminal.
			return xis.New(opts)
		case role == "index":
			return index.New(index.Options{Version: version, Trust: trust})
		case role == "dvza":
			return dvza.New(dvza.Options{Version: version, IdP: w.IdP})
		case role == "translator":
			return translator.New(translator.ServerOptions{Version: version})
		case role == "viewer":
			// its address is each request's: the browser reaches it directly
			if viewerTrust != nil {
				return viewer.New(viewer.Options{Launch: viewer.LaunchContextToken, Trust: viewerTrust})
			}
			return viewer.New(viewer.Options{})
		}
		return nil, fmt.Errorf("the bench has no built-in reference for role %s yet", role)
	}
}

// running is a started candidate as the run command uses it: the first
// publisher's FHIR API and adapter (XIS, Adapter), every publisher of the
// chain, and the index when the chain has one.
type running struct {
	*harness.Candidate
	FHIR       *harness.FHIR
	Adapter    *harness.Adapter
	Index      *harness.FHIR
	Publishers []spec.Publisher
	// DVZA is the MedMij data service, when the run has one.
	DVZA *spec.DVZA
	// Translator is the translator's adapter, when the run has one.
	Translator *harness.Adapter
	// Viewer is the viewer role, when the run has one: it reads the run's
	// xis role, or the XIS the bench plays for it when the run has none
	// (startViewer).
	Viewer *harness.Role
}

// launch starts every role of the manifest behind a recording proxy; the
// evidence (HAR per role, logs) is written into evidenceDir when it stops.
// Before anything starts it removes what runs of benches that are gone
// left behind (kill -9, a crash), and says so on stderr.
func launch(ctx context.Context, m *harness.Manifest, limits certification.Limits, certifying bool, evidenceDir string, stderr io.Writer, logf func(string, ...any), trust, viewerTrust *token.Verifier, idp string) (*running, error) {
	if certifying {
		if err := harness.CheckCertifying(m); err != nil {
			return nil, err
		}
	}
	sweepLeftovers(ctx, stderr)
	c, err := harness.Launch(ctx, m, harness.LaunchOptions{
		Builtin:        builtin(trust, viewerTrust),
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
		IdP:   idp,
	})
	if err != nil {
		return nil, err
	}
	run := &running{Candidate: c}
	for _, r := range c.Roles {
		client := r.Client()
		switch {
		case harness.IsPublisher(r.Name):
			run.Publishers = append(run.Publishers, spec.Publisher{Role: r.Name,
				XIS:      &harness.FHIR{Base: r.FHIRBase(), Client: client, Token: r.Token},
				Adapter:  &harness.Adapter{Base: r.AdapterBase(), Client: client, Token: r.Token},
				Contract: r.Spec.Contract})
		case r.Name == "index":
			run.Index = &harness.FHIR{Base: r.FHIRBase(), Client: client, Token: r.Token}
		case r.Name == "dvza":
			run.DVZA = dvzaOf(r, client, idp)
		case r.Name == "translator":
			run.Translator = &harness.Adapter{Base: r.AdapterBase(), Client: client, Token: r.Token}
		case r.Name == "viewer":
			run.Viewer = r
		}
	}
	if run.Viewer != nil && len(run.Publishers) == 0 {
		if run.DVZA != nil {
			_ = c.Stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("a viewer reads an XIS: with a dvza role, run an xis role too (docs/viewer.md)")
		}
		return run, nil // the XIS and adapter are the viewer stack's
	}
	if len(run.Publishers) == 0 && run.DVZA == nil && run.Translator != nil {
		// A translator alone: the bench sends it each event as ADA, nothing
		// is replayed into an XIS.
		return run, nil
	}
	if len(run.Publishers) == 0 && run.DVZA != nil {
		// A DVZA alone takes the scenario events through its own adapter.
		d := c.Role("dvza")
		run.Adapter = &harness.Adapter{Base: run.DVZA.Adapter, Client: d.Client(), Token: d.Token}
		return run, nil
	}
	if len(run.Publishers) == 0 {
		_ = c.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("the candidate has no XIS (role xis or xis-<suffix>)")
	}
	run.FHIR, run.Adapter = run.Publishers[0].XIS, run.Publishers[0].Adapter
	return run, nil
}

// dvzaOf is how the bench, as the clients' app, reaches the DVZA role: its
// OAuth endpoints at /oauth under the role's URL, its FHIR base and
// adapter, all through the role's recording proxy, with a client that
// follows no redirect itself (the PGO follows the authorization flow host
// by host and never sends a token elsewhere). A manifest's fixed tokens
// per client replace the flow.
func dvzaOf(r *harness.Role, c *http.Client, idp string) *spec.DVZA {
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var hosts []string
	if u, err := url.Parse(r.Proxy.Upstream()); err == nil && u.Host != "" {
		hosts = append(hosts, u.Host)
	}
	return &spec.DVZA{
		FHIR: r.FHIRBase(), Adapter: r.AdapterBase(),
		Authorize: r.URL() + "/oauth/authorize", Token: r.URL() + "/oauth/token", IdP: idp, Hosts: hosts,
		IdPHTTP:  &http.Client{Timeout: c.Timeout, CheckRedirect: noRedirect.CheckRedirect},
		ClientID: dvza.TestClientID, RedirectURI: dvza.TestRedirectURI, HTTP: &noRedirect,
		Tokens: r.Spec.Tokens,
	}
}

// checkTranslatorScenarios refuses a run in which a translator publishes
// into the chain (contract translator) while a scenario withdraws consent
// or asks for deletion: the legacy ADA has no element for either, so the
// translator could never hear of it and would be judged for sharing what
// the bench never told it to withhold (docs/translator.md).
func checkTranslatorScenarios(m *harness.Manifest, scenarios []*fixtures.Scenario) error {
	var translators []string
	for _, name := range m.RoleNames() {
		if r := m.Roles[name]; harness.IsPublisher(name) && r.Contract == harness.ContractTranslator {
			translators = append(translators, name)
		}
	}
	if len(translators) == 0 {
		return nil
	}
	var untellable []string
	for _, s := range scenarios {
		if slices.ContainsFunc(s.Events, func(e fixtures.Event) bool {
			return e.Kind == fixtures.Deletion || (e.Consent != nil && !*e.Consent)
		}) {
			untellable = append(untellable, s.ID)
		}
	}
	if len(untellable) == 0 {
		return nil
	}
	shown := untellable[:min(len(untellable), 5)]
	more := ""
	if len(untellable) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(untellable)-len(shown))
	}
	return fmt.Errorf("role %s publishes through a translator (contract: translator), and the legacy ADA it is sent has no element for a consent withdrawal or a deletion request, which scenario %s%s holds: leave them out (the scenarios of --profile %s, no --population)",
		strings.Join(translators, ", "), strings.Join(shown, ", "), more, certification.ChainTranslator)
}

// checkFixedTokens: a DVZA that takes fixed tokens per client (the
// manifest's tokens) needs one for every client of the run's scenarios,
// else the bench could not log her in: a setup error before anything
// starts, never the candidate's fail.
func checkFixedTokens(m *harness.Manifest, scenarios []*fixtures.Scenario) error {
	d := m.Roles["dvza"]
	if d == nil || len(d.Tokens) == 0 {
		return nil
	}
	var missing []string
	for _, s := range scenarios {
		if d.Tokens[s.Client.BSN] == "" {
			missing = append(missing, fmt.Sprintf("%s (scenario %s)", s.Client.BSN, s.ID))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("roles.dvza.tokens names no token for the client(s) %s: give one per scenario client, or leave tokens out to log in with the OAuth flow", strings.Join(missing, ", "))
	}
	return nil
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

// identities converts the harness's identities for the report, each with
// who brought the role: a candidate manifest (named when several were
// combined) or the bench's reference.
func identities(m *harness.Manifest, ids []harness.Identity) []reports.RoleIdentity {
	out := make([]reports.RoleIdentity, 0, len(ids))
	for _, i := range ids {
		ri := reports.RoleIdentity{Role: i.Role, Kind: i.Kind, Image: i.Image, Digest: i.Digest, Binary: i.Binary, SHA256: i.SHA256,
			URL: harness.RedactURL(i.URL), Software: i.Software, Args: i.Args, Manifest: i.Manifest, Source: reports.SourceCandidate}
		if m.Roles[i.Role].Reference() {
			ri.Source = reports.SourceReference
		} else if _, name := m.Origin(i.Role); name != m.Name {
			ri.Candidate = name
		}
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
