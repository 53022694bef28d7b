package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
)

// transferMutant says whether a mutant's defect is one only the receiver
// of a transfer of the seeds sees: it is judged in the chain profile.
func transferMutant(m xis.Mutant) bool {
	return slices.ContainsFunc(m.Violates, func(id string) bool { return strings.HasPrefix(id, "OVD-") })
}

// TestTransferMutantsFailExactlyTheirRequirements: in a chain run (profile
// zelftest-keten, the bench's reference index, the bench as the hospital
// and the JGZ) the reference XIS started as a program passes OVD-01..03
// and reports the structured coverage of both data sets at 100 %; each
// transfer mutant fails exactly the requirements it declares, and the
// coverage shows the item it spoils.
func TestTransferMutantsFailExactlyTheirRequirements(t *testing.T) {
	t.Parallel()
	variants := []xis.Mutant{{Name: ""}}
	for _, m := range xis.Mutants {
		if transferMutant(m) {
			variants = append(variants, m)
		}
	}
	covered := map[string]bool{}
	for _, m := range variants[1:] {
		for _, id := range m.Violates {
			covered[id] = true
		}
	}
	for _, id := range []string{"OVD-01", "OVD-02", "OVD-03"} {
		if !covered[id] {
			t.Errorf("no transfer mutant fails %s", id)
		}
	}
	for _, m := range variants {
		name := m.Name
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			code, text := bench(t, "run", "--candidate", commandManifest(t, m.Name), "--profile", "zelftest-keten", "--out", out, "--quiet")
			var want []string
			for _, id := range m.Violates {
				want = append(want, id+"=fail")
			}
			res := readResults(t, out)
			var got []string
			for _, r := range res.Requirements {
				switch {
				case r.Status == reports.Fail || r.Status == reports.Error:
					got = append(got, r.ID+"="+string(r.Status))
				case strings.HasPrefix(r.ID, "OVD-") && r.Status != reports.Pass:
					t.Errorf("%s is %s: %s", r.ID, r.Status, r.Reason)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("requirements failed = %v, want %v (exit %d)\n%s", got, want, code, text)
			}
			if len(res.Transfers) != 2 {
				t.Fatalf("%d transfers in results.json, want the acute referral and the transfer to the JGZ", len(res.Transfers))
			}
			for _, tr := range res.Transfers {
				full := tr.Structured == tr.Items
				spoiled := (m.Name == "spoed-rhesus-omgedraaid" && tr.Transfer == "acute-verwijzing") ||
					(m.Name != "" && m.Name != "spoed-rhesus-omgedraaid" && tr.Transfer == "overdracht-jgz")
				if full == spoiled || (spoiled && tr.Items-tr.Structured != 1) {
					t.Errorf("%s: %d of %d structured (%v)", tr.Transfer, tr.Structured, tr.Items, tr.Missing)
				}
			}
		})
	}
}
