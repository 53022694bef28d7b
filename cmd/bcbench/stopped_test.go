package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/suites"
)

// TestCandidateDyingMidRunIsNamed: a command candidate that dies while the
// scenarios are registered is named in results.json and on the page with the
// event in flight and the last lines of its log in full, also a line far
// longer than the old 500-character cut.
func TestCandidateDyingMidRunIsNamed(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to play a candidate that dies")
	}
	cause := strings.Repeat("de verbinding met de database viel weg; ", 20) + "ERROR-CODE-4711 (slot)"
	script := fmt.Sprintf("%q reference serve --role xis --addr 127.0.0.1:{port} & p=$!; sleep 2; echo %q; kill $p; exit 7", bin, "panic: "+cause)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "candidate.yaml")
	doc := fmt.Sprintf("name: sterft\nversion: \"1\"\nroles:\n  xis:\n    command: {path: %q, args: [\"-c\", %q]}\n    fhirBase: /fhir\n    adapter: /bench\n", sh, script)
	if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := runHostile(t, 180*time.Second, "run", "--candidate", manifest, "--out", out, "--quiet", "--population", "400", "--request-timeout", "5s")
	if r.code == exitPass {
		t.Fatalf("a candidate that died passed: %s", r.stdout)
	}
	res := readResults(t, out)
	if res.SetupProblem != "" {
		t.Skipf("the candidate died before it was ready (a slow machine): %s", res.SetupProblem)
	}
	if len(res.Stopped) != 1 {
		t.Fatalf("stopped = %+v, want role xis", res.Stopped)
	}
	st := res.Stopped[0]
	if st.Role != "xis" || !strings.Contains(st.During, "bij het registreren van") || !strings.Contains(st.Reason, "exit status 7") || st.Log != "evidence/xis.log" {
		t.Errorf("stopped = %+v", st)
	}
	full := false
	for _, l := range st.LastLines {
		full = full || strings.HasSuffix(l, cause)
	}
	if !full {
		t.Errorf("the log's last line is not there in full (%d chars): %q", len(cause), st.LastLines)
	}
	page, _ := os.ReadFile(filepath.Join(out, reports.HTMLFile))
	for _, w := range []string{"De kandidaat stopte tijdens de run", st.During, "ERROR-CODE-4711 (slot)"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("report.html lacks %q", w)
		}
	}
}

// TestJudgedBefore: after a role died, what ended before stays as judged,
// a pass or fail that ended afterwards is error, skips stay skips.
func TestJudgedBefore(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	death := &harness.Death{Role: "index", At: at, Err: errors.New("process index exited: exit status 7")}
	before, after := at.Add(-time.Second), at.Add(time.Second)
	cases := []struct {
		name   string
		death  *harness.Death
		in     suites.Outcome
		status string
		reason string
	}{
		{"no death: unchanged", nil, suites.Outcome{Status: "fail", Failure: "fout", Ended: after}, "fail", "fout"},
		{"pass before the death is kept", death, suites.Outcome{Status: "pass", Ended: before}, "pass", ""},
		{"fail before the death is kept", death, suites.Outcome{Status: "fail", Failure: "fout", Ended: before}, "fail", "fout"},
		{"pass after the death is error", death, suites.Outcome{Status: "pass", Ended: after}, "error", "rol index stopte"},
		{"fail after the death is error, keeping its reason", death, suites.Outcome{Status: "fail", Failure: "fout", Ended: after}, "error", "exit status 7); de testbank stopte daarop de andere rollen (xis); de controle eindigde daarna (als fail):\nfout"},
		{"an error after the death says why", death, suites.Outcome{Status: "error", Failure: "connection refused", Ended: after}, "error", "(xis):\nconnection refused"},
		{"an error before the death is as it was", death, suites.Outcome{Status: "error", Failure: "connection refused", Ended: before}, "error", "connection refused"},
		{"skip after the death stays skip", death, suites.Outcome{Status: "skip", Failure: "geen index", Ended: after}, "skip", "geen index"},
		{"not-tested stays not-tested", death, suites.Outcome{Status: "not-tested", Ended: after}, "not-tested", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := judgedBefore([]suites.Outcome{tc.in}, tc.death, []string{"xis"})[0]
			if tc.death == nil || tc.in.Ended.Before(tc.death.At) {
				if got.Status != tc.in.Status || got.Failure != tc.in.Failure {
					t.Fatalf("judged before the death, yet changed: %+v", got)
				}
			}
			if got.Status != tc.status || !strings.Contains(got.Failure, tc.reason) {
				t.Fatalf("got %s %q, want %s with %q", got.Status, got.Failure, tc.status, tc.reason)
			}
		})
	}
}
