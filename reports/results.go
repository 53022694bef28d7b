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

// SchemaVersion is the version of the results.json format a run writes.
// SchemaV1 results (written before certification became a property of the
// profile) are still read, rendered and verified, but never count as a
// certification: their mode followed the key alone.
const (
	SchemaVersion = "bcbench.results/v2"
	SchemaV1      = "bcbench.results/v1"
)

// Results is results.json.
type Results struct {
	Schema    string    `json:"schema"`
	Bench     Bench     `json:"bench"`
	Profile   Profile   `json:"profile"`
	Candidate Candidate `json:"candidate"`
	// Mode is "certificering" only when the profile certifies and the run
	// was signed with a key given on purpose; "zelftest" otherwise.
	Mode      string   `json:"mode"`
	Scenarios []string `json:"scenarios"`
	// ReferenceDate is day 0 of the scenarios (YYYY-MM-DD). Since v2.
	ReferenceDate string `json:"referenceDate,omitempty"`
	// Limits are the limits in force. Since v2.
	Limits *Limits `json:"limits,omitempty"`
	// Packages are the FHIR packages that judged profile conformance. Since v2.
	Packages []Package `json:"packages"`
	// Terminology is the terminology server used ("" when none). Since v2.
	Terminology string `json:"terminology"`
	// SetupProblem, when set, says why the bench could not judge the
	// candidate at all (it never started, a limit could not be met, a pinned
	// package is missing): the verdict is incomplete and no outcome goal is
	// assessed. Since v2.
	SetupProblem string `json:"setupProblem,omitempty"`
	// Stopped lists the roles of the candidate that stopped answering
	// during the run (crashed, killed): the event in flight and the last
	// lines of its log. Since v2.
	Stopped []Stopped `json:"stopped,omitempty"`
	// Timeliness is what the clock measured per hop of the chain. Since v2;
	// absent when the run measured none.
	Timeliness *Timeliness `json:"timeliness,omitempty"`
	// Transfers is the structured coverage of each transfer of the seeds
	// the run judged (OVD-*). Since v2; absent when none.
	Transfers []Transfer `json:"transfers,omitempty"`
	// TestScripts is the assert table of the TestScripts run (TS-*), per
	// folder of scripts; absent when the run ran none. Since v2.
	TestScripts  []ScriptFolder      `json:"testScripts,omitempty"`
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
	// Suite is the sha256 over the code that judged: the build's main
	// module and every dependency (path, version, sum) and its VCS
	// revision (see BuildDigest). In v1 it was the sha256 of the spec list.
	Suite string `json:"suite"`
	// Revision is the VCS revision the bench was built from ("" when the
	// build carries none); Modified says the work tree had changes. Since v2.
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// Executable is the sha256 of the bench binary that ran. Since v2.
	Executable string `json:"executable,omitempty"`
}

// Limits are the limits a run ran under: the profile's, or in a self-test
// the ones a flag overrode (named in Overridden).
type Limits struct {
	SpecTimeout    string  `json:"specTimeout"`    // Go duration, e.g. "2m0s"
	RequestTimeout string  `json:"requestTimeout"` // Go duration
	StartupTimeout string  `json:"startupTimeout"` // Go duration
	Memory         int64   `json:"memory"`         // bytes, per container
	PIDs           int64   `json:"pids"`           // per container
	CPUs           float64 `json:"cpus"`           // per container, 1.0 = one core
	// Timeliness are the limits per hop (Go durations; "" when unset).
	Timeliness *TimelinessLimits `json:"timeliness,omitempty"`
	Overridden []string          `json:"overridden,omitempty"`
}

// TimelinessLimits are the limits of the hops of the chain.
type TimelinessLimits struct {
	Publication string `json:"publication,omitempty"`
	Index       string `json:"index,omitempty"`
	Consumer    string `json:"consumer,omitempty"`
	Viewer      string `json:"viewer,omitempty"`
	// DVZA is the availability limit of the client's own app (MM-16).
	DVZA string `json:"dvza,omitempty"`
}

// Stopped is a role of the candidate that stopped during the run.
type Stopped struct {
	Role string `json:"role"`
	// During names the event in flight: the first registration that got no
	// answer ("scenario › title (event, time)"), or that it stopped while the
	// specs ran.
	During string `json:"during"`
	// Reason is why the bench thinks it stopped (exit status, container state).
	Reason string `json:"reason"`
	// Log is the evidence file of its log; LastLines its last lines, whole.
	Log       string   `json:"log,omitempty"`
	LastLines []string `json:"lastLines"`
}

// Package is one FHIR package that judged profile conformance.
type Package struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	// SHA256 is the hex sha256 of the package .tgz; "" for a package loaded
	// from a folder (self-tests only).
	SHA256 string `json:"sha256"`
}

// Profile is the certification profile the run was judged against.
type Profile struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Version string `json:"version"`
	// Certifies is the profile's own certifies flag. Since v2.
	Certifies bool `json:"certifies"`
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
	// Args are a command candidate's arguments, as the manifest wrote them.
	Args []string `json:"args,omitempty"`
	// Manifest is the sha256 of the manifest a command candidate came from.
	Manifest string `json:"manifest,omitempty"`
	// Files are the files the manifest lists under identity (the scripts of
	// an interpreted program), each with its sha256.
	Files []FileDigest `json:"files,omitempty"`
	// Source says who brought the role in a chain run: SourceCandidate (a
	// candidate manifest, named in Candidate) or SourceReference (the bench
	// played it because no candidate brought it). Empty in results written
	// before chain runs. Since v2 (additive).
	Source string `json:"source,omitempty"`
	// Candidate is the name of the manifest that brought the role, when
	// several were combined.
	Candidate string `json:"candidate,omitempty"`
}

// Where a role of a chain run came from (RoleIdentity.Source).
const (
	SourceCandidate = "candidate"
	SourceReference = "reference"
)

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

// ScriptFolder is one row of the assert table of the TestScripts a run
// ran (TS-*): the folder as given, its scripts, the scripts the bench could
// not run, and its asserts by result. The TestReports are in evidence/.
type ScriptFolder struct {
	Folder  string `json:"folder"`
	Scripts int    `json:"scripts"`
	NotRun  int    `json:"notRun"`
	Pass    int    `json:"pass"`
	Fail    int    `json:"fail"`
	Warning int    `json:"warning"`
	Skip    int    `json:"skip"`
	Error   int    `json:"error"`
}
