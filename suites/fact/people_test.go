package fact

import (
	"testing"

	"github.com/bcbench/bcbench/fixtures"
)

// TestPeopleAndAbout: a child's facts belong to her own record, the
// client's to hers; a child without facts has no record to judge.
func TestPeopleAndAbout(t *testing.T) {
	cases := []struct {
		name     string
		scenario string
		people   []string // person ids, client first
		perChild int      // facts about the first child
	}{
		{name: "twins each have a record", scenario: "tweeling", people: []string{"iris-jansen", "iris-jansen-kind-1", "iris-jansen-kind-2"}, perChild: 5},
		{name: "the newborn of the JGZ transfer", scenario: "overdracht-jgz", people: []string{"emma-de-boer", "emma-de-boer-kind"}, perChild: 12},
		{name: "no child", scenario: "ongecompliceerd", people: []string{"sanne-de-jong"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := fixtures.Lookup(tc.scenario)
			if !ok {
				t.Fatalf("no scenario %s", tc.scenario)
			}
			items, shared := Expected(s)
			if !shared {
				t.Fatal("nothing shared")
			}
			people := People(s, items)
			var ids []string
			total := 0
			for _, p := range people {
				ids = append(ids, p.ID)
				total += len(About(s, items, p))
			}
			if len(ids) != len(tc.people) {
				t.Fatalf("people = %v, want %v", ids, tc.people)
			}
			for i := range ids {
				if ids[i] != tc.people[i] {
					t.Fatalf("people = %v, want %v", ids, tc.people)
				}
			}
			if total != len(items) {
				t.Fatalf("the people's facts add up to %d, want every one of %d", total, len(items))
			}
			if len(people) > 1 {
				if n := len(About(s, items, people[1])); n != tc.perChild {
					t.Fatalf("first child has %d facts, want %d", n, tc.perChild)
				}
			}
		})
	}
}
