package snapshot

import (
	"github.com/bcbench/bcbench/internal/shared"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/registry"
)

// corpus finds ../shared/corpus by walking up from the working directory.
func corpus(t testing.TB) string {
	return shared.Corpus(t, "corpus tests need the shared reference data")
}

type mapResolver map[string]map[string]any

func (m mapResolver) Resource(c string) (map[string]any, bool) { r, ok := m[c]; return r, ok }

func el(id string, kv ...any) map[string]any {
	path := pathOf(id)
	e := map[string]any{"id": id, "path": path}
	for i := 0; i+1 < len(kv); i += 2 {
		e[kv[i].(string)] = kv[i+1]
	}
	return e
}

func sd(url, base string, snapshot, diff []any) map[string]any {
	m := map[string]any{"resourceType": "StructureDefinition", "url": url}
	if base != "" {
		m["baseDefinition"] = base
	}
	if snapshot != nil {
		m["snapshot"] = map[string]any{"element": snapshot}
	}
	if diff != nil {
		m["differential"] = map[string]any{"element": diff}
	}
	return m
}

func typ(code string) []any { return []any{map[string]any{"code": code}} }

func TestGenerate(t *testing.T) {
	const hl7 = "http://hl7.org/fhir/StructureDefinition/"
	r := mapResolver{
		hl7 + "Obs": sd(hl7+"Obs", "", []any{
			el("Obs", "min", 0, "max", "*"),
			el("Obs.code", "min", 1, "max", "1", "type", typ("Coding")),
			el("Obs.value[x]", "min", 0, "max", "1", "type", []any{map[string]any{"code": "Quantity"}, map[string]any{"code": "string"}}),
			el("Obs.component", "min", 0, "max", "*", "type", typ("BackboneElement")),
			el("Obs.component.code", "min", 1, "max", "1", "type", typ("Coding")),
		}, nil),
		hl7 + "Coding": sd(hl7+"Coding", "", []any{
			el("Coding"), el("Coding.system", "max", "1", "type", typ("uri")), el("Coding.code", "max", "1", "type", typ("code")),
		}, nil),
		hl7 + "Quantity": sd(hl7+"Quantity", "", []any{
			el("Quantity"), el("Quantity.value", "type", typ("decimal")), el("Quantity.unit", "type", typ("string")),
		}, nil),
		"http://x/base": sd("http://x/base", hl7+"Obs", nil, []any{
			el("Obs.code.system", "fixedUri", "http://loinc.org"),
			el("Obs.component", "slicing", map[string]any{"rules": "open"}),
			el("Obs.component:apgar", "sliceName", "apgar", "max", "1"),
			el("Obs.component:apgar.code.code", "fixedCode", "9272-6"),
		}),
		"http://x/derived": sd("http://x/derived", "http://x/base", nil, []any{
			el("Obs.component:apgar", "min", 1),
			el("Obs.valueQuantity", "min", 1),
			el("Obs.valueQuantity.unit", "fixedString", "{score}"),
		}),
	}
	g := New(r)
	got, err := g.Snapshot("http://x/derived")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Element{}
	var ids []string
	for _, e := range got {
		byID[ID(e)] = e
		ids = append(ids, ID(e))
	}
	t.Logf("ids: %s", strings.Join(ids, " "))
	checks := []struct {
		name, id, key string
		want          any
	}{
		{"type child expanded", "Obs.code.system", "fixedUri", "http://loinc.org"},
		{"slice kept from base", "Obs.component:apgar", "min", 1},
		{"slice max from base profile", "Obs.component:apgar", "max", "1"},
		{"slice child", "Obs.component:apgar.code.code", "fixedCode", "9272-6"},
		{"slice path", "Obs.component:apgar.code.code", "path", "Obs.component.code.code"},
		{"choice narrowed", "Obs.value[x]", "min", 1},
		{"choice child", "Obs.value[x].unit", "fixedString", "{score}"},
		{"base untouched", "Obs.component", "min", 0},
	}
	for _, c := range checks {
		e, ok := byID[c.id]
		if !ok {
			t.Errorf("%s: element %s missing", c.name, c.id)
			continue
		}
		if e[c.key] != c.want {
			t.Errorf("%s: %s.%s = %v, want %v", c.name, c.id, c.key, e[c.key], c.want)
		}
	}
	if n := len(byID["Obs.value[x]"]["type"].([]any)); n != 1 {
		t.Errorf("value[x] has %d types, want 1 (narrowed to Quantity)", n)
	}
	// The base definitions were not modified.
	if _, ok := r[hl7+"Obs"]["snapshot"].(map[string]any)["element"].([]any)[1].(map[string]any)["fixedUri"]; ok {
		t.Error("base snapshot modified")
	}
	if _, err := g.Snapshot("http://x/missing"); err == nil {
		t.Error("missing definition: no error")
	}
}

// TestGenerateCorpus generates the snapshot of every Nictiz StructureDefinition
// (R4 and STU3) and reports the ones that fail.
func TestGenerateCorpus(t *testing.T) {
	root := corpus(t)
	sets := []struct {
		name    string
		sources []string
	}{
		{"R4", []string{"hl7-fhir-core/4.0.1", "nictiz-r4-zib2020/resources", "nictiz-r4-mp9"}},
		{"STU3", []string{"hl7-fhir-core/3.0.1", "nictiz-stu3-zib2017", "nictiz-stu3-geboortezorg"}},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			var srcs []string
			for _, s := range set.sources {
				srcs = append(srcs, filepath.Join(root, s))
			}
			reg, err := registry.Load(registry.Options{}, srcs...)
			if err != nil {
				t.Fatal(err)
			}
			g := New(reg)
			n, failed := 0, 0
			for _, e := range reg.Entries() {
				if e.ResourceType != "StructureDefinition" || e.Package == reg.Packages()[0] {
					continue
				}
				n++
				if _, err := g.Snapshot(e.URL); err != nil {
					failed++
					t.Errorf("%v", err)
				}
			}
			t.Logf("%s: generated %d snapshots, %d failed", set.name, n-failed, failed)
		})
	}
}

// TestCycles checks that definitions referring to each other end in an
// error (or a fallback to the base type), never in a hang.
func TestCycles(t *testing.T) {
	const hl7 = "http://hl7.org/fhir/StructureDefinition/"
	r := mapResolver{
		hl7 + "Obs":    sd(hl7+"Obs", "", []any{el("Obs"), el("Obs.code", "type", typ("Coding"))}, nil),
		hl7 + "Coding": sd(hl7+"Coding", "", []any{el("Coding"), el("Coding.code", "type", typ("code"))}, nil),
		"http://x/a":   sd("http://x/a", "http://x/b", nil, []any{el("Obs.code", "min", 1)}),
		"http://x/b":   sd("http://x/b", "http://x/a", nil, []any{el("Obs.code", "min", 1)}),
		"http://x/self": sd("http://x/self", hl7+"Obs", nil, []any{
			el("Obs.code", "type", []any{map[string]any{"code": "Coding", "profile": []any{"http://x/self"}}}),
			el("Obs.code.code", "fixedCode", "x"),
		}),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g := New(r)
		if _, err := g.Snapshot("http://x/a"); err == nil || !strings.Contains(err.Error(), "cycle") {
			t.Errorf("base cycle: error %v, want a cycle error", err)
		}
		if _, err := g.Snapshot("http://x/self"); err != nil {
			t.Errorf("self-referencing type profile: %v (want the base type's children as fallback)", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("snapshot generation hangs on cyclic definitions")
	}
}

// TestBaseCardinality: a profile that narrows max keeps the base
// cardinality in base (STU3 core snapshots have none), so that a
// repeating element the profile limits to one is still an array in JSON.
func TestBaseCardinality(t *testing.T) {
	const hl7 = "http://hl7.org/fhir/StructureDefinition/"
	r := mapResolver{
		hl7 + "Episode": sd(hl7+"Episode", "", []any{
			el("Episode", "min", 0, "max", "*"),
			el("Episode.diagnosis", "min", 0, "max", "*", "type", typ("BackboneElement")),
			el("Episode.status", "min", 1, "max", "1", "type", typ("code")),
		}, nil),
		"http://example.org/Record": sd("http://example.org/Record", hl7+"Episode", nil, []any{
			el("Episode.diagnosis", "max", "1"),
			el("Episode.status", "min", 1),
		}),
	}
	snap, err := New(r).Snapshot("http://example.org/Record")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id string
		base     map[string]any // nil: no base written
	}{
		{"narrowed max keeps the base cardinality", "Episode.diagnosis", map[string]any{"path": "Episode.diagnosis", "min": 0, "max": "*"}},
		{"an element whose max is not narrowed gets no base", "Episode.status", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range snap {
				if ID(e) != tt.id {
					continue
				}
				got, _ := e["base"].(map[string]any)
				if (got == nil) != (tt.base == nil) || (got != nil && (got["max"] != tt.base["max"] || got["path"] != tt.base["path"])) {
					t.Fatalf("%s base = %v, want %v", tt.id, got, tt.base)
				}
				return
			}
			t.Fatalf("%s not in the snapshot", tt.id)
		})
	}
}
