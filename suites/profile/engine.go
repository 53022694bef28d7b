package profile

import (
	"context"
	"strings"

	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/suites/spec"
)

// Engine adapts the bench's validation engine to what the specs need
// (spec.Validator and spec.ResolvingValidator).
type Engine struct{ V *validator.Validator }

// Validate checks a resource against the profiles (and those it claims).
func (e Engine) Validate(ctx context.Context, resource map[string]any, profiles []string) ([]spec.Issue, error) {
	return e.ValidateResolving(ctx, resource, profiles, nil)
}

// ValidateResolving validates with references resolved through resolve, so
// that referenced resources are checked against the target profiles.
func (e Engine) ValidateResolving(ctx context.Context, resource map[string]any, profiles []string, resolve spec.Resolve) ([]spec.Issue, error) {
	out := e.V.ValidateResource(ctx, resource, false, validator.Request{Profiles: profiles, Resolve: resolve})
	issues := make([]spec.Issue, 0, len(out.Issue))
	for _, i := range out.Issue {
		issues = append(issues, spec.Issue{Severity: i.Severity, Expression: strings.Join(i.Expression, ", "), Message: i.Diagnostics, Undecided: i.Undecided()})
	}
	return issues, nil
}
