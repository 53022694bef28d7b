package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/terminology"
	"github.com/bcbench/bcbench/profiles/tx"
	"github.com/bcbench/bcbench/profiles/validator"
)

func init() { register(newValidateCmd) }

// validateOptions are the flags of bcbench validate.
type validateOptions struct {
	packages    []string
	profiles    []string
	fhirVersion string
	format      string
	fill        bool
	cacheDir    string
	tx          string
}

func newValidateCmd() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate [flags] FILE|DIR...",
		Short: "Validate FHIR resources (JSON or XML) against profiles from FHIR packages",
		Long: `Validate FHIR resources (JSON or XML, R4 or STU3) against the base
specification and profiles loaded from FHIR packages. The packages are loaded
once, so thousands of files are checked in one process. Directories are
searched recursively for .json and .xml files.

Without --profile each resource is checked against the profiles it claims in
meta.profile. The packages embedded in bcbench for --fhir-version are loaded
(R4: hl7.fhir.r4.core, Nictiz zib2020, nl-core and MP9; STU3: hl7.fhir.core
3.0.1, Nictiz zib2017 and the birth-care bc-* profiles); --package and
BCBENCH_PACKAGES add to them or replace one of the same name, and
"--package none" leaves them out.

Exit 0 when no file has an error-level issue, 1 when any has, 2 when the
check could not run (unreadable file, unknown profile, packages not loadable).`,
		Example: `  bcbench validate --fill-placeholders examples/
  bcbench validate --fhir-version 3.0.1 zwangerschapskaart.xml
  bcbench validate --package ./mijn-profielen --fill-placeholders examples/
  bcbench validate --format json --profile http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient patient.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.packages, "package", nil, "FHIR package: folder, .tgz, or name#version from the cache, added to the embedded ones or replacing the one of the same name; \"none\" leaves the embedded ones out (repeatable)")
	f.StringArrayVar(&o.profiles, "profile", nil, "canonical URL of a profile to validate against (repeatable)")
	f.StringVar(&o.fhirVersion, "fhir-version", "4.0.1", "FHIR version: 4.0.1 (R4) or 3.0.1 (STU3)")
	f.StringVar(&o.format, "format", "text", "output: text, or json (one line per file)")
	f.BoolVar(&o.fill, "fill-placeholders", false, "replace Touchstone/Nictiz placeholders such as ${DATE, T, D, -146} before validating")
	f.StringVar(&o.cacheDir, "cache-dir", "", "FHIR package cache (default ~/.fhir/packages)")
	f.StringVar(&o.tx, "tx", "", txFlagHelp)
	return cmd
}

func runValidate(ctx context.Context, out io.Writer, o validateOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.format != "text" && o.format != "json" {
		return withCode(exitSetup, fmt.Errorf("--format %q: use text or json", o.format))
	}
	base, err := registry.Defaults(o.fhirVersion)
	if err != nil {
		return withCode(exitSetup, err)
	}
	pkgs, err := packageSources(base, o.packages, o.cacheDir)
	if err != nil {
		return withCode(exitSetup, err)
	}
	var client *tx.Client
	var remote terminology.Remote
	if base := txBase(o.tx); base != "" {
		c, err := tx.New(base, tx.Options{Token: os.Getenv(tx.TokenEnv)})
		if err != nil {
			return withCode(exitSetup, fmt.Errorf("--tx: %w", err))
		}
		client, remote = c, c
	}
	v, err := newValidator(o.fhirVersion, pkgs, o.cacheDir, remote)
	if err != nil {
		return withCode(exitSetup, err)
	}
	for _, p := range o.profiles {
		if _, ok := v.Registry().Lookup(p); !ok {
			return withCode(exitSetup, fmt.Errorf("profile %s is not in the loaded packages", p))
		}
	}
	files, err := collectFiles(args)
	if err != nil {
		return withCode(exitSetup, err)
	}
	type result struct {
		out      *outcome.OperationOutcome
		readFail bool
	}
	results := make([]result, len(files))
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				data, err := readBounded(files[i])
				if err != nil {
					oo := outcome.New()
					oo.Add(outcome.Fatal, outcome.CodeNotFound, "", "cannot read %s: %v", files[i], err)
					results[i] = result{out: oo, readFail: true}
					continue
				}
				results[i] = result{out: v.Validate(ctx, data, validator.Request{Profiles: o.profiles, FillPlaceholders: o.fill})}
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()

	code, failed, undecided := exitPass, 0, 0
	for i, r := range results {
		if r.out != nil {
			undecided += len(r.out.Undecided())
		}
		if r.readFail {
			code = exitSetup
		} else if r.out.HasErrors() {
			failed++
			if code == exitPass {
				code = exitFail
			}
		}
		if err := printOutcome(out, o.format, files[i], r.out); err != nil {
			return withCode(exitSetup, err)
		}
	}
	if o.format == "text" {
		fmt.Fprintf(out, "%d file(s) checked, %d with errors, %d undecided check(s) (never a pass: see docs/validation.md)\n", len(files), failed, undecided)
		if client != nil {
			fmt.Fprintln(out, client.Summary())
		}
	}
	switch code {
	case exitSetup:
		return withCode(exitSetup, errors.New("some files could not be read"))
	case exitFail:
		return withCode(exitFail, fmt.Errorf("%d of %d file(s) do not conform", failed, len(files)))
	}
	return nil
}

func printOutcome(out io.Writer, format, file string, oo *outcome.OperationOutcome) error {
	if format == "json" {
		line, err := json.Marshal(struct {
			File    string                    `json:"file"`
			Outcome *outcome.OperationOutcome `json:"outcome"`
		}{file, oo})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", line)
		return err
	}
	verdict := "PASS"
	if oo.HasErrors() {
		verdict = "FAIL"
	}
	_, err := fmt.Fprintf(out, "%s %s: %s", verdict, file, oo.Text())
	return err
}

// maxFile bounds one input file.
const maxFile = validator.MaxInput

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes", maxFile)
	}
	return data, nil
}

// collectFiles expands directories into their .json and .xml files.
func collectFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			files = append(files, a) // reported as unreadable
			continue
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			n := strings.ToLower(d.Name())
			if !d.IsDir() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".xml")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", a, err)
		}
	}
	return files, nil
}

// loadRegistry loads packages for bcbench packages list.
func loadRegistry(pkgs []string, cacheDir string) (*registry.Registry, error) {
	return registry.Load(registry.Options{CacheDir: cacheDir}, pkgs...)
}
