package reports

import "testing"

// TestCoverage: structured / items as a percentage, rounded down to one
// decimal, so that 79.99 % never shows as the seed's 80 %.
func TestCoverage(t *testing.T) {
	cases := []struct {
		name              string
		structured, items int
		want              float64
	}{
		{name: "all", structured: 12, items: 12, want: 100},
		{name: "one of twelve missing", structured: 11, items: 12, want: 91.6},
		{name: "just under the seed's figure", structured: 7999, items: 10000, want: 79.9},
		{name: "none", structured: 0, items: 16, want: 0},
		{name: "an empty set", structured: 0, items: 0, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Coverage(tc.structured, tc.items); got != tc.want {
				t.Errorf("Coverage(%d, %d) = %v, want %v", tc.structured, tc.items, got, tc.want)
			}
		})
	}
}
