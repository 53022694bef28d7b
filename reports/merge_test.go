package reports

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/requirements"
)

// chainRun is a run of publisher × consumer with the statuses given per
// requirement (API-01 judges the xis, IDX-02 the index).
func chainRun(pub, con, bench, profile string, finished time.Time, api, idx Status) *Results {
	return &Results{
		Bench:   Bench{Version: bench, Catalogue: "1"},
		Profile: Profile{ID: profile, Version: "0.1.0"},
		Candidate: Candidate{Name: pub + " + " + con, Version: "1 + 1", Roles: []RoleIdentity{
			{Role: "index", Kind: "command", Source: SourceCandidate, Candidate: con},
			{Role: "xis", Kind: "command", Source: SourceCandidate, Candidate: pub},
		}},
		Finished: finished,
		Requirements: []RequirementResult{
			{ID: "API-01", Level: requirements.Must, Role: "xis", Status: api, Evidence: []string{"evidence/xis.har"}},
			{ID: "IDX-02", Level: requirements.Must, Role: "index", Status: idx, Evidence: []string{"evidence/index.har"}},
		},
		Evidence: []Evidence{{Path: "evidence/xis.har", SHA256: "aa"}, {Path: "evidence/index.har", SHA256: "bb"}},
	}
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	older := MergeInput{Dir: "runs/1", Results: chainRun("VIS-A", "Index-V", "1.0", "zelftest-keten", t0, Fail, Pass)}
	newer := MergeInput{Dir: "runs/2", Results: chainRun("VIS-A", "Index-V", "1.0", "zelftest-keten", t0.Add(time.Hour), Pass, Pass)}
	other := MergeInput{Dir: "runs/3", Results: chainRun("VIS-B", "Index-V", "1.0", "zelftest-keten", t0.Add(time.Minute), Pass, Error)}

	t.Run("latest status per candidate, role and requirement", func(t *testing.T) {
		m, err := Merge([]MergeInput{newer, other, older}, false, t0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range m.Requirements {
			got = append(got, r.Candidate+"/"+r.Role+"/"+r.ID+"="+string(r.Status)+"@"+m.Runs[r.Run].Dir)
		}
		want := []string{
			"Index-V/index/IDX-02=pass@runs/2", // the latest of three runs (one errored in between)
			"VIS-A/xis/API-01=pass@runs/2",     // failed first, passed later
			"VIS-B/xis/API-01=pass@runs/3",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("requirements\n got %v\nwant %v", got, want)
		}
		r := m.Requirements[1]
		if len(r.History) != 2 || r.History[0].Status != Fail || len(r.Evidence) != 2 || r.Evidence[0] != (MergedEvidence{Run: 0, Path: "runs/1/evidence/xis.har", SHA256: "aa"}) {
			t.Errorf("VIS-A API-01: history %v, evidence %v: want both runs referenced", r.History, r.Evidence)
		}
		if m.Verdict != VerdictPass || m.Summary.Pass != 3 {
			t.Errorf("verdict %s, summary %+v", m.Verdict, m.Summary)
		}
	})
	t.Run("bench versions disagree", func(t *testing.T) {
		b := MergeInput{Dir: "runs/4", Results: chainRun("VIS-A", "Index-V", "2.0", "zelftest-keten", t0, Pass, Pass)}
		if _, err := Merge([]MergeInput{newer, b}, false, t0); err == nil || !strings.Contains(err.Error(), "bench version: 2.0 (runs/4); 1.0 (runs/2)") {
			t.Fatalf("err = %v", err)
		}
		m, err := Merge([]MergeInput{newer, b}, true, t0)
		if err != nil || len(m.Mixed) != 1 || !strings.HasPrefix(m.Mixed[0], "bench version:") {
			t.Fatalf("allowMixed: %v, mixed %v", err, m.Mixed)
		}
		page, _ := m.HTML()
		if !strings.Contains(string(page), "gemengde runs") || strings.Contains(strings.ToLower(string(page)), "<script") {
			t.Error("a mixed merge is not marked at the top of merged.html, or the page has a script")
		}
	})
	t.Run("profiles disagree", func(t *testing.T) {
		p := MergeInput{Dir: "runs/5", Results: chainRun("VIS-A", "Index-V", "1.0", "zelftest-inhoud", t0, Pass, Pass)}
		if _, err := Merge([]MergeInput{newer, p}, false, t0); err == nil || !strings.Contains(err.Error(), "profile: ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nothing to merge", func(t *testing.T) {
		if _, err := Merge(nil, false, t0); err == nil {
			t.Fatal("merged nothing")
		}
	})
	t.Run("diff across merged reports", func(t *testing.T) {
		a, _ := Merge([]MergeInput{older, other}, false, t0)
		b, _ := Merge([]MergeInput{newer}, false, t0)
		var got []string
		for _, c := range DiffMerged(a, b) {
			got = append(got, c.ID+" "+string(c.Before)+"→"+string(c.After)+map[bool]string{true: " worse", false: ""}[c.Worse])
		}
		want := []string{"Index-V · index · IDX-02 error→pass", "VIS-A · xis · API-01 fail→pass", "VIS-B · xis · API-01 pass→ worse"}
		if !slices.Equal(got, want) {
			t.Fatalf("diff\n got %v\nwant %v", got, want)
		}
	})
}

func TestWriteAndVerifyMerged(t *testing.T) {
	dir := t.TempDir()
	if err := InitKeys(filepath.Join(dir, "k")); err != nil {
		t.Fatal(err)
	}
	signer, err := LoadSigner(filepath.Join(dir, "k", KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m, _ := Merge([]MergeInput{{Dir: "r", Envelope: "ee", Results: chainRun("VIS-A", "Index-V", "1.0", "zelftest-keten", t0, Pass, Fail)}}, false, t0)
	out := filepath.Join(dir, "merged")
	if err := WriteMerged(out, m, signer); err != nil {
		t.Fatal(err)
	}
	st, err := VerifyMerged(filepath.Join(out, MergedEnvelopeFile), filepath.Join(dir, "k", PubFile))
	if err != nil || st.Predicate.Verdict != VerdictFail || len(st.Predicate.Runs) != 1 || st.Predicate.Runs[0].SHA256 != "ee" {
		t.Fatalf("verify: %v %+v", err, st)
	}
	back, err := ReadMerged(filepath.Join(out, MergedFile))
	if err != nil || len(back.Requirements) != 2 {
		t.Fatalf("read back: %v", err)
	}
	if err := writeFile(filepath.Join(out, MergedFile), []byte(`{"schema":"bcbench.merged/v1"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyMerged(filepath.Join(out, MergedEnvelopeFile), filepath.Join(dir, "k", PubFile)); err == nil || !strings.Contains(err.Error(), "merged.json: changed") {
		t.Fatalf("a changed merged.json verifies: %v", err)
	}
}

func TestBuildMatrix(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	pair := func(p, c string) MatrixPair { return MatrixPair{Profile: "zelftest-keten", Publisher: p, Consumer: c} }
	run := func(p, c string, v Verdict, ok bool, at int) MatrixRun {
		return MatrixRun{MatrixPair: pair(p, c), Verdict: v, Verified: ok, Finished: t0.Add(time.Duration(at) * time.Minute), Dir: p + c}
	}
	plan := []MatrixPair{pair("A", "V"), pair("A", "W"), pair("B", "V"), pair("B", "W")}
	for _, tc := range []struct {
		name string
		runs []MatrixRun
		want map[string]CellStatus
	}{
		{"one run each", []MatrixRun{run("A", "V", VerdictPass, true, 0), run("A", "W", VerdictFail, true, 0), run("B", "V", VerdictIncomplete, true, 0), run("B", "W", VerdictPass, true, 0)},
			map[string]CellStatus{"AV": CellPass, "AW": CellFail, "BV": CellIncomplete, "BW": CellPass}},
		{"a tampered passing run is invalid, never pass", []MatrixRun{run("A", "V", VerdictPass, false, 0)},
			map[string]CellStatus{"AV": CellInvalid, "AW": CellMissing, "BV": CellMissing, "BW": CellMissing}},
		{"the latest verified run decides", []MatrixRun{run("A", "V", VerdictPass, true, 2), run("A", "V", VerdictFail, true, 1), run("A", "V", VerdictFail, false, 3)},
			map[string]CellStatus{"AV": CellPass, "AW": CellMissing, "BV": CellMissing, "BW": CellMissing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := BuildMatrix(tc.runs, plan, t0)
			got := map[string]CellStatus{}
			for _, c := range m.Cells {
				got[c.Publisher+c.Consumer] = c.Status
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %s, want %s", k, got[k], v)
				}
			}
			if _, err := m.HTML(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("runs outside the plan are not counted", func(t *testing.T) {
		m := BuildMatrix([]MatrixRun{run("C", "V", VerdictPass, true, 0)}, plan, t0)
		if len(m.Unplanned) != 1 || m.Count()[CellPass] != 0 {
			t.Fatalf("unplanned %v, counts %v", m.Unplanned, m.Count())
		}
	})
	t.Run("without a plan every pair with a run is a cell", func(t *testing.T) {
		m := BuildMatrix([]MatrixRun{run("C", "V", VerdictPass, true, 0)}, nil, t0)
		if len(m.Cells) != 1 || !strings.Contains(m.Text(), "pass") {
			t.Fatalf("cells %v\n%s", m.Cells, m.Text())
		}
	})
}
