package reports

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestJUnitOneCasePerRequirement(t *testing.T) {
	res := richResults(t)
	res.Candidate.Name = "evil \x00\x1b<]]>&"
	res.Requirements[1].Reason = "faalde: <b>\"quoted\"</b> & \x07bell"
	data, err := JUnit(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("junit.xml does not parse back: %v\n%s", err, data)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("got %d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Tests != len(res.Requirements) || len(s.Cases) != len(res.Requirements) {
		t.Fatalf("tests=%d cases=%d, want %d", s.Tests, len(s.Cases), len(res.Requirements))
	}
	// richResults: pass, fail, pass, error, not-tested, skip.
	if s.Failures != 1 || s.Errors != 1 || s.Skipped != 2 || doc.Failures != 1 || doc.Errors != 1 || doc.Skipped != 2 {
		t.Fatalf("counts suite f/e/s=%d/%d/%d, root %d/%d/%d; want 1/1/2", s.Failures, s.Errors, s.Skipped, doc.Failures, doc.Errors, doc.Skipped)
	}
	cases := []struct {
		name                      string
		i                         int
		failure, errored, skipped bool
		message                   string
	}{
		{"pass has no child", 0, false, false, false, ""},
		{"fail is a failure", 1, true, false, false, "\"quoted\""},
		{"error is an error", 3, false, true, false, "brak af"},
		{"not-tested is skipped with the reason", 4, false, false, true, "not-tested: " + ReasonNotTested},
		{"skip is skipped with the reason", 5, false, false, true, "skip: content: who message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.Cases[tc.i]
			if !strings.HasPrefix(c.Name, res.Requirements[tc.i].ID+" ") {
				t.Errorf("testcase name %q does not start with the requirement ID", c.Name)
			}
			if (c.Failure != nil) != tc.failure || (c.Error != nil) != tc.errored || (c.Skipped != nil) != tc.skipped {
				t.Fatalf("failure/error/skipped = %v/%v/%v, want %v/%v/%v", c.Failure != nil, c.Error != nil, c.Skipped != nil, tc.failure, tc.errored, tc.skipped)
			}
			var msg string
			for _, m := range []*junitMessage{c.Failure, c.Error, c.Skipped} {
				if m != nil {
					msg = m.Message
				}
			}
			if !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not contain %q", msg, tc.message)
			}
		})
	}
	if strings.ContainsAny(string(data), "\x00\x1b\x07") {
		t.Error("junit.xml carries control characters that XML 1.0 forbids")
	}
	if !strings.Contains(string(data), `<property name="verdict" value="fail">`) {
		t.Error("verdict property missing")
	}
}
