// Package profile holds the profile-conformance specs: every resource a
// candidate publishes conforms to the zib / nl-core / MP9 profile it claims,
// judged by the bench's own validation engine. The resources they refer to
// (Medication, Practitioner, PractitionerRole, Organization) are read from
// the candidate and checked against the target profiles of the referring
// element. A check the engine could not decide is never a pass: the
// certification profile's undecided policy makes the requirement not-tested
// (certification) or a pass that names the count (self-test).
package profile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Profielen", func() {
	for _, s := range spec.Current().Scenarios {
		Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
			spec.It("PRF-01", "elke gepubliceerde resource MOET voldoen aan het profiel dat zij claimt", func(ctx SpecContext) {
				env := spec.Current()
				if env.Validator == nil {
					spec.NotTestable("geen profielvalidatie: " + env.ValidatorProblem)
				}
				if _, shared := fact.Expected(s); !shared {
					spec.NotTestable("in dit scenario hoort na afloop niets gedeeld te zijn")
				}
				items, _ := fact.Expected(s)
				var resources []map[string]any
				res := newResolver(ctx, env)
				for _, person := range fact.People(s, items) {
					pub, err := env.PublishedOf(ctx, s, person)
					if errors.Is(err, spec.ErrNoPatient) && person.ID != s.Client.ID {
						continue // a child without her own Patient: the content specs name each of her facts
					}
					if err != nil {
						pub, _ = spec.PublicationOf(ctx, s, person) // fails (no Patient) or breaks (no answer) the spec
					}
					res.add(pub)
					resources = append(resources, pub.Patient)
					for _, typ := range spec.ResourceTypes(s) {
						resources = append(resources, pub.Resources[typ]...)
					}
				}
				problems, undecided := Judge(ctx, env.Validator, resources, res.resolve)
				Expect(problems).To(match.HaveNoProblems())
				Decide(undecided)
			})
		})
	}
})

// maxExamples is how many undecided checks a reason names.
const maxExamples = 3

// Undecided is the reason for a requirement with undecided checks: the
// count ("N onbeslist") and the first examples.
func Undecided(undecided []string) string {
	ex := undecided
	if len(ex) > maxExamples {
		ex = ex[:maxExamples]
	}
	more := ""
	if len(undecided) > maxExamples {
		more = "; …"
	}
	return fmt.Sprintf("%d onbeslist: %s%s", len(undecided), strings.Join(ex, "; "), more)
}

// Decide applies the run's undecided policy (the certification profile's)
// to a spec's undecided checks: under UndecidedReport (self-test) the spec
// passes with their count and first examples as its remark; otherwise it
// is undecided, never a pass. Without undecided checks it does nothing.
func Decide(undecided []string) {
	GinkgoHelper()
	if len(undecided) == 0 {
		return
	}
	reason := Undecided(undecided)
	if spec.Current().Undecided == spec.UndecidedReport {
		spec.Remark(reason)
		return
	}
	spec.Undecided(reason + " (certificering: een onbesliste controle telt niet als geslaagd)")
}

// Judge validates every resource against the profiles it claims, with
// references resolved through resolve (nil: none resolved): it lists each
// resource that has an error (with its errors), and every undecided check
// ("Type/id at path: message").
func Judge(ctx SpecContext, v spec.Validator, resources []map[string]any, resolve spec.Resolve) (problems, undecided []string) {
	GinkgoHelper()
	for _, r := range resources {
		errs, und, err := Check(ctx, v, r, resolve)
		if err != nil {
			spec.Broke(fmt.Errorf("validating %v/%v: %w", r["resourceType"], r["id"], err))
		}
		for _, u := range und {
			undecided = append(undecided, fmt.Sprintf("%v/%v %s", r["resourceType"], r["id"], u))
		}
		if len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("%v/%v voldoet niet aan %s:\n%s", r["resourceType"], r["id"], claims(r), strings.Join(errs, "\n")))
		}
	}
	return problems, undecided
}

// Check validates one resource (a Bundle: with its entries) against the
// profiles it claims, with references resolved through resolve (nil: none
// resolved), and returns its errors ("  path: message") and the checks the
// engine could not decide ("path: message").
func Check(ctx context.Context, v spec.Validator, r map[string]any, resolve spec.Resolve) (errs, undecided []string, err error) {
	return CheckAgainst(ctx, v, r, nil, resolve)
}

// CheckAgainst is Check against the given profiles (nil: those the
// resource claims).
func CheckAgainst(ctx context.Context, v spec.Validator, r map[string]any, profiles []string, resolve spec.Resolve) (errs, undecided []string, err error) {
	var issues []spec.Issue
	if rv, ok := v.(spec.ResolvingValidator); ok {
		issues, err = rv.ValidateResolving(ctx, r, profiles, resolve)
	} else {
		issues, err = v.Validate(ctx, r, profiles)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, is := range issues {
		switch {
		case is.Severity == "error" || is.Severity == "fatal":
			errs = append(errs, fmt.Sprintf("  %s: %s", is.Expression, is.Message))
		case is.Undecided:
			undecided = append(undecided, fmt.Sprintf("%s: %s", is.Expression, is.Message))
		}
	}
	return errs, undecided, nil
}

// claims lists the profiles a resource claims, or says it claims none.
func claims(r map[string]any) string {
	meta, _ := r["meta"].(map[string]any)
	var out []string
	list, _ := meta["profile"].([]any)
	for _, p := range list {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "de basisdefinitie (geen meta.profile)"
	}
	return strings.Join(out, ", ")
}

// readable are the types of the resources a published resource refers to
// that the bench reads from the candidate by id to check them against the
// referring element's target profiles.
var readable = map[string]bool{"Medication": true, "Practitioner": true, "PractitionerRole": true, "Organization": true, "Patient": true}

// maxReads bounds the reads one scenario's references cost.
const maxReads = 200

// resolver finds the resources a published resource refers to: among what
// was published, else by reading them from the candidate (once each).
type resolver struct {
	ctx   context.Context
	env   *spec.Env
	known map[string]map[string]any // "Type/id" → resource (nil: not found)
	reads int
}

func newResolver(ctx context.Context, env *spec.Env) *resolver {
	return &resolver{ctx: ctx, env: env, known: map[string]map[string]any{}}
}

// add makes what one person's publication holds known to the resolver.
func (r *resolver) add(pub *spec.Published) {
	put := func(res map[string]any) {
		if t, id := res["resourceType"], res["id"]; t != nil && id != nil {
			r.known[fmt.Sprintf("%v/%v", t, id)] = res
		}
	}
	put(pub.Patient)
	for _, list := range pub.Resources {
		for _, res := range list {
			put(res)
		}
	}
	for ref, res := range pub.Referenced {
		r.known[ref] = res
	}
}

// resolve answers a relative reference (Type/id) or an absolute one on the
// candidate's base URL.
func (r *resolver) resolve(ref string) (map[string]any, bool) {
	if r.env.XIS != nil {
		if rest, ok := strings.CutPrefix(ref, strings.TrimSuffix(r.env.XIS.Base, "/")+"/"); ok {
			ref = rest
		}
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	if res, ok := r.known[ref]; ok {
		return res, res != nil
	}
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || strings.Contains(id, "/") || !readable[typ] || r.env.XIS == nil || r.reads >= maxReads {
		return nil, false
	}
	r.reads++
	res, err := r.env.XIS.Read(r.ctx, typ, id)
	if err != nil || res == nil {
		r.known[ref] = nil
		return nil, false
	}
	r.known[ref] = res
	return res, true
}
