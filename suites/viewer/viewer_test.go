package viewer_test

import (
	"context"
	"fmt"
	"github.com/bcbench/bcbench/suites/child"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/viewer"
	"github.com/bcbench/bcbench/suites"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
)

// Ginkgo runs its specs once per process: every variant of the viewer runs
// in a child process of this test binary, named by childEnv.
const (
	childEnv = "BCBENCH_VIEWER_SUITE_CHILD"
)

var requirements = []string{"VWR-01", "VWR-02", "VWR-03", "VWR-04", "VWR-05", "VWR-06", "VWR-07", "VWR-08"}

// scenarios judged by the test: a weight (gewicht-in-gram), a stopped
// agreement (stop-genegeerd), twins (tweeling-verwisseld) and two clients
// (the context switch).
var scenarios = []string{"tweeling", "diabetes"}

func TestMain(m *testing.M) { child.Main(m, childEnv, runViewer) }

// runViewer replays the scenarios into the bench's XIS, opens the viewer
// (the reference, or a mutant; "@<launch mode>" after it names the launch,
// else the mutant's own) from it and runs the VWR specs.
func runViewer(variant string) (map[string]string, error) {
	defect, launch, _ := strings.Cut(variant, "@")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	ids := scenarios
	switch v := os.Getenv("BCBENCH_VIEWER_SCENARIOS"); v {
	case "":
	case "golden":
		ids = nil
		for _, s := range fixtures.Golden() {
			ids = append(ids, s.ID)
		}
	default:
		ids = strings.Split(v, ",")
	}
	var scs []*fixtures.Scenario
	for _, id := range ids {
		s, ok := fixtures.Lookup(id)
		if !ok {
			return nil, fmt.Errorf("no golden scenario %s", id)
		}
		scs = append(scs, s)
	}
	steps := &stepTimes{}
	start := time.Now()
	st, err := viewer.StartStack(ctx, viewer.StackOptions{Defect: defect, Launch: launch})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	steps.add("setup stack", time.Since(start))
	start = time.Now()
	b, err := browser.Launch(ctx, browser.Options{PageTimeout: 60 * time.Second})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	steps.add("setup browser", time.Since(start))
	reader, _ := fixtures.Reader(scs)
	pro := viewer.Professional(reader)
	client := &http.Client{Timeout: 30 * time.Second}
	env := &spec.Env{
		Scenarios: scs,
		Reference: fixtures.PastReference(time.Now(), scs),
		XIS:       &harness.FHIR{Base: st.FHIR(), Client: client},
		Adapter:   &harness.Adapter{Base: st.XISURL + "/bench", Client: client},
		Viewer:    SpecViewer(st, b, pro),
	}
	env.Viewer.Timing = steps.add
	// a spec opens up to seven pages (VWR-02): on a loaded 2-core machine a
	// page takes tens of seconds
	spec.SetTimeout(6 * time.Minute)
	start = time.Now()
	if err := env.Replay(ctx, nil); err != nil {
		return nil, fmt.Errorf("replaying: %w", err)
	}
	steps.add("setup replay", time.Since(start))
	start = time.Now()
	outcomes, err := suites.Run(env, suites.Options{Requirements: requirements})
	if err != nil {
		return nil, err
	}
	statuses := map[string]string{"seconds": fmt.Sprintf("%.1f", time.Since(start).Seconds()), "scenarios": fmt.Sprint(len(scs))}
	steps.into(statuses)
	for _, o := range outcomes {
		statuses[fmt.Sprintf("%s%5.1f s  %s", specPrefix, o.Seconds, o.Name)] = ""
		for _, id := range o.Requirements {
			if statuses[id] == "" || statuses[id] == "pass" {
				statuses[id] = o.Status
			}
			if o.Status != "pass" {
				statuses[id+" reason"] += o.Failure + "\n"
			}
		}
	}
	return statuses, nil
}

// SpecViewer is the viewer environment over a stack: launches by the
// reader's professional, the bench's XIS ids.
func SpecViewer(st *viewer.Stack, b *browser.Browser, pro token.Professional) *spec.Viewer {
	pid := func(c fixtures.Client) string { return truth.PatientID(c.BSN) }
	v := &spec.Viewer{
		Browser:      b,
		Launch:       func(c fixtures.Client) (string, error) { return st.LaunchURL(pid(c), pro) },
		Refusals:     func(c fixtures.Client) (map[string]string, error) { return st.Refusals(pid(c), pro) },
		Origins:      st.Origins(),
		Professional: pro,
		PatientID:    pid,
		Now:          time.Now,
		Timely:       20 * time.Second,
	}
	if st.Reference != nil {
		v.AuditURL = st.ViewerURL + viewer.AuditPath
	}
	return v
}

// Keys of a child's statuses that are timings for the log, not outcomes.
const (
	stepPrefix = "time "
	specPrefix = "spec "
)

// stepTimes adds up, per step, how long the pages of a run took.
type stepTimes struct {
	mu    sync.Mutex
	total map[string]time.Duration
	count map[string]int
}

func (s *stepTimes) add(step string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total == nil {
		s.total, s.count = map[string]time.Duration{}, map[string]int{}
	}
	s.total[step] += d
	s.count[step]++
}

// into writes each step as "time <step>": "<seconds> s in <n>".
func (s *stepTimes) into(statuses map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for step, d := range s.total {
		statuses[stepPrefix+step] = fmt.Sprintf("%7.2f s in %d", d.Seconds(), s.count[step])
	}
}

// runChild runs the specs on one variant in a child process, with env
// (NAME=value) added to this process's environment.
func runChild(defect string, env ...string) (map[string]string, error) {
	return child.Run(childEnv, defect, env, "-test.bench=^$", "-test.timeout=25m")
}

// TestViewerSuiteJudgesTheReferenceAndEveryMutant: the reference viewer
// passes every VWR requirement; each mutant fails exactly the requirements
// it declares and passes the others; the reference passes every one also
// when it is opened with a signed context token (reference@context-token).
// BCBENCH_VIEWER_VARIANTS (comma separated, "reference" for the reference,
// "reference@context-token") narrows the run;
// BCBENCH_VIEWER_SCENARIOS ("golden", or ids comma separated) replaces the
// two scenarios (the timing of the nine golden ones).
func TestViewerSuiteJudgesTheReferenceAndEveryMutant(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the viewer suite in chromium once per variant in a child process")
	}
	if _, err := browser.Find(""); err != nil {
		t.Skip(err)
	}
	all := func(except map[string]string) map[string]string {
		out := map[string]string{}
		for _, id := range requirements {
			out[id] = "pass"
		}
		maps.Copy(out, except)
		return out
	}
	// "" is the reference with the SMART launch, "@context-token" the
	// reference opened with a signed context token
	cases := map[string]map[string]string{"": all(nil), "@" + viewer.LaunchContextToken: all(nil)}
	for _, m := range viewer.Mutants {
		except := map[string]string{}
		for _, id := range m.Violates {
			except[id] = "fail"
		}
		cases[m.Name] = all(except)
	}
	if only := os.Getenv("BCBENCH_VIEWER_VARIANTS"); only != "" {
		keep := strings.Split(strings.ReplaceAll(only, "reference", ""), ",")
		for k := range cases {
			if !slices.Contains(keep, k) {
				delete(cases, k)
			}
		}
	}
	var caught, mutants atomic.Int32
	sem := make(chan struct{}, 2) // two chromiums at a time on a 2-core machine
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]map[string]string{}
	errs := map[string]error{}
	for _, defect := range slices.Sorted(maps.Keys(cases)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := runChild(defect)
			mu.Lock()
			results[defect], errs[defect] = got, err
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, defect := range slices.Sorted(maps.Keys(cases)) {
		name := defect
		if name == "" || strings.HasPrefix(name, "@") {
			name = "reference" + name
		}
		t.Run(name, func(t *testing.T) {
			if errs[defect] != nil {
				t.Fatal(errs[defect])
			}
			got, want := results[defect], cases[defect]
			t.Logf("the VWR specs took %s s for %s scenarios", got["seconds"], got["scenarios"])
			// where the time went: the specs that opened a page (the others
			// read a view already open) and every step that took any
			for _, k := range slices.Sorted(maps.Keys(got)) {
				if strings.HasPrefix(k, specPrefix) && !strings.HasPrefix(k, specPrefix+"  0.0 s") {
					t.Log(k)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(got)) {
				if step, ok := strings.CutPrefix(k, stepPrefix); ok && !strings.HasPrefix(strings.TrimSpace(got[k]), "0.00 s") {
					t.Logf("step %-28s %s", step, got[k])
				}
			}
			for _, id := range slices.Sorted(maps.Keys(want)) {
				if got[id] != want[id] {
					t.Errorf("%s: %s, want %s\n%s", id, got[id], want[id], got[id+" reason"])
				} else if got[id] == "fail" {
					t.Logf("%s fails as declared: %s", id, got[id+" reason"])
				}
			}
			if defect != "" && !strings.HasPrefix(defect, "@") {
				mutants.Add(1)
				if !t.Failed() {
					caught.Add(1)
				}
			}
		})
	}
	t.Logf("viewer mutation score: %d of %d mutants fail exactly their declared requirements", caught.Load(), mutants.Load())
}

// BenchmarkViewerRunGolden times a viewer run as issue 11 bounds it (< 60 s
// on the bench's 2-core machine): the nine golden scenarios on the
// reference viewer — its stack, the browser's launch, the replay and every
// VWR spec (launches, content at the glass, WCAG) — in a child process, as
// ns/op; the VWR specs alone as s-specs/op. A run in which the reference
// does not pass every requirement is no timing of a viewer run: it fails.
//
//	go test -run '^$' -bench ViewerRunGolden -benchtime 1x ./suites/viewer
func BenchmarkViewerRunGolden(b *testing.B) {
	if _, err := browser.Find(""); err != nil {
		b.Skip(err)
	}
	var specs float64
	runs := 0
	for b.Loop() {
		got, err := runChild("", "BCBENCH_VIEWER_SCENARIOS=golden")
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range requirements {
			if got[id] != "pass" {
				b.Fatalf("the reference viewer: %s %s\n%s", id, got[id], got[id+" reason"])
			}
		}
		s, err := strconv.ParseFloat(got["seconds"], 64)
		if err != nil {
			b.Fatalf("the child printed no duration: %v", err)
		}
		specs += s
		runs++
	}
	b.ReportMetric(specs/float64(runs), "s-specs/op")
}
