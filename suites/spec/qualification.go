package spec

import "context"

// Qualification runs FHIR TestScripts (such as Nictiz's qualification
// scripts) against a role of the candidate for the TS-* specs. The run
// command fills it; nil when the run has no TestScripts (the specs then
// skip, never pass).
type Qualification struct {
	// Sets names what is run, for the reasons ("XIS: …/Serving-MGB-MA").
	Sets []string
	// Run runs every script once and returns one verdict per script; the
	// same results on later calls. An error is the bench's own (nothing
	// could be run), never the candidate's.
	Run func(ctx context.Context) ([]ScriptVerdict, error)
}

// ScriptVerdict is what one TestScript said of the candidate.
type ScriptVerdict struct {
	// Script is the script's path as the vendor gave it.
	Script string
	// Pass, Fail, Warning and Skip count its asserts; Error counts asserts
	// the bench could not evaluate.
	Pass, Fail, Warning, Skip, Error int
	// NotRun, when set, says why the bench could not run the script (not
	// loadable, an unknown operation, a bound reached): the bench's error.
	NotRun string
	// Failures name each assert that failed: "test: assert: message".
	Failures []string
	// Skips name each assert that was skipped, with the reason.
	Skips []string
	// Errors name each operation the bench could not carry out (no
	// answer, the stand-in client had nothing to send): not the system's
	// fault and not judged, so the script is undecided. An operation the
	// system's answer broke is among Failures.
	Errors []string
}
