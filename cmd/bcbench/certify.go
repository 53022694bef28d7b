package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
)

// refuseForCertification says why a run against a certifying profile cannot
// go ahead with these flags: a certification replays exactly the profile's
// scenarios under exactly its limits, judged by exactly its packages, with
// every registration sent by the adapter, signed with a key given on purpose.
// Each refusal is one line naming the flag and the way out.
func refuseForCertification(p certification.Profile, f runFlags) error {
	if !p.Certifies {
		return nil
	}
	selfTest := "; use --profile " + p.SelfTest() + " for a self-test"
	refuse := func(what string) error {
		return fmt.Errorf("profile %s certifies: %s%s", p.ID, what, selfTest)
	}
	switch {
	case len(f.scenarios) > 0:
		return refuse("--scenario is refused (the profile fixes its scenarios)")
	case f.requestTimeout != 0 || f.startupTimeout != 0 || f.specTimeout != 0 || len(f.timeliness) > 0:
		return refuse("--request-timeout, --startup-timeout, --timeliness-limit and --spec-timeout are refused (the profile fixes its limits)")
	case len(f.packages) > 0:
		return refuse("--package is refused (the profile pins its FHIR packages)")
	case os.Getenv(packagesEnv) != "":
		return refuse(packagesEnv + " is set; unset it (the profile pins its FHIR packages)")
	case f.population != 0:
		return refuse("--population is refused (the profile fixes its scenarios)")
	case f.manual:
		return refuse("--manual is refused (a certification replays every registration through the adapter)")
	case f.key == "":
		return fmt.Errorf("profile %s certifies: give the bureau's signing key with --key (bcbench keys init); the development key never certifies%s", p.ID, selfTest)
	}
	return nil
}

// checkKeyPlace refuses a signing key that a candidate could read: a file
// readable by group or others, or one inside the output folder or inside the
// folder of the candidate's manifest (where build contexts, scripts and
// working folders of the candidate live).
func checkKeyPlace(key string, manifests []string, out string) error {
	if key == "" {
		return nil
	}
	st, err := os.Stat(key)
	if err != nil {
		return fmt.Errorf("loading --key: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("loading --key: %s is readable by others (mode %04o); make it private with chmod 600", key, st.Mode().Perm())
	}
	places := []struct{ dir, what string }{{out, "the output folder"}}
	for _, manifest := range manifests {
		places = append(places, struct{ dir, what string }{filepath.Dir(manifest), "the candidate manifest's folder"})
	}
	for _, p := range places {
		inside, err := within(key, p.dir)
		if err != nil {
			return fmt.Errorf("loading --key: %w", err)
		}
		if inside {
			return fmt.Errorf("loading --key: %s lies inside %s (%s), where a candidate can read it; keep the key elsewhere", key, p.what, p.dir)
		}
	}
	return nil
}

// within reports whether path lies inside dir (or is dir), after resolving
// symbolic links of both as far as they exist.
func within(path, dir string) (bool, error) {
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil // different volumes
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

// resolve makes path absolute and resolves symbolic links in the part of it
// that exists.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", path, err)
	}
	rest := ""
	for cur := abs; ; {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("resolving %s: %w", path, err)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// signerForRun loads the signing key once, before any candidate starts; a
// certifying run refuses the development key, also when it is given with
// --key, and a profile whose packages are not all pinned by sha256.
func signerForRun(p certification.Profile, key string) (reports.Signer, error) {
	signer, err := loadSigner(key)
	if err != nil {
		return nil, err
	}
	if !p.Certifies {
		return signer, nil
	}
	if signer.Development() {
		return nil, fmt.Errorf("profile %s certifies: --key %s is the development key, which never certifies; use the bureau's key (bcbench keys init)", p.ID, key)
	}
	if u := p.Unpinned(); len(u) > 0 {
		var names []string
		for _, pkg := range u {
			names = append(names, pkg.String())
		}
		return nil, fmt.Errorf("profile %s certifies but does not pin the sha256 of %s: this bench build cannot certify; use --profile %s for a self-test",
			p.ID, strings.Join(names, ", "), p.SelfTest())
	}
	return signer, nil
}

// checkPins lists each pinned package that is missing from what the
// validator loaded or differs from its pin; empty when all are there.
func checkPins(pins []certification.Package, loaded []reports.Package) []string {
	var problems []string
	for _, pin := range pins {
		i := slices.IndexFunc(loaded, func(l reports.Package) bool { return l.ID == pin.ID })
		switch {
		case i < 0:
			problems = append(problems, pin.String()+" missing")
		case loaded[i].Version != pin.Version:
			problems = append(problems, fmt.Sprintf("%s loaded as version %s", pin, loaded[i].Version))
		case loaded[i].SHA256 != pin.SHA256:
			problems = append(problems, fmt.Sprintf("%s has sha256 %q, pinned %s", pin, loaded[i].SHA256, pin.SHA256))
		}
	}
	return problems
}
