package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/testscript"
)

func init() { register(newTestScriptCmd) }

// testscriptOptions are the flags of bcbench testscript run.
type testscriptOptions struct {
	server      string
	variables   string
	out         string
	fhirVersion string
	timeout     time.Duration
}

func newTestScriptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testscript",
		Short: "Run FHIR TestScripts (such as Nictiz's qualification scripts) offline",
	}
	var o testscriptOptions
	run := &cobra.Command{
		Use:   "run --server URL [--variables FILE] [--out DIR] SCRIPT|DIR...",
		Short: "Run TestScripts against a FHIR server and write a TestReport per script",
		Long: `Run FHIR TestScripts (XML or JSON, STU3 or R4) against the FHIR server at
--server, as Touchstone does for Nictiz's qualification: fixtures beside the
scripts, variables (${CURRENTDATE}, ${DATE, T, D, -n}, ${UUID}, FHIRPath and
header variables, defaultValue; --variables FILE sets any of them, e.g. the
patients' tokens), setup, tests and teardown, and every assert kind.
validateProfileId is judged by bcbench's validator with the embedded FHIR
packages. What bcbench cannot judge (a Touchstone rule, an XPath assert, a
script in which the system under test is the client) is skipped with the
reason, never passed. Folders are searched for TestScripts; folders whose
name starts with "_" (Nictiz's _reference) are fixtures, not scripts.

It prints the assert table per folder and, with --out, writes a FHIR
TestReport (JSON) per script. Exit 0 when every assert judged passed, 1 when
any failed, 2 when a script could not be run or nothing was judged.`,
		Example: `  bcbench testscript run --server https://xis.example/fhir \
      --variables tokens.yaml output/STU3/Geboortezorg-1-0/MedMij/Cert/XIS-Server
  bcbench testscript run --server http://127.0.0.1:8080/fhir --out reports/ mp9-c-ser-meddata-MA-01-x-json.xml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTestScripts(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	f := run.Flags()
	f.StringVar(&o.server, "server", "", "FHIR base URL of the system under test (required)")
	f.StringVar(&o.variables, "variables", "", "YAML or JSON file of variable values by name (override the scripts' defaults)")
	f.StringVar(&o.out, "out", "", "folder for the TestReports (created; must be empty)")
	f.StringVar(&o.fhirVersion, "fhir-version", "", "FHIR version of the scripts: STU3 or R4 (default: from properties.json or the folder name)")
	f.DurationVar(&o.timeout, "request-timeout", testscript.DefaultRequestTimeout, "bound on one request")
	cmd.AddCommand(run)
	return cmd
}

func runTestScripts(ctx context.Context, out io.Writer, o testscriptOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	u, err := url.Parse(o.server)
	if o.server == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return withCode(exitSetup, fmt.Errorf("--server %q: give the FHIR base URL (http or https)", o.server))
	}
	if u.User != nil {
		return withCode(exitSetup, errors.New("--server: put no user:password in the URL; give tokens with --variables"))
	}
	version := ""
	if o.fhirVersion != "" {
		if version = testscript.NormalVersion(o.fhirVersion); version == "" {
			return withCode(exitSetup, fmt.Errorf("--fhir-version %q: use STU3 or R4", o.fhirVersion))
		}
	}
	if o.timeout <= 0 {
		return withCode(exitSetup, errors.New("--request-timeout must be positive"))
	}
	vars, err := readVariables(o.variables)
	if err != nil {
		return withCode(exitSetup, err)
	}
	if o.out != "" {
		if err := emptyOutDir(o.out); err != nil {
			return withCode(exitSetup, err)
		}
	}
	paths, err := testscript.Discover(args)
	if err != nil {
		return withCode(exitSetup, err)
	}
	if len(paths) == 0 {
		return withCode(exitSetup, fmt.Errorf("no TestScripts in %s", strings.Join(args, ", ")))
	}
	scripts := make([]*testscript.Script, len(paths))
	loadErrs := make([]error, len(paths))
	versions := map[string]bool{}
	for i, p := range paths {
		if scripts[i], loadErrs[i] = testscript.Load(p, version); loadErrs[i] == nil {
			versions[scripts[i].FHIRVersion] = true
		}
	}
	validators := map[string]*validator.Validator{}
	for v := range versions {
		vx, err := embeddedValidator(v)
		if err != nil {
			return withCode(exitSetup, err)
		}
		validators[v] = vx
	}
	opts := testscript.Options{
		Server:     strings.TrimRight(o.server, "/"),
		Client:     &http.Client{Timeout: o.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Variables:  vars,
		Validators: validators,
	}
	results := make([]*testscript.Result, len(paths))
	for i, p := range paths {
		if loadErrs[i] != nil {
			results[i] = &testscript.Result{Path: p, Err: loadErrs[i], Started: time.Now()}
		} else {
			results[i] = testscript.Run(ctx, scripts[i], opts)
		}
		if o.out != "" {
			if err := writeReport(o.out, p, results[i]); err != nil {
				return withCode(exitSetup, err)
			}
		}
	}
	testscript.WriteTable(out, results)
	_, total := testscript.Tally(results)
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(out, "not run: %v\n", r.Err)
		}
	}
	switch {
	case total.Fail > 0:
		return withCode(exitFail, fmt.Errorf("%d of %d asserts failed", total.Fail, total.Total()))
	case total.NotRun > 0:
		return withCode(exitSetup, fmt.Errorf("%d of %d scripts could not be run", total.NotRun, total.Scripts))
	case total.Pass+total.Warning == 0:
		return withCode(exitSetup, errors.New("no assert was judged"))
	}
	return nil
}

// embeddedValidators caches the validators of the embedded packages by
// FHIR version: loading them takes seconds and they are safe to share.
var embeddedValidators sync.Map // version → func() (*validator.Validator, error)

func embeddedValidator(version string) (*validator.Validator, error) {
	f, _ := embeddedValidators.LoadOrStore(version, sync.OnceValues(func() (*validator.Validator, error) {
		pkgs, err := registry.Defaults(version)
		if err != nil {
			return nil, err
		}
		vx, err := validator.New(validator.Options{FHIRVersion: version, Packages: pkgs})
		if err != nil {
			return nil, fmt.Errorf("load the FHIR %s packages: %w", version, err)
		}
		return vx, nil
	}))
	return f.(func() (*validator.Validator, error))()
}

// readVariables reads a YAML (or JSON) map of variable values.
func readVariables(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--variables: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("--variables %s: more than 1 MiB", path)
	}
	var vars map[string]string
	if err := yaml.Unmarshal(data, &vars); err != nil {
		return nil, fmt.Errorf("--variables %s: a map of name: value is expected: %w", path, err)
	}
	return vars, nil
}

// emptyOutDir creates dir, or accepts it when it is empty.
func emptyOutDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("--out: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("--out %s is not empty", dir)
	}
	return nil
}

// writeReport writes a result's TestReport as DIR/<script file>.testreport.json.
func writeReport(dir, script string, r *testscript.Result) error {
	data, err := json.MarshalIndent(r.Report("bcbench "+version), "", "  ")
	if err != nil {
		return fmt.Errorf("write the TestReport of %s: %w", script, err)
	}
	name := strings.TrimSuffix(filepath.Base(script), filepath.Ext(script)) + ".testreport.json"
	path := filepath.Join(dir, name)
	for i := 2; ; i++ { // two scripts of one name in different folders
		if _, err := os.Stat(path); err != nil {
			break
		}
		path = filepath.Join(dir, fmt.Sprintf("%s-%d.testreport.json", strings.TrimSuffix(name, ".testreport.json"), i))
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the TestReport of %s: %w", script, err)
	}
	return nil
}
