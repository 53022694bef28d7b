package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/testscript"
)

// TestTestScriptsInRun: `bcbench run --profile zelftest-nictiz --testscripts
// DIR` replays the scenario into the built-in reference XIS, runs the
// TestScripts in DIR against its FHIR API and judges TS-01 by their
// asserts: pass when every judged assert passed, fail naming each failed
// assert (a wrong status, a missing element, a wrong count), error when the
// bench could not run a script, skip when the run has no scripts. Each
// script's TestReport is in the signed evidence, the assert table in
// results.json.
func TestTestScriptsInRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("bench runs")
	}
	cases := []struct {
		name, folder string
		want         reports.Status
		mentions     []string // in TS-01's failure or reason
		row          reports.ScriptFolder
	}{
		{name: "geslaagd", folder: "pass", want: reports.Pass,
			row: reports.ScriptFolder{Folder: "pass", Scripts: 1, Pass: 6}},
		{name: "gefaald", folder: "fail", want: reports.Fail,
			mentions: []string{"sanne-verkeerd.json", "verkeerde status", "ontbrekend element", "verkeerd aantal", "3 probleem"},
			row:      reports.ScriptFolder{Folder: "fail", Scripts: 1, Pass: 1, Fail: 3}},
		{name: "niet-te-draaien", folder: "kapot", want: reports.Error,
			mentions: []string{"onbekende-operatie.json", "teleporteer"},
			row:      reports.ScriptFolder{Folder: "kapot", Scripts: 1, NotRun: 1, Skip: 1}},
		{name: "geen-scripts", want: reports.Skip, mentions: []string{"geen TestScripts"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			args := []string{"run", "--profile", "zelftest-nictiz", "--out", out, "--quiet"}
			if tc.folder != "" {
				args = append(args, "--testscripts", filepath.Join("testdata", "testscripts", tc.folder))
			}
			code, text := bench(t, args...)
			res := readResults(t, out)
			var ts *reports.RequirementResult
			for i := range res.Requirements {
				if res.Requirements[i].ID == "TS-01" {
					ts = &res.Requirements[i]
				}
			}
			if ts == nil {
				t.Fatalf("TS-01 not in results.json (exit %d)\n%s", code, text)
			}
			if ts.Status != tc.want {
				t.Fatalf("TS-01 %s, want %s (exit %d)\n%s\nreason: %s\nspecs: %+v", ts.Status, tc.want, code, text, ts.Reason, ts.Specs)
			}
			said := ts.Reason
			for _, s := range ts.Specs {
				said += "\n" + s.Failure
			}
			for _, m := range tc.mentions {
				if !strings.Contains(said, m) {
					t.Errorf("TS-01 does not say %q:\n%s", m, said)
				}
			}
			if tc.folder == "" {
				if len(res.TestScripts) != 0 {
					t.Errorf("assert table %+v in a run without scripts", res.TestScripts)
				}
				return
			}
			if len(res.TestScripts) != 1 || res.TestScripts[0] != tc.row {
				t.Errorf("assert table %+v, want [%+v]", res.TestScripts, tc.row)
			}
			signed := false
			for _, e := range res.Evidence {
				if e.Path == "evidence/testreports.json" && e.SHA256 != "" {
					signed = true
				}
			}
			if !signed {
				t.Errorf("evidence/testreports.json not among the signed evidence: %+v", res.Evidence)
			}
			data, err := os.ReadFile(filepath.Join(out, "evidence", "testreports.json"))
			if err != nil {
				t.Fatal(err)
			}
			var bundle struct {
				ResourceType string `json:"resourceType"`
				Entry        []struct {
					Resource struct {
						ResourceType string `json:"resourceType"`
						Result       string `json:"result"`
					} `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(data, &bundle); err != nil {
				t.Fatal(err)
			}
			if bundle.ResourceType != "Bundle" || len(bundle.Entry) != 1 || bundle.Entry[0].Resource.ResourceType != "TestReport" {
				t.Errorf("testreports.json is not a Bundle of one TestReport: %s", data)
			}
		})
	}
}

// TestTestScriptsBadInput: --testscripts is refused before anything starts
// when the folder is missing, holds no TestScript, or the profile does not
// judge TS-01.
func TestTestScriptsBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "map-bestaat-niet", args: []string{"--profile", "zelftest-nictiz", "--testscripts", "testdata/bestaat-niet"}, want: "discover test scripts"},
		{name: "geen-scripts-in-map", args: []string{"--profile", "zelftest-nictiz", "--testscripts", "EMPTY"}, want: "no TestScripts"},
		{name: "profiel-zonder-TS-01", args: []string{"--profile", "zelftest-niveau1", "--testscripts", "testdata/testscripts/pass"}, want: "does not judge TS-01"},
		{name: "variabelen-zonder-scripts", args: []string{"--profile", "zelftest-nictiz", "--testscript-variables", "x.yaml"}, want: "needs --testscripts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "--out", out, "--quiet"}, tc.args...)
			for i, a := range args {
				if a == "EMPTY" {
					args[i] = t.TempDir()
				}
			}
			code, text := bench(t, args...)
			if code != 2 || !strings.Contains(text, tc.want) {
				t.Fatalf("exit %d, want 2 saying %q:\n%s", code, tc.want, text)
			}
		})
	}
}

func TestBearerOnlyToItsOwnHost(t *testing.T) {
	var got []string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.Host+" "+r.Header.Get("Authorization"))
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	b := bearer{token: "t0k", host: hostOf("http://127.0.0.1:8080/fhir"), next: next}
	tests := []struct{ name, url, header, want string }{
		{name: "own host", url: "http://127.0.0.1:8080/fhir/Patient", want: "127.0.0.1:8080 Bearer t0k"},
		{name: "another port", url: "http://127.0.0.1:9090/fhir/Patient", want: "127.0.0.1:9090 "},
		{name: "another host", url: "http://elders.example/fhir/Patient", want: "elders.example "},
		{name: "the script's own header wins", url: "http://127.0.0.1:8080/fhir/Patient", header: "Bearer eigen", want: "127.0.0.1:8080 Bearer eigen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			if _, err := b.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("sent %q, want %q", got, tc.want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestVerdictOfJudgesOperationsByWhoseFaultTheyAre: a failed assert and an
// operation the candidate's answer broke are failures; an operation the
// bench could not carry out is an error (undecided), never a failure or a
// mere skip; a teardown's cleanup and a script that could not run are not
// counted as operation errors (NotRun says why).
func TestVerdictOfJudgesOperationsByWhoseFaultTheyAre(t *testing.T) {
	op := func(test string, st testscript.Status, msg string) testscript.Outcome {
		return testscript.Outcome{Test: test, Kind: "operation", Description: "read Patient", Status: st, Message: msg}
	}
	as := func(st testscript.Status, msg string) testscript.Outcome {
		return testscript.Outcome{Test: "t", Kind: "assert", Description: "lezen lukt", Status: st, Message: msg}
	}
	cases := []struct {
		name                    string
		res                     testscript.Result
		failures, errors, skips int
		notRun                  bool
	}{
		{"every assert passed", testscript.Result{Outcomes: []testscript.Outcome{op("t", testscript.Pass, "GET → 200"), as(testscript.Pass, "")}}, 0, 0, 0, false},
		{"an assert failed", testscript.Result{Outcomes: []testscript.Outcome{op("t", testscript.Pass, "GET → 404"), as(testscript.Fail, "404")}}, 1, 0, 0, false},
		{"the candidate answered garbage", testscript.Result{Outcomes: []testscript.Outcome{op("t", testscript.Fail, "target has no id"), as(testscript.Skip, "not run: operation failed")}}, 1, 0, 1, false},
		{"no answer at all", testscript.Result{Outcomes: []testscript.Outcome{op("t", testscript.Error, "connection refused"), as(testscript.Skip, "not run: operation failed")}}, 0, 1, 1, false},
		{"a cleanup that failed", testscript.Result{Outcomes: []testscript.Outcome{as(testscript.Pass, ""), op("teardown", testscript.Error, "DELETE answered 500")}}, 0, 0, 0, false},
		{"a script the bench could not run", testscript.Result{Err: errors.New("unknown operation"), Outcomes: []testscript.Outcome{op("t", testscript.Error, "unknown operation"), as(testscript.Skip, "not run")}}, 0, 0, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.res.Path = "/scripts/a.json"
			v := verdictOf("set", "/scripts", &tc.res)
			if len(v.Failures) != tc.failures || len(v.Errors) != tc.errors || len(v.Skips) != tc.skips || (v.NotRun != "") != tc.notRun {
				t.Errorf("failures %q, errors %q, skips %q, not run %q; want %d, %d, %d, %v", v.Failures, v.Errors, v.Skips, v.NotRun, tc.failures, tc.errors, tc.skips, tc.notRun)
			}
			if v.Fail < tc.failures {
				t.Errorf("%d counted failed, want at least %d", v.Fail, tc.failures)
			}
		})
	}
}
