// Package testscript runs FHIR TestScripts (XML or JSON, STU3 or R4), such
// as Nictiz's qualification scripts for Touchstone, against a FHIR server
// and reports each as a FHIR TestReport.
//
// Load reads a script and resolves its fixtures beside it; Run executes
// setup, tests and teardown: the operations (read, search, create, update,
// delete, transaction, …) with their headers and parameters, ${…}
// variables and Touchstone's date functions, and every assert kind the
// Nictiz scripts use. What the engine cannot judge is skipped with the
// reason, never passed; a script that cannot run (an unknown operation, an
// endless expansion, a fixture over MaxFixture) ends with Result.Err and
// leaves the other scripts alone. Result.Report gives the TestReport,
// WriteTable the assert table per folder. docs/testscript.md has the
// details and the figures on the Nictiz corpus.
package testscript
