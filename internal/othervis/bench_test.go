package othervis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// defectScenarios are the golden scenarios that show each seeded defect; a
// defect case replays only those.
var defectScenarios = map[string][]string{
	"weight-day-before":     {"ongecompliceerd"},
	"bp-swapped":            {"ongecompliceerd"},
	"hb-gdl":                {"ongecompliceerd"},
	"lmp-day-before":        {"ongecompliceerd"},
	"stop-type-lost":        {"diabetes"},
	"mbh-dispense-request":  {"diabetes"},
	"referral-no-requester": {"hypertensie"},
	"apgar5-as-apgar1":      {"overdracht-jgz"},
	"apgar-also-on-mother":  {"overdracht-jgz"},
	// all scenarios: API-02 judges the first page of a searchset only, so the
	// leak (the last match) shows on a child's short first page (othervis gaps)
	"search-leak":               nil,
	"shared-after-withdrawal":   {"toestemming-ingetrokken"},
	"only-patient-hidden":       {"toestemming-ingetrokken"},
	"deletion-keeps-medication": {"vernietiging"},
	"child-own-record":          {"vernietiging"},
	"ta-dose-tenfold":           {"diabetes"},
	"vv-amount-litre":           {"diabetes"},
	"ma-frequency-once":         {"hypertensie"},
	"child-birthdate-missing":   {"overdracht-jgz"},
	"kraamzorg-status-invalid":  {"overdracht-jgz"},
}

// knownMisses are seeded defects the bench does not catch yet (in the
// othervis gaps): their case is skipped with what was missed.
var knownMisses = map[string]bool{}

// TestBenchJudgesOthervis runs the real bcbench CLI against this independent
// XIS, as a `command:` candidate, once per set of valid variants — the verdict
// must be pass and no requirement may fail — and once per seeded defect, which
// must fail exactly the requirements it breaks.
func TestBenchJudgesOthervis(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run of bcbench (builds two binaries)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := func(out, pkg string) string {
		path := filepath.Join(bin, out)
		cmd := exec.Command("go", "build", "-o", path, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, b)
		}
		return path
	}
	bcbench := build("bcbench", "./cmd/bcbench")
	xis := build("othervis", "./internal/othervis/cmd/othervis")

	profile := "keurmerk-niveau1"
	if _, err := os.Stat(filepath.Join(root, "profiles/certification/zelftest-niveau1.yaml")); err == nil {
		profile = "zelftest-niveau1"
	}

	// known names the requirements the bench still fails for a valid variant
	// (none since the pairing rule landed: UTC instants, absolute references,
	// a period of use as start + duration and a PractitionerRole in the open
	// performer slicing of a lab result failed before; see the othervis gaps). A case whose only failures
	// are known is skipped with the list, so the false failure stays visible;
	// any other failure fails the test. defect names the requirements a case
	// with a seeded defect must fail, exactly.
	cases := []struct {
		name   string
		args   []string // othervis flags
		run    []string // extra bcbench run flags
		known  []string
		defect []string
	}{
		{name: "Amsterdam offset, relative references, pages of 3", args: []string{"--utc=false", "--absolute=false", "--page-size=3"}},
		{name: "contained Medication, narrative, references without type, searchsets without total, milliseconds, own block OIDs, pages of 5",
			args: []string{"--utc=false", "--absolute=false", "--contained=true", "--narrative=true", "--bare-references=true", "--no-total=true", "--millis=true", "--own-oids=true", "--page-size=5"}},
		{name: "a generated population of 25 beside the golden scenarios, UTC, absolute references, pages of 8",
			args: []string{"--utc=true", "--absolute=true", "--page-size=8"}, run: []string{"--population=25", "--seed=7"}},
		{name: "UTC instants", args: []string{"--utc=true", "--absolute=false"}},
		{name: "absolute references on the request's base", args: []string{"--utc=false", "--absolute=true"}},
		{name: "period of use as start and duration", args: []string{"--utc=false", "--absolute=false", "--duration=true"}},
		{name: "lab results performed by the professional's PractitionerRole", args: []string{"--utc=false", "--absolute=false", "--lab-role=true"}},
	}
	// Every seeded defect, on the scenarios that show it, must fail exactly
	// the requirements it declares.
	for _, name := range DefectNames() {
		d := Defects[name]
		run := []string{}
		for _, sc := range defectScenarios[name] {
			run = append(run, "--scenario", sc)
		}
		cases = append(cases, struct {
			name   string
			args   []string
			run    []string
			known  []string
			defect []string
		}{name: "defect " + name + ": " + d.What, args: []string{"--utc=false", "--absolute=false", "--defect=" + name}, run: run, defect: d.Break})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each run starts its own candidate on a free port
			dir := t.TempDir()
			args := `[--addr, "127.0.0.1:{port}"`
			for _, a := range c.args {
				args += ", " + a
			}
			args += "]"
			manifest := fmt.Sprintf("name: othervis\nvendor: othervis (independent, docs only)\nversion: \"1.0\"\nroles:\n  xis:\n    command:\n      path: %s\n      args: %s\n    fhirBase: /fhir\n    adapter: /bench\n", xis, args)
			mpath := filepath.Join(dir, "othervis.yaml")
			if err := os.WriteFile(mpath, []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			runArgs := []string{"run", "--candidate", mpath, "--profile", profile, "--out", out, "--quiet"}
			runArgs = append(runArgs, c.run...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bcbench, runArgs...)
			cmd.Dir = root
			b, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("running bcbench: %v\n%s", err, b)
			}
			raw, rerr := os.ReadFile(filepath.Join(out, "results.json"))
			if rerr != nil {
				t.Fatalf("no results.json (exit %v): %v\n%s", err, rerr, b)
			}
			var res struct {
				Verdict      string `json:"verdict"`
				Requirements []struct {
					ID     string `json:"id"`
					Status string `json:"status"`
					Reason string `json:"reason"`
				} `json:"requirements"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatalf("results.json: %v", err)
			}
			var bad, unknown, missed []string
			statuses := map[string]int{}
			for _, r := range res.Requirements {
				statuses[r.Status]++
				if c.defect != nil {
					failed, want := r.Status == "fail", slices.Contains(c.defect, r.ID)
					switch {
					case failed && !want:
						t.Errorf("%s %s: a false failure, the seeded defect declares only %v: %s", r.ID, r.Status, c.defect, r.Reason)
					case want && !failed:
						missed = append(missed, r.ID+" "+r.Status)
					}
					continue
				}
				if r.Status == "pass" {
					continue
				}
				line := fmt.Sprintf("%s %s: %s", r.ID, r.Status, r.Reason)
				bad = append(bad, line)
				if r.Status != "fail" || !slices.Contains(c.known, r.ID) {
					unknown = append(unknown, line)
				}
			}
			sort.Strings(bad)
			t.Logf("profile %s: verdict %s, %v", profile, res.Verdict, statuses)
			if len(res.Requirements) == 0 {
				t.Fatalf("results.json lists no requirements\n%s", b)
			}
			if c.defect != nil {
				name := strings.TrimPrefix(c.args[len(c.args)-1], "--defect=")
				switch {
				case len(missed) > 0 && knownMisses[name] && !t.Failed():
					t.Skipf("the bench misses this defect (othervis gaps): %v not failed", missed)
				case len(missed) > 0:
					t.Errorf("the bench missed the seeded defect: %v not failed", missed)
				case knownMisses[name]:
					t.Logf("the bench now catches %s: drop it from knownMisses", name)
				}
				return
			}
			if len(bad) > 0 && len(unknown) == 0 {
				t.Skipf("only known false failures of the bench (othervis gaps):\n%s", strings.Join(bad, "\n"))
			}
			if len(bad) == 0 && len(c.known) > 0 {
				t.Logf("the bench now judges this variant: drop its known false failures %v", c.known)
			}
			if res.Verdict != "pass" || len(bad) > 0 || err != nil {
				t.Errorf("verdict %s (exit %v), want pass with every requirement passed:\n%s", res.Verdict, err, strings.Join(bad, "\n"))
			}
		})
	}
}
