package validator

import "testing"

// TestPlainDateFormatAgreesWithTheExpression: where plainDateFormat says a
// value has the date, dateTime or instant format, the R4 regular expression
// says so too — for each case and for every change of one of its bytes to
// any other byte — and the usual shapes are decided without the expression.
func TestPlainDateFormatAgreesWithTheExpression(t *testing.T) {
	for _, tc := range []struct {
		name, code, value string
		plain             bool // decided by plainDateFormat
	}{
		{"date", "date", "2026-12-31", true},
		{"date: year only", "date", "2026", false},
		{"date: year and month", "date", "2026-12", false},
		{"date: year 0000", "date", "0000-01-01", false},
		{"date: month 13", "date", "2026-13-01", false},
		{"date: day 32", "date", "2026-01-32", false},
		{"dateTime: date only", "dateTime", "2026-02-28", true},
		{"dateTime in UTC", "dateTime", "2026-12-31T23:00:00Z", true},
		{"dateTime with an offset", "dateTime", "2026-06-01T08:30:00+02:00", true},
		{"dateTime with a fraction", "dateTime", "2026-06-01T08:30:00.123-05:00", true},
		{"dateTime: leap second", "dateTime", "2016-12-31T23:59:60Z", true},
		{"dateTime: offset +14:00", "dateTime", "2026-06-01T08:30:00+14:00", true},
		{"dateTime: offset +14:30", "dateTime", "2026-06-01T08:30:00+14:30", false},
		{"dateTime: hour 24", "dateTime", "2026-06-01T24:00:00Z", false},
		{"dateTime: no zone", "dateTime", "2026-06-01T08:30:00", false},
		{"dateTime: empty fraction", "dateTime", "2026-06-01T08:30:00.Z", false},
		{"dateTime: minutes only", "dateTime", "2026-06-01T08:30Z", false},
		{"instant", "instant", "2026-06-01T08:30:00.5Z", true},
		{"instant: date only", "instant", "2026-06-01", false},
		{"time is not a date format", "time", "08:30:00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := formats[tc.code]
			if got := plainDateFormat(tc.value, tc.code); got != tc.plain {
				t.Fatalf("plainDateFormat(%q, %s) = %v, want %v", tc.value, tc.code, got, tc.plain)
			}
			if tc.plain && !re.MatchString(tc.value) {
				t.Fatalf("%q: plainDateFormat accepts what the %s expression refuses", tc.value, tc.code)
			}
			if re == nil {
				return
			}
			for i := 0; i <= len(tc.value); i++ {
				for c := 0; c < 256; c++ {
					for _, v := range []string{
						tc.value[:i] + string(rune(c)) + tc.value[min(i+1, len(tc.value)):], // one byte changed
						tc.value[:i] + string(rune(c)) + tc.value[i:],                       // one byte added
						tc.value[:i] + tc.value[min(i+1, len(tc.value)):],                   // one byte left out
					} {
						if plainDateFormat(v, tc.code) && !re.MatchString(v) {
							t.Fatalf("%q: plainDateFormat accepts what the %s expression refuses", v, tc.code)
						}
					}
				}
			}
		})
	}
}
