package terminology

import (
	"strings"
	"testing"
)

func TestUCUM(t *testing.T) {
	cases := []struct {
		code string
		want Outcome
	}{
		// Valid expressions from clinical use and the validator test cases.
		{"mm[Hg]", Member},
		{"kg", Member},
		{"kg/m2", Member},
		{"mg/dL", Member},
		{"mmol/L", Member},
		{"10*3/uL", Member},
		{"10*9/L", Member},
		{"10^6", Member},
		{"/min", Member},
		{"{beats}/min", Member},
		{"{score}", Member},
		{"mL/(24.h)", Member},
		{"mL/min/{1.73_m2}", Member},
		{"Cel", Member},
		{"[degF]", Member},
		{"%", Member},
		{"[lb_av]", Member},
		{"[in_i]", Member},
		{"wk", Member},
		{"mo", Member},
		{"a", Member},
		{"d", Member},
		{"h", Member},
		{"s-1", Member},
		{"m.s-2", Member},
		{"1", Member},
		{"[iU]/L", Member},
		{"[IU]/mL", Member},
		{"meq/L", Member},
		{"ug/kg/min", Member},
		{"dB", Member},
		{"KiBy", Member},
		{"g{total}", Member},
		{"{eenheden per dag}", Member},
		{"{g per week}", Member},
		{"[CFU]/mL", Member},
		{"cm[H2O]", Member},
		{"kcal", Member},
		{"[pH]", Member},
		// Invalid.
		{"fmm[Hg]", NotMember},
		{"aabbcc", NotMember},
		{"", NotMember},
		{"mg/", NotMember},
		{"(mg", NotMember},
		{"mg}", NotMember},
		{"{unclosed", NotMember},
		{"{tab\x01}", NotMember},
		{"{µg}", NotMember},
		{"m g", NotMember},
		{"kh", NotMember}, // hour takes no prefix
		{"k[in_i]", NotMember},
		{"cel", NotMember}, // case sensitive
		{"mg//dL", NotMember},
		{"[lb_av", NotMember},
		// Well formed, atom not in the table.
		{"[foo'U]", Unknown},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			got := checkUCUM(tc.code)
			if got.Outcome != tc.want {
				t.Fatalf("checkUCUM(%q) = %v (%s), want %v", tc.code, got.Outcome, got.Message, tc.want)
			}
			if tc.want != Member && !strings.Contains(got.Message, "UCUM") {
				t.Errorf("message %q does not say UCUM", got.Message)
			}
		})
	}
}

func TestUCUMHostile(t *testing.T) {
	for _, code := range []string{
		strings.Repeat("(", 5000) + "m" + strings.Repeat(")", 5000),
		strings.Repeat("m.", 100000) + "m",
		strings.Repeat("{", 300),
		"\x00\xff",
	} {
		if got := checkUCUM(code); got.Outcome == Member {
			t.Errorf("hostile input accepted: %.40q", code)
		}
	}
}

func TestBCP47(t *testing.T) {
	cases := []struct {
		tag  string
		want Outcome
	}{
		{"nl", Member},
		{"nl-NL", Member},
		{"en-US", Member},
		{"EN-gb", Member},
		{"fy-NL", Member},
		{"zh-Hant-TW", Member},
		{"sr-Latn-RS", Member},
		{"i-klingon", Member},
		{"x-private", Member},
		{"nl-NL-x-bcbench", Member},
		{"es-419", Member},
		{"en-001", Member},
		{"en-999", Unknown},
		{"nds-NL", Unknown},
		{"sl-rozaj", Unknown},
		{"de-DE-u-co-phonebk", Unknown},
		{"nl_NL", NotMember},
		{"xx", NotMember},
		{"", NotMember},
		{"nl-", NotMember},
		{"toolongsubtag", NotMember},
		{"abcd", NotMember},
		{"nl-NL-u", NotMember},
		{"de-a-xx-a-yy", NotMember},
	}
	for _, tc := range cases {
		t.Run(tc.tag, func(t *testing.T) {
			if got := checkBCP47(tc.tag); got.Outcome != tc.want {
				t.Fatalf("checkBCP47(%q) = %v (%s), want %v", tc.tag, got.Outcome, got.Message, tc.want)
			}
		})
	}
}

func TestMIME(t *testing.T) {
	cases := []struct {
		mime string
		want Outcome
	}{
		{"application/fhir+json", Member},
		{"application/fhir+xml", Member},
		{"text/plain; charset=UTF-8", Member},
		{"image/png", Member},
		{"application/pdf", Member},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", Member},
		{"x-world/x-vrml", Unknown},
		{"pdf", NotMember},
		{"banana/split", NotMember},
		{"text/", NotMember},
		{"/plain", NotMember},
		{"text/pl ain", NotMember},
		{"text/plain; charset", NotMember},
	}
	for _, tc := range cases {
		t.Run(tc.mime, func(t *testing.T) {
			if got := checkMIME(tc.mime); got.Outcome != tc.want {
				t.Fatalf("checkMIME(%q) = %v (%s), want %v", tc.mime, got.Outcome, got.Message, tc.want)
			}
		})
	}
}

func TestISO3166(t *testing.T) {
	cases := []struct {
		code string
		want Outcome
	}{
		{"NL", Member}, {"BE", Member}, {"SS", Member}, {"XX", NotMember}, {"nl", NotMember},
		{"EU", Unknown}, {"NLD", Unknown}, {"528", Unknown}, {"N1", NotMember}, {"", NotMember},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			if got := checkISO3166(tc.code); got.Outcome != tc.want {
				t.Fatalf("checkISO3166(%q) = %v (%s), want %v", tc.code, got.Outcome, got.Message, tc.want)
			}
		})
	}
}

func TestISO6391(t *testing.T) {
	for _, tc := range []struct {
		code string
		want Outcome
	}{{"nl", Member}, {"en", Member}, {"fy", Member}, {"NL", NotMember}, {"xx", NotMember}, {"nld", NotMember}, {"", NotMember}} {
		t.Run(tc.code, func(t *testing.T) {
			if got := checkISO6391(tc.code); got.Outcome != tc.want {
				t.Fatalf("checkISO6391(%q) = %v (%s), want %v", tc.code, got.Outcome, got.Message, tc.want)
			}
		})
	}
}
