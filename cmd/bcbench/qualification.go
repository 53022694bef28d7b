package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/testscript"
)

// qualificationRequirement is the requirement the TestScripts of a run
// are judged by.
const qualificationRequirement = "TS-01"

// scriptSet is a resolved set of TestScripts of a run: the role they test,
// the folder as named for the reader, the script files and the variables.
type scriptSet struct {
	role, name string
	paths      []string
	variables  map[string]string
}

// qualificationSets resolves the profile's TestScript sets (or, when it
// names none, the --testscripts folder itself) against the --testscripts
// folder, before anything starts: a bad folder is the bench's setup error.
func qualificationSets(profile certification.Profile, dir, variablesFile string) ([]scriptSet, error) {
	judges := slices.Contains(profile.Requirements, qualificationRequirement)
	if dir == "" {
		if variablesFile != "" {
			return nil, errors.New("--testscript-variables needs --testscripts DIR")
		}
		return nil, nil // TS-01, when judged, skips: no scripts
	}
	if !judges {
		return nil, fmt.Errorf("--testscripts: profile %s does not judge %s; use a profile that does (zelftest-nictiz)", profile.ID, qualificationRequirement)
	}
	extra, err := readVariables(variablesFile)
	if err != nil {
		return nil, fmt.Errorf("--testscript-variables: %w", err)
	}
	wanted := profile.TestScripts
	if len(wanted) == 0 {
		wanted = []certification.ScriptSet{{Role: "xis", Path: "."}}
	}
	var sets []scriptSet
	for _, w := range wanted {
		root := filepath.Join(dir, filepath.FromSlash(w.Path))
		paths, err := testscript.Discover([]string{root})
		if err != nil {
			return nil, fmt.Errorf("--testscripts: %w", err)
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("--testscripts: no TestScripts in %s", root)
		}
		vars := map[string]string{}
		for k, v := range w.Variables {
			vars[k] = v
		}
		for k, v := range extra {
			vars[k] = v
		}
		sets = append(sets, scriptSet{role: w.Role, name: filepath.ToSlash(filepath.Join(filepath.Base(filepath.Clean(dir)), w.Path)), paths: paths, variables: vars})
	}
	return sets, nil
}

// qualification runs the sets against the candidate's roles once, on the
// first call of the TS-* spec: each script's TestReport goes into
// evidence/testreports.json (a FHIR Bundle, signed with the rest) and the
// assert table per folder into table.
type qualification struct {
	sets       []scriptSet
	servers    map[string]*harness.FHIR // role → its FHIR API
	timeout    time.Duration
	evidence   string // the evidence folder
	validators func(version string) (*validator.Validator, error)

	once     sync.Once
	verdicts []spec.ScriptVerdict
	err      error
	mu       sync.Mutex // the spec may outlive its timeout
	table    []reports.ScriptFolder
}

// spec is what the specs see of it; nil without sets.
func (q *qualification) spec() *spec.Qualification {
	if q == nil || len(q.sets) == 0 {
		return nil
	}
	var names []string
	for _, s := range q.sets {
		names = append(names, s.role+": "+s.name)
	}
	return &spec.Qualification{Sets: names, Run: func(ctx context.Context) ([]spec.ScriptVerdict, error) {
		q.once.Do(func() { q.verdicts, q.err = q.run(ctx) })
		return q.verdicts, q.err
	}}
}

// Table is the assert table per folder; nil when the scripts did not run.
func (q *qualification) Table() []reports.ScriptFolder {
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.table)
}

func (q *qualification) run(ctx context.Context) ([]spec.ScriptVerdict, error) {
	var verdicts []spec.ScriptVerdict
	var reportsOut []map[string]any
	var table []reports.ScriptFolder
	defer func() {
		q.mu.Lock()
		q.table = table
		q.mu.Unlock()
	}()
	for _, set := range q.sets {
		fhir := q.servers[set.role]
		if fhir == nil || fhir.Base == "" {
			return nil, fmt.Errorf("role %s has no FHIR API in this run", set.role)
		}
		client := &http.Client{
			Timeout:       q.timeout,
			Transport:     bearer{token: fhir.Token, host: hostOf(fhir.Base), next: transportOf(fhir.Client)},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		opts := testscript.Options{Server: strings.TrimRight(fhir.Base, "/"), Client: client, Variables: set.variables, Validators: map[string]*validator.Validator{}}
		var results []*testscript.Result
		for _, p := range set.paths {
			if ctx.Err() != nil {
				results = append(results, &testscript.Result{Path: p, Err: fmt.Errorf("not run: %w", ctx.Err()), Started: time.Now()})
				continue
			}
			s, err := testscript.Load(p, "")
			if err != nil {
				results = append(results, &testscript.Result{Path: p, Err: err, Started: time.Now()})
				continue
			}
			if _, ok := opts.Validators[s.FHIRVersion]; !ok {
				v, err := q.validators(s.FHIRVersion)
				if err != nil {
					return nil, fmt.Errorf("loading the FHIR %s packages for validateProfileId: %w", s.FHIRVersion, err)
				}
				opts.Validators[s.FHIRVersion] = v
			}
			results = append(results, testscript.Run(ctx, s, opts))
		}
		root := commonDir(set.paths)
		folders, _ := testscript.Tally(results)
		for _, f := range folders {
			name := set.name
			if rel, err := filepath.Rel(root, f.Folder); err == nil && rel != "." {
				name += "/" + filepath.ToSlash(rel)
			}
			table = append(table, reports.ScriptFolder{Folder: name, Scripts: f.Scripts, NotRun: f.NotRun,
				Pass: f.Pass, Fail: f.Fail, Warning: f.Warning, Skip: f.Skip, Error: f.Error})
		}
		for _, r := range results {
			verdicts = append(verdicts, verdictOf(set.name, root, r))
			reportsOut = append(reportsOut, r.Report("bcbench "+version))
		}
	}
	if err := writeTestReports(q.evidence, reportsOut); err != nil {
		return verdicts, err
	}
	return verdicts, nil
}

// verdictOf is one script's result as the spec judges it.
func verdictOf(set, root string, r *testscript.Result) spec.ScriptVerdict {
	name := filepath.Base(r.Path)
	if rel, err := filepath.Rel(root, r.Path); err == nil {
		name = filepath.ToSlash(rel)
	}
	c := r.Asserts()
	v := spec.ScriptVerdict{Script: set + "/" + name, Pass: c.Pass, Fail: c.Fail, Warning: c.Warning, Skip: c.Skip, Error: c.Error}
	if r.Err != nil {
		v.NotRun = plainText(r.Err.Error())
	}
	for _, o := range r.Outcomes {
		line := plainText(fmt.Sprintf("%s: %s: %s", o.Test, o.Description, o.Message))
		switch {
		case o.Kind == "operation" && o.Status == testscript.Fail:
			v.Failures = append(v.Failures, line) // the system's answer broke the script
		case o.Kind == "operation" && o.Status == testscript.Error && o.Test != "teardown" && r.Err == nil:
			v.Errors = append(v.Errors, line)
		case o.Kind != "assert":
		case o.Status == testscript.Fail:
			v.Failures = append(v.Failures, line)
		case o.Status == testscript.Skip, o.Status == testscript.Error:
			v.Skips = append(v.Skips, line)
		}
	}
	return v
}

// commonDir is the folder that holds every path.
func commonDir(paths []string) string {
	if len(paths) == 0 {
		return "."
	}
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for dir != "." && dir != string(filepath.Separator) && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// writeTestReports writes the TestReports as one FHIR Bundle (collection)
// into the evidence folder, which the signature covers.
func writeTestReports(dir string, trs []map[string]any) error {
	entries := make([]map[string]any, 0, len(trs))
	for _, tr := range trs {
		entries = append(entries, map[string]any{"resource": tr})
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "collection", "timestamp": time.Now().UTC().Format(time.RFC3339), "entry": entries}
	data, err := json.MarshalIndent(bundle, "", "  ")
	if err != nil {
		return fmt.Errorf("writing the TestReports: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the TestReports: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testreports.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the TestReports: %w", err)
	}
	return nil
}

// bearer sends the role's token with each request to the role's own host
// that carries no Authorization header of its own (a script's
// requestHeader wins); a script's absolute URL elsewhere never gets it.
type bearer struct {
	token, host string
	next        http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.token != "" && req.URL.Host == b.host && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(req)
}

// hostOf is the host (and port) of a base URL, "" when it does not parse.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Host
}

func transportOf(c *http.Client) http.RoundTripper {
	if c != nil && c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}
