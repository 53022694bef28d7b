package fhirpath

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

type invariant struct {
	key, severity, expr string
	compiled            *Expression
}

// coreInvariants returns the constraints of the R4 core snapshots, by the
// type key they apply to (a type name, or the element path of a backbone element).
func coreInvariants(t *testing.T, version string) map[string][]invariant {
	t.Helper()
	dir := filepath.Join(corpusDir(t), "hl7-fhir-core", version, "package")
	files, err := filepath.Glob(filepath.Join(dir, "StructureDefinition-*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no R4 core StructureDefinitions: %v", err)
	}
	out := map[string][]invariant{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sd, err := decodeJSON(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d, _ := sd["derivation"].(string); d == "constraint" {
			continue
		}
		snap, _ := sd["snapshot"].(map[string]any)
		els, _ := snap["element"].([]any)
		for _, e := range els {
			em, _ := e.(map[string]any)
			path, _ := em["path"].(string)
			cs, _ := em["constraint"].([]any)
			for _, c := range cs {
				cm, _ := c.(map[string]any)
				expr, _ := cm["expression"].(string)
				key, _ := cm["key"].(string)
				sev, _ := cm["severity"].(string)
				if expr == "" {
					continue
				}
				compiled, err := Compile(expr)
				if err != nil {
					t.Errorf("%s %s: %q does not compile: %v", path, key, expr, err)
					continue
				}
				out[path] = append(out[path], invariant{key, sev, expr, compiled})
			}
		}
	}
	return out
}

// TestCoreInvariantsOnNictizExamples evaluates every R4 core invariant that
// applies to a type or backbone element on every element of the Nictiz
// zib2020 examples. No evaluation may fail; invariants that evaluate to false
// are listed (the examples are expected to satisfy them, so each one is
// either an engine defect or a defect of the example).
func TestCoreInvariantsOnNictizExamples(t *testing.T) {
	for _, tc := range []struct{ name, version, examples string }{
		{"R4 zib2020", "4.0.1", "nictiz-r4-zib2020/examples"},
		{"STU3 birth care", "3.0.1", "nictiz-stu3-geboortezorg/examples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(corpusDir(t), tc.examples, "*.xml"))
			if len(files) == 0 {
				t.Skipf("no examples in %s", tc.examples)
			}
			checkCoreInvariants(t, coreInvariants(t, tc.version), loadModel(t, tc.version), files)
		})
	}
}

func checkCoreInvariants(t *testing.T, invs map[string][]invariant, model *Model, files []string) {
	evaluated, falses, errs := 0, map[string]int{}, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "${") {
			continue // placeholders make dates invalid; the validator fills them first
		}
		res, err := fhirxml.Decode(data)
		if err != nil {
			t.Logf("%s: not decodable: %v", filepath.Base(f), err)
			continue
		}
		walker := &state{env: &Env{}, types: model, max: 1 << 60}
		// Each element is checked against the constraints of its type (or
		// backbone path) and those declared on its path in its parent's type.
		type item struct {
			e      *Element
			parent string
			env    *Env
		}
		stack := []item{{NewElement(res, ""), "", &Env{Resource: res, RootResource: res, Types: model}}}
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			e, env := it.e, it.env
			if isResourceData(e.data) && it.parent != "" {
				env = &Env{Resource: e.data, RootResource: res, Types: model} // contained or inline
			}
			key := e.typ
			if i := strings.IndexByte(key, '#'); i >= 0 {
				key = key[:i]
			}
			keys := []string{key}
			if it.parent != "" && !strings.Contains(key, ".") {
				keys = append(keys, it.parent+"."+e.name)
			}
			for _, k := range keys {
				for _, inv := range invs[k] {
					evaluated++
					ok, known, err := inv.compiled.EvaluateBool(e, env)
					if err != nil {
						errs++
						t.Errorf("%s: %s on %s: %v\n    %s", filepath.Base(f), inv.key, k, err, inv.expr)
						continue
					}
					if known && !ok {
						falses[inv.key+" ("+inv.severity+") "+filepath.Base(f)]++
					}
				}
			}
			for _, c := range walker.children(e, nil) {
				stack = append(stack, item{c.(*Element), key, env})
			}
		}
	}
	keys := make([]string, 0, len(falses))
	for k := range falses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("false: %s ×%d", k, falses[k])
	}
	t.Logf("%d invariant evaluations on %d examples: %d errors, %d distinct false", evaluated, len(files), errs, len(falses))
}

// TestCorpusInvariantsCompile compiles every invariant expression found in
// the conformance resources of the corpus (R4 and STU3 core, Nictiz zib2020,
// nl-core, MP9, zib2017, birth care), JSON and XML.
func TestCorpusInvariantsCompile(t *testing.T) {
	corpus := corpusDir(t)
	seen := map[string]string{}
	var walk func(v any, file string)
	walk = func(v any, file string) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if k == "constraint" {
					cs, _ := vv.([]any)
					for _, c := range cs {
						cm, _ := c.(map[string]any)
						if expr, _ := cm["expression"].(string); expr != "" {
							if _, dup := seen[expr]; !dup {
								seen[expr] = file
							}
						}
					}
				}
				walk(vv, file)
			}
		case []any:
			for _, vv := range x {
				walk(vv, file)
			}
		}
	}
	err := filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(p, "fhir-test-cases") || !(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".xml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte("constraint")) || !bytes.Contains(data, []byte("StructureDefinition")) {
			return nil
		}
		var m map[string]any
		if strings.HasSuffix(p, ".json") {
			m, err = decodeJSON(data)
		} else {
			m, err = fhirxml.Decode(data)
		}
		if err != nil {
			return nil // not a resource; other tests cover the decoders
		}
		walk(m, p)
		return nil
	})
	if err != nil {
		t.Fatalf("walking the corpus: %v", err)
	}
	if len(seen) == 0 {
		t.Skip("no invariants found in the corpus")
	}
	bad := 0
	for expr, file := range seen {
		if _, err := Compile(expr); err != nil {
			bad++
			t.Errorf("%s: %q: %v", filepath.Base(file), expr, err)
		}
	}
	t.Logf("%d distinct invariant expressions, %d do not compile", len(seen), bad)
}
