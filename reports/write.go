package reports

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// WriteAll writes a run's outputs into dir: results.json, junit.xml,
// report.html and results.dsse.json. Evidence files must already be in dir
// (normally dir/evidence/) and listed in res.Evidence; digests left empty are
// computed here, and a listed file that cannot be read is dropped with a
// problem. A run is a certification only when the profile certifies, Assemble
// set the mode so, and the signer is not a development key; anything else is
// written as a self-test. Every file that can be written is written; the error joins
// whatever went wrong.
func WriteAll(dir string, res *Results, signer Signer) error {
	if res == nil {
		return errors.New("writing report: no results")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if signer == nil || signer.Development() || !res.Profile.Certifies || res.Mode != ModeCertification {
		res.Mode = ModeSelfTest
	}
	if res.Schema == "" {
		res.Schema = SchemaVersion
	}
	fillEvidence(dir, res)

	var errs []error
	data, err := Marshal(res)
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := ValidateJSON(data); err != nil {
		errs = append(errs, fmt.Errorf("writing report (bench defect): %w", err))
	}
	errs = append(errs, writeFile(filepath.Join(dir, ResultsFile), data))
	if x, err := JUnit(res); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, writeFile(filepath.Join(dir, JUnitFile), x))
	}
	if h, err := HTMLWith(res, dir); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, writeFile(filepath.Join(dir, HTMLFile), h))
	}
	if signer == nil {
		errs = append(errs, errors.New("writing report: no signing key, results.dsse.json not written"))
	} else {
		errs = append(errs, Sign(dir, signer))
	}
	return errors.Join(errs...)
}

// fillEvidence computes missing digests and kinds; unreadable files are
// dropped from the list and reported as problems.
func fillEvidence(dir string, res *Results) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("opening output folder for evidence: %v", err))
		res.Evidence = []Evidence{}
		return
	}
	defer root.Close()
	kept := make([]Evidence, 0, len(res.Evidence))
	seen := map[string]bool{}
	for _, e := range res.Evidence {
		if seen[e.Path] {
			continue
		}
		seen[e.Path] = true
		if e.SHA256 == "" {
			sum, err := hashFile(root, e.Path)
			if err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("evidence dropped: %v", err))
				continue
			}
			e.SHA256 = sum
		} else if err := checkRelative(e.Path); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("evidence dropped: %v", err))
			continue
		}
		if e.Kind == "" {
			e.Kind = evidenceKind(e.Path)
		}
		kept = append(kept, e)
	}
	slices.SortFunc(kept, func(a, b Evidence) int { return strings.Compare(a.Path, b.Path) })
	res.Evidence = kept
}

func evidenceKind(p string) string {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".har":
		return "har"
	case ".log", ".txt":
		return "log"
	default:
		return "resource"
	}
}
