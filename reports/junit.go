package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// JUnit XML in the shape that Jenkins, GitLab, GitHub and Azure read: one
// testsuite per profile, one testcase per requirement.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemErr  string          `xml:"system-err,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit renders results as JUnit XML: one testcase per requirement; fail →
// failure, error → error, skip and not-tested → skipped with the reason.
func JUnit(res *Results) ([]byte, error) {
	total := res.Finished.Sub(res.Started).Seconds()
	if total < 0 {
		total = 0
	}
	suite := junitSuite{
		Name:      "bcbench " + res.Profile.ID,
		Timestamp: res.Started.UTC().Format(time.RFC3339),
		Time:      seconds(total),
		Properties: []junitProperty{
			{"verdict", string(res.Verdict)},
			{"mode", res.Mode},
			{"profile", res.Profile.ID + " " + res.Profile.Version},
			{"profile.certifies", fmt.Sprint(res.Profile.Certifies)},
			{"candidate", res.Candidate.Name + " " + res.Candidate.Version},
			{"bench.version", res.Bench.Version},
			{"catalogue", res.Bench.Catalogue},
		},
	}
	var syserr []string
	if res.SetupProblem != "" {
		suite.Properties = append(suite.Properties, junitProperty{"setupProblem", res.SetupProblem})
		syserr = append(syserr, "niets beoordeeld: "+res.SetupProblem)
	}
	for _, st := range res.Stopped {
		syserr = append(syserr, fmt.Sprintf("rol %s stopte %s: %s\n%s", st.Role, st.During, st.Reason, strings.Join(st.LastLines, "\n")))
	}
	if syserr = append(syserr, res.Problems...); len(syserr) > 0 {
		suite.SystemErr = strings.Join(syserr, "\n")
	}
	for _, r := range res.Requirements {
		tc := junitCase{
			Name:      r.ID + " " + r.Title,
			Classname: "bcbench." + r.Role + "." + r.ID,
			SystemOut: fmt.Sprintf("[%s] %s\nbron: %s", r.Level, r.Text, r.Source),
		}
		var secs float64
		var details []string
		for _, s := range r.Specs {
			secs += s.Seconds
			if s.Failure != "" {
				d := fmt.Sprintf("%s (%s): %s", s.Name, s.Status, s.Failure)
				if s.Location != "" {
					d += "\n  at " + s.Location
				}
				details = append(details, d)
			}
		}
		tc.Time = seconds(secs)
		msg := &junitMessage{Message: r.Reason, Text: strings.Join(details, "\n\n")}
		switch r.Status {
		case Fail:
			msg.Type = "fail"
			tc.Failure = msg
			suite.Failures++
		case Error:
			msg.Type = "error"
			tc.Error = msg
			suite.Errors++
		case Skip, NotTested:
			msg.Message = string(r.Status) + ": " + r.Reason
			msg.Text = ""
			tc.Skipped = msg
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{
		Name: "bcbench", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite},
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding junit.xml: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func seconds(s float64) string {
	if s < 0 || s != s {
		s = 0
	}
	return fmt.Sprintf("%.3f", s)
}
