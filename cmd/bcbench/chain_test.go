package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reports"
)

// writeFile writes a file into dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCandidatesAreCombined: two --candidate files make one run, each role
// named in results.json with the manifest that brought it; a role named in
// both is refused before anything starts, naming both files.
func TestCandidatesAreCombined(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	midwife := writeFile(t, filepath.Join(dir, "praktijk"), "vis.yaml",
		fmt.Sprintf("name: PraktijkVIS\nversion: \"1\"\nroles:\n  xis:\n    command: {path: %q, args: [reference, serve, --role, xis, --addr, \"127.0.0.1:{port}\"]}\n", bin))
	hospital := writeFile(t, filepath.Join(dir, "ziekenhuis"), "zis.yaml",
		fmt.Sprintf("name: ZiekenhuisZIS\nversion: \"2\"\nroles:\n  xis-ziekenhuis:\n    command: {path: %q, args: [reference, serve, --role, xis, --addr, \"127.0.0.1:{port}\"]}\n", bin))
	twice := writeFile(t, filepath.Join(dir, "ander"), "ander.yaml", "name: Ander\nroles:\n  xis:\n    builtin: true\n")

	t.Run("a role named twice", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		code, text := bench(t, "run", "--candidate", midwife, "--candidate", twice, "--out", out, "--quiet", "--profile", "zelftest-keten", "--scenario", "ongecompliceerd")
		if code != exitSetup || !strings.Contains(text, "role xis is in both "+midwife+" and "+twice) {
			t.Fatalf("exit %d: %s", code, text)
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("the refused run wrote an output folder")
		}
	})
	t.Run("two vendors, one run", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		code, text := bench(t, "run", "--candidate", midwife, "--candidate", hospital, "--out", out, "--quiet", "--profile", "zelftest-keten", "--scenario", "spoedsectio", "--scenario", "ongecompliceerd")
		res := readResults(t, out)
		if res.SetupProblem != "" || code == exitSetup {
			t.Fatalf("exit %d, setup problem %q: %s", code, res.SetupProblem, text)
		}
		if res.Candidate.Name != "PraktijkVIS + ZiekenhuisZIS" {
			t.Errorf("candidate %q", res.Candidate.Name)
		}
		got := map[string]reports.RoleIdentity{}
		for _, r := range res.Candidate.Roles {
			got[r.Role] = r
		}
		if r := got["xis"]; r.Source != reports.SourceCandidate || r.Candidate != "PraktijkVIS" || r.Kind != "command" {
			t.Errorf("xis = %+v", r)
		}
		if r := got["xis-ziekenhuis"]; r.Source != reports.SourceCandidate || r.Candidate != "ZiekenhuisZIS" {
			t.Errorf("xis-ziekenhuis = %+v", r)
		}
		if r := got["index"]; r.Source != reports.SourceReference || r.Kind != "builtin" {
			t.Errorf("index = %+v, want the bench's reference", r)
		}
		// Both process XIS were told the index (BCBENCH_INDEX_URL) and
		// registered in it through its recording proxy.
		if n := registrations(t, filepath.Join(out, "evidence", "index.har")); n["Verloskundigenpraktijk De Dageraad"] == 0 || n["Ziekenhuis Zuiderhaven"] == 0 {
			t.Errorf("registrations in the index by %v, want both XIS", n)
		}
		// The hospital's events of the acute referral went to the hospital's
		// XIS, every other event to the midwife's.
		hospitalKinds := authorKinds(t, filepath.Join(out, "evidence", "xis-ziekenhuis.har"))
		midwifeKinds := authorKinds(t, filepath.Join(out, "evidence", "xis.har"))
		if len(hospitalKinds) != 1 || hospitalKinds["ziekenhuis"] == 0 {
			t.Errorf("the hospital's XIS got events of %v, want the hospital's alone", hospitalKinds)
		}
		if midwifeKinds["ziekenhuis"] != 0 || midwifeKinds["verloskundigenpraktijk"] == 0 {
			t.Errorf("the midwife's XIS got events of %v", midwifeKinds)
		}
	})
}

// registrations counts, by publishing organisation, the registrations
// (POST of an ITI-65 bundle) the index accepted from the chain's XIS: those
// whose pointers name an organisation of the scenarios, not the bench's own
// synthetic source of the IDX specs.
func registrations(t *testing.T, har string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, e := range harEntries(t, har) {
		if e.Request.Method != "POST" || e.Response.Status >= 300 || !strings.HasSuffix(strings.TrimSuffix(e.Request.URL, "/"), "/fhir") {
			continue
		}
		for _, org := range []string{"Verloskundigenpraktijk De Dageraad", "Ziekenhuis Zuiderhaven"} {
			if strings.Contains(e.Request.PostData.Text, org) {
				n[org]++
			}
		}
	}
	return n
}

// harEntry is what the chain tests read of a HAR entry.
type harEntry struct {
	Request struct {
		Method   string `json:"method"`
		URL      string `json:"url"`
		PostData struct {
			Text string `json:"text"`
		} `json:"postData"`
	} `json:"request"`
	Response struct {
		Status int `json:"status"`
	} `json:"response"`
}

func harEntries(t *testing.T, har string) []harEntry {
	t.Helper()
	data, err := os.ReadFile(har)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Entries []harEntry `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("reading %s: %v", har, err)
	}
	return doc.Log.Entries
}

// authorKinds counts the events in a role's HAR by the kind of the
// organisation that registered them.
func authorKinds(t *testing.T, har string) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	for _, e := range harEntries(t, har) {
		if e.Request.Method != "POST" || !strings.HasSuffix(e.Request.URL, "/bench/events") {
			continue
		}
		var reg fixtures.Registration
		if err := json.Unmarshal([]byte(e.Request.PostData.Text), &reg); err != nil {
			t.Fatalf("an event in %s: %v", har, err)
		}
		kinds[reg.Author.Kind]++
	}
	return kinds
}

// TestRoleDyingMidChainStopsTheOthers: in a chain of two vendors' XIS, the
// midwife's dies while the scenarios are registered. The bench stops the
// hospital's XIS at once, names the role that died, and judges nothing
// after it: no requirement is the candidate's fail.
func TestRoleDyingMidChainStopsTheOthers(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to play a role that dies")
	}
	dir := t.TempDir()
	script := fmt.Sprintf("%q reference serve --role xis --addr 127.0.0.1:{port} & p=$!; sleep 3; echo 'praktijk-VIS: schijf vol'; kill $p; exit 9", bin)
	midwife := writeFile(t, filepath.Join(dir, "praktijk"), "vis.yaml",
		fmt.Sprintf("name: PraktijkVIS\nversion: \"1\"\nroles:\n  xis:\n    command: {path: %q, args: [\"-c\", %q]}\n", sh, script))
	hospital := writeFile(t, filepath.Join(dir, "ziekenhuis"), "zis.yaml",
		fmt.Sprintf("name: ZiekenhuisZIS\nversion: \"2\"\nroles:\n  xis-ziekenhuis:\n    command: {path: %q, args: [reference, serve, --role, xis, --addr, \"127.0.0.1:{port}\"]}\n", bin))
	out := filepath.Join(dir, "out")
	r := runHostile(t, 180*time.Second, "run", "--candidate", midwife, "--candidate", hospital, "--out", out, "--quiet",
		"--profile", "zelftest-keten", "--population", "300", "--request-timeout", "5s")
	if r.code == exitPass {
		t.Fatalf("a chain whose XIS died passed: %s", r.stdout)
	}
	res := readResults(t, out)
	if res.SetupProblem != "" {
		t.Skipf("the role died before it was ready (a slow machine): %s", res.SetupProblem)
	}
	if len(res.Stopped) != 1 || res.Stopped[0].Role != "xis" || !strings.Contains(res.Stopped[0].Reason, "exit status 9") {
		t.Fatalf("stopped = %+v, want the midwife's xis alone (the hospital's was stopped by the bench)", res.Stopped)
	}
	errored := 0
	for _, req := range res.Requirements {
		if req.Status == reports.Fail {
			t.Errorf("%s is the candidate's fail after its XIS died: %s", req.ID, req.Reason)
		}
		if req.Status == reports.Error {
			errored++
		}
	}
	if errored == 0 {
		t.Error("nothing is error after the role died")
	}
	stoppedOthers := false
	for _, req := range res.Requirements {
		for _, s := range req.Specs {
			stoppedOthers = stoppedOthers || strings.Contains(s.Failure, "stopte daarop de andere rollen (index, xis-ziekenhuis)")
		}
	}
	if !stoppedOthers {
		data, _ := os.ReadFile(filepath.Join(out, "results.json"))
		t.Errorf("no spec says the other roles were stopped:\n%s", data)
	}
	if _, err := os.Stat(filepath.Join(out, "evidence", "xis-ziekenhuis.log")); err != nil {
		t.Errorf("the hospital's XIS log is not kept: %v", err)
	}
}

// TestChainRunOfTheReferences: `bcbench run --profile zelftest-keten`
// without a candidate runs the bench's reference chain — the index, the
// midwife practice's XIS and the hospital's — through the same run as any
// candidate: the index starts first, both XIS register what they publish
// in it through its recording proxy, and the run passes.
func TestChainRunOfTheReferences(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, text := bench(t, "run", "--profile", "zelftest-keten", "--out", out, "--quiet")
	res := readResults(t, out)
	if code != exitPass || res.Verdict != reports.VerdictPass {
		t.Fatalf("exit %d, verdict %s, not passing %v: %s", code, res.Verdict, failed(res), text)
	}
	var roles []string
	for _, r := range res.Candidate.Roles {
		roles = append(roles, r.Role)
		if r.Kind != "builtin" || r.Source != reports.SourceCandidate {
			t.Errorf("role %+v: want the built-in candidate", r)
		}
	}
	if got := strings.Join(roles, ","); got != "index,xis,xis-ziekenhuis" {
		t.Errorf("roles %s, want the index first, then both XIS", got)
	}
	// Each XIS registered its own organisation's records in the index.
	if n := registrations(t, filepath.Join(out, "evidence", "index.har")); n["Verloskundigenpraktijk De Dageraad"] == 0 || n["Ziekenhuis Zuiderhaven"] == 0 {
		t.Errorf("registrations in the index by %v, want both the midwife practice's and the hospital's", n)
	}
	if hospital := authorKinds(t, filepath.Join(out, "evidence", "xis-ziekenhuis.har")); hospital["ziekenhuis"] == 0 || len(hospital) != 1 {
		t.Errorf("the hospital's XIS got events of %v", hospital)
	}
}

// TestFurtherPublisherNeedsAChainProfile: a hospital's XIS under a one-XIS
// profile would take the hospital's events away from the XIS that profile
// judges: refused before anything starts, naming the role and the way out.
func TestFurtherPublisherNeedsAChainProfile(t *testing.T) {
	m := writeFile(t, t.TempDir(), "zis.yaml", "name: ZIS\nroles:\n  xis:\n    builtin: true\n  xis-ziekenhuis:\n    builtin: true\n")
	code, text := bench(t, "run", "--candidate", m, "--profile", "zelftest-inhoud", "--out", filepath.Join(t.TempDir(), "out"), "--quiet")
	if code != exitSetup || !strings.Contains(text, "role xis-ziekenhuis is a further publisher") || !strings.Contains(text, "zelftest-keten") {
		t.Fatalf("exit %d: %s", code, text)
	}
	idx := writeFile(t, t.TempDir(), "idx.yaml", "name: Alleen index\nroles:\n  index:\n    builtin: true\n")
	code, text = bench(t, "run", "--candidate", idx, "--profile", "zelftest-inhoud", "--out", filepath.Join(t.TempDir(), "out"), "--quiet")
	if code != exitSetup || !strings.Contains(text, "no candidate manifest brings any of them") {
		t.Fatalf("a run that judges only the bench's reference: exit %d: %s", code, text)
	}
}
