package terminology

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	v3ActCodeVS = "http://terminology.hl7.org/ValueSet/v3-ActCode"
	c80DocTypes = "http://hl7.org/fhir/ValueSet/c80-doc-typecodes"
)

// BenchmarkValidateCodeExpanded is the validator's hot path: a code checked
// against a ValueSet that is already expanded (a cache hit and a map lookup).
func BenchmarkValidateCodeExpanded(b *testing.B) {
	svc := New(corpus(b))
	hit := Coding{System: v3ActCode, Code: "AMB", Display: "ambulatory"}
	miss := Coding{System: v3ActCode, Code: "NOT-A-CODE"}
	if r := svc.ValidateCode(v3ActCodeVS, hit); r.Outcome != Member {
		b.Fatalf("setup: %v %s", r.Outcome, r.Message)
	}
	b.Run("member", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if svc.ValidateCode(v3ActCodeVS, hit).Outcome != Member {
				b.Fatal("not a member")
			}
		}
	})
	b.Run("not-member", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if svc.ValidateCode(v3ActCodeVS, miss).Outcome != NotMember {
				b.Fatal("member")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if svc.ValidateCode(v3ActCodeVS, hit).Outcome != Member {
					b.Error("not a member")
					return
				}
			}
		})
	})
}

// BenchmarkFirstExpansion measures a cold Service expanding a large
// ValueSet: v3-ActCode (the whole 1,116-code CodeSystem, indexed on the way)
// and c80-doc-typecodes (6,401 listed LOINC codes). The baseline decodes the
// JSON files involved (ValueSet and CodeSystem) with encoding/json, which the
// package loader does anyway, for a ratio.
func BenchmarkFirstExpansion(b *testing.B) {
	src := corpus(b)
	for _, tc := range []struct {
		name, url string
		files     []string
	}{
		{"v3-ActCode", v3ActCodeVS, []string{"ValueSet-v3-ActCode.json", "CodeSystem-v3-ActCode.json"}},
		{"c80-doc-typecodes", c80DocTypes, []string{"ValueSet-c80-doc-typecodes.json"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				exp, err := New(src).Expand(tc.url)
				if err != nil || len(exp.Contains) < 1000 {
					b.Fatalf("expand: %v", err)
				}
			}
		})
		b.Run(tc.name+"/baseline-json-decode", func(b *testing.B) {
			var all [][]byte
			for _, f := range tc.files {
				data, err := os.ReadFile(filepath.Join(corpusDir(b), "hl7-fhir-core", "4.0.1", "package", f))
				if err != nil {
					b.Fatal(err)
				}
				all = append(all, data)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, data := range all {
					dec := json.NewDecoder(bytes.NewReader(data))
					dec.UseNumber()
					var m map[string]any
					if err := dec.Decode(&m); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkExpandAllCorpus expands every ValueSet of HL7 R4 core and Nictiz
// zib2020 / nl-core / MP9 with a cold Service: the worst case of a validator
// run that touches every binding.
func BenchmarkExpandAllCorpus(b *testing.B) {
	src := corpus(b)
	var urls []string
	for k, r := range src {
		if str(r, "resourceType") == "ValueSet" && !strings.Contains(k, "|") {
			urls = append(urls, k)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		svc := New(src)
		for _, u := range urls {
			if _, err := svc.Expand(u); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(urls)), "valuesets")
}
