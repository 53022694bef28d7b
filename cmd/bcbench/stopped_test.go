package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/reports"
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
