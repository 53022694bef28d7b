package testscript

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	vars := map[string]string{
		"T":     "${CURRENTDATE}",
		"Tdag":  "2026-01-31",
		"token": "Bearer abc",
		"keten": "${token} en ${dag}",
		"dag":   "${DATE, T, D, -1}",
		"zelf":  "${zelf}",
		"a":     "${b}",
		"b":     "${a}",
		"geen":  "2026-13-99x",
	}
	x := &expander{now: now}
	x.lookup = func(name string, depth int) (string, bool, error) {
		v, ok := vars[name]
		if !ok {
			return "", false, nil
		}
		v, err := x.expandDepth(v, depth)
		return v, err == nil, err
	}
	tests := []struct {
		name, in, want, err string
	}{
		{name: "no placeholder", in: "Patient?name=x", want: "Patient?name=x"},
		{name: "current date", in: "${CURRENTDATE}", want: "2026-12-02"},
		{name: "current date with a pattern", in: "${CURRENTDATE, yyyyMMdd}", want: "20261202"},
		{name: "date relative to T, back", in: "${DATE, T, D, -146}", want: "2026-07-09"},
		{name: "date relative to T, forward with plus", in: "${DATE, T, D, +3}", want: "2026-12-05"},
		{name: "date in months and years", in: "${DATE, T, M, 2}/${DATE, T, Y, -1}", want: "2027-02-02/2025-12-02"},
		{name: "date relative to another variable", in: "${DATE, Tdag, M, 1}", want: "2026-03-03"},
		{name: "date with a time", in: "${DATE, T, D, 0, 10:15}", want: "2026-12-02T10:15:00+00:00"},
		{name: "a chain of variables", in: "${keten}", want: "Bearer abc en 2026-12-01"},
		{name: "text around", in: "?date=ge${DATE, T, D, -7}&x=1", want: "?date=ge2026-11-25&x=1"},
		{name: "an unclosed placeholder is text", in: "${T", want: "${T"},
		{name: "undefined variable", in: "${onbekend}", err: `variable "onbekend" is not defined`},
		{name: "a variable that is itself", in: "${zelf}", err: "levels deep"},
		{name: "two variables in a loop", in: "${a}", err: "levels deep"},
		{name: "bad unit", in: "${DATE, T, Q, 1}", err: "unit"},
		{name: "bad offset", in: "${DATE, T, D, many}", err: "offset"},
		{name: "base is no date", in: "${DATE, geen, D, 1}", err: "not a date"},
		{name: "unknown function with arguments", in: "${FOO, 1}", err: "unknown function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := x.expand(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("expand(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	t.Run("UUID", func(t *testing.T) {
		a, _ := x.expand("${UUID}")
		b, _ := x.expand("${UUID}")
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) || a == b {
			t.Fatalf("UUIDs %q, %q", a, b)
		}
	})
	t.Run("growth is bounded", func(t *testing.T) {
		vars["groot"] = strings.Repeat("${token}", maxExpandSize/8)
		_, err := x.expand("${groot}")
		if err == nil || !strings.Contains(err.Error(), "beyond") {
			t.Fatalf("err %v", err)
		}
	})
}
