package translator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Canonical URLs of the profiles the translator claims.
const (
	nictizSD = "http://nictiz.nl/fhir/StructureDefinition/"
	nlCoreSD = "http://fhir.nl/fhir/StructureDefinition/"
	snomed   = "http://snomed.info/sct"
	loinc    = "http://loinc.org"
	ucum     = "http://unitsofmeasure.org"
	bsnOID   = "2.16.840.1.113883.2.4.6.3"
	bsnURI   = "http://fhir.nl/fhir/NamingSystem/bsn"
)

// codeSystems turns the OIDs of the code systems FHIR names by URI into
// that URI (EXCHANGE.md §A.6-5); every other OID becomes urn:oid:.
var codeSystems = map[string]string{
	"2.16.840.1.113883.6.96":   snomed,
	"2.16.840.1.113883.6.1":    loinc,
	"2.16.840.1.113883.5.1008": "http://hl7.org/fhir/v3/NullFlavor",
	"2.16.840.1.113883.5.4":    "http://hl7.org/fhir/v3/ActCode",
	"2.16.840.1.113883.5.1":    "http://hl7.org/fhir/v3/AdministrativeGender",
	"2.16.840.1.113883.6.8":    ucum,
}

// SystemURI is the FHIR system of a code system OID.
func SystemURI(oid string) string {
	if u, ok := codeSystems[oid]; ok {
		return u
	}
	if oid == "" {
		return ""
	}
	return "urn:oid:" + oid
}

// SystemOID is the inverse of SystemURI.
func SystemOID(uri string) string {
	for oid, u := range codeSystems {
		if u == uri {
			return oid
		}
	}
	return strings.TrimPrefix(uri, "urn:oid:")
}

// coding is the FHIR Coding of an ADA coded element, nil when it has no code.
func coding(n *Node) map[string]any {
	if n == nil || n.Get("code") == "" {
		return nil
	}
	c := map[string]any{"system": SystemURI(n.Get("codeSystem")), "code": n.Get("code")}
	if d := n.Get("displayName"); d != "" {
		c["display"] = d
	}
	return c
}

func concept(c map[string]any) map[string]any {
	return map[string]any{"coding": []any{c}}
}

func code(system, c string) map[string]any {
	return concept(map[string]any{"system": system, "code": c})
}

var relative = regexp.MustCompile(`^T([+-]\d+)D(?:\{(\d{2}):(\d{2})(?::(\d{2}))?\})?$`)

// Amsterdam is the zone of an ADA date-time without an offset.
var Amsterdam = func() *time.Location {
	l, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return l
}()

// fhirDate turns an ADA date or date-time into FHIR: a relative date T-6D
// into Nictiz's ${DATE, T, D, -6} (with a time of day and the +02:00 offset
// Nictiz's instances write), a local date-time into one with the Amsterdam
// offset of that moment, a date as it is.
func fhirDate(v string) string {
	if m := relative.FindStringSubmatch(v); m != nil {
		off := m[1]
		if !strings.HasPrefix(off, "-") && !strings.HasPrefix(off, "+") {
			off = "+" + off
		}
		s := "${DATE, T, D, " + off + "}"
		if m[2] != "" {
			sec := m[4]
			if sec == "" {
				sec = "00"
			}
			s += "T" + m[2] + ":" + m[3] + ":" + sec + "+02:00"
		}
		return s
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.In(Amsterdam).Format(time.RFC3339)
	}
	if len(v) == len("2006-01-02T15:04:05") {
		if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, Amsterdam); err == nil {
			// The hour the clocks go back happens twice; a local time in
			// it is read as the first (summer time), as it was written.
			if e := t.Add(-time.Hour); e.Format("2006-01-02T15:04:05") == v {
				t = e
			}
			return t.Format(time.RFC3339)
		}
	}
	return v
}

// birthDate is a FHIR date of an ADA birth date (some PWD 2.2 instances
// write it as a local midnight date-time).
func birthDate(v string) string {
	if !relative.MatchString(v) && len(v) > 10 && strings.HasSuffix(v, "T00:00:00") {
		return v[:10]
	}
	return fhirDate(v)
}

// adaDate is the inverse of fhirDate (direction D).
var nictizDate = regexp.MustCompile(`^\$\{DATE, T, D, ([+-]\d+)\}(?:T(\d{2}):(\d{2}):(\d{2})[+-]\d{2}:\d{2})?$`)

func adaDate(v string) string {
	if m := nictizDate.FindStringSubmatch(v); m != nil {
		s := "T" + m[1] + "D"
		if m[2] != "" {
			s += "{" + m[2] + ":" + m[3] + ":" + m[4] + "}"
		}
		return s
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		t = t.In(Amsterdam)
		local := t.Format("2006-01-02T15:04:05")
		for _, d := range []time.Duration{-time.Hour, time.Hour} {
			if t.Add(d).Format("2006-01-02T15:04:05") == local {
				return t.Format(time.RFC3339) // the hour that happens twice keeps its offset
			}
		}
		return local
	}
	return v
}

func isDate(v string) bool {
	if relative.MatchString(v) {
		return true
	}
	_, err := time.Parse("2006-01-02", firstN(v, 10))
	return err == nil && (len(v) == 10 || (len(v) > 10 && v[10] == 'T'))
}

func firstN(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

// absent is the dataAbsentReason for an ADA nullFlavor.
func absent(nf string) map[string]any {
	c := map[string]string{"NA": "not-applicable", "ASKU": "asked", "NASK": "not-asked", "MSK": "masked", "NAV": "temp", "NI": "unknown"}[nf]
	if c == "" {
		c = "unknown"
	}
	return code("http://hl7.org/fhir/data-absent-reason", c)
}

// setValue puts an ADA value element's value into m as value[x] (prefix
// "value"): a code, a quantity, a boolean, a date, a number, a text, or the
// null-flavour it carries (never turned into a value).
func setValue(m map[string]any, n *Node, unit string) bool {
	if n == nil {
		return false
	}
	if nf := n.Get("nullFlavor"); nf != "" {
		m["dataAbsentReason"] = absent(nf)
		return true
	}
	if n.Get("codeSystem") == "2.16.840.1.113883.5.1008" && n.Get("code") != "OTH" {
		m["dataAbsentReason"] = absent(n.Get("code"))
		return true
	}
	if c := coding(n); c != nil {
		m["valueCodeableConcept"] = concept(c)
		return true
	}
	v := n.Get("value")
	if v == "" {
		return false
	}
	if u := n.Get("unit"); u != "" || unit != "" {
		if u == "" {
			u = unit
		}
		if strings.Contains(u, " ") {
			u = "{" + u + "}" // free text is a UCUM annotation
		}
		m["valueQuantity"] = quantity(v, u)
		return true
	}
	switch {
	case v == "true" || v == "false":
		m["valueBoolean"] = v == "true"
	case n.Get("datatype") == "datetime" || isDate(v):
		m["valueDateTime"] = fhirDate(v)
	case isInt(v):
		i, _ := strconv.Atoi(v)
		m["valueInteger"] = i
	default:
		m["valueString"] = v
	}
	return true
}

func isInt(v string) bool {
	_, err := strconv.Atoi(v)
	return err == nil
}

func quantity(v, u string) map[string]any {
	q := map[string]any{"value": number(v)}
	if u != "" {
		q["unit"], q["system"], q["code"] = u, ucum, u
	}
	return q
}

// number keeps a decimal exactly as written (json.Number semantics).
func number(v string) any {
	v = strings.TrimSpace(v)
	if i, err := strconv.Atoi(v); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	return v
}

func ref(typ, id string) map[string]any {
	return map[string]any{"reference": typ + "/" + id}
}

func profileMeta(p string) map[string]any {
	if !strings.Contains(p, "/") {
		if strings.HasPrefix(p, "nl-core-") {
			p = nlCoreSD + p
		} else {
			p = nictizSD + p
		}
	}
	return map[string]any{"profile": []any{p}}
}

// newID is a stable id for the n-th resource of a translation.
func newID(prefix string, n int) string { return fmt.Sprintf("%s-%d", prefix, n) }
