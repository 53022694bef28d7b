package fhirstore

import (
	"strings"
	"time"

	"github.com/bcbench/bcbench/profiles/fhirpath"
)

// MP9's TimeInterval extensions (the period of use of a building block).
const (
	extPeriod   = "http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Period"
	extDuration = "http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Duration"
)

// periodOfUse implements MP9's special search parameter period-of-use: a
// date search on the period in ext-TimeInterval.Period (MedicationRequest,
// MedicationDispense) or MedicationStatement.effectivePeriod, with a
// missing end computed from ext-TimeInterval.Duration. Every value (the
// repeated parameter is an AND) must hold.
func periodOfUse(res map[string]any, values []string) (bool, error) {
	var periods []map[string]any
	if p, ok := res["effectivePeriod"].(map[string]any); ok {
		periods = append(periods, p)
	}
	for _, e := range asList(res["extension"]) {
		if str(e, "url") == extPeriod {
			if p, ok := e["valuePeriod"].(map[string]any); ok {
				periods = append(periods, p)
			}
		}
	}
	for _, p := range periods {
		lo, hi, ok := rangeOf(p)
		if !ok {
			continue
		}
		all := true
		for _, v := range values {
			if !compareDate(lo, hi, v) {
				all = false
				break
			}
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

// durationOf reads ext-TimeInterval.Duration on a Period and returns the
// function that adds it to a start.
func durationOf(period map[string]any) (func(time.Time) time.Time, bool) {
	for _, e := range append(asList(period["modifierExtension"]), asList(period["extension"])...) {
		if str(e, "url") != extDuration {
			continue
		}
		q, ok := e["valueDuration"].(map[string]any)
		if !ok {
			return nil, false
		}
		d, ok := fhirpath.ParseDecimal(str(q, "value"))
		if !ok {
			return nil, false
		}
		n := d.Float64()
		unit := str(q, "code")
		if unit == "" {
			unit = str(q, "unit")
		}
		switch strings.TrimSpace(unit) {
		case "a", "year", "jaar":
			return func(t time.Time) time.Time { return t.AddDate(int(n), 0, 0) }, true
		case "mo", "month", "maand":
			return func(t time.Time) time.Time { return t.AddDate(0, int(n), 0) }, true
		case "wk", "week":
			return func(t time.Time) time.Time { return t.AddDate(0, 0, int(7*n)) }, true
		case "d", "day", "dag":
			return func(t time.Time) time.Time { return t.AddDate(0, 0, int(n)) }, true
		case "h", "hour", "uur":
			return func(t time.Time) time.Time { return t.Add(time.Duration(n * float64(time.Hour))) }, true
		case "min", "minute":
			return func(t time.Time) time.Time { return t.Add(time.Duration(n * float64(time.Minute))) }, true
		}
	}
	return nil, false
}

func asList(v any) []map[string]any {
	var out []map[string]any
	switch x := v.(type) {
	case []any:
		for _, i := range x {
			if m, ok := i.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, x)
	}
	return out
}
