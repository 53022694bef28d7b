// Package spec is the one wrapper over Ginkgo through which every bcbench
// spec names the requirement(s) it verifies, and the environment the specs
// run against (the candidate's endpoints, the replayed scenarios, the
// validator). Requirement labels are added only here.
package spec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/requirements"
	"github.com/bcbench/bcbench/suites/fact"
)

// ErrorPrefix marks a failure that is the bench's (or the network's) fault,
// not a wrong answer of the candidate: such a spec counts as error, not fail.
const ErrorPrefix = "[bench-error] "

// UndecidedPrefix marks a skip because checks could not be decided: the
// requirement is not-tested (never pass), with the reason.
const UndecidedPrefix = "[bench-undecided] "

// RemarkEntry names the report entry of a passed spec's remark.
const RemarkEntry = "bcbench-remark"

var (
	catalogueOnce sync.Once
	catalogue     *requirements.Catalogue
	catalogueErr  error
)

// Catalogue returns the requirement catalogue the specs are checked against.
func Catalogue() *requirements.Catalogue {
	catalogueOnce.Do(func() { catalogue, catalogueErr = requirements.Default() })
	if catalogueErr != nil {
		panic(fmt.Sprintf("bcbench: loading the requirement catalogue: %v", catalogueErr))
	}
	return catalogue
}

// Labels returns the Ginkgo labels for requirement IDs, after checking that
// every ID is in the catalogue. An unknown ID panics while the spec tree is
// built, so the run stops before any spec starts.
func Labels(ids ...string) ginkgo.Labels {
	if len(ids) == 0 {
		panic("bcbench: a spec must name at least one requirement")
	}
	if err := Catalogue().Check(ids...); err != nil {
		registryMu.Lock()
		unknown = append(unknown, err.Error())
		registryMu.Unlock()
		panic("bcbench: " + err.Error())
	}
	return ginkgo.Label(ids...)
}

var (
	registryMu sync.Mutex
	declared   = map[string]bool{}
	unknown    []string
)

// declare records a spec for the checked-in conformance list.
func declare(line string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	declared[line] = true
}

// Declared returns every spec declared so far as "IDs: text", sorted and
// without duplicates (a spec declared once per scenario counts once).
func Declared() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]string, 0, len(declared))
	for l := range declared {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Unknown returns the problems with requirement IDs seen while the spec tree
// was built; a run with any must stop before it starts.
func Unknown() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return slices.Clone(unknown)
}

// It declares a spec that verifies the requirement id. The text says what
// MOET hold, in words a midwife or an information analyst recognises.
func It(id, text string, body func(ginkgo.SpecContext)) bool {
	declare(id + ": " + text)
	// Offset(1): the spec's location is the caller's line, not this one.
	return ginkgo.It(id+": "+text, Labels(id), ginkgo.NodeTimeout(Timeout()), ginkgo.Offset(1), body)
}

// ItAll declares a spec that verifies several requirements at once.
func ItAll(ids []string, text string, body func(ginkgo.SpecContext)) bool {
	declare(strings.Join(ids, ", ") + ": " + text)
	return ginkgo.It(strings.Join(ids, ", ")+": "+text, Labels(ids...), ginkgo.NodeTimeout(Timeout()), ginkgo.Offset(1), body)
}

// Broke fails the current spec as a bench error (the candidate could not be
// reached, answered garbage, or the bench itself failed), not a wrong answer.
func Broke(err error) {
	ginkgo.GinkgoHelper()
	ginkgo.Fail(ErrorPrefix + err.Error())
}

// NotTestable skips the current spec with a reason: it is reported as skip,
// never as pass.
func NotTestable(reason string) {
	ginkgo.GinkgoHelper()
	ginkgo.Skip(reason)
}

// Undecided ends the current spec as not-tested: the bench could not decide
// some of its checks (a code system, profile or target it does not have).
// It is never a pass.
func Undecided(reason string) {
	ginkgo.GinkgoHelper()
	ginkgo.Skip(UndecidedPrefix + reason)
}

// Remark attaches a remark to a spec that passes: the requirement's result
// shows it as its reason (a self-test pass with undecided checks says so).
func Remark(text string) {
	ginkgo.AddReportEntry(RemarkEntry, text)
}

var timeout = 2 * time.Minute

// Timeout is the time one spec may take.
func Timeout() time.Duration { return timeout }

// SetTimeout changes the time one spec may take.
func SetTimeout(d time.Duration) {
	if d > 0 {
		timeout = d
	}
}

// Publication returns what the candidate publishes for a scenario's client
// and her Patient id. No Patient with her BSN fails the spec (the candidate
// is wrong); no answer breaks it (error).
func Publication(ctx context.Context, s *fixtures.Scenario) (*Published, string) {
	ginkgo.GinkgoHelper()
	return PublicationOf(ctx, s, s.Client)
}

// PublicationOf is Publication for one person of the scenario: the client
// or one of her children.
func PublicationOf(ctx context.Context, s *fixtures.Scenario, person fixtures.Client) (*Published, string) {
	ginkgo.GinkgoHelper()
	pub, err := Current().PublishedOf(ctx, s, person)
	if errors.Is(err, ErrNoPatient) {
		ginkgo.Fail(fmt.Sprintf("het XIS publiceert geen Patient met BSN %s (%s %s)", person.BSN, person.Given, person.Family))
	}
	if err != nil {
		Broke(err)
	}
	pid, _ := pub.Patient["id"].(string)
	return pub, pid
}

// Pairing pairs every fact the scenario expects to be published about the
// client (not her children: suites/content pairs theirs on their own
// records) with the one published resource judged for it (suites/fact.Pairs);
// every content and medication spec judges the same pairs. No Patient with
// her BSN fails the spec; no answer breaks it.
func Pairing(ctx context.Context, s *fixtures.Scenario) ([]fact.Pair, fact.Source) {
	ginkgo.GinkgoHelper()
	pub, _ := Publication(ctx, s)
	src := pub.Source(Current().Reference)
	items, _ := fact.Expected(s)
	return fact.Pairs(src, fact.About(s, items, s.Client)), src
}
