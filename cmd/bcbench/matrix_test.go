package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/reports"
)

// matrixManifest writes a manifest that brings one role of the bench's
// reference (or a mutant of it) as a process.
func matrixManifest(t *testing.T, dir, name, role, defect string) string {
	t.Helper()
	// the LOG-* specs read both as named professionals, and IDX-09 asks the
	// index as an organisation without a care relationship
	auth := "    auth: {bench: true}\n"
	doc := fmt.Sprintf("name: %s\nversion: \"1\"\nroles:\n  %s:\n    command:\n      path: %s\n      args: [reference, serve, --role, %s, --defect, %q, --addr, \"127.0.0.1:{port}\"]\n%s",
		name, role, bin, role, defect, auth)
	return writeFile(t, dir, slug(name)+".yaml", doc)
}

// TestMatrixShardByShard is the bar of the interoperability matrix: three
// publishers (two reference XIS and an XIS mutant) × three consumers (two
// reference indexes and an index mutant) planned in three shards, each
// shard run on its own as a CI job would, signed with an operator's key,
// and merged against the bureau's root. The references work together; the
// XIS mutant's row and the index mutant's column fail, each pair exactly
// the requirements its mutants declare; a run changed after signing is
// invalid, never pass.
func TestMatrixShardByShard(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("nine chain runs")
	}
	dir := t.TempDir()
	p := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	must := func(want int, args ...string) string {
		t.Helper()
		code, out := bench(t, args...)
		if code != want {
			t.Fatalf("bcbench %s = exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return out
	}
	must(0, "keys", "init", "--ca", "--name", "Programmabureau (test)", "--out", p("root"))
	must(0, "keys", "issue", "--root-key", p("root", "root.key"), "--name", "Testlab", "--out", p("op"))

	m := p("manifests")
	pubs := []string{
		matrixManifest(t, m, "VIS-A", "xis", ""),
		matrixManifest(t, m, "VIS-B", "xis", ""),
		matrixManifest(t, m, "VIS-C", "xis", "metadata-stu3"), // API-01
	}
	cons := []string{
		matrixManifest(t, m, "Index-V", "index", ""),
		matrixManifest(t, m, "Index-W", "index", ""),
		matrixManifest(t, m, "Index-X", "index", "registratie-kwijt"), // IDX-02
	}
	// The two scenarios with the transfers of the seeds give every
	// requirement of the chain profile a verdict (OVD-01 needs spoedsectio,
	// OVD-02 and OVD-03 overdracht-jgz).
	must(0, "matrix", "plan", "--publishers", strings.Join(pubs, ","), "--consumers", strings.Join(cons, ","),
		"--scenario", "spoedsectio", "--scenario", "overdracht-jgz", "--shards", "3", "--out", p("plan.json"))
	var plan matrixPlan
	data, err := os.ReadFile(p("plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Include) != 3 || len(plan.Include[0].Runs) != 3 {
		t.Fatalf("plan: %d entries, want 3 shards of 3 runs:\n%s", len(plan.Include), data)
	}
	// The shards are independent (each writes its own folder): they run side
	// by side, as a CI matrix's jobs do.
	shards := t.Run("shards", func(t *testing.T) {
		for k := range plan.Include {
			t.Run(fmt.Sprint(k), func(t *testing.T) {
				t.Parallel()
				code, out := bench(t, "run", "--matrix", p("plan.json"), "--matrix-entry", fmt.Sprint(k), "--out", p("runs", fmt.Sprintf("shard-%d", k)),
					"--key", p("op", "bcbench.key"), "--quiet", "--timeliness-limit", "index=5s", "--timeliness-limit", "consumer=5s")
				if code == exitSetup {
					t.Fatalf("shard %d: exit %d\n%s", k, code, out)
				}
			})
		}
	})
	if !shards {
		t.FailNow()
	}
	out := must(0, "matrix", "merge", "--plan", p("plan.json"), "--root", p("root", "root.crt"), "--out", p("matrix"), p("runs"))
	t.Logf("bcbench matrix merge:\n%s", out)

	want := map[[2]string][]string{}
	for _, pub := range []string{"VIS-A", "VIS-B", "VIS-C"} {
		for _, con := range []string{"Index-V", "Index-W", "Index-X"} {
			var fails []string
			if pub == "VIS-C" {
				fails = append(fails, "API-01=fail")
			}
			if con == "Index-X" {
				fails = append(fails, "IDX-02=fail")
			}
			want[[2]string{pub, con}] = fails
		}
	}
	mx := readMatrix(t, p("matrix"))
	if len(mx.Cells) != 9 {
		t.Fatalf("%d cells, want 9", len(mx.Cells))
	}
	for pair, fails := range want {
		c := mx.Cell("zelftest-keten", pair[0], pair[1])
		if c == nil {
			t.Errorf("%s × %s: no cell", pair[0], pair[1])
			continue
		}
		status := reports.CellPass
		if len(fails) > 0 {
			status = reports.CellFail
		}
		var got []string
		if c.Counted >= 0 {
			got = c.Runs[c.Counted].NotPassed
		}
		if c.Status != status || !slices.Equal(got, fails) {
			t.Errorf("%s × %s: %s, not passed %v; want %s, %v", pair[0], pair[1], c.Status, got, status, fails)
		}
	}
	page, err := os.ReadFile(p("matrix", reports.MatrixHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(page)), "<script") {
		t.Error("matrix.html has a script")
	}
	link := mx.Cell("zelftest-keten", "VIS-A", "Index-V").Runs[0].Report
	if !strings.Contains(string(page), `href="`+link+`"`) {
		t.Errorf("matrix.html does not link to %s", link)
	}
	if _, err := os.Stat(filepath.Join(p("matrix"), filepath.FromSlash(link))); err != nil {
		t.Errorf("the link of VIS-A × Index-V leads nowhere: %v", err)
	}

	// report merge: the nine verified runs as one signed report, per
	// candidate, role and requirement; report diff across merged reports.
	var runDirs []string
	for _, c := range mx.Cells {
		runDirs = append(runDirs, filepath.Join(p("matrix"), filepath.FromSlash(c.Runs[0].Dir)))
	}
	out = must(0, append([]string{"report", "merge", "--root", p("root", "root.crt"), "--key", p("op", "bcbench.key"), "--out", p("merged")}, runDirs...)...)
	t.Logf("bcbench report merge (9 runs):\n%s", out)
	merged, err := reports.ReadMerged(p("merged", reports.MergedFile))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]reports.Status{}
	for _, r := range merged.Requirements {
		status[r.Candidate+" "+r.Role+" "+r.ID] = r.Status
	}
	for k, v := range map[string]reports.Status{"VIS-A xis API-01": reports.Pass, "VIS-C xis API-01": reports.Fail,
		"Index-V index IDX-02": reports.Pass, "Index-X index IDX-02": reports.Fail} {
		if status[k] != v {
			t.Errorf("merged %s = %s, want %s", k, status[k], v)
		}
	}
	if len(merged.Runs) != 9 || merged.Verdict != reports.VerdictFail {
		t.Errorf("merged %d runs, verdict %s", len(merged.Runs), merged.Verdict)
	}
	out = must(0, "report", "verify", "--cert", p("op", "bcbench.crt"), p("merged", reports.MergedEnvelopeFile))
	if !strings.Contains(out, "intact:") || !regexp.MustCompile(`runs:\s+9\n`).MatchString(out) {
		t.Errorf("report verify of the merged report:\n%s", out)
	}
	av := filepath.Join(p("matrix"), filepath.FromSlash(mx.Cell("zelftest-keten", "VIS-A", "Index-V").Runs[0].Dir))
	must(0, "report", "merge", "--root", p("root", "root.crt"), "--out", p("merged-av"), av)
	out = must(1, "report", "diff", p("merged", reports.MergedFile), p("merged-av", reports.MergedFile))
	if !strings.Contains(out, "VIS-C · xis · API-01") || !strings.Contains(out, "worse") {
		t.Errorf("report diff of merged reports:\n%s", out)
	}
	must(0, "report", "diff", filepath.Join(av, reports.ResultsFile), p("merged-av", reports.MergedFile))
	// A run judged against another profile is refused, or merged marked.
	code, text := bench(t, "run", "--candidate", pubs[0], "--profile", "zelftest-inhoud", "--scenario", "ongecompliceerd", "--key", p("op", "bcbench.key"), "--out", p("other-profile"), "--quiet")
	if code == exitSetup {
		t.Fatalf("a run of another profile: exit %d\n%s", code, text)
	}
	out = must(2, "report", "merge", "--root", p("root", "root.crt"), "--out", p("mixed"), av, p("other-profile"))
	if !strings.Contains(out, "the runs disagree on profile: ") || !strings.Contains(out, "--allow-mixed") {
		t.Errorf("runs of two profiles merged without a word:\n%s", out)
	}
	out = must(0, "report", "merge", "--allow-mixed", "--root", p("root", "root.crt"), "--out", p("mixed"), av, p("other-profile"))
	if !strings.Contains(out, "MIXED: profile: ") {
		t.Errorf("a mixed merge is not marked:\n%s", out)
	}

	// A run changed after it was signed no longer counts: its pair is
	// invalid, and merge says so with exit 1.
	runDir := filepath.Join(p("matrix"), filepath.FromSlash(mx.Cell("zelftest-keten", "VIS-B", "Index-W").Runs[0].Dir))
	if err := os.WriteFile(filepath.Join(runDir, "evidence", "index.har"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = must(1, "matrix", "merge", "--plan", p("plan.json"), "--root", p("root", "root.crt"), "--out", p("matrix2"), p("runs"))
	t.Logf("after changing a run:\n%s", out)
	if c := readMatrix(t, p("matrix2")).Cell("zelftest-keten", "VIS-B", "Index-W"); c == nil || c.Status != reports.CellInvalid {
		t.Errorf("the changed run's pair is %+v, want invalid", c)
	}
	out = must(1, "report", "merge", "--root", p("root", "root.crt"), "--out", p("merged-tampered"), av, runDir)
	if !strings.Contains(out, "NOT VERIFIED") {
		t.Errorf("report merge of a changed run:\n%s", out)
	}
	if _, err := os.Stat(p("merged-tampered", reports.MergedFile)); err == nil {
		t.Error("report merge wrote a report with a changed run in it")
	}
	// Another bureau's root accepts none of them.
	must(0, "keys", "init", "--ca", "--name", "Ander bureau", "--out", p("other"))
	out = must(1, "matrix", "merge", "--root", p("other", "root.crt"), "--out", p("matrix3"), p("runs"))
	if n := readMatrix(t, p("matrix3")).Count()[reports.CellPass]; n != 0 {
		t.Errorf("%d pairs pass with runs no operator of this root signed:\n%s", n, out)
	}
}

func readMatrix(t *testing.T, dir string) *reports.Matrix {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, reports.MatrixJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var m reports.Matrix
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestMatrixBadInput: a plan entry out of range, a corrupt or changed plan,
// and manifests in the wrong column are refused with a clear error, exit 2,
// before anything runs.
func TestMatrixBadInput(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m")
	pub := matrixManifest(t, m, "VIS-A", "xis", "")
	con := matrixManifest(t, m, "Index-V", "index", "")
	plan := filepath.Join(dir, "plan.json")
	if code, out := bench(t, "matrix", "plan", "--publishers", pub, "--consumers", con, "--out", plan); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	corrupt := writeFile(t, dir, "corrupt.json", `{"include": [{"entry": 0, "name": "x", "runs": [{"id": "../../etc"`)
	unknown := writeFile(t, dir, "unknown.json", `{"include": [{"entry": 0, "name": "x", "runs": [], "extra": 1}]}`)
	escape := writeFile(t, dir, "escape.json", `{"include": [{"entry": 0, "name": "x", "runs": [{"id": "../x", "profile": "zelftest-keten", "publisher": "a", "consumer": "b"}]}]}`)
	changed := filepath.Join(dir, "changed.yaml")
	data, _ := os.ReadFile(plan)
	var pl matrixPlan
	if err := json.Unmarshal(data, &pl); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changed, []byte("name: VIS-A\nroles:\n  xis:\n    builtin: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pl.Include[0].Runs[0].Publisher = changed
	data, _ = json.Marshal(pl)
	changedPlan := writeFile(t, dir, "changed.json", string(data))
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"entry out of range", []string{"run", "--matrix", plan, "--matrix-entry", "1", "--out", out}, "--matrix-entry 1: the plan " + plan + " has entries 0–0"},
		{"negative entry", []string{"run", "--matrix", plan, "--matrix-entry", "-1", "--out", out}, "has entries 0–0"},
		{"entry without plan", []string{"run", "--matrix-entry", "0", "--out", out}, "go together"},
		{"plan with a candidate", []string{"run", "--matrix", plan, "--matrix-entry", "0", "--candidate", pub, "--out", out}, "leave out --candidate"},
		{"corrupt plan", []string{"run", "--matrix", corrupt, "--matrix-entry", "0", "--out", out}, "not a plan of bcbench matrix plan"},
		{"unknown field", []string{"run", "--matrix", unknown, "--matrix-entry", "0", "--out", out}, "unknown field"},
		{"run id leaving the folder", []string{"run", "--matrix", escape, "--matrix-entry", "0", "--out", out}, "is not lower-case letters"},
		{"manifest changed since the plan", []string{"run", "--matrix", changedPlan, "--matrix-entry", "0", "--out", out}, "is not the one the plan was made from"},
		{"missing plan", []string{"run", "--matrix", filepath.Join(dir, "nope.json"), "--matrix-entry", "0", "--out", out}, "reading matrix plan"},
		{"publisher that is an index", []string{"matrix", "plan", "--publishers", con, "--consumers", con}, "brings role index; a publisher brings only xis"},
		{"consumer that is an XIS", []string{"matrix", "plan", "--publishers", pub, "--consumers", pub}, "brings role xis; a consumer brings only index"},
		{"two publishers of one name", []string{"matrix", "plan", "--publishers", pub + "," + changed, "--consumers", con}, "both named \"VIS-A\""},
		{"too many shards", []string{"matrix", "plan", "--publishers", pub, "--consumers", con, "--shards", "2"}, "--shards 2 is outside 0–1"},
		{"a one-XIS profile", []string{"matrix", "plan", "--publishers", pub, "--consumers", con, "--profile", "zelftest-niveau1"}, "a matrix needs a chain profile"},
		{"merge without runs", []string{"matrix", "merge", "--out", out, dir}, "no run (a folder with results.dsse.json)"},
		{"merge with a corrupt plan", []string{"matrix", "merge", "--plan", corrupt, "--out", out, dir}, "not a plan of bcbench matrix plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text := bench(t, tc.args...)
			if code != exitSetup || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d, want 2 with %q:\n%s", code, tc.want, text)
			}
			if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
				t.Error("a refused entry wrote a run")
			}
		})
	}
}

func TestMergedReportSaysWhatTheRunsWereVerifiedWith(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys runKeys
		want string
	}{
		{name: "root and register", keys: runKeys{root: "root.crt", reg: "reg"}, want: "revocation)"},
		{name: "root only", keys: runKeys{root: "root.crt"}, want: "revocation not checked"},
		{name: "a key", keys: runKeys{key: "op.pub"}, want: "not chained to a bureau's root"},
		{name: "nothing: only the runs' own signer.crt", keys: runKeys{}, want: "who signed them is not checked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.keys.describe(); !strings.Contains(got, tc.want) {
				t.Errorf("describe() = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
