package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/bcbench/bcbench/internal/shared"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
)

// manifestFloor is the agreement this engine has reached; falling below it
// is a regression.
const manifestFloor = 90.0

// manifestCase is a test of the HL7 validator test manifest.
type manifestCase = shared.ManifestCase

// expectedErrors counts the errors the Java validator expects.
func expectedErrors(dir string, raw json.RawMessage) (int, bool) {
	n, _, ok := shared.JavaErrors(dir, raw)
	return n, ok
}

// inScope says why a case is left out ("" when it is in scope).
func inScope(dir string, c manifestCase) string { return c.OutOfScope(dir) }

// TestManifestAgreement is the bar: on the in-scope R4 and STU3 cases of the
// HL7 validator test manifest the verdict (valid = no error) agrees with the
// Java validator's expected outcome on at least 90 %.
func TestManifestAgreement(t *testing.T) {
	root := corpus(t)
	dir, cases := shared.Manifest(t)
	cores := map[string]*registry.Registry{}
	core := func(stu3 bool) *registry.Registry {
		k := "4.0.1"
		if stu3 {
			k = "3.0.1"
		}
		if r, ok := cores[k]; ok {
			return r
		}
		r, err := registry.Load(registry.Options{}, filepath.Join(root, "hl7-fhir-core", k))
		if err != nil {
			t.Fatal(err)
		}
		cores[k] = r
		return r
	}
	skipped := map[string]int{}
	byModule := map[string][2]int{} // module → {agree, total}
	agree, total := 0, 0
	var disagreements []string
	for _, c := range cases {
		if why := inScope(dir, c); why != "" {
			skipped[why]++
			continue
		}
		stu3 := strings.HasPrefix(c.Version, "3.")
		var extra []string
		for _, s := range append(append(append([]string{}, c.Supporting...), c.Profiles...), profileFiles(c)...) {
			extra = append(extra, filepath.Join(dir, s))
		}
		reg, err := core(stu3).With(registry.Options{}, extra...)
		if err != nil {
			skipped["supporting file not loadable"]++
			continue
		}
		version := "4.0.1"
		if stu3 {
			version = "3.0.1"
		}
		v, err := New(Options{FHIRVersion: version, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		input, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		check := func(label string, want int, profiles []string) {
			total++
			mod := byModule[c.Module]
			mod[1]++
			out := v.Validate(context.Background(), input, Request{Profiles: profiles, AllowComments: c.Comments, SecurityChecks: c.Security, NoHTMLInMarkdown: c.NoHTML, BundleRules: bundleRules(c)})
			got := len(out.Errors())
			if (got > 0) == (want > 0) {
				agree++
				mod[0]++
				byModule[c.Module] = mod
				return
			}
			byModule[c.Module] = mod
			var msgs []string
			for _, is := range out.Errors() {
				msgs = append(msgs, strings.Join(is.Expression, ",")+": "+is.Diagnostics)
				if len(msgs) == 3 {
					break
				}
			}
			disagreements = append(disagreements, fmt.Sprintf("%s (%s, %s): java %d error(s), bcbench %d %s", c.Name, c.Version, label, want, got, strings.Join(msgs, " | ")))
		}
		if want, ok := expectedErrors(dir, c.Java); ok {
			check("base", want, nil)
		} else {
			skipped["no readable expected outcome"]++
		}
		if c.Profile != nil && c.Profile.Source != "" {
			want, ok := expectedErrors(dir, c.Profile.Java)
			url := profileURL(filepath.Join(dir, c.Profile.Source))
			if ok && url != "" {
				check("profile", want, []string{url})
			}
		}
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(agree) / float64(total)
	}
	t.Logf("HL7 validator manifest, R4 + STU3 in scope: %d of %d verdicts agree (%.1f %%)", agree, total, pct)
	var mods []string
	for k, n := range byModule {
		mods = append(mods, fmt.Sprintf("%s %d/%d", k, n[0], n[1]))
	}
	sort.Strings(mods)
	t.Logf("by module: %s", strings.Join(mods, ", "))
	var why []string
	for k, n := range skipped {
		why = append(why, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(why)
	t.Logf("left out: %s", strings.Join(why, "; "))
	sort.Strings(disagreements)
	for _, d := range disagreements {
		t.Logf("disagreement: %s", d)
	}
	// The bar is 90 %: a change that drops below it fails the test.
	if total == 0 || pct < manifestFloor {
		t.Errorf("agreement %.1f %% fell below the regression floor of %.0f %%", pct, manifestFloor)
	}
}

func profileFiles(c manifestCase) []string {
	if c.Profile == nil {
		return nil
	}
	out := append([]string{}, c.Profile.Supporting...)
	if c.Profile.Source != "" {
		out = append(out, c.Profile.Source)
	}
	return out
}

// profileURL reads the canonical URL of a StructureDefinition file.
func profileURL(path string) string {
	reg, err := registry.Load(registry.Options{}, path)
	if err != nil || len(reg.Entries()) == 0 {
		return ""
	}
	return reg.Entries()[0].URL
}

// bundleRules turns a case's bundle-param into the request's rules.
func bundleRules(c manifestCase) []BundleRule {
	if c.BundleRule == nil {
		return nil
	}
	return []BundleRule{{Rule: c.BundleRule.Rule, Profile: c.BundleRule.Profile}}
}
