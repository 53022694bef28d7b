package terminology

import (
	"fmt"
	"strings"
)

// Code systems the service knows by rule rather than from a package.
const (
	// SystemUCUM is the Unified Code for Units of Measure.
	SystemUCUM = "http://unitsofmeasure.org"
	// SystemBCP47 is IETF BCP-47 language tags.
	SystemBCP47 = "urn:ietf:bcp:47"
	// SystemMIME is IETF BCP-13 MIME types.
	SystemMIME = "urn:ietf:bcp:13"
	// SystemISO3166 is ISO 3166 country codes.
	SystemISO3166 = "urn:iso:std:iso:3166"
	// SystemISO6391 is ISO 639-1 two-letter language codes (by OID, as
	// Nictiz uses it).
	SystemISO6391 = "urn:oid:1.0.639.1"
)

// builtinSystem checks codes of a code system by rule.
type builtinSystem struct {
	label string
	rule  func(code string) Result
}

func (b *builtinSystem) name() string             { return b.label }
func (b *builtinSystem) check(code string) Result { return b.rule(code) }

var builtins = map[string]*builtinSystem{
	SystemUCUM:    {label: "UCUM expression syntax and unit table", rule: checkUCUM},
	SystemBCP47:   {label: "BCP-47 tag syntax, ISO 639-1 languages and ISO 3166-1 regions", rule: checkBCP47},
	SystemMIME:    {label: "MIME type syntax and registered top-level types", rule: checkMIME},
	SystemISO3166: {label: "ISO 3166-1 alpha-2 country codes", rule: checkISO3166},
	SystemISO6391: {label: "ISO 639-1 language codes", rule: checkISO6391},
}

// checkISO6391 checks a two-letter ISO 639-1 language code (lower case).
func checkISO6391(code string) Result {
	if len(code) == 2 && isAlpha(code) && bcpLanguages[code] {
		return Result{Outcome: Member}
	}
	return Result{Outcome: NotMember, Message: fmt.Sprintf("%q is not an ISO 639-1 language code (two lower-case letters from ISO 639-1)", code)}
}

// Exceptionally reserved ISO 3166-1 alpha-2 codes: in use, not assigned.
var iso3166Reserved = set(strings.Fields("AC CP DG EA EU EZ FX IC SU TA UK UN"), strings.ToLower)

// checkISO3166 checks a country code: an officially assigned alpha-2 code is
// Member, another two-letter code NotMember; alpha-3 and numeric codes are
// Unknown (bcbench has no table of them).
func checkISO3166(code string) Result {
	switch {
	case len(code) == 2 && isUpper(code):
		l := strings.ToLower(code)
		if bcpRegions[l] {
			return Result{Outcome: Member}
		}
		if iso3166Reserved[l] {
			return Result{Outcome: Unknown, Message: fmt.Sprintf("%q is an exceptionally reserved ISO 3166-1 code, not an assigned one; it could not be checked", code)}
		}
		return Result{Outcome: NotMember, Message: fmt.Sprintf("%q is not an officially assigned ISO 3166-1 alpha-2 country code", code)}
	case len(code) == 3 && (isUpper(code) || isDigits(code)):
		return Result{Outcome: Unknown, Message: fmt.Sprintf("ISO 3166 code %q: bcbench knows only the alpha-2 codes; alpha-3 and numeric codes could not be checked", code)}
	}
	return Result{Outcome: NotMember, Message: fmt.Sprintf("%q is not an ISO 3166-1 country code (two upper-case letters, three upper-case letters or three digits)", code)}
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// builtinFor returns the rule-based checker for a system, or nil.
func builtinFor(system string) *builtinSystem { return builtins[system] }
