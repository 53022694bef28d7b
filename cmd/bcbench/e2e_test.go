package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/requirements"
)

// bin is the bcbench binary built once for the end-to-end tests.
var bin string

// waitingParallel is how many parallel tests run at once unless -parallel
// is given: the tests exec the binary and mostly wait on it (for hangs,
// timeouts, timeliness limits, polls), so twice the processors keeps them
// busy without the default (GOMAXPROCS) leaving them idle.
func waitingParallel() int { return 2 * runtime.GOMAXPROCS(0) }

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(waitingParallel())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	dir, err := os.MkdirTemp("", "bcbench-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "bcbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building bcbench: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	removeTestImages()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bench runs the binary with a private config dir (for the development key)
// and returns its exit code and output.
func bench(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return benchIn(t, filepath.Join(t.TempDir(), "config"), args...)
}

// benchWith is bench with extra environment variables (KEY=VALUE), which win
// over the test's own: a parallel test cannot t.Setenv.
func benchWith(t *testing.T, extra []string, args ...string) (int, string) {
	t.Helper()
	return benchEnvIn(t, filepath.Join(t.TempDir(), "config"), extra, args...)
}

// benchEnvIn runs the binary with the config dir given, a private home and
// extra environment variables, and returns its exit code and output.
func benchEnvIn(t *testing.T, cfg string, extra []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+cfg, "HOME="+t.TempDir()), extra...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatalf("running bcbench %v: %v", args, err)
		return -1, ""
	}
}

// attachManifest writes a manifest that attaches to a running XIS at url.
func attachManifest(t *testing.T, url string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "candidate.yaml")
	doc := fmt.Sprintf("name: testkandidaat\nvendor: test\nversion: \"1.0\"\nroles:\n  xis:\n    url: %s\n", url)
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readResults(t *testing.T, dir string) *reports.Results {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatalf("results.json not written: %v", err)
	}
	if err := reports.ValidateJSON(data); err != nil {
		t.Fatalf("results.json does not match its schema: %v", err)
	}
	var r reports.Results
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func failed(r *reports.Results) []string {
	var out []string
	for _, req := range r.Requirements {
		if req.Status != reports.Pass {
			out = append(out, req.ID+"="+string(req.Status))
		}
	}
	slices.Sort(out)
	return out
}

// TestDefaultRunPassesAndVerifies is the fresh machine: `bcbench run` with no
// flags, in a folder with no ../shared beside it, no FHIR package cache and
// no BCBENCH_PACKAGES, passes on the built-in reference with the packages
// embedded in the binary, and its report verifies.
func TestDefaultRunPassesAndVerifies(t *testing.T) {
	t.Parallel()
	fresh := t.TempDir()
	out := filepath.Join(fresh, "bcbench-out")
	cfg := filepath.Join(t.TempDir(), "config")
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = fresh
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+cfg, "HOME="+t.TempDir(), "BCBENCH_PACKAGES=")
		o, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(o)
		}
		return 0, string(o)
	}
	code, text := run("run")
	if code != 0 {
		t.Fatalf("bcbench run on the default = exit %d, want 0\n%s", code, text)
	}
	for _, f := range []string{"results.json", "junit.xml", "report.html", "results.dsse.json", "evidence/xis.har"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output %s missing: %v", f, err)
		}
	}
	res := readResults(t, out)
	if res.Verdict != reports.VerdictPass || res.Summary.Pass == 0 || len(failed(res)) > 0 {
		t.Fatalf("verdict %s, summary %+v, not passed %v", res.Verdict, res.Summary, failed(res))
	}
	for _, r := range res.Requirements {
		if r.ID == "PRF-01" && strings.Contains(r.Reason, "onbeslist") {
			t.Errorf("PRF-01 leaves checks undecided offline: %s", r.Reason)
		}
		if r.ID == "PRF-01" && (r.Status != reports.Pass || len(r.Specs) == 0) {
			t.Errorf("PRF-01 %s with %d specs: profile conformance not judged with the embedded packages", r.Status, len(r.Specs))
		}
	}
	if res.Mode != reports.ModeSelfTest {
		t.Errorf("mode %q, want %q for a development key", res.Mode, reports.ModeSelfTest)
	}
	pub := filepath.Join(cfg, "bcbench", "dev", "bcbench.pub")
	if code, text := run("report", "verify", "--key", pub, filepath.Join(out, "results.dsse.json")); code != 0 {
		t.Fatalf("verify of an intact report = exit %d\n%s", code, text)
	}
	data, _ := os.ReadFile(filepath.Join(out, "results.json"))
	data[len(data)/2] ^= 1
	if err := os.WriteFile(filepath.Join(out, "results.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, text := run("report", "verify", "--key", pub, filepath.Join(out, "results.dsse.json")); code != 1 {
		t.Fatalf("verify after one changed byte in results.json = exit %d, want 1\n%s", code, text)
	}
}

// TestMutants is the bench's own honesty check: the reference XIS must pass
// every requirement (no false failure) and every mutant must fail exactly the
// requirements it declares.
func TestMutants(t *testing.T) {
	t.Parallel()
	type variant struct {
		name     string
		defect   string
		valid    string // a valid variant of the reference (xis.Variants)
		violates []string
	}
	variants := []variant{{name: "reference"}}
	for _, v := range xis.Variants {
		variants = append(variants, variant{name: "reference-" + v.Name, valid: v.Name})
	}
	mutants := 0
	for _, m := range xis.Mutants {
		if accessLogMutant(m) {
			continue // judged in the chain profile: TestAccessLogMutantsFailExactlyTheirRequirements
		}
		if transferMutant(m) {
			continue // judged in the chain profile: TestTransferMutantsFailExactlyTheirRequirements
		}
		variants = append(variants, variant{name: m.Name, defect: m.Name, violates: m.Violates})
		mutants++
	}
	var mu sync.Mutex
	caught, falseFailures := 0, 0
	t.Run("each", func(t *testing.T) {
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				t.Parallel()
				srv, err := xis.New(xis.Options{Defect: v.defect, Variant: v.valid})
				if err != nil {
					t.Fatal(err)
				}
				ts := httptest.NewServer(srv)
				defer ts.Close()
				out := filepath.Join(t.TempDir(), "out")
				// The publication limit is shortened (a self-test override,
				// docs/timeliness.md) so that the late-publishing mutant is
				// caught in seconds: every variant runs under it, the
				// reference included.
				code, text := bench(t, "run", "--candidate", attachManifest(t, ts.URL), "--out", out, "--quiet", "--timeliness-limit", mutantPublicationLimit)
				var want []string
				for _, id := range v.violates {
					want = append(want, id+"=fail")
				}
				got := failed(readResults(t, out))
				if v.defect == "" && len(got) > 0 {
					mu.Lock()
					falseFailures += len(got)
					mu.Unlock()
				}
				if !slices.Equal(got, want) {
					t.Fatalf("requirements not passed = %v, want %v\n%s", got, want, text)
				}
				wantCode := 1
				if len(want) == 0 || onlyShould(v.violates) {
					wantCode = 0
				}
				if code != wantCode {
					t.Fatalf("exit %d, want %d\n%s", code, wantCode, text)
				}
				if v.defect != "" {
					mu.Lock()
					caught++
					mu.Unlock()
				}
			})
		}
	})
	t.Logf("mutation score: %d/%d mutants caught exactly; false failures on the reference and its %d valid variants: %d", caught, mutants, len(xis.Variants), falseFailures)
}

// mutantPublicationLimit is the publication limit TestMutants runs under:
// shorter than the late mutant's delay (xis.LateBy), longer than any poll.
const mutantPublicationLimit = "publication=2s"

// onlyShould says whether every violated requirement is below MOET level
// (the verdict then still passes), by the catalogue.
func onlyShould(ids []string) bool {
	cat := requirements.MustDefault()
	for _, id := range ids {
		if r, ok := cat.Get(id); !ok || r.Level == requirements.Must {
			return false
		}
	}
	return len(ids) > 0
}

func TestBadInputExitsTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("name: x\nroles:\n  xis:\n    url: [\n"), 0o644)
	twoKinds := filepath.Join(dir, "two.yaml")
	os.WriteFile(twoKinds, []byte("name: x\nroles:\n  xis:\n    url: http://127.0.0.1:1\n    builtin: true\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown profile", []string{"run", "--profile", "nope"}, "unknown profile"},
		{"unknown scenario", []string{"run", "--scenario", "nope"}, "unknown scenario"},
		{"missing manifest", []string{"run", "--candidate", filepath.Join(dir, "absent.yaml")}, "absent.yaml"},
		{"malformed manifest", []string{"run", "--candidate", broken}, "broken.yaml"},
		{"manifest with two kinds", []string{"run", "--candidate", twoKinds}, "xis"},
		{"bad flag", []string{"run", "--no-such-flag"}, "unknown flag"},
		{"bad reference date", []string{"run", "--reference-date", "gisteren"}, "reference-date"},
		{"package that does not exist", []string{"run", "--package", filepath.Join(dir, "nope")}, "load package " + filepath.Join(dir, "nope") + ": no such file or folder"},
		{"package in neither binary nor cache", []string{"run", "--package", "nergens#1.0.0"}, "nergens#1.0.0: not embedded"},
		{"timeliness limit of no hop", []string{"run", "--timeliness-limit", "apotheek=1s"}, "HOP=DURATION"},
		{"timeliness limit no system meets", []string{"run", "--timeliness-limit", "publication=1ns"}, "publication=1ns"},
		{"timeliness limit without value", []string{"run", "--timeliness-limit", "publication"}, "HOP=DURATION"},
		{"concurrency of none", []string{"run", "--concurrency", "0"}, "--concurrency 0"},
		{"concurrency too high", []string{"run", "--concurrency", "100000"}, "--concurrency 100000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--out", filepath.Join(t.TempDir(), "out"), "--quiet")
			code, text := bench(t, args...)
			if code != 2 || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d, output %q; want exit 2 mentioning %q", code, text, tc.want)
			}
			if strings.Contains(text, "panic") || strings.Contains(text, "goroutine") {
				t.Fatalf("output shows a panic:\n%s", text)
			}
		})
	}
}

func TestUnreachableCandidateWritesResultsAndExitsTwo(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there any more
	out := filepath.Join(t.TempDir(), "out")
	code, text := bench(t, "run", "--candidate", attachManifest(t, url), "--out", out, "--quiet", "--startup-timeout", "2s")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, text)
	}
	res := readResults(t, out)
	if res.Verdict == reports.VerdictPass || len(res.Problems) == 0 {
		t.Fatalf("verdict %s with problems %v; want no pass and the start problem recorded", res.Verdict, res.Problems)
	}
}

func TestHangingCandidateIsBoundedInTime(t *testing.T) {
	t.Parallel()
	ref, _ := xis.New(xis.Options{})
	release := make(chan struct{})
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fhir/Observation") {
			select { // answers searches for observations never (until the test ends)
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		ref.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(hang)
	defer ts.Close()
	defer close(release)
	out := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	code, text := bench(t, "run", "--candidate", attachManifest(t, ts.URL), "--out", out, "--quiet", "--request-timeout", "1s", "--scenario", "ongecompliceerd", "--scenario", "hypertensie")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, text)
	}
	if took := time.Since(start); took > 90*time.Second {
		t.Fatalf("a hanging candidate kept the run busy for %s", took)
	}
	res := readResults(t, out)
	var errored []string
	for _, r := range res.Requirements {
		if r.Status == reports.Error {
			errored = append(errored, r.ID)
		}
	}
	if !slices.Contains(errored, "INH-01") {
		t.Fatalf("requirements in error = %v, want INH-01 among them (the candidate hung)", errored)
	}
}

// TestReportStaysInertWithHostileCandidate: a candidate that puts script in
// what it publishes must not be able to inject it into report.html.
func TestReportStaysInertWithHostileCandidate(t *testing.T) {
	t.Parallel()
	ref, _ := xis.New(xis.Options{})
	const payload = `<script>alert("bcbench")</script><img src=x onerror=alert(1)>`
	hostile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir/metadata" {
			w.Header().Set("Content-Type", "application/fhir+json")
			fmt.Fprintf(w, `{"resourceType":"CapabilityStatement","fhirVersion":%q,"format":["json"],"software":{"name":%q}}`, payload, payload)
			return
		}
		ref.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(hostile)
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "out")
	// One scenario is enough: the payload reaches the report through the
	// CapabilityStatement, read once per run.
	code, text := bench(t, "run", "--candidate", attachManifest(t, ts.URL), "--out", out, "--quiet", "--scenario", "ongecompliceerd")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (API-01 fails)\n%s", code, text)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`<script>alert`, `<img src=x`} {
		if strings.Contains(string(html), bad) {
			t.Errorf("report.html contains %q from the candidate", bad)
		}
	}
	if !strings.Contains(string(html), "&lt;script&gt;") {
		t.Errorf("report.html does not show the candidate's value escaped")
	}
}

// TestGarbageAnswersAreBenchErrorsNotPasses: a candidate whose FHIR API
// answers garbage gets error (or fail) for what it affects, never pass.
func TestGarbageAnswersAreBenchErrorsNotPasses(t *testing.T) {
	t.Parallel()
	ref, _ := xis.New(xis.Options{})
	garbage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fhir/") && r.URL.Path != "/fhir/metadata" {
			w.Header().Set("Content-Type", "application/fhir+json")
			w.Write([]byte("{\"resourceType\":\"Bundle\",\x00\xff garbage"))
			return
		}
		ref.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(garbage)
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "out")
	code, text := bench(t, "run", "--candidate", attachManifest(t, ts.URL), "--out", out, "--quiet", "--scenario", "ongecompliceerd")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, text)
	}
	res := readResults(t, out)
	for _, r := range res.Requirements {
		if r.ID == "INH-01" && r.Status != reports.Error {
			t.Fatalf("INH-01 is %s with a garbage-answering candidate, want error (%s)", r.Status, r.Reason)
		}
		if r.Status == reports.Pass && r.ID != "API-01" && r.ID != "ADP-01" {
			t.Errorf("%s passed although every FHIR answer was garbage", r.ID)
		}
	}
}

func TestGeneratedPopulationPassesAgainstTheReference(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, text := bench(t, "run", "--profile", "zelftest-inhoud", "--population", "20", "--seed", "42", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, text)
	}
	res := readResults(t, out)
	if len(res.Scenarios) != 29 {
		t.Fatalf("%d scenarios in results.json, want 9 golden + 20 generated", len(res.Scenarios))
	}
	for _, r := range res.Requirements {
		if r.ID == "INH-01" && len(r.Specs) < 29 {
			t.Errorf("INH-01 was checked by %d specs, want one per pregnancy", len(r.Specs))
		}
	}
}
