// Package outcome is the FHIR OperationOutcome the validator reports: one
// issue per finding, with severity, issue type code, the FHIRPath location of
// the element (expression) and a message naming the profile and element.
package outcome

import (
	"fmt"
	"sort"
	"strings"
)

// Severities, as FHIR spells them.
const (
	Fatal       = "fatal"
	Error       = "error"
	Warning     = "warning"
	Information = "information"
)

// Issue type codes used by the validator (FHIR issue-type value set).
const (
	CodeStructure     = "structure"
	CodeRequired      = "required"
	CodeValue         = "value"
	CodeInvariant     = "invariant"
	CodeInvalid       = "invalid"
	CodeSecurity      = "security"
	CodeCodeInvalid   = "code-invalid"
	CodeNotFound      = "not-found"
	CodeNotSupported  = "not-supported"
	CodeProcessing    = "processing"
	CodeBusinessRule  = "business-rule"
	CodeInformational = "informational"
	CodeTooCostly     = "too-costly"
	CodeIncomplete    = "incomplete"
)

// Issue is one finding.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// OperationOutcome is the FHIR resource of that name (the part the validator fills).
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// New returns an empty OperationOutcome.
func New() *OperationOutcome {
	return &OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{}}
}

// Add appends an issue.
func (o *OperationOutcome) Add(severity, code, expression, format string, args ...any) {
	is := Issue{Severity: severity, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expression != "" {
		is.Expression = []string{expression}
	}
	o.Issue = append(o.Issue, is)
}

// HasErrors reports whether any issue is an error or fatal.
func (o *OperationOutcome) HasErrors() bool { return o.Count(Error)+o.Count(Fatal) > 0 }

// Count returns the number of issues of a severity.
func (o *OperationOutcome) Count(severity string) int {
	n := 0
	for _, is := range o.Issue {
		if is.Severity == severity {
			n++
		}
	}
	return n
}

// Errors returns the error and fatal issues.
func (o *OperationOutcome) Errors() []Issue {
	var out []Issue
	for _, is := range o.Issue {
		if is.Severity == Error || is.Severity == Fatal {
			out = append(out, is)
		}
	}
	return out
}

var rank = map[string]int{Fatal: 0, Error: 1, Warning: 2, Information: 3}

// Sort orders issues by severity, then location, keeping the order of equal ones.
func (o *OperationOutcome) Sort() {
	sort.SliceStable(o.Issue, func(i, j int) bool {
		a, b := o.Issue[i], o.Issue[j]
		if rank[a.Severity] != rank[b.Severity] {
			return rank[a.Severity] < rank[b.Severity]
		}
		return strings.Join(a.Expression, ",") < strings.Join(b.Expression, ",")
	})
}

// Text is the short human form: a summary line, then one line per issue.
func (o *OperationOutcome) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d error(s), %d warning(s), %d information\n", o.Count(Error)+o.Count(Fatal), o.Count(Warning), o.Count(Information))
	for _, is := range o.Issue {
		loc := strings.Join(is.Expression, ", ")
		if loc == "" {
			loc = "-"
		}
		fmt.Fprintf(&b, "  %-11s %s: %s\n", is.Severity, loc, is.Diagnostics)
	}
	return b.String()
}
