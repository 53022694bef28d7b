package fact

import (
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Dates and times as FHIR means them: a date names a calendar day; a
// dateTime or instant with a time names a moment, whatever offset it is
// written in. The bench compares days in Europe/Amsterdam (where the
// scenarios happen) and moments as moments: 2026-12-31T23:00:00Z is local
// midnight of 2027-01-01.

// Day returns the calendar day (YYYY-MM-DD) in Europe/Amsterdam that a FHIR
// date, dateTime or instant falls on, or "" when it names no single day (a
// year, a month, or no date at all).
func Day(s string) string {
	if len(s) == len(fixtures.DateLayout) {
		if _, err := time.Parse(fixtures.DateLayout, s); err == nil {
			return s
		}
		return ""
	}
	t, ok := Moment(s)
	if !ok {
		return ""
	}
	return t.In(fixtures.Amsterdam).Format(fixtures.DateLayout)
}

// Moment reads a FHIR dateTime or instant that carries a time (and so, by
// FHIR's rules, an offset or Z).
func Moment(s string) (time.Time, bool) {
	if len(s) <= len(fixtures.DateLayout) || len(s) > 64 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// SameTime says whether a published date or dateTime states the registered
// moment: a date must be its day in Europe/Amsterdam, a dateTime with a time
// the same moment (to the second).
func SameTime(published string, registered time.Time) bool {
	if t, ok := Moment(published); ok {
		return t.Truncate(time.Second).Equal(registered.Truncate(time.Second))
	}
	return published != "" && Day(published) == registered.In(fixtures.Amsterdam).Format(fixtures.DateLayout)
}

// At returns the moment an event was registered, for a scenario told
// against the reference date (day 0).
func At(reference time.Time, ev fixtures.Event) time.Time {
	ref := time.Date(reference.Year(), reference.Month(), reference.Day(), 0, 0, 0, 0, fixtures.Amsterdam)
	return fixtures.Date(ref, ev.Day).Add(time.Duration(ev.Minute) * time.Minute)
}
