package clock

import (
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
)

func TestArrivedJudgesArrivalNotContent(t *testing.T) {
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, fixtures.Amsterdam)
	weight := fixtures.Coding{System: "http://loinc.org", Code: "29463-7"}
	item := fact.Item{
		Event: fixtures.Event{ID: "e04-controle", Day: 112, Minute: 9 * 60},
		Fact:  fixtures.Fact{Key: "weight", ResourceType: "Observation", Code: weight},
	}
	obs := func(code fixtures.Coding, date string) map[string]any {
		return map[string]any{"resourceType": "Observation", "effectiveDateTime": date,
			"code": map[string]any{"coding": []any{map[string]any{"system": code.System, "code": code.Code}}}}
	}
	eventDay := fixtures.Date(day0, 112)
	on := func(days int) string { return eventDay.AddDate(0, 0, days).Format(fixtures.DateLayout) }
	cases := []struct {
		name      string
		published []map[string]any
		want      bool
	}{
		{"dated the day before: arrived (a content finding)", []map[string]any{obs(weight, on(-1))}, true},
		{"dated the day after: arrived", []map[string]any{obs(weight, on(1))}, true},
		{"dated two days before: another fact, not this one", []map[string]any{obs(weight, on(-2))}, false},
		{"another code on the day: not arrived", []map[string]any{obs(fixtures.Coding{System: "http://loinc.org", Code: "8302-2"}, on(0))}, false},
		{"without a date: not arrived", []map[string]any{obs(weight, "")}, false},
		{"nothing published", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := fact.Source{Resources: map[string][]map[string]any{"Observation": tc.published}, Reference: day0}
			if got := arrived(src, item, day0); got != tc.want {
				t.Errorf("arrived = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHorizonIsCappedPastTheLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit time.Duration
		want  time.Duration
	}{
		{"a short limit: three times", 2 * time.Second, 6 * time.Second},
		{"a minute: three times", time.Minute, 3 * time.Minute},
		{"five minutes: two minutes past it", 5 * time.Minute, 7 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Horizon(tc.limit); got != tc.want {
				t.Errorf("Horizon(%v) = %v, want %v", tc.limit, got, tc.want)
			}
		})
	}
}
