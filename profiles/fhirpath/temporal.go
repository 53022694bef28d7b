package fhirpath

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Precisions of partial dates and times.
const (
	precYear = iota + 1
	precMonth
	precDay
	precHour
	precMinute
	precSecond
	precMilli
)

// temporal holds the fields shared by Date, DateTime and Time.
type temporal struct {
	year, month, day     int
	hour, minute, second int
	nano                 int // fraction of the second
	fracDigits           int // digits the fraction was written with
	prec                 int
	tz                   bool // an offset (or Z) was given
	offset               int  // minutes east of UTC
}

// Date is the System.Date type (year, month or day precision).
type Date struct{ t temporal }

// DateTime is the System.DateTime type (year to millisecond precision, optional offset).
type DateTime struct{ t temporal }

// Time is the System.Time type (hour to millisecond precision).
type Time struct{ t temporal }

// TypeInfo implements Value.
func (Date) TypeInfo() TypeInfo { return TypeInfo{"System", "Date"} }

// TypeInfo implements Value.
func (DateTime) TypeInfo() TypeInfo { return TypeInfo{"System", "DateTime"} }

// TypeInfo implements Value.
func (Time) TypeInfo() TypeInfo { return TypeInfo{"System", "Time"} }

func (d Date) String() string     { return d.t.dateString() }
func (d DateTime) String() string { return d.t.dateTimeString() }
func (t Time) String() string     { return t.t.timeString() }

func (t temporal) dateString() string {
	s := fmt.Sprintf("%04d", t.year)
	if t.prec >= precMonth {
		s += fmt.Sprintf("-%02d", t.month)
	}
	if t.prec >= precDay {
		s += fmt.Sprintf("-%02d", t.day)
	}
	return s
}

func (t temporal) timeString() string {
	s := fmt.Sprintf("%02d", t.hour)
	if t.prec >= precMinute {
		s += fmt.Sprintf(":%02d", t.minute)
	}
	if t.prec >= precSecond {
		s += fmt.Sprintf(":%02d", t.second)
	}
	if t.prec >= precMilli {
		digits := t.fracDigits
		if digits < 3 {
			digits = 3
		}
		f := fmt.Sprintf("%09d", t.nano)
		s += "." + f[:min(digits, 9)]
	}
	return s
}

func (t temporal) dateTimeString() string {
	s := t.dateString()
	if t.prec >= precHour {
		s += "T" + t.timeString()
	}
	if t.tz && t.prec >= precHour {
		if t.offset == 0 {
			s += "Z"
		} else {
			sign := '+'
			o := t.offset
			if o < 0 {
				sign = '-'
				o = -o
			}
			s += fmt.Sprintf("%c%02d:%02d", sign, o/60, o%60)
		}
	}
	return s
}

// scanner helpers for date/time text.
func digitsAt(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for k := i; k < i+n; k++ {
		c := s[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseDatePart parses YYYY(-MM(-DD)?)? at the start of s and returns the rest.
func parseDatePart(s string, t *temporal) (string, bool) {
	y, ok := digitsAt(s, 0, 4)
	if !ok {
		return s, false
	}
	t.year, t.prec = y, precYear
	s = s[4:]
	if len(s) >= 3 && s[0] == '-' {
		m, ok := digitsAt(s, 1, 2)
		if !ok || m < 1 || m > 12 {
			return s, false
		}
		t.month, t.prec = m, precMonth
		s = s[3:]
		if len(s) >= 3 && s[0] == '-' {
			d, ok := digitsAt(s, 1, 2)
			if !ok || d < 1 || d > daysIn(t.year, t.month) {
				return s, false
			}
			t.day, t.prec = d, precDay
			s = s[3:]
		}
	}
	return s, true
}

// parseTimePart parses hh(:mm(:ss(.fff)?)?)? at the start of s.
func parseTimePart(s string, t *temporal) (string, bool) {
	h, ok := digitsAt(s, 0, 2)
	if !ok || h > 23 {
		return s, false
	}
	t.hour, t.prec = h, precHour
	s = s[2:]
	if len(s) >= 3 && s[0] == ':' {
		m, ok := digitsAt(s, 1, 2)
		if !ok || m > 59 {
			return s, false
		}
		t.minute, t.prec = m, precMinute
		s = s[3:]
		if len(s) >= 3 && s[0] == ':' {
			sec, ok := digitsAt(s, 1, 2)
			if !ok || sec > 59 {
				return s, false
			}
			t.second, t.prec = sec, precSecond
			s = s[3:]
			if len(s) >= 2 && s[0] == '.' && s[1] >= '0' && s[1] <= '9' {
				i := 1
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				frac := s[1:i]
				t.fracDigits = len(frac)
				f := frac
				if len(f) > 9 {
					f = f[:9]
				}
				for len(f) < 9 {
					f += "0"
				}
				n, _ := digitsAt(f, 0, 9)
				t.nano, t.prec = n, precMilli
				s = s[i:]
			}
		}
	}
	return s, true
}

func parseZone(s string, t *temporal) (string, bool) {
	if s == "" {
		return s, true
	}
	if s[0] == 'Z' {
		t.tz, t.offset = true, 0
		return s[1:], true
	}
	if (s[0] == '+' || s[0] == '-') && len(s) >= 6 && s[3] == ':' {
		h, ok1 := digitsAt(s, 1, 2)
		m, ok2 := digitsAt(s, 4, 2)
		if !ok1 || !ok2 || h > 14 || m > 59 {
			return s, false
		}
		t.tz, t.offset = true, h*60+m
		if s[0] == '-' {
			t.offset = -t.offset
		}
		return s[6:], true
	}
	return s, false
}

func parseDate(s string) (Date, bool) {
	var t temporal
	rest, ok := parseDatePart(s, &t)
	if !ok || rest != "" {
		return Date{}, false
	}
	return Date{t}, true
}

// parseDateTime accepts a partial date-time; a trailing "T" after a date is allowed.
func parseDateTime(s string) (DateTime, bool) {
	var t temporal
	rest, ok := parseDatePart(s, &t)
	if !ok {
		return DateTime{}, false
	}
	if rest == "" {
		return DateTime{t}, true
	}
	if rest[0] != 'T' {
		return DateTime{}, false
	}
	rest = rest[1:]
	if rest == "" {
		return DateTime{t}, true
	}
	if t.prec != precDay {
		return DateTime{}, false
	}
	if rest, ok = parseTimePart(rest, &t); !ok {
		return DateTime{}, false
	}
	if rest, ok = parseZone(rest, &t); !ok || rest != "" {
		return DateTime{}, false
	}
	return DateTime{t}, true
}

func parseTime(s string) (Time, bool) {
	var t temporal
	rest, ok := parseTimePart(s, &t)
	if !ok || rest != "" {
		return Time{}, false
	}
	return Time{t}, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// normalised returns t shifted to UTC when it carries an offset and has at least hour precision.
func (t temporal) normalised() temporal {
	if !t.tz || t.offset == 0 || t.prec < precHour {
		return t
	}
	tm := time.Date(t.year, time.Month(t.month), t.day, t.hour, t.minute, t.second, t.nano, time.UTC)
	tm = tm.Add(-time.Duration(t.offset) * time.Minute)
	out := t
	out.year, out.month, out.day = tm.Year(), int(tm.Month()), tm.Day()
	out.hour, out.minute, out.second = tm.Hour(), tm.Minute(), tm.Second()
	out.offset = 0
	return out
}

// compareTemporal compares a and b field by field. ok is false when the result
// is unknown: they are equal up to the coarser precision but precisions differ.
// Seconds and milliseconds count as one precision.
func compareTemporal(a, b temporal, from int) (c int, ok bool) {
	if a.tz && b.tz {
		a, b = a.normalised(), b.normalised()
	} else if a.tz != b.tz && a.prec >= precHour && b.prec >= precHour {
		// One has an offset and the other not: the instant is unknown.
		return 0, false
	}
	pa, pb := a.prec, b.prec
	if pa == precMilli {
		pa = precSecond
	}
	if pb == precMilli {
		pb = precSecond
	}
	fa := []int{a.year, a.month, a.day, a.hour, a.minute, a.second*1000000000 + a.nano}
	fb := []int{b.year, b.month, b.day, b.hour, b.minute, b.second*1000000000 + b.nano}
	for p := from; p <= precSecond; p++ {
		if p > pa || p > pb {
			if pa == pb {
				return 0, true
			}
			return 0, false
		}
		x, y := fa[p-1], fb[p-1]
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

func fromGoTime(tm time.Time, prec int, tz bool, offset int, fracDigits int) temporal {
	return temporal{
		year: tm.Year(), month: int(tm.Month()), day: tm.Day(),
		hour: tm.Hour(), minute: tm.Minute(), second: tm.Second(), nano: tm.Nanosecond(),
		prec: prec, tz: tz, offset: offset, fracDigits: fracDigits,
	}
}

// addDuration adds amount units (a calendar keyword) to t, honouring its precision.
// It reports false when the unit cannot be applied.
func (t temporal) add(amount Decimal, unit string, isTime bool) (temporal, bool) {
	unit = calendarUnit(unit)
	if unit == "" {
		return t, false
	}
	if isTime && unitPrecOf(unit) < precHour {
		return t, false // a Time has no date to move
	}
	r := amount.rat()
	if unit == "week" {
		r, unit = mulRatInt(r, 7), "day"
	}
	// A unit finer than the value's precision is converted to the coarser
	// unit first (24 hours on a date are a day).
	steps := []struct {
		from, to string
		factor   int64
	}{
		{"millisecond", "second", 1000},
		{"second", "minute", 60},
		{"minute", "hour", 60},
		{"hour", "day", 24},
		{"day", "month", 0},
		{"month", "year", 12},
	}
	for _, st := range steps {
		if unit != st.from || t.prec >= unitPrecOf(st.from) {
			continue
		}
		if st.factor == 0 {
			r = new(big.Rat) // days are no exact number of months: nothing to add
		} else {
			r = quoRatInt(r, st.factor)
		}
		unit = st.to
	}
	// Fractions of the unit are dropped.
	return t.addUnits(truncRat(r), unit, isTime), true
}

func unitPrecOf(u string) int {
	switch u {
	case "year":
		return precYear
	case "month":
		return precMonth
	case "day":
		return precDay
	case "hour":
		return precHour
	case "minute":
		return precMinute
	case "second":
		return precSecond
	}
	return precMilli
}

func (t temporal) addUnits(n int64, unit string, isTime bool) temporal {
	switch unit {
	case "year", "month":
		months := n
		if unit == "year" {
			months *= 12
		}
		total := int64(t.year)*12 + int64(max(t.month, 1)-1) + months
		out := t
		out.year = int(total / 12)
		if t.prec >= precMonth {
			out.month = int(total%12) + 1
		}
		if t.prec >= precDay {
			if d := daysIn(out.year, out.month); out.day > d {
				out.day = d
			}
		}
		return out
	}
	var d time.Duration
	switch unit {
	case "day":
		d = 24 * time.Hour
	case "hour":
		d = time.Hour
	case "minute":
		d = time.Minute
	case "second":
		d = time.Second
	case "millisecond":
		d = time.Millisecond
	}
	base := t
	if isTime {
		base.year, base.month, base.day = 2000, 1, 1
	}
	tm := time.Date(base.year, time.Month(max(base.month, 1)), max(base.day, 1), base.hour, base.minute, base.second, base.nano, time.UTC)
	if unit == "day" {
		tm = tm.AddDate(0, 0, int(n))
	} else {
		tm = tm.Add(time.Duration(n) * d)
	}
	out := t
	if !isTime {
		out.year, out.month, out.day = tm.Year(), int(tm.Month()), tm.Day()
		if t.prec < precMonth {
			out.month = 0
		}
		if t.prec < precDay {
			out.day = 0
		}
	}
	out.hour, out.minute, out.second, out.nano = tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond()
	return out
}

// calendarUnit maps calendar keywords and the UCUM time units to a singular calendar keyword.
func calendarUnit(u string) string {
	switch strings.TrimSuffix(u, "s") {
	case "year", "a":
		return "year"
	case "month", "mo":
		return "month"
	case "week", "wk":
		return "week"
	case "day", "d":
		return "day"
	case "hour", "h":
		return "hour"
	case "minute", "min":
		return "minute"
	case "second", "":
		if u == "s" || strings.HasPrefix(u, "second") {
			return "second"
		}
	case "millisecond", "m":
		if u == "ms" || strings.HasPrefix(u, "millisecond") {
			return "millisecond"
		}
	}
	return ""
}

func mulRatInt(r *big.Rat, m int64) *big.Rat { return new(big.Rat).Mul(r, new(big.Rat).SetInt64(m)) }

func quoRatInt(r *big.Rat, m int64) *big.Rat { return new(big.Rat).Quo(r, new(big.Rat).SetInt64(m)) }

// truncRat truncates towards zero.
func truncRat(r *big.Rat) int64 {
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() {
		return 0
	}
	return q.Int64()
}
