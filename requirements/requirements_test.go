package requirements

import (
	"fmt"
	"strings"
	"testing"
)

func TestDefaultCatalogueIsValid(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatalf("embedded catalogue: %v", err)
	}
	if len(c.Requirements) == 0 {
		t.Fatal("embedded catalogue is empty")
	}
	for _, r := range c.Requirements {
		if got, ok := c.Get(r.ID); !ok || got.ID != r.ID {
			t.Errorf("Get(%q) = %v, %v", r.ID, got, ok)
		}
	}
}

func TestParseRejects(t *testing.T) {
	base := "requirements:\n  - {id: %s, title: t, text: 'x MOET y', level: %s, role: %s, area: a, outcomeGoal: %s, source: s}\n"
	cases := []struct {
		name, id, level, role, goal, want string
	}{
		{"id not label-safe", "inh 01", "MOET", "xis", "1", "label-safe"},
		{"unknown level", "INH-01", "MUST", "xis", "1", "level"},
		{"goal out of range", "INH-01", "MOET", "xis", "5", "outcomeGoal"},
		{"unknown role", "INH-01", "MOET", "pharmacy", "1", "role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := fmt.Sprintf(base, tc.id, tc.level, tc.role, tc.goal)
			_, err := Parse([]byte(y))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte("requirements: [")); err == nil {
		t.Fatal("broken YAML parsed without error")
	}
}

func TestCheckNamesUnknownIDs(t *testing.T) {
	c := MustDefault()
	err := c.Check("INH-01", "NOPE-99")
	if err == nil || !strings.Contains(err.Error(), "NOPE-99") || strings.Contains(err.Error(), "INH-01") {
		t.Fatalf("Check() = %v, want an error naming only NOPE-99", err)
	}
	if err := c.Check("INH-01"); err != nil {
		t.Fatalf("Check(known) = %v", err)
	}
}
