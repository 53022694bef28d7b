package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/terminology"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/suites/spec"
)

// packagesEnv names extra FHIR packages for profile validation, separated
// like PATH; --package adds to them.
const packagesEnv = "BCBENCH_PACKAGES"

// loadValidator builds the profile validator from FHIR packages (R4). Without
// packages there is no validator and the profile specs skip with the reason
// returned, so a profile that selects them cannot pass. remote, when not
// nil, is the terminology server asked what the packages and the
// membership table cannot decide.
func loadValidator(packages []string, remote terminology.Remote) (spec.Validator, string) {
	if env := os.Getenv(packagesEnv); env != "" {
		packages = append(filepath.SplitList(env), packages...)
	}
	if len(packages) == 0 {
		return nil, "geen FHIR-pakketten opgegeven (--package of " + packagesEnv + "); profielconformiteit is niet getoetst"
	}
	v, err := newValidator("4.0.1", packages, "", remote)
	if err != nil {
		return nil, fmt.Sprintf("de FHIR-pakketten konden niet geladen worden (%s): %v", strings.Join(packages, ", "), err)
	}
	return engine{v}, ""
}

// newValidator loads the packages and builds the validator, with the
// terminology server when one is given.
func newValidator(fhirVersion string, packages []string, cacheDir string, remote terminology.Remote) (*validator.Validator, error) {
	if remote == nil {
		return validator.New(validator.Options{FHIRVersion: fhirVersion, Packages: packages, CacheDir: cacheDir})
	}
	reg, err := registry.Load(registry.Options{FHIRVersion: fhirVersion, CacheDir: cacheDir}, packages...)
	if err != nil {
		return nil, fmt.Errorf("new validator: %w", err)
	}
	return validator.New(validator.Options{FHIRVersion: fhirVersion, Registry: reg, Terminology: terminology.New(reg, terminology.WithRemote(remote))})
}

// engine adapts the validation engine to what the specs need.
type engine struct{ v *validator.Validator }

func (e engine) Validate(ctx context.Context, resource map[string]any, profiles []string) ([]spec.Issue, error) {
	return e.ValidateResolving(ctx, resource, profiles, nil)
}

// ValidateResolving validates with references resolved through resolve, so
// that referenced resources are checked against the target profiles.
func (e engine) ValidateResolving(ctx context.Context, resource map[string]any, profiles []string, resolve spec.Resolve) ([]spec.Issue, error) {
	out := e.v.ValidateResource(ctx, resource, false, validator.Request{Profiles: profiles, Resolve: resolve})
	issues := make([]spec.Issue, 0, len(out.Issue))
	for _, i := range out.Issue {
		issues = append(issues, spec.Issue{Severity: i.Severity, Expression: strings.Join(i.Expression, ", "), Message: i.Diagnostics, Undecided: i.Undecided()})
	}
	return issues, nil
}
