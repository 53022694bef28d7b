package fact

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Clinical is one fact of a FHIR resource as the translator checks compare
// it: what was observed (code), what it was (value, unit), when (date), about
// whom (subject) and under which profile. Ids, texts and bytes are not part of
// it; two translations of the same data carry the same Clinical facts.
type Clinical struct {
	Profile string // the claimed profiles, e.g. zib-BloodPressure or bc-Woman+nl-core-patient
	Code    string // system|code of the first coding (the observed concept)
	Value   string // normalised: a decimal, system|code, a date, true/false, a text, or nullFlavor:UNK
	Unit    string // UCUM code of a quantity
	Date    string // effective, onset or performed moment (start of a period)
	Subject string // who it is about: the Patient's birth date (or the reference's display)
	// Resource is the resource it came from ("Observation/<id>"), for the
	// listing of differences; it is not compared.
	Resource string
}

// Key is the fact without its resource: what two sides must share.
func (c Clinical) Key() string {
	return strings.Join([]string{c.Profile, c.Code, c.Value, c.Unit, c.Date, c.Subject}, " ¦ ")
}

func (c Clinical) String() string {
	s := fmt.Sprintf("%s %s = %s", c.Profile, c.Code, c.Value)
	if c.Unit != "" {
		s += " " + c.Unit
	}
	if c.Date != "" {
		s += " @" + c.Date
	}
	return s + " (" + c.Subject + ")"
}

// ClinicalKinds are the resource types whose facts are compared; the
// administrative ones (Encounter, EpisodeOfCare, Organization, Practitioner
// …) carry context, not facts, and are counted apart.
var ClinicalKinds = []string{"Observation", "Condition", "Procedure", "Patient"}

// ClinicalFacts extracts the facts of a set of resources (a Bundle's
// entries). A Patient contributes her birth date and gender; an Observation
// its value and one fact per component; a Condition and a Procedure their
// code. References are resolved within the set to name the subject.
func ClinicalFacts(resources []map[string]any) []Clinical {
	subjects := map[string]string{}
	for _, r := range resources {
		if str(r["resourceType"]) == "Patient" {
			subjects["Patient/"+str(r["id"])] = personName(r)
		}
	}
	subjectOf := func(r map[string]any) string {
		for _, f := range []string{"subject", "patient"} {
			ref := asMap(r[f])
			if ref == nil {
				continue
			}
			s := str(ref["reference"])
			if n, ok := subjects[s]; ok {
				return n
			}
			if i := strings.LastIndex(s, "Patient/"); i >= 0 {
				if n, ok := subjects[s[i:]]; ok {
					return n
				}
			}
			if d := str(ref["display"]); d != "" {
				return d
			}
			return s
		}
		return ""
	}
	var out []Clinical
	for _, r := range resources {
		typ := str(r["resourceType"])
		base := Clinical{Profile: profileName(r), Resource: typ + "/" + str(r["id"])}
		switch typ {
		case "Patient":
			base.Subject = personName(r)
			if d := str(r["birthDate"]); d != "" {
				c := base
				c.Code, c.Value = "birthDate", d
				out = append(out, c)
			}
			if g := str(r["gender"]); g != "" {
				c := base
				c.Code, c.Value = "gender", g
				out = append(out, c)
			}
		case "Observation":
			base.Subject = subjectOf(r)
			base.Code = firstCode(r["code"])
			base.Date = momentOf(r, "effective")
			c := base
			c.Value, c.Unit = valueOf(r)
			if c.Value != "" || r["component"] == nil {
				out = append(out, c)
			}
			for _, comp := range list(r["component"]) {
				cm := asMap(comp)
				c := base
				c.Code = base.Code + ">" + firstCode(cm["code"])
				c.Value, c.Unit = valueOf(cm)
				out = append(out, c)
			}
		case "Condition":
			base.Subject = subjectOf(r)
			base.Code = firstCode(r["code"])
			base.Date = momentOf(r, "onset")
			out = append(out, base)
		case "Procedure":
			base.Subject = subjectOf(r)
			base.Code = firstCode(r["code"])
			base.Date = momentOf(r, "performed")
			out = append(out, base)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Match pairs two sets of facts (a translator's and a reference
// instance's). Same counts the facts both carry; Missing those only the
// reference carries; Extra those only the translator carries.
type Match struct {
	Same, Missing, Extra []Clinical
}

// Share is the agreement as a fraction: facts in common over the union.
func (a Match) Share() float64 {
	n := len(a.Same) + len(a.Missing) + len(a.Extra)
	if n == 0 {
		return 1
	}
	return float64(len(a.Same)) / float64(n)
}

// Agree pairs got with want as multisets of keys: every fact pairs at most once.
func Agree(got, want []Clinical) Match {
	pool := map[string][]Clinical{}
	for _, c := range got {
		pool[c.Key()] = append(pool[c.Key()], c)
	}
	var a Match
	for _, w := range want {
		k := w.Key()
		if len(pool[k]) > 0 {
			a.Same = append(a.Same, w)
			pool[k] = pool[k][1:]
			continue
		}
		a.Missing = append(a.Missing, w)
	}
	for _, c := range got {
		if rest := pool[c.Key()]; len(rest) > 0 && rest[0] == c {
			a.Extra = append(a.Extra, c)
			pool[c.Key()] = rest[1:]
		}
	}
	return a
}

// profileName is the set of profiles a resource claims, sorted and joined
// by "+", without nl-core-observation: every STU3 birth-care and zib
// observation profile derives from it, so claiming it too says nothing
// more (and the order of meta.profile carries no meaning).
func profileName(r map[string]any) string {
	var names []string
	for _, p := range list(asMap(r["meta"])["profile"]) {
		s := str(p)
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			s = s[i+1:]
		}
		if s != "nl-core-observation" {
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		return str(r["resourceType"])
	}
	sort.Strings(names)
	return strings.Join(slices.Compact(names), "+")
}

// personName names a person by what a translation cannot spell
// differently: her birth date (names are assembled in many ways; gender is
// a fact of its own).
func personName(r map[string]any) string {
	if d := str(r["birthDate"]); d != "" {
		return "geboren " + d
	}
	return "Patient/" + str(r["id"])
}

func firstCode(v any) string {
	cs := codings(v)
	if len(cs) == 0 {
		if t := str(asMap(v)["text"]); t != "" {
			return "text:" + t
		}
		return ""
	}
	return str(cs[0]["system"]) + "|" + str(cs[0]["code"])
}

// momentOf is the date of a [x] element: a dateTime, a period's start, or
// the null-flavour it carries.
func momentOf(r map[string]any, prefix string) string {
	if s := str(r[prefix+"DateTime"]); s != "" {
		return s
	}
	if p := asMap(r[prefix+"Period"]); p != nil {
		return str(p["start"])
	}
	if nf := nullFlavor(asMap(r["_"+prefix+"DateTime"])); nf != "" {
		return "nullFlavor:" + nf
	}
	return ""
}

func nullFlavor(m map[string]any) string {
	for _, e := range list(m["extension"]) {
		em := asMap(e)
		if strings.HasSuffix(str(em["url"]), "iso21090-nullFlavor") {
			return str(em["valueCode"])
		}
	}
	return ""
}

// valueOf normalises a value[x] (and its unit); a decimal keeps its value,
// not its spelling ("3.0" = "3").
func valueOf(r map[string]any) (value, unit string) {
	switch {
	case r["valueQuantity"] != nil:
		q := asMap(r["valueQuantity"])
		u := str(q["code"])
		if u == "" {
			u = str(q["unit"])
		}
		return decimal(q["value"]), u
	case r["valueCodeableConcept"] != nil:
		c := firstCode(r["valueCodeableConcept"])
		if nf := nullFlavorCode(r["valueCodeableConcept"]); nf != "" {
			return "nullFlavor:" + nf, ""
		}
		return c, ""
	case r["valueBoolean"] != nil:
		return fmt.Sprint(r["valueBoolean"]), ""
	case r["valueInteger"] != nil:
		return decimal(r["valueInteger"]), ""
	case r["valueDateTime"] != nil:
		return str(r["valueDateTime"]), ""
	case r["valueString"] != nil:
		return str(r["valueString"]), ""
	case r["valueRatio"] != nil:
		rt := asMap(r["valueRatio"])
		return decimal(asMap(rt["numerator"])["value"]) + "/" + decimal(asMap(rt["denominator"])["value"]), ""
	}
	if nf := nullFlavor(asMap(r["_valueDateTime"])); nf != "" {
		return "nullFlavor:" + nf, ""
	}
	if dar := asMap(r["dataAbsentReason"]); dar != nil {
		// the code, not the system: STU3 and R4 name the system differently
		cs := codings(dar)
		if len(cs) > 0 {
			return "absent:" + str(cs[0]["code"]), ""
		}
		return "absent:", ""
	}
	return "", ""
}

// nullFlavorCode says which null-flavour a coded value is, if it is one.
func nullFlavorCode(v any) string {
	for _, c := range codings(v) {
		if strings.HasSuffix(str(c["system"]), "NullFlavor") {
			return str(c["code"])
		}
	}
	return ""
}

func decimal(v any) string {
	if s, ok := v.(json.Number); ok {
		v = json.Number(strings.TrimSpace(string(s)))
	}
	r, ok := number(v)
	if !ok {
		return show(v)
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f := r.FloatString(6)
	f = strings.TrimRight(f, "0")
	return strings.TrimSuffix(f, ".")
}
