package registry

import (
	"github.com/bcbench/bcbench/internal/shared"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// corpus finds ../shared/corpus by walking up from the working directory.
func corpus(t testing.TB) string {
	return shared.Corpus(t, "corpus tests need the shared reference data")
}

// R4Sources are the R4 core and Nictiz R4 packages in the corpus.
func r4Sources(root string) []string {
	return []string{
		filepath.Join(root, "hl7-fhir-core/4.0.1"),
		filepath.Join(root, "nictiz-r4-zib2020/resources"),
		filepath.Join(root, "nictiz-r4-mp9"),
	}
}

func TestLoadCorpusR4(t *testing.T) {
	root := corpus(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	r, err := Load(Options{}, r4Sources(root)...)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	peak := after.HeapAlloc - before.HeapAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("loaded R4 core + zib2020/nl-core + MP9 in %v; heap after load %d MB (before GC %d MB), %d MB allocated in total (bar: < 3 s, < 500 MB)",
		took, (after.HeapAlloc-before.HeapAlloc)>>20, peak>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
	for _, p := range r.Packages() {
		t.Logf("package %s#%s from %s: %d resources, %d skipped", p.Name, p.Version, p.Source, p.Resources, len(p.Skipped))
	}
	tests := []struct{ canonical, wantType string }{
		{"http://hl7.org/fhir/StructureDefinition/Patient", "Patient"},
		{"http://hl7.org/fhir/StructureDefinition/Patient|4.0.1", "Patient"},
		{"http://hl7.org/fhir/StructureDefinition/Patient|4.0", "Patient"},
		{"http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient", "Patient"},
		{"http://nictiz.nl/fhir/StructureDefinition/mp-MedicationAgreement", "MedicationRequest"},
	}
	for _, tc := range tests {
		e, ok := r.Lookup(tc.canonical)
		if !ok {
			t.Errorf("%s not found", tc.canonical)
			continue
		}
		if e.Type != tc.wantType {
			t.Errorf("%s: type %q, want %q", tc.canonical, e.Type, tc.wantType)
		}
		if _, ok := r.Resource(tc.canonical); !ok {
			t.Errorf("%s: tree not available", tc.canonical)
		}
	}
	if _, ok := r.Lookup("http://hl7.org/fhir/StructureDefinition/Patient|3.0.1"); ok {
		t.Error("Patient|3.0.1 resolved in an R4-only registry")
	}
}

func BenchmarkLoadR4Nictiz(b *testing.B) {
	root := corpus(b)
	var ms runtime.MemStats
	for b.Loop() {
		r, err := Load(Options{}, r4Sources(root)...)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		_ = r
	}
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MB-live")
}

func writeFile(p string, data []byte) error { return os.WriteFile(p, data, 0o644) }
