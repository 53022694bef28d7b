package translator

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/internal/shared"
	"github.com/bcbench/bcbench/profiles/fhirxml"
	rt "github.com/bcbench/bcbench/reference/translator"
	"github.com/bcbench/bcbench/suites/fact"
)

// nictizCase is one of Nictiz's own ADA → FHIR mapping cases: the ADA
// input and the folder (or file) of Nictiz's FHIR instance.
type nictizCase struct {
	name, ada, fhir string
}

func nictizCases(t *testing.T) []nictizCase {
	base := filepath.Join(shared.Corpus(t, "the Nictiz mapping check reads Nictiz's ADA and FHIR instances"), "nictiz-hl7-mappings", "ada_2_fhir")
	var out []nictizCase
	for _, tx := range []string{"med_mij_01_beschikbaarstellen_integrale_zwangerschapskaart", "med_mij_echo_beschikbaarstellen", "med_mij_kraam_beschikbaarstellen"} {
		dirs, _ := filepath.Glob(filepath.Join(base, "peri/3.2.6", tx, "fhir_instance", "*"))
		for _, d := range dirs {
			n := filepath.Base(d)
			out = append(out, nictizCase{name: n, ada: filepath.Join(base, "peri/3.2.6", tx, "ada_instance", n+".xml"), fhir: d})
		}
	}
	p := filepath.Join(base, "geboortezorg/2.3/prio1_huidige_zwangerschap")
	out = append(out, nictizCase{name: "prio1-kernset_aanleverbericht", ada: filepath.Join(p, "ada_instance/kernset_aanleverbericht.xml"), fhir: filepath.Join(p, "fhir_instance/Patients.xml")})
	if len(out) < 10 {
		t.Fatalf("expected the 9 IZK/Echo/Kraam cases and prio 1 in the corpus, found %d", len(out))
	}
	return out
}

// nictizFacts reads Nictiz's FHIR instance: one resource per file, or a Bundle.
func nictizFacts(t *testing.T, path string) []fact.Clinical {
	files := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.xml"))
	}
	var rs []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := fhirxml.DecodeVersion(b, "3.0.2")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if r["resourceType"] == "Bundle" {
			for _, e := range r["entry"].([]any) {
				rs = append(rs, e.(map[string]any)["resource"].(map[string]any))
			}
			continue
		}
		rs = append(rs, r)
	}
	return fact.ClinicalFacts(rs)
}

// TestNictizMappingAgreement is the external check of the reference
// translator: Nictiz's ADA input through it, its facts against Nictiz's own
// FHIR instance (docs/translator.md). It prints the table and every
// difference, and fails below the bar.
func TestNictizMappingAgreement(t *testing.T) {
	const bar = 0.95
	var same, all int
	var table []string
	for _, c := range nictizCases(t) {
		in, err := os.ReadFile(c.ada)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rt.ToFHIR(strings.NewReader(string(in)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := nictizFacts(t, c.fhir)
		m := fact.Agree(inScope(fact.ClinicalFacts(got), want), want)
		n := len(m.Same) + len(m.Missing) + len(m.Extra)
		same, all = same+len(m.Same), all+n
		table = append(table, fmt.Sprintf("%-36s %4d %4d %4d %4d  %5.1f %%", c.name, n, len(m.Same), len(m.Missing), len(m.Extra), 100*m.Share()))
		var diffs []string
		for _, f := range m.Missing {
			diffs = append(diffs, "  only Nictiz:     "+f.String())
		}
		for _, f := range m.Extra {
			diffs = append(diffs, "  only translator: "+f.String())
		}
		sort.Strings(diffs)
		if len(diffs) > 0 {
			t.Logf("%s differences:\n%s", c.name, strings.Join(diffs, "\n"))
		}
	}
	share := float64(same) / float64(all)
	t.Logf("Nictiz mapping agreement (facts: code, value, unit, date, subject, profile)\n%-36s %4s %4s %4s %4s  %s\n%s\n%-36s %4d %4d %9s  %5.1f %%",
		"case", "all", "same", "nict", "ours", "agreement", strings.Join(table, "\n"), "total", all, same, "", 100*share)
	if share < bar {
		t.Errorf("agreement %.1f %% is below the bar of %.0f %%", 100*share, 100*bar)
	}
}

// inScope keeps the facts Nictiz's instance could have held: of its
// resource types, about its subjects. The prio 1 instance is the answer to
// a search for the woman's Patient, not a whole translation.
func inScope(got, want []fact.Clinical) []fact.Clinical {
	types, subjects := map[string]bool{}, map[string]bool{}
	for _, w := range want {
		typ, _, _ := strings.Cut(w.Resource, "/")
		types[typ], subjects[w.Subject] = true, true
	}
	var out []fact.Clinical
	for _, g := range got {
		typ, _, _ := strings.Cut(g.Resource, "/")
		if types[typ] && subjects[g.Subject] {
			out = append(out, g)
		}
	}
	return out
}
