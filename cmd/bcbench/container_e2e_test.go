package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reports"
)

// referenceImage builds bcbench/reference-xis:dev from the test's binary, or
// skips when no Docker engine answers.
func referenceImage(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := harness.DockerAvailable(ctx); err != nil {
		t.Skipf("no Docker engine answers, container runs are not tested here: %v", err)
	}
	build := exec.Command("bash", "../../images/build.sh", "xis")
	build.Env = append(os.Environ(), "BCBENCH_BIN="+bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the reference image: %v\n%s", err, out)
	}
}

// runID returns a fresh run ID for a test run (passed as BCBENCH_RUN_ID).
func runID() string {
	return fmt.Sprintf("e2e%d", time.Now().UnixNano())
}

// leftovers lists the containers and networks the run left behind.
func leftovers(t *testing.T, id string) string {
	t.Helper()
	var out []string
	label := "label=" + harness.LabelRun + "=" + id
	for _, args := range [][]string{
		{"ps", "-a", "--filter", label, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", label, "--format", "{{.Name}}"},
	} {
		b, err := exec.Command("docker", args...).Output()
		if err != nil {
			t.Fatalf("docker %v: %v", args, err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func TestRunAgainstTheReferenceImage(t *testing.T) {
	referenceImage(t)
	out := filepath.Join(t.TempDir(), "out")
	id := runID()
	t.Setenv("BCBENCH_RUN_ID", id)
	code, text := bench(t, append([]string{"run", "--candidate", "../../examples/reference-image.yaml", "--out", out, "--quiet"}, corpusPackages(t)...)...)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, text)
	}
	res := readResults(t, out)
	if len(res.Candidate.Roles) != 1 || res.Candidate.Roles[0].Kind != "image" || !strings.HasPrefix(res.Candidate.Roles[0].Digest, "sha256:") {
		t.Fatalf("identity %+v, want the image with its digest", res.Candidate.Roles)
	}
	if _, err := os.Stat(filepath.Join(out, "evidence", "xis.log")); err != nil {
		t.Errorf("container logs not kept as evidence: %v", err)
	}
	if left := leftovers(t, id); left != "" {
		t.Fatalf("the run left behind:\n%s", left)
	}
	t.Logf("image run passed; digest %s", res.Candidate.Roles[0].Digest)
}

func TestKilledContainerEndsTheRunCleanly(t *testing.T) {
	referenceImage(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "slow.yaml")
	doc := "name: trage referentie\nversion: dev\nroles:\n  xis:\n    image:\n      name: bcbench/reference-xis:dev\n      port: 8080\n      env:\n        BCBENCH_REFERENCE_DELAY: 150ms\n"
	if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	id := runID()
	cmd := exec.Command(bin, "run", "--candidate", manifest, "--out", out, "--quiet", "--request-timeout", "3s")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "BCBENCH_RUN_ID="+id)
	var stderr strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the container runs and the replay is under way, then kill it.
	deadline := time.Now().Add(60 * time.Second)
	killed := false
	for time.Now().Before(deadline) && !killed {
		time.Sleep(500 * time.Millisecond)
		b, _ := exec.Command("docker", "ps", "-q", "--filter", "label="+harness.LabelRun+"="+id, "--filter", "status=running").Output()
		for _, c := range strings.Fields(string(b)) {
			if exec.Command("docker", "kill", c).Run() == nil {
				killed = true
			}
		}
	}
	if !killed {
		cmd.Process.Kill()
		t.Fatalf("the candidate container never ran\n%s", stderr.String())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the run did not end after its candidate was killed\n%s", stderr.String())
	}
	code := cmd.ProcessState.ExitCode()
	if code != 1 && code != 2 {
		t.Fatalf("exit %d, want 1 or 2\n%s", code, stderr.String())
	}
	res := readResults(t, out)
	if res.Verdict == reports.VerdictPass {
		t.Fatalf("verdict pass after the candidate was killed")
	}
	if left := leftovers(t, id); left != "" {
		t.Fatalf("the run left behind:\n%s", left)
	}
	t.Logf("killed mid-run: exit %d, verdict %s, %d error, %d fail", code, res.Verdict, res.Summary.Error, res.Summary.Fail)
}

func TestInterruptedRunCleansUp(t *testing.T) {
	referenceImage(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "slow.yaml")
	doc := "name: trage referentie\nversion: dev\nroles:\n  xis:\n    image:\n      name: bcbench/reference-xis:dev\n      port: 8080\n      env:\n        BCBENCH_REFERENCE_DELAY: 150ms\n"
	if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	id := runID()
	cmd := exec.Command(bin, "run", "--candidate", manifest, "--out", out, "--quiet")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "BCBENCH_RUN_ID="+id)
	var stderr strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := exec.Command("docker", "ps", "-q", "--filter", "label="+harness.LabelRun+"="+id, "--filter", "status=running").Output()
		if strings.TrimSpace(string(b)) != "" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the run did not end after Ctrl-C\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 && code != 2 {
		t.Fatalf("exit %d after Ctrl-C, want 1 or 2\n%s", code, stderr.String())
	}
	res := readResults(t, out)
	if res.Verdict == reports.VerdictPass {
		t.Fatal("verdict pass after an interrupted run")
	}
	if left := leftovers(t, id); left != "" {
		t.Fatalf("the interrupted run left behind:\n%s", left)
	}
	t.Logf("interrupted: verdict %s, problems %v", res.Verdict, res.Problems)
}
