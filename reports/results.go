// Package reports holds the result model of a bcbench run (results.json, the
// one canonical result) and everything made from it: JUnit XML, the HTML
// report, the signed in-toto statement, and its verification. It imports only
// requirements, so a report can be rebuilt and verified offline.
package reports

import (
	"time"

	"github.com/bcbench/bcbench/requirements"
)

// Status is the outcome of one requirement.
type Status string

// The five outcomes. Only pass counts as pass; not-tested never does.
const (
	Pass      Status = "pass"
	Fail      Status = "fail"       // the candidate is wrong
	Error     Status = "error"      // the bench broke, or the candidate could not be reached
	Skip      Status = "skip"       // deliberately not run, with a reason
	NotTested Status = "not-tested" // no spec checked it
)

// Verdict is the decision over the whole profile.
type Verdict string

// Verdicts: pass when every MOET requirement passed; fail when any MOET
// requirement failed or errored; incomplete otherwise.
const (
	VerdictPass       Verdict = "pass"
	VerdictFail       Verdict = "fail"
	VerdictIncomplete Verdict = "incomplete"
)

// SchemaVersion is the version of the results.json format.
const SchemaVersion = "bcbench.results/v1"

// Results is results.json.
type Results struct {
	Schema       string              `json:"schema"`
	Bench        Bench               `json:"bench"`
	Profile      Profile             `json:"profile"`
	Candidate    Candidate           `json:"candidate"`
	Mode         string              `json:"mode"` // "zelftest" (development key) or "certificering"
	Scenarios    []string            `json:"scenarios"`
	Started      time.Time           `json:"started"`
	Finished     time.Time           `json:"finished"`
	Requirements []RequirementResult `json:"requirements"`
	Summary      Summary             `json:"summary"`
	OutcomeGoals []OutcomeGoal       `json:"outcomeGoals"`
	Verdict      Verdict             `json:"verdict"`
	// Problems lists what went wrong in the bench itself (not the candidate).
	Problems []string   `json:"problems,omitempty"`
	Evidence []Evidence `json:"evidence"`
}

// Bench identifies the bench that produced the results.
type Bench struct {
	Version   string `json:"version"`
	Catalogue string `json:"catalogue"` // catalogue version
	Suite     string `json:"suite"`     // sha256 of the sorted spec list
}

// Profile is the certification profile the run was judged against.
type Profile struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Version string `json:"version"`
}

// Candidate is the system under test.
type Candidate struct {
	Name    string         `json:"name"`
	Vendor  string         `json:"vendor,omitempty"`
	Version string         `json:"version"`
	Roles   []RoleIdentity `json:"roles"`
}

// RoleIdentity says exactly what ran in one role.
type RoleIdentity struct {
	Role     string `json:"role"`
	Kind     string `json:"kind"` // image, command, url, builtin
	Image    string `json:"image,omitempty"`
	Digest   string `json:"digest,omitempty"` // image digest (sha256:…)
	Binary   string `json:"binary,omitempty"`
	SHA256   string `json:"sha256,omitempty"` // binary digest
	URL      string `json:"url,omitempty"`
	Software string `json:"software,omitempty"` // CapabilityStatement.software name and version
}

// RequirementResult is the outcome of one requirement of the profile.
type RequirementResult struct {
	ID          string             `json:"id"`
	Title       string             `json:"title"`
	Text        string             `json:"text"`
	Level       requirements.Level `json:"level"`
	Role        string             `json:"role"`
	OutcomeGoal int                `json:"outcomeGoal"`
	Source      string             `json:"source"`
	Status      Status             `json:"status"`
	Reason      string             `json:"reason,omitempty"`
	Specs       []SpecRun          `json:"specs"`
	Evidence    []string           `json:"evidence,omitempty"` // paths relative to the output folder
}

// SpecRun is one spec that checked a requirement.
type SpecRun struct {
	Name     string  `json:"name"`
	Status   Status  `json:"status"`
	Seconds  float64 `json:"seconds"`
	Failure  string  `json:"failure,omitempty"`
	Location string  `json:"location,omitempty"`
}

// Summary counts requirements per status.
type Summary struct {
	Pass      int `json:"pass"`
	Fail      int `json:"fail"`
	Error     int `json:"error"`
	Skip      int `json:"skip"`
	NotTested int `json:"notTested"`
	Total     int `json:"total"`
}

// OutcomeGoal is the degree of realisation of one outcome goal and the subsidy
// discount that follows from the table of the beleidsregel (seed 001 §5.5).
// A goal with no requirement in the profile is not assessed: Assessed is false
// and Realisation and Discount are null, never 100 % and 0 %.
type OutcomeGoal struct {
	Goal         int      `json:"goal"`
	Name         string   `json:"name"`
	Requirements int      `json:"requirements"`
	Passed       int      `json:"passed"`
	Assessed     bool     `json:"assessed"`
	Realisation  *float64 `json:"realisation"` // percent, 0–100; null when not assessed
	Discount     *float64 `json:"discount"`    // percent of the subsidy; null when not assessed
}

// Evidence is one file of the evidence folder with its digest.
type Evidence struct {
	Path   string `json:"path"` // relative to the output folder, e.g. evidence/xis.har
	SHA256 string `json:"sha256"`
	Kind   string `json:"kind"` // har, log, resource
	// Role is the role whose exchanges the file holds (xis, viewer, …). Its
	// requirements link to it; when empty, a file named after the role
	// (evidence/xis.har) counts as that role's.
	Role string `json:"role,omitempty"`
}
