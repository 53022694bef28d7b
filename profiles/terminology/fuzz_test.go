package terminology

import (
	"strings"
	"testing"
)

// The rule-based checkers read untrusted codes: they must never panic, must
// answer with a message whenever they do not say Member, and must be stable.
func fuzzRule(f *testing.F, rule func(string) Result, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		r := rule(code)
		if r.Outcome != Member && r.Message == "" {
			t.Fatalf("%q: %v without a message", code, r.Outcome)
		}
		if again := rule(code); again != r {
			t.Fatalf("%q: unstable answer %v / %v", code, r, again)
		}
	})
}

func FuzzUCUM(f *testing.F) {
	fuzzRule(f, checkUCUM, "mm[Hg]", "10*3/uL", "mL/(24.h)", "{beats}/min", "/min", "kg.m-2", "[in_i'H2O]", "fmm[Hg]", "((m", "{", "[", "m{")
}

func FuzzBCP47(f *testing.F) {
	fuzzRule(f, checkBCP47, "nl-NL", "zh-Hant-TW", "de-DE-u-co-phonebk", "x-a", "i-klingon", "en-a-bbb-x-y", "-", "")
}

func FuzzMIME(f *testing.F) {
	fuzzRule(f, checkMIME, "text/plain; charset=UTF-8", "application/fhir+json", "a/b;c=\"d e\"", "/", ";")
}

func FuzzISO3166(f *testing.F) {
	fuzzRule(f, checkISO3166, "NL", "NLD", "528", strings.Repeat("A", 3))
}
