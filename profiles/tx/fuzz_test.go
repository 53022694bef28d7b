package tx

import (
	"testing"

	"github.com/bcbench/bcbench/profiles/terminology"
)

// FuzzAnswer: whatever a server answers, reading it never panics, and only
// a Parameters resource with a boolean result decides.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":true}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":"true"}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"result"},{"name":"message","valueString":"Unknown value set"}]}`,
		`{"resourceType":"OperationOutcome","issue":[{"diagnostics":"x"}]}`,
		`{"resourceType":"Parameters","parameter":{"name":"result"}}`,
		`[]`, `null`, `<html>`, ``,
	} {
		f.Add(200, []byte(s))
		f.Add(500, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var out map[string]any
		if err := parseParameters(status, body, &out); err != nil {
			return
		}
		r := validateAnswer("http://tx", "http://vs", terminology.Coding{System: "http://s", Code: "c"}, out)
		if r.Outcome != terminology.Unknown {
			found := false
			for _, p := range list(out) {
				if _, ok := p["valueBoolean"].(bool); ok && p["name"] == "result" {
					found = true
				}
			}
			if !found {
				t.Fatalf("decided %v without a boolean result: %s", r.Outcome, body)
			}
		}
	})
}
