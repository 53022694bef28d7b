package measure_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/bcbench/bcbench/internal/shared"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/measure"
	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
)

// corpus finds ../shared/corpus by walking up from the working directory.
func corpus(t testing.TB) string {
	return shared.Corpus(t, "the manifest test needs the shared reference data")
}

// measureCase is a test of the HL7 validator test manifest.
type measureCase = shared.ManifestCase

// javaErrors reads what the Java validator expects of a case: the error
// count and (unless inline) the messages.
func javaErrors(dir string, raw json.RawMessage) (int, []string, bool) {
	return shared.JavaErrors(dir, raw)
}

func errorIssues(issues []outcome.Issue) []outcome.Issue {
	var out []outcome.Issue
	for _, is := range issues {
		if is.Severity == outcome.Error || is.Severity == outcome.Fatal {
			out = append(out, is)
		}
	}
	return out
}

// without returns the issues of all that are not in some (same location and message).
func without(all, some []outcome.Issue) []outcome.Issue {
	drop := map[string]bool{}
	for _, is := range some {
		drop[strings.Join(is.Expression, ",")+"|"+is.Diagnostics] = true
	}
	var out []outcome.Issue
	for _, is := range all {
		if !drop[strings.Join(is.Expression, ",")+"|"+is.Diagnostics] {
			out = append(out, is)
		}
	}
	return out
}

func describe(issues []outcome.Issue) string {
	var parts []string
	for _, is := range issues {
		parts = append(parts, strings.Join(is.Expression, ",")+": "+is.Diagnostics)
	}
	return strings.Join(parts, " | ")
}

// TestManifestMeasureCases runs the measure module of the HL7 validator test
// manifest (R4 and STU3 cases) through the validator alone and through the
// validator plus Check, and prints the verdict agreement of both. Check must
// not turn a case the Java validator finds valid into an invalid one, and
// must not lower the agreement.
func TestManifestMeasureCases(t *testing.T) {
	root := corpus(t)
	dir, cases := shared.Manifest(t)
	core := map[string]*registry.Registry{}
	ctx := context.Background()
	var alone, with, total int
	var remaining, skipped []string
	for _, c := range cases {
		if c.Module != "measure" {
			continue
		}
		var version string
		switch c.Version {
		case "4.0", "4.0.1":
			version = "4.0.1"
		case "3.0", "3.0.1":
			version = "3.0.1"
		default:
			skipped = append(skipped, c.Name+" (not R4/STU3)")
			continue
		}
		if c.UseTest != nil && !*c.UseTest {
			skipped = append(skipped, c.Name+" (disabled)")
			continue
		}
		want, javaMsgs, ok := javaErrors(dir, c.Java)
		if !ok {
			skipped = append(skipped, c.Name+" (no readable expected outcome)")
			continue
		}
		reg := core[version]
		if reg == nil {
			var err error
			reg, err = registry.Load(registry.Options{}, filepath.Join(root, "hl7-fhir-core", version))
			if err != nil {
				t.Fatalf("loading the core package %s: %v", version, err)
			}
			core[version] = reg
		}
		var paths []string
		var supporting []map[string]any
		for _, s := range c.Supporting {
			p := filepath.Join(dir, s)
			paths = append(paths, p)
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%s: reading supporting file %s: %v", c.Name, s, err)
			}
			tree, _, err := validator.Decode(raw, "", false)
			if err != nil {
				t.Fatalf("%s: decoding supporting file %s: %v", c.Name, s, err)
			}
			supporting = append(supporting, tree)
		}
		caseReg, err := reg.With(registry.Options{}, paths...)
		if err != nil {
			t.Fatalf("%s: loading supporting files: %v", c.Name, err)
		}
		v, err := validator.New(validator.Options{FHIRVersion: version, Registry: caseReg})
		if err != nil {
			t.Fatalf("%s: building the validator: %v", c.Name, err)
		}
		input, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		tree, _, err := validator.Decode(input, "", false)
		if err != nil {
			t.Fatalf("%s: decoding the input: %v", c.Name, err)
		}
		added := errorIssues(measure.Check(ctx, tree, measure.Resolver(caseReg.Resource, supporting...)))
		// Once the validator calls measure.Check itself, its outcome holds
		// the same findings; they are taken out so that "validator alone"
		// stays the validator without the measure rules.
		base := without(v.Validate(ctx, input, validator.Request{}).Errors(), added)
		total++
		if (len(base) > 0) == (want > 0) {
			alone++
		}
		merged := len(base) + len(added)
		if (merged > 0) == (want > 0) {
			with++
		} else {
			remaining = append(remaining, fmt.Sprintf("%s: java %d error(s) [%s], validator %d [%s], measure.Check %d [%s]",
				c.Name, want, strings.Join(javaMsgs, " | "), len(base), describe(base), len(added), describe(added)))
		}
		if want == 0 && len(added) > 0 {
			t.Errorf("%s: the Java validator finds no error, but measure.Check reports %d: %s", c.Name, len(added), describe(added))
		}
		t.Logf("case %s: java %d error(s), validator %d, measure.Check %d: %s", c.Name, want, len(base), len(added), describe(added))
	}
	if total == 0 {
		t.Skip("no measure cases in scope in the manifest")
	}
	t.Logf("measure cases: %d/%d agree with validator alone, %d/%d with measure.Check", alone, total, with, total)
	if len(skipped) > 0 {
		t.Logf("left out: %s", strings.Join(skipped, ", "))
	}
	for _, r := range remaining {
		t.Logf("disagreement: %s", r)
	}
	if with < alone {
		t.Errorf("measure.Check lowers the agreement from %d to %d of %d", alone, with, total)
	}
}
