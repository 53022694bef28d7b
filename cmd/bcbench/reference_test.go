package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/index"
	"github.com/bcbench/bcbench/reference/translator"
	"github.com/bcbench/bcbench/reference/xis"
)

// startReference runs `bcbench reference serve` with args on a free
// loopback port and returns its base URL, the command and its stderr; the
// process is killed when the test ends.
func startReference(t *testing.T, ctx context.Context, env []string, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"reference", "serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(t.TempDir(), "config")), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewReader(stdout)
	line, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listening address: %v (%s)", err, stderr.String())
	}
	var base string
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "http://") {
			base = w
		}
	}
	if base == "" {
		t.Fatalf("no address in %q", line)
	}
	go io.Copy(io.Discard, lines)
	return base, cmd, &stderr
}

// TestReferenceChainServes: `reference serve --role index` serves the
// index, and an XIS given its URL in BCBENCH_INDEX_URL registers every
// client it publishes there, pointing to her Patient.
func TestReferenceChainServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	idx, _, _ := startReference(t, ctx, nil, "--role", "index")
	xis, _, stderr := startReference(t, ctx, []string{"BCBENCH_INDEX_URL=" + idx + "/fhir"}, "--role", "xis")
	s, _ := fixtures.Lookup("ongecompliceerd")
	regs, err := s.Registrations(time.Date(2026, 3, 2, 0, 0, 0, 0, fixtures.Amsterdam))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, r := range regs[:2] {
		body, _ := json.Marshal(r)
		resp, err := client.Post(xis+"/bench/events", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("event %s = %d", r.Event, resp.StatusCode)
		}
	}
	q := url.Values{"patient.identifier": {"http://fhir.nl/fhir/NamingSystem/bsn|" + s.Client.BSN}, "status": {"current"}}
	resp, err := client.Get(idx + "/fhir/DocumentReference?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Count(string(data), `"resourceType":"DocumentReference"`) != 1 || !strings.Contains(string(data), xis+"/fhir/Patient/") {
		t.Fatalf("index search = %d %s\nxis stderr: %s", resp.StatusCode, data, stderr)
	}
}

// TestReferenceIndexImageServes: the reference index image (FROM scratch,
// read-only, no capabilities) answers health and takes and serves a
// registration.
func TestReferenceIndexImageServes(t *testing.T) {
	image := roleImage(t, "index")
	name := fmt.Sprintf("bcbench-index-test-%d", time.Now().UnixNano())
	run := exec.Command("docker", "run", "-d", "--name", name, "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "-p", "127.0.0.1::8080", image)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	out, err := exec.Command("docker", "port", name, "8080/tcp").Output()
	if err != nil {
		t.Fatalf("docker port: %v", err)
	}
	base := "http://" + strings.TrimSpace(strings.Split(string(out), "\n")[0])
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/bench/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index container did not become healthy: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	bsn, _ := fixtures.TestBSN(4321)
	p := truth.Pointer{UniqueID: truth.PointerUniqueID("container-test", bsn, 1), BSN: bsn, URL: "http://xis.invalid/fhir/Patient/1", Author: fixtures.Provider{Name: "test"}, Date: time.Now()}
	body, _ := json.Marshal(truth.ProvideBundle("container-test", "s1", p))
	resp, err := client.Post(base+"/fhir", "application/fhir+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ITI-65 = %d", resp.StatusCode)
	}
	q := url.Values{"patient.identifier": {truth.BSNSystem + "|" + bsn}, "status": {"current"}}
	resp, err = client.Get(base + "/fhir/DocumentReference?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(data), p.UniqueID) {
		t.Fatalf("ITI-67 = %d %s", resp.StatusCode, data)
	}
}

// TestReferenceMutantsListsEveryRole: `reference mutants` names each
// mutant with its role and the requirements it must fail.
func TestReferenceMutantsListsEveryRole(t *testing.T) {
	code, out := bench(t, "reference", "mutants")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	lines := strings.Split(out, "\n")
	for _, m := range index.Mutants {
		if !slices.ContainsFunc(lines, func(l string) bool {
			f := strings.Fields(l)
			return len(f) > 2 && f[0] == "index" && f[1] == m.Name && f[2] == strings.Join(m.Violates, ",")
		}) {
			t.Errorf("index mutant %s (%v) not listed:\n%s", m.Name, m.Violates, out)
		}
	}
	for _, m := range translator.Mutants {
		if !slices.ContainsFunc(lines, func(l string) bool {
			f := strings.Fields(l)
			return len(f) > 2 && f[0] == "translator" && f[1] == m.Name && f[2] == strings.Join(m.Violates, ",")
		}) {
			t.Errorf("translator mutant %s (%v) not listed:\n%s", m.Name, m.Violates, out)
		}
	}
	if n := strings.Count(out, "\nxis "); n+1 < len(xis.Mutants) {
		t.Errorf("%d xis mutants listed, want %d", n, len(xis.Mutants))
	}
}

// TestReferenceServesFixtures: `reference serve --role xis --fixtures DIR`
// serves the resources of DIR (placeholders filled) through the reference
// XIS's FHIR API, takes a transaction, and refuses adapter events.
func TestReferenceServesFixtures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"nl-core-Patient-anna.json": `{"resourceType":"Patient","id":"anna","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999912021"}],"birthDate":"${DATE, T, Y, -30}"}`,
		"expected-answer.json":      `{"resourceType":"Bundle","type":"searchset"}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base, _, stderr := startReference(t, ctx, nil, "--role", "xis", "--fixtures", dir)
	client := &http.Client{Timeout: 10 * time.Second}
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0b7c3f7e-3d0e-4c53-9d55-1f2a3b4c5d6e","resource":{"resourceType":"Observation","status":"final","code":{"text":"gewicht"},"subject":{"reference":"Patient/anna"}},"request":{"method":"POST","url":"Observation"}}]}`
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"a loaded resource, its placeholder filled", "GET", "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999912021", "", 200, `"birthDate":"` + time.Now().AddDate(-30, 0, 0).Format("2006-01-02")},
		{"a Bundle is not loaded", "GET", "/fhir/Bundle", "", 200, `"total":0`},
		{"a transaction", "POST", "/fhir", tx, 200, `"transaction-response"`},
		{"what it stored", "GET", "/fhir/Observation?subject=Patient/anna", "", 200, `"total":1`},
		{"no adapter events", "POST", "/bench/events", `{"event":"x","client":{"bsn":"999912021"}}`, 409, "no adapter events"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || !strings.Contains(string(data), c.want) {
				t.Fatalf("%s %s = %d %s, want %d with %q\nstderr: %s", c.method, c.path, resp.StatusCode, data, c.status, c.want, stderr)
			}
		})
	}
}

// TestReferenceFixturesRefused: --fixtures is served as it is, by the XIS
// only, and a folder without resources is an error.
func TestReferenceFixturesRefused(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"another role", []string{"--role", "dvza", "--fixtures", empty}, "option of the xis role"},
		{"with a defect", []string{"--role", "xis", "--fixtures", empty, "--defect", xis.MutantNames()[0]}, "not with --defect"},
		{"an empty folder", []string{"--role", "xis", "--fixtures", empty}, "no FHIR resource"},
		{"no folder", []string{"--role", "xis", "--fixtures", filepath.Join(empty, "nowhere")}, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"reference", "serve", "--addr", "127.0.0.1:0"}, c.args...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitSetup || !strings.Contains(string(out), c.want) {
				t.Fatalf("reference serve %v = %v %s, want exit %d with %q", c.args, err, out, exitSetup, c.want)
			}
		})
	}
}
