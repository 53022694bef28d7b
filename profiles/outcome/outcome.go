// Package outcome is the FHIR OperationOutcome the validator reports: one
// issue per finding, with severity, issue type code, the FHIRPath location of
// the element (expression) and a message naming the profile and element.
//
// Besides errors and warnings an outcome has a third kind of issue: the
// undecided check, where the engine could not decide (a profile or code
// system not loaded, a value set not expandable offline, an invariant it
// could not evaluate, a reference target it could not resolve). FHIR has no
// severity for that, so an undecided issue keeps severity warning or
// information and carries the extension UndecidedURL (valueBoolean true);
// its code says what kind of check it was. Undecided is never a pass: the
// suites count these issues (see docs/validation.md, "Undecided").
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

// UndecidedURL is the extension that marks an issue as undecided: the check
// was not made, so the element is neither known to conform nor known not to.
const UndecidedURL = "https://bcbench.nl/fhir/StructureDefinition/undecided"

// Issue is one finding.
type Issue struct {
	Extension   []Extension `json:"extension,omitempty"`
	Severity    string      `json:"severity"`
	Code        string      `json:"code"`
	Diagnostics string      `json:"diagnostics,omitempty"`
	Expression  []string    `json:"expression,omitempty"`
}

// Extension is a FHIR extension with a boolean value (the only kind the
// outcome uses).
type Extension struct {
	URL          string `json:"url"`
	ValueBoolean bool   `json:"valueBoolean"`
}

// Undecided reports whether the issue marks a check the engine could not decide.
func (is Issue) Undecided() bool {
	for _, x := range is.Extension {
		if x.URL == UndecidedURL && x.ValueBoolean {
			return true
		}
	}
	return false
}

// MarkUndecided returns the issue marked as undecided.
func (is Issue) MarkUndecided() Issue {
	if !is.Undecided() {
		is.Extension = append(is.Extension, Extension{URL: UndecidedURL, ValueBoolean: true})
	}
	return is
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

// AddUndecided appends an issue for a check that could not be decided
// (severity warning or information, marked with UndecidedURL).
func (o *OperationOutcome) AddUndecided(severity, code, expression, format string, args ...any) {
	o.Add(severity, code, expression, format, args...)
	o.Issue[len(o.Issue)-1] = o.Issue[len(o.Issue)-1].MarkUndecided()
}

// Undecided returns the issues marked as undecided.
func (o *OperationOutcome) Undecided() []Issue {
	var out []Issue
	for _, is := range o.Issue {
		if is.Undecided() {
			out = append(out, is)
		}
	}
	return out
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
	fmt.Fprintf(&b, "%d error(s), %d warning(s), %d information, %d undecided\n", o.Count(Error)+o.Count(Fatal), o.Count(Warning), o.Count(Information), len(o.Undecided()))
	for _, is := range o.Issue {
		loc := strings.Join(is.Expression, ", ")
		if loc == "" {
			loc = "-"
		}
		sev := is.Severity
		if is.Undecided() {
			sev = "undecided"
		}
		fmt.Fprintf(&b, "  %-11s %s: %s\n", sev, loc, is.Diagnostics)
	}
	return b.String()
}
