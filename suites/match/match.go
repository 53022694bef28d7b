// Package match holds the Gomega matchers of the bcbench specs, so that a
// spec body reads as one sentence and its failure names the exchange and the
// exact element.
package match

import (
	"context"
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/spec"
)

// HaveNoFindings succeeds for an empty []fact.Finding and lists every
// finding, one per line, when it fails.
func HaveNoFindings() types.GomegaMatcher { return noFindings{} }

type noFindings struct{}

func (noFindings) Match(actual any) (bool, error) {
	f, ok := actual.([]fact.Finding)
	if !ok {
		return false, fmt.Errorf("HaveNoFindings expects []fact.Finding, got %T", actual)
	}
	return len(f) == 0, nil
}

func (noFindings) FailureMessage(actual any) string {
	f := actual.([]fact.Finding)
	return fmt.Sprintf("%d verschil(len) tussen registratie en publicatie:\n%s", len(f), fact.Report(f))
}

func (noFindings) NegatedFailureMessage(any) string {
	return "verwacht verschillen tussen registratie en publicatie, maar er waren er geen"
}

// HaveNoProblems succeeds for an empty []string of problems and lists them
// when it fails.
func HaveNoProblems() types.GomegaMatcher { return noProblems{} }

type noProblems struct{}

func (noProblems) Match(actual any) (bool, error) {
	p, ok := actual.([]string)
	if !ok {
		return false, fmt.Errorf("HaveNoProblems expects []string, got %T", actual)
	}
	return len(p) == 0, nil
}

func (noProblems) FailureMessage(actual any) string {
	p := actual.([]string)
	return fmt.Sprintf("%d probleem/problemen:\n%s", len(p), strings.Join(p, "\n"))
}

func (noProblems) NegatedFailureMessage(any) string {
	return "verwacht problemen, maar er waren er geen"
}

// ConformTo succeeds when the resource (a JSON-shaped tree) conforms to the
// given profile (or, with no profile, to the profiles it claims) according to
// the run's validator: no issue of severity error or fatal.
func ConformTo(ctx context.Context, v spec.Validator, profiles ...string) types.GomegaMatcher {
	return &conformTo{ctx: ctx, v: v, profiles: profiles}
}

type conformTo struct {
	ctx      context.Context
	v        spec.Validator
	profiles []string
	errors   []spec.Issue
}

func (m *conformTo) Match(actual any) (bool, error) {
	r, ok := actual.(map[string]any)
	if !ok {
		return false, fmt.Errorf("ConformTo expects a resource (map[string]any), got %T", actual)
	}
	issues, err := m.v.Validate(m.ctx, r, m.profiles)
	if err != nil {
		return false, fmt.Errorf("validating: %w", err)
	}
	m.errors = m.errors[:0]
	for _, i := range issues {
		if i.Severity == "error" || i.Severity == "fatal" {
			m.errors = append(m.errors, i)
		}
	}
	return len(m.errors) == 0, nil
}

func (m *conformTo) FailureMessage(actual any) string {
	r := actual.(map[string]any)
	lines := []string{fmt.Sprintf("%v/%v voldoet niet aan %s:", r["resourceType"], r["id"], strings.Join(claimed(r, m.profiles), ", "))}
	for _, i := range m.errors {
		lines = append(lines, fmt.Sprintf("  %s: %s", i.Expression, i.Message))
	}
	return strings.Join(lines, "\n")
}

func (m *conformTo) NegatedFailureMessage(actual any) string {
	r := actual.(map[string]any)
	return fmt.Sprintf("%v/%v voldoet onverwacht aan %s", r["resourceType"], r["id"], strings.Join(claimed(r, m.profiles), ", "))
}

func claimed(r map[string]any, profiles []string) []string {
	if len(profiles) > 0 {
		return profiles
	}
	meta, _ := r["meta"].(map[string]any)
	var out []string
	for _, p := range asList(meta["profile"]) {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{"het basisprofiel van " + fmt.Sprint(r["resourceType"])}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
