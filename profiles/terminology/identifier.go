package terminology

import (
	"fmt"
	"strings"
)

// SNOMED CT and LOINC content is not in the packages, but their identifiers
// carry check digits. A code that fails them cannot be a code of the system,
// whatever the ValueSet says by filter; a code that passes is still Unknown.
const (
	systemSNOMED = "http://snomed.info/sct"
	systemLOINC  = "http://loinc.org"
)

// badIdentifier returns a message when code cannot be a code of system.
func badIdentifier(system, code string) (string, bool) {
	switch system {
	case systemSNOMED:
		return badSCTID(code)
	case systemLOINC:
		return badLOINC(code)
	}
	return "", false
}

// badSCTID checks a SNOMED CT concept identifier: 6 to 18 digits, no leading
// zero, partition 00 or 10 (a concept, not a description or relationship),
// and a valid Verhoeff check digit. Codes with other characters may be
// postcoordinated expressions; they are not judged here.
func badSCTID(code string) (string, bool) {
	if code == "" || !isDigits(code) {
		return "", false
	}
	switch {
	case len(code) < 6 || len(code) > 18:
		return fmt.Sprintf("%q is not a SNOMED CT concept identifier (6 to 18 digits)", code), true
	case code[0] == '0':
		return fmt.Sprintf("%q is not a SNOMED CT concept identifier (leading zero)", code), true
	}
	if part := code[len(code)-3 : len(code)-1]; part != "00" && part != "10" {
		what := "not a concept"
		switch part[1] {
		case '1':
			what = "a description identifier"
		case '2':
			what = "a relationship identifier"
		}
		return fmt.Sprintf("%q is not a SNOMED CT concept identifier: its partition %s makes it %s", code, part, what), true
	}
	if !verhoeff(code) {
		return fmt.Sprintf("%q is not a SNOMED CT identifier: its check digit is wrong", code), true
	}
	return "", false
}

var verhoeffD = [10][10]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
	{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
	{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

var verhoeffP = [8][10]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
	{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
	{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

// verhoeff reports whether a digit string ends in a valid Verhoeff check
// digit.
func verhoeff(digits string) bool {
	var c byte
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i] - '0'
		c = verhoeffD[c][verhoeffP[i%8][d]]
	}
	return c == 0
}

// badLOINC checks the form of a LOINC code: a term code "digits-check digit"
// with the LOINC mod 10 check digit, or a part / answer / group code (LP,
// LA, LG, LL followed by digits, "-" and a digit).
func badLOINC(code string) (string, bool) {
	num, check, ok := strings.Cut(code, "-")
	if !ok || len(check) != 1 || !isDigits(check) {
		return fmt.Sprintf("%q is not a LOINC code (digits, \"-\", check digit)", code), true
	}
	// Part, answer, group and answer-list codes (LP, LA, LG, LL) do not use
	// the term check digit (none of the 140 such codes in the corpus does),
	// so only their form is checked.
	prefixed := false
	if len(num) > 2 && num[0] == 'L' && strings.Contains("PAGL", num[1:2]) {
		num, prefixed = num[2:], true
	}
	if num == "" || len(num) > 10 || !isDigits(num) {
		return fmt.Sprintf("%q is not a LOINC code (digits, \"-\", check digit)", code), true
	}
	if !prefixed && luhnCheckDigit(num) != check[0]-'0' {
		return fmt.Sprintf("%q is not a LOINC code: its check digit is wrong", code), true
	}
	return "", false
}

// luhnCheckDigit computes the mod 10 check digit LOINC uses.
func luhnCheckDigit(num string) byte {
	sum := 0
	for i := 0; i < len(num); i++ {
		d := int(num[len(num)-1-i] - '0')
		if i%2 == 0 { // odd positions counting from the right are doubled
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte((10 - sum%10) % 10)
}
