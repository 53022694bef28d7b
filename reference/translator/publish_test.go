package translator

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// TestRegistrationReadsBackWhatTheADACarries: for every event of the
// scenarios a translator publishes in a chain, the registration read back
// from its ADA holds exactly the facts the ADA carries (every fact but
// those truth.ADASkipped names), with the same code, value, unit and
// date, the same client, child and author, at the same time.
func TestRegistrationReadsBackWhatTheADACarries(t *testing.T) {
	for _, s := range fixtures.Golden() {
		if !slices.Contains([]string{"ongecompliceerd", "spoedsectio", "overdracht-jgz", "tweeling"}, s.ID) {
			continue
		}
		regs, err := s.Registrations(fixtures.DefaultReference)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range regs {
			t.Run(s.ID+"/"+want.Event, func(t *testing.T) {
				ada, err := truth.ADA(want)
				if err != nil {
					t.Fatal(err)
				}
				tx, err := Parse(bytes.NewReader(ada))
				if err != nil {
					t.Fatal(err)
				}
				got, err := registration(tx, ada)
				if err != nil {
					t.Fatalf("%v\n%s", err, ada)
				}
				if !got.Time.Equal(want.Time) || got.Client.BSN != want.Client.BSN || got.Author.URA != want.Author.URA || got.Author.Professional.Name != want.Author.Professional.Name {
					t.Errorf("time %v client %s author %+v, want %v %s %+v", got.Time, got.Client.BSN, got.Author, want.Time, want.Client.BSN, want.Author)
				}
				if (got.Subject == nil) != (want.Subject == nil) || (got.Subject != nil && got.Subject.BSN != want.Subject.BSN) {
					t.Errorf("subject %+v, want %+v", got.Subject, want.Subject)
				}
				skipped := truth.ADASkipped(want)
				var expect []string
				for _, f := range want.Facts {
					if !slices.Contains(skipped, f.Key) {
						expect = append(expect, factText(t, f))
					}
				}
				var have []string
				for _, f := range got.Facts {
					have = append(have, factText(t, f))
				}
				slices.Sort(expect)
				slices.Sort(have)
				if !slices.Equal(have, expect) {
					t.Errorf("facts\n got %v\nwant %v", have, expect)
				}
			})
		}
	}
}

// factText is what a consumer judges of a fact, as text.
func factText(t *testing.T, f fixtures.RegisteredFact) string {
	t.Helper()
	f.Name, f.STU3Profile = "", ""
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
