package terminology

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

// TestMembershipProvenance checks that every entry of the shipped table rests
// on real evidence: the value set is in the packages and the packages alone
// cannot decide the code (else the entry is useless or, worse, contradicts
// them); an example file exists in the corpus and uses the code of that
// system at the element named; a code-in-system entry's value set includes
// the whole code system without a filter; an enumeration lists the code.
func TestMembershipProvenance(t *testing.T) {
	root := corpusDir(t)
	// an entry's value set is in the R4 packages or, for the STU3 profiles
	// a translator's output is validated against, in the STU3 ones
	r4, stu3 := corpus(t), corpusSTU3(t)
	for _, e := range Membership().Entries() {
		t.Run(e.System+"|"+e.Code, func(t *testing.T) {
			src := r4
			if _, ok := src.Resource(e.ValueSet); !ok {
				src = stu3
			}
			if _, ok := src.Resource(e.ValueSet); !ok {
				t.Fatalf("value set %s is not in the packages", e.ValueSet)
			}
			offline := New(src, WithoutTable())
			r := offline.ValidateCode(e.ValueSet, Coding{System: e.System, Code: e.Code})
			switch {
			case e.Provenance.Kind == ProvenanceEnumeration:
				if !enumerates(src, e.Provenance.Source, e.System, e.Code, 0) {
					t.Errorf("value set %s does not list %s|%s", e.Provenance.Source, e.System, e.Code)
				}
			case r.Outcome != Unknown:
				t.Errorf("the packages decide %s|%s in %s already (%v: %s); the entry is not needed", e.System, e.Code, e.ValueSet, r.Outcome, r.Message)
			}
			switch e.Provenance.Kind {
			case ProvenanceExample, ProvenanceCodeInSystem:
				res := exampleResources(t, filepath.Join(root, filepath.FromSlash(e.Provenance.Source)))
				if !usesCode(res, e.Provenance.Element, e.System, e.Code) {
					t.Errorf("%s does not use %s|%s at %s", e.Provenance.Source, e.System, e.Code, e.Provenance.Element)
				}
				if e.Provenance.Kind == ProvenanceCodeInSystem && !wholeSystem(src, e.ValueSet, e.System, 0) {
					t.Errorf("value set %s does not include all of %s; a code's existence does not make it a member", e.ValueSet, e.System)
				}
			case ProvenanceServer:
				var p map[string]any
				if err := json.Unmarshal([]byte(e.Provenance.Answer), &p); err != nil || str(p, "resourceType") != "Parameters" {
					t.Fatalf("recorded answer is not a Parameters resource: %v", err)
				}
				want := e.Decision == "member"
				found := false
				for _, x := range arr(p, "parameter") {
					pm, _ := x.(map[string]any)
					if str(pm, "name") == "result" {
						found = true
						if b, _ := pm["valueBoolean"].(bool); b != want {
							t.Errorf("recorded answer says result %v, the entry %s", b, e.Decision)
						}
					}
				}
				if !found {
					t.Errorf("recorded answer has no result")
				}
			}
		})
	}
}

// TestParseTableRejects names what a table entry must have.
func TestParseTableRejects(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"no code", "entries: [{valueSet: v, system: s, decision: member, provenance: {kind: example, source: f}}]", "required"},
		{"bad decision", "entries: [{valueSet: v, system: s, code: c, decision: maybe, provenance: {kind: example, source: f}}]", "decision"},
		{"bad kind", "entries: [{valueSet: v, system: s, code: c, decision: member, provenance: {kind: hearsay, source: f}}]", "kind"},
		{"no source", "entries: [{valueSet: v, system: s, code: c, decision: member, provenance: {kind: example}}]", "source"},
		{"twice", "entries: [{valueSet: v, system: s, code: c, decision: member, provenance: {kind: example, source: f}}, {valueSet: v, system: s, code: c, decision: member, provenance: {kind: example, source: g}}]", "twice"},
		{"not yaml", "entries: [", "membership table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTable([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestTableDecidesOnlyItsEntries: a table entry turns Unknown into its
// decision for exactly that value set, system and code; a neighbour code
// stays Unknown; without the table the same code is Unknown.
func TestTableDecidesOnlyItsEntries(t *testing.T) {
	src := mapSource{"http://x/vs": map[string]any{"resourceType": "ValueSet", "url": "http://x/vs",
		"compose": map[string]any{"include": []any{map[string]any{"system": "http://loinc.org"}}}}}
	tab, err := ParseTable([]byte(`entries:
  - {valueSet: "http://x/vs", system: "http://loinc.org", code: "718-7", decision: member, provenance: {kind: example, source: "a/b.xml", element: Observation.code}}
  - {valueSet: "http://x/vs", system: "http://loinc.org", code: "883-9", decision: not-member, provenance: {kind: tx-answer, source: "http://tx 2026-01-01"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	with := New(src, WithTable(tab))
	without := New(src, WithoutTable())
	for _, tc := range []struct {
		name, vs, code    string
		want, wantWithout Outcome
	}{
		{"listed member", "http://x/vs", "718-7", Member, Unknown},
		{"listed member, versioned canonical", "http://x/vs|1.0", "718-7", Member, Unknown},
		{"listed non-member", "http://x/vs", "883-9", NotMember, Unknown},
		{"neighbour code", "http://x/vs", "1305-2", Unknown, Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Coding{System: "http://loinc.org", Code: tc.code}
			if got := with.ValidateCode(tc.vs, c); got.Outcome != tc.want {
				t.Errorf("with table: %v (%s), want %v", got.Outcome, got.Message, tc.want)
			} else if tc.want == Member && !strings.Contains(got.Message, "a/b.xml") {
				t.Errorf("a table decision names its evidence: %q", got.Message)
			}
			if got := without.ValidateCode(tc.vs, c); got.Outcome != tc.wantWithout {
				t.Errorf("without table: %v, want %v", got.Outcome, tc.wantWithout)
			}
		})
	}
}

// exampleResources reads an example file (JSON or XML, R4 or STU3) and
// returns its resources: the resource itself, or a Bundle's entries.
func exampleResources(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	var res map[string]any
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		err = json.Unmarshal(data, &res)
	} else {
		version := "4.0.1"
		if strings.Contains(path, "/STU3/") || strings.Contains(path, "stu3") {
			version = "3.0.1"
		}
		res, err = fhirxml.DecodeVersion(data, version)
	}
	if err != nil {
		t.Fatalf("example %s: %v", path, err)
	}
	out := []map[string]any{res}
	for _, e := range arr(res, "entry") {
		em, _ := e.(map[string]any)
		if r, ok := em["resource"].(map[string]any); ok {
			out = append(out, r)
		}
	}
	return out
}

// usesCode says whether any resource of the path's type holds, at the JSON
// path element ("Type.a.b.c", lists walked through), a Coding or Quantity
// with that system and code.
func usesCode(resources []map[string]any, element, system, code string) bool {
	steps := strings.Split(element, ".")
	for _, r := range resources {
		if str(r, "resourceType") != steps[0] {
			continue
		}
		nodes := []any{r}
		for _, s := range steps[1:] {
			var next []any
			for _, n := range nodes {
				m, _ := n.(map[string]any)
				next = append(next, arr(m, s)...)
			}
			nodes = next
		}
		for _, n := range nodes {
			m, _ := n.(map[string]any)
			for _, c := range append([]any{m}, arr(m, "coding")...) {
				cm, _ := c.(map[string]any)
				if str(cm, "system") == system && str(cm, "code") == code {
					return true
				}
			}
		}
	}
	return false
}

// wholeSystem says whether a value set includes all of system: an include
// with that system and neither concepts nor filters, directly or through a
// single imported value set.
func wholeSystem(src Source, valueSet, system string, depth int) bool {
	vs, ok := src.Resource(valueSet)
	if !ok || depth > maxImportDepth {
		return false
	}
	compose, _ := vs["compose"].(map[string]any)
	for _, inc := range arr(compose, "include") {
		im, _ := inc.(map[string]any)
		imports := arr(im, "valueSet")
		switch {
		case str(im, "system") == system && len(arr(im, "concept")) == 0 && len(arr(im, "filter")) == 0 && len(imports) == 0:
			return true
		case str(im, "system") == "" && len(imports) == 1:
			if s, _ := imports[0].(string); wholeSystem(src, s, system, depth+1) {
				return true
			}
		}
	}
	return false
}

// enumerates says whether a value set (or one it imports) lists the code.
func enumerates(src Source, valueSet, system, code string, depth int) bool {
	vs, ok := src.Resource(valueSet)
	if !ok || depth > maxImportDepth {
		return false
	}
	compose, _ := vs["compose"].(map[string]any)
	for _, inc := range arr(compose, "include") {
		im, _ := inc.(map[string]any)
		if str(im, "system") == system {
			for _, c := range arr(im, "concept") {
				if cm, _ := c.(map[string]any); str(cm, "code") == code {
					return true
				}
			}
		}
		for _, v := range arr(im, "valueSet") {
			if s, _ := v.(string); enumerates(src, s, system, code, depth+1) {
				return true
			}
		}
	}
	return false
}
