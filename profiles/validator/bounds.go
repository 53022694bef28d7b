package validator

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/outcome"
)

// bounds checks minValue[x], maxValue[x] and the minLength extension.
func (r *run) bounds(v any, code string, e *elem, path string) {
	if e.minLength > 0 {
		if s, ok := v.(string); ok && utf8.RuneCountInString(s) < e.minLength {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: value is shorter than the minimum length %d (%s)", e.path, e.minLength, label(e))
		}
	}
	if e.minValue == nil && e.maxValue == nil {
		return
	}
	if s, ok := v.(string); ok {
		// A Duration bound on a date or time is relative to now: at least
		// now minus minValue, at most now plus maxValue.
		if d, ok := e.minValue.(map[string]any); ok {
			if c, ok := compareRelative(s, d, -1); ok && c < 0 {
				r.issue(outcome.Error, outcome.CodeValue, path, "%s: value %s is earlier than the minimum, %s before now (%s)", e.path, s, showDuration(d), label(e))
			}
		}
		if d, ok := e.maxValue.(map[string]any); ok {
			if c, ok := compareRelative(s, d, 1); ok && c > 0 {
				r.issue(outcome.Error, outcome.CodeValue, path, "%s: value %s is later than the maximum, %s after now (%s)", e.path, s, showDuration(d), label(e))
			}
		}
	}
	if e.minValue != nil {
		if c, ok := compareBound(v, e.minValue); ok && c < 0 {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: value %s is less than the minimum %s (%s)", e.path, show(v), show(e.minValue), label(e))
		}
	}
	if e.maxValue != nil {
		if c, ok := compareBound(v, e.maxValue); ok && c > 0 {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: value %s is greater than the maximum %s (%s)", e.path, show(v), show(e.maxValue), label(e))
		}
	}
}

// compareBound compares a value with a bound of the same kind: numbers,
// date/time strings of the same precision, or Quantities with the same unit
// code. ok is false when they cannot be compared.
func compareBound(v, bound any) (int, bool) {
	switch b := bound.(type) {
	case json.Number:
		x, ok1 := new(big.Rat).SetString(numText(v))
		y, ok2 := new(big.Rat).SetString(string(b))
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case string:
		s, ok := v.(string)
		if !ok || len(s) < 4 || len(b) < 4 {
			return 0, false
		}
		n := min(len(s), len(b))
		return strings.Compare(s[:n], b[:n]), true
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok || str(m, "system") != str(b, "system") {
			return 0, false
		}
		if str(m, "code") == str(b, "code") {
			return compareBound(m["value"], b["value"])
		}
		if str(m, "system") != "http://unitsofmeasure.org" {
			return 0, false
		}
		return fhirpath.CompareUCUM(numText(m["value"]), str(m, "code"), numText(b["value"]), str(b, "code"))
	}
	return 0, false
}

// compareRelative compares a date, dateTime or instant with now shifted by
// the Duration d (sign -1: back, +1: forward), at the precision of the day
// or coarser when the value is coarser. ok is false when they cannot be
// compared (not a date, a unit that is not a calendar or clock unit).
func compareRelative(s string, d map[string]any, sign int) (int, bool) {
	if len(s) < 4 || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	f, err := strconv.ParseFloat(numText(d["value"]), 64)
	if err != nil || str(d, "system") != "" && str(d, "system") != "http://unitsofmeasure.org" {
		return 0, false
	}
	unit := str(d, "code")
	if unit == "" {
		unit = str(d, "unit")
	}
	now := time.Now().UTC()
	n := int(f) * sign
	var at time.Time
	switch unit {
	case "a":
		at = now.AddDate(n, 0, 0)
	case "mo":
		at = now.AddDate(0, n, 0)
	case "wk":
		at = now.AddDate(0, 0, 7*n)
	case "d":
		at = now.AddDate(0, 0, n)
	case "h":
		at = now.Add(time.Duration(float64(sign) * f * float64(time.Hour)))
	case "min":
		at = now.Add(time.Duration(float64(sign) * f * float64(time.Minute)))
	case "s":
		at = now.Add(time.Duration(float64(sign) * f * float64(time.Second)))
	default:
		return 0, false
	}
	ref := at.Format("2006-01-02")
	k := min(len(s), len(ref))
	return strings.Compare(s[:k], ref[:k]), true
}

func showDuration(d map[string]any) string {
	u := str(d, "unit")
	if u == "" {
		u = str(d, "code")
	}
	return numText(d["value"]) + " " + u
}

func numText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case string:
		return x
	}
	return ""
}

// attachment checks that a stated size matches the inline data.
func (r *run) attachment(obj map[string]any, path string) {
	data, ok := obj["data"].(string)
	if !ok {
		return
	}
	size, ok := obj["size"].(json.Number)
	if !ok {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		return // reported by the base64Binary check
	}
	if string(size) != itoa(len(raw)) {
		r.issue(outcome.Error, outcome.CodeValue, path+".size", "Attachment.size is %s, but the data is %d bytes", size, len(raw))
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
