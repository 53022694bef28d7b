package fhirpath

import "testing"

func TestCompareUCUM(t *testing.T) {
	cases := []struct {
		name           string
		v1, u1, v2, u2 string
		want           int
		wantOK         bool
	}{
		{"grams over kilograms", "11000", "g", "10", "kg", 1, true},
		{"equal after conversion", "1500", "g", "1.5", "kg", 0, true},
		{"less", "90", "min", "2", "h", -1, true},
		{"pressure (120 mm[Hg] is 15.999 kPa)", "120", "mm[Hg]", "15.99", "kPa", 1, true},
		{"different dimensions", "1", "kg", "1", "m", 0, false},
		{"unknown unit", "1", "[foo]", "1", "g", 0, false},
		{"not a number", "x", "g", "1", "g", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := CompareUCUM(tc.v1, tc.u1, tc.v2, tc.u2)
			if ok != tc.wantOK || ok && got != tc.want {
				t.Fatalf("CompareUCUM(%s %s, %s %s) = %d, %v; want %d, %v", tc.v1, tc.u1, tc.v2, tc.u2, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
