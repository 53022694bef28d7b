package validator

import (
	"github.com/bcbench/bcbench/profiles/outcome"
)

// invariantEngine evaluates FHIRPath invariants; nil when no engine is wired.
type invariantEngine interface {
	// check evaluates expr on focus. ok=false means there was no answer
	// (empty result); err means the expression could not be evaluated.
	check(expr string, focus any, focusType string, resource, root map[string]any) (value, ok bool, err error)
}

// skipInvariants are constraints whose checks the validator makes itself
// (ele-1: every element has a value or children; ext-1: value or
// extensions).
var skipInvariants = map[string]bool{"ele-1": true}

// invariants evaluates the FHIRPath constraints of element e on value v.
func (r *run) invariants(e *elem, v any, code, path string, res map[string]any) {
	if len(e.constraints) == 0 || r.cancelled() {
		return
	}
	for _, c := range e.constraints {
		if c.expr == "" || skipInvariants[c.key] {
			continue
		}
		memo := memoKey{path: path, what: c.key}
		if r.checked[memo] {
			continue // inherited by several structures: evaluated once
		}
		if r.checked == nil {
			r.checked = map[memoKey]bool{}
		}
		r.checked[memo] = true
		if r.v.inv == nil {
			r.notEvaluated++
			r.notEvaluatedWhy = "no FHIRPath engine is wired into the validator"
			continue
		}
		focusType := code
		if code == "BackboneElement" || code == "Element" && e.path != "Element" {
			focusType = e.path + "#" + code
		}
		val, ok, err := r.v.inv.check(c.expr, v, focusType, res, r.root)
		if err != nil {
			r.issue(outcome.Information, outcome.CodeNotSupported, path, "constraint %s (%s) could not be evaluated: %v", c.key, c.expr, err)
			continue
		}
		if !ok || val {
			continue
		}
		sev := outcome.Error
		if c.severity == "warning" {
			sev = outcome.Warning
		}
		r.issue(sev, outcome.CodeInvariant, path, "constraint %s failed on %s: %s [%s]", c.key, e.path, c.human, c.expr)
	}
}

// memoKey names a check already made at a location: an invariant key
// ("dom-2") or a primitive type code ("dateTime"); the two never coincide.
type memoKey struct{ path, what string }
