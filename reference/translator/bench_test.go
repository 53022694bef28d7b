package translator

import (
	"bytes"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// pregnancyADA is every registration of one golden pregnancy as ADA.
func pregnancyADA(b *testing.B, id string) [][]byte {
	b.Helper()
	for _, s := range fixtures.Golden() {
		if s.ID != id {
			continue
		}
		regs, err := s.Registrations(fixtures.DefaultReference)
		if err != nil {
			b.Fatal(err)
		}
		var out [][]byte
		for _, r := range regs {
			a, err := truth.ADA(r)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	b.Fatalf("no golden scenario %s", id)
	return nil
}

// BenchmarkTranslatePregnancy translates one whole pregnancy (every event's
// ADA) to FHIR: the bar is < 5 ms per pregnancy (issue 13).
func BenchmarkTranslatePregnancy(b *testing.B) {
	docs := pregnancyADA(b, "tweeling")
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			if _, err := ToFHIR(bytes.NewReader(d)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
