package fhirpath

import "testing"

func TestConvertQuantity(t *testing.T) {
	tests := []struct {
		name, value, from, to, want string // want "" means not convertible
	}{
		{"mass prefixes", "4", "g", "mg", "4000"},
		{"pounds to kilograms", "10", "[lb_av]", "kg", "4.5359237"},
		{"body length", "172", "cm", "m", "1.72"},
		{"inches", "1", "[in_i]", "cm", "2.54"},
		{"volume", "2", "L", "mL", "2000"},
		{"volume as length cubed", "1", "L", "dm3", "1"},
		{"concentration", "5", "mmol/L", "umol/mL", "5"},
		{"rate", "60", "/min", "/h", "3600"},
		{"annotation is unity", "3", "{tbl}", "1", "3"},
		{"pressure", "760", "mm[Hg]", "kPa", "101.32472"},
		{"time", "2", "h", "min", "120"},
		{"calendar week", "1", "week", "d", "7"},
		{"power of ten", "1", "10*3/uL", "/mL", "1000000"},
		{"percent", "50", "%", "1", "0.5"},
		{"parenthesised", "1", "g/(kg.d)", "mg/(kg.d)", "1000"},
		{"mass vs length", "1", "g", "m", ""},
		{"unknown unit", "1", "[foo]", "g", ""},
		{"temperature is not converted", "37", "Cel", "K", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := ParseDecimal(tc.value)
			if !ok {
				t.Fatalf("bad test value %q", tc.value)
			}
			got, ok := convertQuantity(Quantity{Value: v, Unit: tc.from}, tc.to)
			if tc.want == "" {
				if ok {
					t.Errorf("%s %s → %s: got %s, want not convertible", tc.value, tc.from, tc.to, got)
				}
				return
			}
			want, _ := ParseDecimal(tc.want)
			if !ok || got.Cmp(want) != 0 {
				t.Errorf("%s %s → %s = %s (%v), want %s", tc.value, tc.from, tc.to, got, ok, tc.want)
			}
		})
	}
}
