package spec

import (
	"strings"
	"testing"
)

func TestLabelsRefusesUnknownRequirements(t *testing.T) {
	cases := []struct {
		name string
		ids  []string
		want string // "" when no panic is expected
	}{
		{"known", []string{"INH-01"}, ""},
		{"several known", []string{"INH-01", "API-01"}, ""},
		{"unknown", []string{"NOPE-99"}, "NOPE-99"},
		{"one of two unknown", []string{"INH-01", "NOPE-98"}, "NOPE-98"},
		{"none", nil, "at least one requirement"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			func() {
				defer func() {
					if r := recover(); r != nil {
						got = r.(string)
					}
				}()
				labels := Labels(tc.ids...)
				if len(labels) != len(tc.ids) {
					t.Errorf("Labels(%v) = %v", tc.ids, labels)
				}
			}()
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("Labels(%v) panicked with %q, want %q", tc.ids, got, tc.want)
			}
		})
	}
	if u := strings.Join(Unknown(), ";"); !strings.Contains(u, "NOPE-99") || !strings.Contains(u, "NOPE-98") {
		t.Fatalf("Unknown() = %q, want both unknown IDs recorded for the run to stop", u)
	}
}
