package questionnaire_test

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

	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/questionnaire"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/terminology"
	"github.com/bcbench/bcbench/profiles/validator"
)

// corpusDir finds shared/corpus in a parent of the working directory.
func corpusDir(t *testing.T) string {
	return shared.Corpus(t, "the questionnaire manifest test needs the HL7 validator test cases")
}

// testCase is a test of the HL7 validator test manifest.
type testCase = shared.ManifestCase

// javaErrors counts the error and fatal issues the Java validator expects.
func javaErrors(dir string, raw json.RawMessage) (int, bool) {
	n, _, ok := shared.JavaErrors(dir, raw)
	return n, ok
}

// selected says whether a case is one of ours and in scope (the same scope
// as the validator's manifest bar: R4/STU3, no internet packages, no
// logical models, no terminology-server cases).
func selected(dir string, c testCase) bool {
	if c.Module != "questionnaire" && !strings.HasSuffix(c.Name, "-qr") {
		return false
	}
	return c.OutOfScope(dir) == ""
}

// env builds the hooks from a registry and its terminology service, the
// way the validator would.
func env(reg *registry.Registry, term *terminology.Service, path, version string) questionnaire.Env {
	return questionnaire.Env{
		FHIRVersion: version,
		IsResourceType: func(name string) bool {
			e, ok := reg.Lookup("http://hl7.org/fhir/StructureDefinition/" + name)
			return ok && e.Kind == "resource" && e.Derivation != "constraint"
		},
		Path:    path,
		Resolve: reg.Resource,
		MemberOf: func(vs, system, code string) (bool, bool) {
			r := term.ValidateCode(vs, terminology.Coding{System: system, Code: code})
			return r.Outcome == terminology.Member, r.Outcome != terminology.Unknown
		},
		DisplayOK: func(system, code, display string) (bool, bool) {
			r := term.ValidateCodeInSystem(terminology.Coding{System: system, Code: code, Display: display})
			return r.DisplayWarning == "", r.Outcome == terminology.Member
		},
	}
}

// checkAll runs this package's checks on a resource, its contained
// resources and the resources of a Bundle.
func checkAll(ctx context.Context, res map[string]any, path, version string, reg *registry.Registry, term *terminology.Service, depth int) []questionnaire.Issue {
	if depth > 8 {
		return nil
	}
	var out []questionnaire.Issue
	switch res["resourceType"] {
	case "QuestionnaireResponse":
		out = append(out, questionnaire.Validate(ctx, res, env(reg, term, path, version))...)
	case "Questionnaire":
		out = append(out, questionnaire.CheckQuestionnaire(res, path)...)
	}
	if cs, ok := res["contained"].([]any); ok {
		for i, r := range cs {
			if rm, ok := r.(map[string]any); ok {
				out = append(out, checkAll(ctx, rm, fmt.Sprintf("%s.contained[%d]", path, i), version, reg, term, depth+1)...)
			}
		}
	}
	if es, ok := res["entry"].([]any); ok && res["resourceType"] == "Bundle" {
		for i, e := range es {
			em, _ := e.(map[string]any)
			if rm, ok := em["resource"].(map[string]any); ok {
				out = append(out, checkAll(ctx, rm, fmt.Sprintf("%s.entry[%d].resource", path, i), version, reg, term, depth+1)...)
			}
		}
	}
	return out
}

// TestManifestQuestionnaire measures the verdict agreement with the Java
// validator on the manifest's questionnaire cases (module questionnaire and
// every *-qr case), first with profiles/validator alone, then with this
// package's issues merged in, and lists the remaining disagreements.
func TestManifestQuestionnaire(t *testing.T) {
	root := corpusDir(t)
	dir := filepath.Join(root, "fhir-test-cases/validator")
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Skipf("no validator manifest in the corpus: %v", err)
	}
	var m struct {
		Cases []testCase `json:"test-cases"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("reading the manifest: %v", err)
	}
	cores := map[string]*registry.Registry{}
	ctx := context.Background()
	alone, combined, total := 0, 0, 0
	rejected, caught, accepted, falseAlarms := 0, 0, 0, 0 // questionnaire.Check on its own
	var remaining, gained, lost []string
	for _, c := range m.Cases {
		if !selected(dir, c) {
			continue
		}
		want, ok := javaErrors(dir, c.Java)
		if !ok {
			continue
		}
		version := "4.0.1"
		if strings.HasPrefix(c.Version, "3.") {
			version = "3.0.1"
		}
		core := cores[version]
		if core == nil {
			if core, err = registry.Load(registry.Options{}, filepath.Join(root, "hl7-fhir-core", version)); err != nil {
				t.Fatalf("loading core %s: %v", version, err)
			}
			cores[version] = core
		}
		var extra []string
		for _, s := range append(append([]string{}, c.Supporting...), c.Profiles...) {
			extra = append(extra, filepath.Join(dir, s))
		}
		reg, err := core.With(registry.Options{}, extra...)
		if err != nil {
			continue // the validator's bar leaves these out too
		}
		term := terminology.New(reg)
		v, err := validator.New(validator.Options{FHIRVersion: version, Registry: reg, Terminology: term})
		if err != nil {
			t.Fatalf("%s: new validator: %v", c.Name, err)
		}
		input, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		total++
		base := len(v.Validate(ctx, input, validator.Request{}).Errors())
		var ours []questionnaire.Issue
		if res, _, err := validator.Decode(input, "", false); err == nil {
			rt, _ := res["resourceType"].(string)
			for _, is := range checkAll(ctx, res, rt, version, reg, term, 0) {
				if is.Severity == outcome.Error || is.Severity == outcome.Fatal {
					ours = append(ours, is)
				}
			}
		}
		if want > 0 {
			rejected++
			if len(ours) > 0 {
				caught++
			} else if os.Getenv("QUESTIONNAIRE_MISSED") != "" {
				t.Logf("missed by questionnaire.Check: %s", c.Name)
			}
		} else {
			accepted++
			if len(ours) > 0 {
				falseAlarms++
			}
		}
		okAlone := (base > 0) == (want > 0)
		okBoth := (base+len(ours) > 0) == (want > 0)
		if okAlone {
			alone++
		}
		if okBoth {
			combined++
		}
		var msgs []string
		for _, is := range ours {
			msgs = append(msgs, strings.Join(is.Expression, ",")+": "+is.Diagnostics)
		}
		line := fmt.Sprintf("%s (%s): java %d error(s), validator %d, questionnaire.Check %d %s", c.Name, c.Version, want, base, len(ours), strings.Join(msgs, " | "))
		switch {
		case !okBoth:
			remaining = append(remaining, line)
		case !okAlone:
			gained = append(gained, line)
		}
		if okAlone && !okBoth {
			lost = append(lost, line)
		}
	}
	if total == 0 {
		t.Skip("no questionnaire cases in the manifest")
	}
	t.Logf("questionnaire cases: %d/%d agree with validator alone, %d/%d with questionnaire.Check merged", alone, total, combined, total)
	t.Logf("questionnaire.Check on its own: errors on %d of the %d cases the Java validator rejects, and on %d of the %d it accepts", caught, rejected, falseAlarms, accepted)
	for _, l := range gained {
		t.Logf("fixed: %s", l)
	}
	sort.Strings(remaining)
	for _, l := range remaining {
		t.Logf("disagreement: %s", l)
	}
	// A case the validator alone gets right must not be broken by these
	// checks (a false error here would be a false error for a vendor).
	for _, l := range lost {
		t.Errorf("questionnaire.Check broke a case: %s", l)
	}
	if combined < alone {
		t.Errorf("merged agreement %d is below the validator's own %d", combined, alone)
	}
}
