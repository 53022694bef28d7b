// Package suites runs the bcbench specs: inside the bcbench binary (no Go
// toolchain needed) and under `go test ./suites/...` against the reference
// candidates. It imports every area's specs.
package suites

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	_ "github.com/bcbench/bcbench/suites/api"           // Koppelvlak
	_ "github.com/bcbench/bcbench/suites/audit"         // Toegangslog
	_ "github.com/bcbench/bcbench/suites/content"       // Zwangerschap
	_ "github.com/bcbench/bcbench/suites/dvza"          // MedMij (DVZA)
	_ "github.com/bcbench/bcbench/suites/index"         // Index
	_ "github.com/bcbench/bcbench/suites/medication"    // Medicatie
	_ "github.com/bcbench/bcbench/suites/profile"       // Profielen
	_ "github.com/bcbench/bcbench/suites/qualification" // Kwalificatiescripts
	"github.com/bcbench/bcbench/suites/spec"
	_ "github.com/bcbench/bcbench/suites/timeliness" // Tijdigheid
	_ "github.com/bcbench/bcbench/suites/transfer"   // Overdracht
	_ "github.com/bcbench/bcbench/suites/translator" // Vertaler
	_ "github.com/bcbench/bcbench/suites/trust"      // Vertrouwensstelsel
	_ "github.com/bcbench/bcbench/suites/viewer"     // Viewer
)

// Outcome is what one spec run says about the requirements it names.
type Outcome struct {
	Name         string
	Requirements []string
	Status       string // pass, fail, error, skip, not-tested (undecided checks)
	Seconds      float64
	Failure      string
	Location     string
	// Ended is when the spec ended: a run whose role died keeps what was
	// judged before (cmd/bcbench).
	Ended time.Time
}

// Options tune a run of the specs.
type Options struct {
	// Requirements selects the specs (by label); all specs when empty.
	Requirements []string
	// Progress, when set, hears the name of each spec as it starts.
	Progress func(string)
	// Verbose lets Ginkgo's own reporter write to stdout (go test); the
	// bcbench binary keeps it quiet and reports through its own outputs.
	Verbose bool
	// Seed fixes the order of the specs; runs are deterministic.
	Seed int64
}

var (
	mu       sync.Mutex
	outcomes []Outcome
	progress func(string)
)

var _ = ginkgo.ReportBeforeEach(func(r ginkgo.SpecReport) {
	mu.Lock()
	p := progress
	mu.Unlock()
	if p != nil && r.State != types.SpecStateSkipped {
		p(r.FullText())
	}
})

var _ = ginkgo.ReportAfterEach(func(r ginkgo.SpecReport) {
	o, ok := outcomeOf(r)
	if !ok {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	outcomes = append(outcomes, o)
})

// outcomeOf turns a Ginkgo spec report into an outcome; specs left out by
// the label filter (skipped without a reason) give none.
func outcomeOf(r ginkgo.SpecReport) (Outcome, bool) {
	o := Outcome{
		Name:         r.FullText(),
		Requirements: r.Labels(),
		Seconds:      r.RunTime.Seconds(),
		Location:     r.LeafNodeLocation.String(),
		Failure:      r.Failure.Message,
		Ended:        r.EndTime,
	}
	switch r.State {
	case types.SpecStatePassed:
		o.Status = "pass"
		var remarks []string
		for _, e := range r.ReportEntries {
			if e.Name == spec.RemarkEntry {
				remarks = append(remarks, e.StringRepresentation())
			}
		}
		o.Failure = strings.Join(remarks, "\n") // a pass's remark
	case types.SpecStateSkipped, types.SpecStatePending:
		if r.Failure.Message == "" {
			return Outcome{}, false
		}
		o.Status = "skip"
		if msg, ok := strings.CutPrefix(r.Failure.Message, spec.UndecidedPrefix); ok {
			o.Status, o.Failure = "not-tested", msg
		}
	case types.SpecStateFailed:
		o.Status = "fail"
		if msg, ok := strings.CutPrefix(r.Failure.Message, spec.ErrorPrefix); ok {
			o.Status, o.Failure = "error", msg
		}
	default: // panicked, timed out, interrupted, aborted: the run broke, not the candidate
		o.Status = "error"
		if o.Failure == "" {
			o.Failure = r.State.String()
		}
		if r.Failure.ForwardedPanic != "" {
			o.Failure += ": " + r.Failure.ForwardedPanic
		}
	}
	if o.Failure != "" {
		o.Failure = strings.TrimSpace(o.Failure)
	}
	return o, true
}

// failer is the minimal testing value Ginkgo needs outside `go test`.
type failer struct{ failed bool }

func (f *failer) Fail() { f.failed = true }

// ErrUnknownRequirement is returned when a spec names an ID that is not in
// the catalogue; nothing ran.
var ErrUnknownRequirement = errors.New("a spec names an unknown requirement")

// Run runs the specs against env once per process (a Ginkgo rule) and
// returns what each spec said.
func Run(env *spec.Env, opts Options) ([]Outcome, error) {
	spec.Use(env)
	gomega.RegisterFailHandler(ginkgo.Fail)
	mu.Lock()
	outcomes, progress = nil, opts.Progress
	mu.Unlock()
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.RandomSeed = opts.Seed
	suiteConfig.LabelFilter = Filter(opts.Requirements)
	suiteConfig.FailFast = false
	reporterConfig.NoColor = true
	if !opts.Verbose {
		formatter.ColorableStdOut = io.Discard
		reporterConfig.Succinct = true
	}
	ginkgo.RunSpecs(&failer{}, "bcbench", suiteConfig, reporterConfig)
	if u := spec.Unknown(); len(u) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRequirement, strings.Join(u, "; "))
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(outcomes), nil
}

// Filter is the Ginkgo label filter selecting the specs of the given
// requirements ("" selects all).
func Filter(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return strings.Join(ids, " || ")
}

// Digest is the sha256 of the conformance list (every declared spec, sorted):
// it binds a report to the exact suite that produced it. Valid after Run.
func Digest() string {
	h := sha256.New()
	for _, l := range spec.Declared() {
		fmt.Fprintln(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Declared lists every spec as "IDs: text", sorted: the conformance list
// checked in as suites/conformance.txt. Valid after Run.
func Declared() []string { return spec.Declared() }
