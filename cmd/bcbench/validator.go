package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/terminology"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/suites/profile"
	"github.com/bcbench/bcbench/suites/spec"
)

// packagesEnv names extra FHIR packages, separated like PATH; they add to
// (or, by package name, replace) the packages embedded in the binary, as
// --package does (see profiles/registry.Sources).
const packagesEnv = "BCBENCH_PACKAGES"

// packageSources returns the FHIR packages to load: base (see
// profilePackages, or registry.Defaults), with those of BCBENCH_PACKAGES and
// --package added or replacing. A source that names nothing is an error
// before anything runs.
func packageSources(base, flags []string, cacheDir string) ([]string, error) {
	var extra []string
	for _, e := range filepath.SplitList(os.Getenv(packagesEnv)) {
		if strings.TrimSpace(e) != "" {
			extra = append(extra, e)
		}
	}
	sources, err := registry.Sources(base, append(extra, flags...), cacheDir)
	if err != nil {
		return nil, fmt.Errorf("%w (--package or %s)", err, packagesEnv)
	}
	return sources, nil
}

// profilePackages are the packages of one FHIR release ("4.0.1" or
// "3.0.1") a run starts from: those the profile pins of that release,
// resolved by the registry against the packages embedded in the binary (a
// pin with a sha256 must match the shipped bytes), or, for a profile that
// pins none at all, every embedded package of the release. A pin of a
// package the binary does not ship counts as R4 (and fails to load there).
func profilePackages(p certification.Profile, fhirVersion string) ([]string, error) {
	if len(p.Packages) == 0 {
		return registry.Defaults(fhirVersion)
	}
	shipped, err := registry.Embedded()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, pin := range p.Packages {
		release := "4.0.1"
		if i := slices.IndexFunc(shipped, func(s registry.Shipped) bool { return s.ID == pin.ID && s.Version == pin.Version }); i >= 0 {
			release = shipped[i].FHIRVersion
		}
		if !registry.SameFHIR(release, fhirVersion) {
			continue
		}
		if pin.SHA256 == "" {
			out = append(out, pin.String())
			continue
		}
		src, err := registry.Pinned(pin.ID, pin.Version, pin.SHA256)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.ID, err)
		}
		out = append(out, src)
	}
	return out, nil
}

// loadValidator builds the R4 profile validator from FHIR packages (from
// packageSources). Without packages there is no validator and the profile
// specs skip with the reason returned, so a profile that selects them cannot
// pass.
//
// remote, when not nil, is the terminology server asked what the packages
// and the membership table cannot decide.
func loadValidator(packages []string, remote terminology.Remote) (spec.Validator, string) {
	if len(packages) == 0 {
		return nil, "geen FHIR-pakketten geladen (--package " + registry.None + "); profielconformiteit is niet getoetst"
	}
	v, err := newValidator("4.0.1", packages, "", remote)
	if err != nil {
		return nil, fmt.Sprintf("de FHIR-pakketten konden niet geladen worden (%s): %v", strings.Join(packages, ", "), err)
	}
	return profile.Engine{V: v}, ""
}

// loadSTU3Validator builds the STU3 validator a DVZA's answers and a
// translator's output are checked with (MedMij Geboortezorg, bc-* and
// zib2017 profiles): the STU3 packages base names (a profile's pins, from
// profilePackages), every embedded STU3 package when base is empty, none
// with --package none.
func loadSTU3Validator(flags, base []string) (spec.Validator, string) {
	if slices.Contains(flags, registry.None) {
		return nil, "geen FHIR-pakketten geladen (--package " + registry.None + "); STU3-profielconformiteit is niet getoetst"
	}
	packages := base
	if len(packages) == 0 {
		var err error
		if packages, err = registry.Defaults("3.0.2"); err != nil {
			return nil, fmt.Sprintf("de STU3-pakketten ontbreken: %v", err)
		}
	}
	v, err := newValidator("3.0.2", packages, "", nil)
	if err != nil {
		return nil, fmt.Sprintf("de STU3-pakketten konden niet geladen worden: %v", err)
	}
	return profile.Engine{V: v}, ""
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
