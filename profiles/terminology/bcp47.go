package terminology

import (
	"fmt"
	"strings"
)

// ISO 639-1 two-letter language codes, plus the deprecated ones the IANA
// language subtag registry still lists (in iw ji jw mo sh). The registry's
// two-letter language subtags are exactly these, so an unknown two-letter
// language is not a valid tag.
const iso6391 = `aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co
cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc
oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
in iw ji jw mo sh`

// ISO 3166-1 alpha-2 country codes (officially assigned).
const iso3166 = `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX
MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL
TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`

// UN M.49 area codes the IANA registry lists as region subtags.
const unM49Regions = `001 002 003 005 009 011 013 014 015 017 018 019 021 029 030 034 035 039 053 054 057 061
142 143 145 150 151 154 155 202 419`

// A few common ISO 15924 scripts; others are Unknown.
const iso15924 = `Latn Cyrl Arab Grek Hebr Hans Hant Deva Jpan Kore Thai Armn Geor Beng Taml Ethi Hira Kana Hang`

// Tags registered whole (grandfathered / redundant); they are valid.
const bcp47Whole = `en-GB-oed i-ami i-bnn i-default i-enochian i-hak i-klingon i-lux i-mingo i-navajo i-pwn
i-tao i-tay i-tsu sgn-BE-FR sgn-BE-NL sgn-CH-DE art-lojban cel-gaulish no-bok no-nyn zh-guoyu
zh-hakka zh-min zh-min-nan zh-xiang`

var (
	bcpLanguages = set(strings.Fields(iso6391), strings.ToLower)
	bcpRegions   = set(strings.Fields(iso3166), strings.ToLower)
	bcpScripts   = set(strings.Fields(iso15924), strings.ToLower)
	bcpM49       = set(strings.Fields(unM49Regions), strings.ToLower)
	bcpWhole     = set(strings.Fields(bcp47Whole), strings.ToLower)
)

func set(list []string, norm func(string) string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[norm(s)] = true
	}
	return m
}

// checkBCP47 checks a language tag against the RFC 5646 syntax. A well-formed
// tag is Member when its language is an ISO 639-1 code, its region (if any) an
// ISO 3166-1 code or a UN M.49 area the registry lists, and its script (if
// any) a common script; a well-formed tag with other subtags (three-letter
// languages, variants, extensions, other regions) is Unknown, because the
// IANA registry is not available offline.
func checkBCP47(code string) Result {
	bad := func(why string) Result {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("%q is not a valid BCP-47 language tag: %s", code, why)}
	}
	if code == "" {
		return bad("empty")
	}
	if len(code) > 256 {
		return bad("longer than 256 characters")
	}
	lower := strings.ToLower(code)
	if bcpWhole[lower] {
		return Result{Outcome: Member}
	}
	subtags := strings.Split(lower, "-")
	for _, st := range subtags {
		if st == "" || len(st) > 8 || !isAlnum(st) {
			return bad(fmt.Sprintf("subtag %q is not 1 to 8 letters or digits", st))
		}
	}
	var unchecked []string
	i := 0
	if subtags[0] == "x" { // private use only
		if len(subtags) < 2 {
			return bad("private use tag without subtags")
		}
		return Result{Outcome: Member, Message: "private-use language tag"}
	}
	lang := subtags[0]
	switch {
	case !isAlpha(lang) || len(lang) < 2:
		return bad(fmt.Sprintf("language %q must be 2 to 8 letters", lang))
	case len(lang) == 2:
		if !bcpLanguages[lang] {
			return bad(fmt.Sprintf("language %q is not an ISO 639-1 code", lang))
		}
	case len(lang) == 4:
		return bad(fmt.Sprintf("language %q: four-letter language subtags are reserved", lang))
	default:
		unchecked = append(unchecked, "language "+lang)
	}
	i = 1
	// extlang: up to three 3-letter subtags after a 2-3 letter language.
	for n := 0; n < 3 && i < len(subtags) && len(lang) <= 3 && len(subtags[i]) == 3 && isAlpha(subtags[i]); n++ {
		unchecked = append(unchecked, "extlang "+subtags[i])
		i++
	}
	if i < len(subtags) && len(subtags[i]) == 4 && isAlpha(subtags[i]) {
		if !bcpScripts[subtags[i]] {
			unchecked = append(unchecked, "script "+subtags[i])
		}
		i++
	}
	if i < len(subtags) {
		st := subtags[i]
		switch {
		case len(st) == 2 && isAlpha(st):
			if !bcpRegions[st] {
				unchecked = append(unchecked, "region "+st)
			}
			i++
		case len(st) == 3 && isDigits(st):
			if !bcpM49[st] {
				unchecked = append(unchecked, "region "+st)
			}
			i++
		}
	}
	seenVariant := map[string]bool{}
	for i < len(subtags) {
		st := subtags[i]
		if (len(st) >= 5) || (len(st) == 4 && st[0] >= '0' && st[0] <= '9') {
			if seenVariant[st] {
				return bad(fmt.Sprintf("variant %q repeated", st))
			}
			seenVariant[st] = true
			unchecked = append(unchecked, "variant "+st)
			i++
			continue
		}
		break
	}
	seenExt := map[string]bool{}
	for i < len(subtags) {
		st := subtags[i]
		if len(st) != 1 {
			return bad(fmt.Sprintf("subtag %q is out of place", st))
		}
		if st == "x" {
			if i+1 >= len(subtags) {
				return bad("private use singleton without subtags")
			}
			break
		}
		if seenExt[st] {
			return bad(fmt.Sprintf("extension %q repeated", st))
		}
		seenExt[st] = true
		i++
		n := 0
		for i < len(subtags) && len(subtags[i]) >= 2 {
			n++
			i++
		}
		if n == 0 {
			return bad(fmt.Sprintf("extension %q without subtags", st))
		}
		unchecked = append(unchecked, "extension "+st)
	}
	if len(unchecked) > 0 {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("language tag %q is well formed, but its %s could not be checked (bcbench knows ISO 639-1 languages, ISO 3166-1 regions and common scripts; the IANA registry is not available offline)", code, strings.Join(unchecked, ", "))}
	}
	return Result{Outcome: Member}
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
