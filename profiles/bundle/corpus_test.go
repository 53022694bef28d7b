package bundle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/bcbench/bcbench/internal/shared"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/bundle"
	"github.com/bcbench/bcbench/profiles/fhirxml"
	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
)

// corpus finds shared/corpus by walking up from the working directory.
func corpus(t testing.TB) string {
	return shared.Corpus(t, "corpus tests need the shared reference data")
}

// decodeTree reads JSON or FHIR XML into the tree Check takes.
func decodeTree(data []byte, version string) (map[string]any, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '<' {
		return fhirxml.DecodeVersion(trimmed, version)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	return m, nil
}

// manifestCase is a test of the HL7 validator test manifest.
type manifestCase = shared.ManifestCase

// bundleCases are the manifest cases on which the validator alone
// disagreed with the Java validator and that were put down to Bundle rules.
var bundleCases = []string{
	"bundle-id-3", "bundle-id-4", "bundle-id-5", "bundle-bad-by-param",
	"bundle-document-versioned-references-bad", "bundle-documentation-miss-last-updated",
	"message", "bad-bundle-reference-type-4", "bundle-ihe-bad", "document-good", "dr-example-org",
}

// javaErrors counts the errors the Java validator expects.
func javaErrors(dir string, raw json.RawMessage) (int, bool) {
	n, _, ok := shared.JavaErrors(dir, raw)
	return n, ok
}

func loadManifest(t *testing.T) (string, []manifestCase) { return shared.Manifest(t) }

func fhirVersion(v string) (string, bool) {
	switch v {
	case "4.0", "4.0.1":
		return "4.0.1", true
	case "3.0", "3.0.1":
		return "3.0.1", true
	}
	return "", false
}

func errorsOf(is []outcome.Issue) []outcome.Issue {
	var out []outcome.Issue
	for _, i := range is {
		if i.Severity == outcome.Error || i.Severity == outcome.Fatal {
			out = append(out, i)
		}
	}
	return out
}

func describe(is []outcome.Issue, n int) string {
	var msgs []string
	for _, i := range is {
		msgs = append(msgs, strings.Join(i.Expression, ",")+": "+i.Diagnostics)
		if len(msgs) == n {
			break
		}
	}
	return strings.Join(msgs, " | ")
}

// TestManifestBundleCases runs the manifest cases put down to Bundle rules
// through the validator alone and through the validator plus Check, and
// prints the verdict agreement of both with the Java validator.
func TestManifestBundleCases(t *testing.T) {
	dir, cases := loadManifest(t)
	root := corpus(t)
	cores := map[string]*registry.Registry{}
	want := map[string]bool{}
	for _, n := range bundleCases {
		want[n] = true
	}
	total, alone, merged, withParam, improved, worsened := 0, 0, 0, 0, 0, 0
	var remaining []string
	for _, c := range cases {
		if !want[c.Name] {
			continue
		}
		version, ok := fhirVersion(c.Version)
		if !ok {
			t.Fatalf("case %s: version %q is not R4 or STU3", c.Name, c.Version)
		}
		core, ok := cores[version]
		if !ok {
			var err error
			if core, err = registry.Load(registry.Options{}, filepath.Join(root, "hl7-fhir-core", version)); err != nil {
				t.Fatal(err)
			}
			cores[version] = core
		}
		var extra []string
		files := append(append([]string{}, c.Supporting...), c.Profiles...)
		if c.Profile != nil {
			files = append(append(files, c.Profile.Supporting...), c.Profile.Source)
		}
		for _, f := range files {
			if f != "" {
				extra = append(extra, filepath.Join(dir, f))
			}
		}
		reg, err := core.With(registry.Options{}, extra...)
		if err != nil {
			t.Fatalf("case %s: load supporting files: %v", c.Name, err)
		}
		v, err := validator.New(validator.Options{FHIRVersion: version, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		input, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		tree, err := decodeTree(input, version)
		if err != nil {
			t.Fatalf("case %s: %v", c.Name, err)
		}
		extraIssues := errorsOf(bundle.Check(tree, version))
		var paramIssues []outcome.Issue
		if c.BundleRule != nil {
			// The case names entries to validate against a profile (the
			// HL7 validator's -bundle option): select them and validate
			// each resource against it.
			idx, err := bundle.Select(tree, c.BundleRule.Rule)
			if err != nil {
				t.Fatalf("case %s: %v", c.Name, err)
			}
			entries, _ := tree["entry"].([]any)
			for _, i := range idx {
				res := entries[i].(map[string]any)["resource"]
				data, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				out := v.Validate(context.Background(), data, validator.Request{Format: "json", Profiles: []string{c.BundleRule.Profile}})
				for _, is := range out.Errors() {
					for j, e := range is.Expression {
						is.Expression[j] = fmt.Sprintf("Bundle.entry[%d].resource", i)
						if k := strings.IndexByte(e, '.'); k >= 0 {
							is.Expression[j] += e[k:]
						}
					}
					paramIssues = append(paramIssues, is)
				}
			}
		}
		run := func(label string, javaN int, profiles []string) {
			total++
			out := v.Validate(context.Background(), input, validator.Request{Profiles: profiles, AllowComments: c.Comments})
			base := out.Errors()
			a := (len(base) > 0) == (javaN > 0)
			m := (len(base)+len(extraIssues) > 0) == (javaN > 0)
			p := (len(base)+len(extraIssues)+len(paramIssues) > 0) == (javaN > 0)
			if a {
				alone++
			}
			if m {
				merged++
			}
			if p {
				withParam++
			}
			switch {
			case m && !a:
				improved++
			case a && !m:
				worsened++
			}
			if len(extraIssues) > 0 {
				t.Logf("%s (%s): bundle.Check errors: %s", c.Name, label, describe(extraIssues, 4))
			}
			if len(paramIssues) > 0 {
				t.Logf("%s (%s): entries selected by bundle.Select(%q), validated against %s: %s", c.Name, label, c.BundleRule.Rule, c.BundleRule.Profile, describe(paramIssues, 4))
			}
			if !p {
				remaining = append(remaining, fmt.Sprintf("%s (%s, %s): java %d error(s), validator %d, bundle.Check %d %s",
					c.Name, c.Version, label, javaN, len(base), len(extraIssues), describe(append(base, extraIssues...), 2)))
			}
		}
		if n, ok := javaErrors(dir, c.Java); ok {
			run("base", n, nil)
		}
		if c.Profile != nil && c.Profile.Source != "" {
			if n, ok := javaErrors(dir, c.Profile.Java); ok {
				p, err := registry.Load(registry.Options{}, filepath.Join(dir, c.Profile.Source))
				if err == nil && len(p.Entries()) > 0 {
					run("profile", n, []string{p.Entries()[0].URL})
				}
			}
		}
	}
	t.Logf("bundle cases: %d/%d agree with validator alone, %d/%d with validator + bundle.Check (%d fixed, %d broken), %d/%d when bundle-param entries are also validated (bundle.Select)",
		alone, total, merged, total, improved, worsened, withParam, total)
	for _, r := range remaining {
		t.Logf("remaining disagreement: %s", r)
	}
	if total == 0 {
		t.Fatal("none of the bundle cases found in the manifest")
	}
	if worsened > 0 {
		t.Errorf("bundle.Check turned %d agreeing verdicts into disagreements", worsened)
	}
	// The validator now runs bundle.Check itself, so "alone" includes it;
	// what must hold is that the Bundle rules keep the verdicts they fixed.
	if merged < 7 {
		t.Errorf("only %d/%d bundle cases agree with the Java validator, want at least 7", merged, total)
	}
}

// TestNoFalseErrors checks that Check gives no error on the Bundles the
// Java validator finds error-free (manifest cases with 0 errors, R4 and
// STU3) and on the Nictiz Bundles of the corpus.
func TestNoFalseErrors(t *testing.T) {
	dir, cases := loadManifest(t)
	root := corpus(t)
	checked := map[string]int{}
	warnings := map[string]int{} // message start → count
	var bad []string
	try := func(kind, path, version string) {
		data, err := os.ReadFile(path)
		if err != nil || len(data) > validator.MaxInput {
			return
		}
		tree, err := decodeTree(data, version)
		if err != nil || tree["resourceType"] != "Bundle" {
			return
		}
		checked[kind]++
		all := bundle.Check(tree, version)
		for _, is := range all {
			if is.Severity == outcome.Warning {
				warnings[is.Diagnostics[:min(len(is.Diagnostics), 60)]]++
			}
		}
		if errs := errorsOf(all); len(errs) > 0 {
			rel, _ := filepath.Rel(root, path)
			bad = append(bad, fmt.Sprintf("%s %s: %s", kind, rel, describe(errs, 3)))
		}
	}
	for _, c := range cases {
		version, ok := fhirVersion(c.Version)
		if !ok || len(c.Packages) > 0 {
			continue
		}
		if n, ok := javaErrors(dir, c.Java); !ok || n != 0 {
			continue
		}
		try("manifest (java: 0 errors)", filepath.Join(dir, c.File), version)
	}
	trees := []struct{ kind, dir, version string }{
		{"nictiz zib2020 examples (R4)", "nictiz-r4-zib2020/examples", "4.0.1"},
		{"nictiz testscripts (R4)", "nictiz-testscripts/output/R4", "4.0.1"},
		{"nictiz ada_2_fhir-r4 (R4)", "nictiz-hl7-mappings/ada_2_fhir-r4", "4.0.1"},
		{"nictiz ada_2_fhir (STU3)", "nictiz-hl7-mappings/ada_2_fhir", "3.0.1"},
		{"nictiz stu3 geboortezorg (STU3)", "nictiz-stu3-geboortezorg", "3.0.1"},
	}
	for _, tr := range trees {
		_ = filepath.WalkDir(filepath.Join(root, tr.dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if ext := filepath.Ext(p); ext == ".xml" || ext == ".json" {
				try(tr.kind, p, tr.version)
			}
			return nil
		})
	}
	n := 0
	for k, c := range checked {
		t.Logf("checked %d Bundles: %s", c, k)
		n += c
	}
	t.Logf("checked %d Bundles in all; %d with a bundle.Check error", n, len(bad))
	for w, k := range warnings {
		t.Logf("warning %d×: %s…", k, w)
	}
	for _, b := range bad {
		t.Errorf("false error: %s", b)
	}
	if n == 0 {
		t.Fatal("no Bundle found in the corpus")
	}
}

// inScope mirrors the scope of the validator's manifest bar: R4 and STU3,
// enabled, no internet packages, no logical models, no terminology-server
// cases, input present.
func inScope(dir string, c manifestCase) bool {
	if c.UseTest != nil && !*c.UseTest {
		return false
	}
	if _, ok := fhirVersion(c.Version); !ok || len(c.Packages) > 0 || len(c.Logical) > 0 || c.Module == "tx" || len(c.TxDep) > 0 {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, c.File))
	return err == nil
}

// bundlesIn calls fn for every Bundle in a resource tree (the root or
// nested), with its FHIRPath location.
func bundlesIn(v any, path string, depth int, fn func(map[string]any, string)) {
	if depth > bundle.MaxDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if x["resourceType"] == "Bundle" {
			fn(x, path)
		}
		for k, child := range x {
			bundlesIn(child, path+"."+k, depth+1, fn)
		}
	case []any:
		for i, child := range x {
			bundlesIn(child, fmt.Sprintf("%s[%d]", path, i), depth+1, fn)
		}
	}
}
