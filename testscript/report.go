package testscript

import (
	"encoding/json"
	"fmt"
	"time"
)

// Report returns the FHIR TestReport of a result, in the FHIR version of
// its script (the TestReport shape is the same in STU3 and R4 for what is
// written here). Each action has its result and message; a script that
// could not run has status "entered-in-error" and its reason as the first
// (setup) action, an operation with result error.
func (res *Result) Report(tester string) map[string]any {
	id, name := "", res.Path
	if res.Script != nil {
		id = res.Script.ID
		if res.Script.Name != "" {
			name = res.Script.Name
		}
	}
	c := res.Asserts()
	result := "pass"
	switch {
	case c.Fail > 0:
		result = "fail"
	case res.Err != nil || c.Error > 0 || c.Total() == 0 || c.Skip == c.Total():
		result = "pending" // nothing, or not all, could be judged
	}
	status := "completed"
	if res.Err != nil {
		status = "entered-in-error"
	}
	rep := map[string]any{
		"resourceType": "TestReport",
		"status":       status,
		"name":         name,
		"testScript":   map[string]any{"reference": "TestScript/" + id, "display": res.Path},
		"result":       result,
		"tester":       tester,
		"issued":       res.Started.UTC().Format(time.RFC3339),
	}
	if id != "" {
		rep["id"] = id
	}
	if judged := c.Pass + c.Fail + c.Warning; judged > 0 {
		rep["score"] = json.Number(fmt.Sprintf("%.4f", float64(c.Pass+c.Warning)/float64(judged)*100))
	}
	var setup, teardown []any
	if res.Err != nil { // why the script could not run, first
		setup = append(setup, map[string]any{"operation": map[string]any{"result": string(Error), "message": res.Err.Error()}})
	}
	tests := []any{}
	var current map[string]any
	for _, o := range res.Outcomes {
		part := map[string]any{"result": string(o.Status)}
		msg := o.Message
		switch {
		case o.Kind == "assert" && o.Description != "":
			part["detail"] = o.Description // a string for asserts; a uri for operations
		case o.Description != "" && msg != "":
			msg = o.Description + ": " + msg
		case o.Description != "":
			msg = o.Description
		}
		if msg != "" {
			part["message"] = msg
		}
		a := map[string]any{o.Kind: part}
		switch o.Test {
		case "setup":
			setup = append(setup, a)
		case "teardown":
			teardown = append(teardown, a)
		default:
			if current == nil || current["name"] != o.Test {
				current = map[string]any{"name": o.Test, "action": []any{}}
				tests = append(tests, current)
			}
			current["action"] = append(current["action"].([]any), a)
		}
	}
	if len(setup) > 0 {
		rep["setup"] = map[string]any{"action": setup}
	}
	if len(tests) > 0 {
		rep["test"] = tests
	}
	if len(teardown) > 0 {
		rep["teardown"] = map[string]any{"action": teardown}
	}
	return rep
}
