package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reports"
)

// referenceImage returns the reference XIS image built from the test's
// binary (see roleImage); it skips when no Docker engine answers.
func referenceImage(t *testing.T) string {
	t.Helper()
	return roleImage(t, "xis")
}

// roleImage builds the reference image of a role (images/reference-<role>.Dockerfile)
// from the test's binary under a tag of its own (bcbench/reference-<role>:test-<pid>),
// so that tests never overwrite a user's bcbench/reference-<role>:dev, and
// returns its name; it skips when no Docker engine answers. Each role is built
// once per test process and shared by the tests that use it (they only run
// containers of it); TestMain removes the images when the tests end.
func roleImage(t *testing.T, role string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := harness.DockerAvailable(ctx); err != nil {
		t.Skipf("no Docker engine answers, container runs are not tested here: %v", err)
	}
	testImages.Lock()
	img := testImages.byRole[role]
	if img == nil {
		tag := fmt.Sprintf("test-%d", os.Getpid())
		img = &testImage{tag: tag, name: "bcbench/reference-" + role + ":" + tag}
		testImages.byRole[role] = img
	}
	testImages.Unlock()
	img.once.Do(func() {
		build := exec.Command("bash", "../../images/build.sh", role)
		build.Env = append(os.Environ(), "BCBENCH_BIN="+bin, "TAG="+img.tag)
		if out, err := build.CombinedOutput(); err != nil {
			img.err = fmt.Errorf("building the reference %s image: %w\n%s", role, err, out)
		}
	})
	if img.err != nil {
		t.Fatal(img.err)
	}
	return img.name
}

// testImage is one role's reference image, built at most once per process.
type testImage struct {
	once      sync.Once
	tag, name string
	err       error
}

// testImages are the reference images this test process built, by role.
var testImages = struct {
	sync.Mutex
	byRole map[string]*testImage
}{byRole: map[string]*testImage{}}

// removeTestImages removes the images roleImage built (TestMain, at the end).
func removeTestImages() {
	testImages.Lock()
	defer testImages.Unlock()
	for _, img := range testImages.byRole {
		_ = exec.Command("docker", "rmi", "-f", img.name).Run()
	}
}

// slowManifest is a candidate manifest of the reference image that answers
// slowly (150 ms a request), so that a run can be interrupted mid-way.
func slowManifest(t *testing.T, dir, image string) string {
	t.Helper()
	p := filepath.Join(dir, "slow.yaml")
	doc := "name: trage referentie\nversion: dev\nroles:\n  xis:\n    image:\n      name: " + image + "\n      port: 8080\n      env:\n        BCBENCH_REFERENCE_DELAY: 150ms\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
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
	image := referenceImage(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "reference-image.yaml")
	if err := os.WriteFile(manifest, []byte("name: bcbench-referentie\nversion: dev\nroles:\n  xis:\n    image: {name: "+image+", port: 8080}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	id := runID()
	t.Setenv("BCBENCH_RUN_ID", id)
	code, text := bench(t, "run", "--candidate", manifest, "--out", out, "--quiet")
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

// TestFaultsEndTheRunCleanly starts a slow reference image, then kills its
// container or interrupts the bench mid-run: the run must end with exit 1 or
// 2, write results.json without a pass, and leave no container or network.
func TestFaultsEndTheRunCleanly(t *testing.T) {
	image := referenceImage(t)
	cases := []struct {
		name  string
		fault func(cmd *exec.Cmd, container string) error
	}{
		{"container killed", func(_ *exec.Cmd, c string) error { return exec.Command("docker", "kill", c).Run() }},
		{"bench interrupted (Ctrl-C)", func(cmd *exec.Cmd, _ string) error { return cmd.Process.Signal(os.Interrupt) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			manifest := slowManifest(t, dir, image)
			out, id := filepath.Join(dir, "out"), runID()
			cmd := exec.Command(bin, "run", "--candidate", manifest, "--out", out, "--quiet", "--request-timeout", "3s")
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "BCBENCH_RUN_ID="+id)
			var stderr strings.Builder
			cmd.Stderr, cmd.Stdout = &stderr, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the container runs, give the replay time to get under
			// way (each request takes 150 ms), then strike.
			var container string
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && container == ""; {
				time.Sleep(200 * time.Millisecond)
				b, _ := exec.Command("docker", "ps", "-q", "--filter", "label="+harness.LabelRun+"="+id, "--filter", "status=running").Output()
				container = strings.TrimSpace(string(b))
			}
			time.Sleep(2 * time.Second)
			if container == "" || tc.fault(cmd, container) != nil {
				cmd.Process.Kill()
				t.Fatalf("the candidate container never ran\n%s", stderr.String())
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(3 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("the run did not end\n%s", stderr.String())
			}
			code := cmd.ProcessState.ExitCode()
			if code != 1 && code != 2 {
				t.Fatalf("exit %d, want 1 or 2\n%s", code, stderr.String())
			}
			res := readResults(t, out)
			if res.Verdict == reports.VerdictPass {
				t.Fatal("verdict pass after the fault")
			}
			if left := leftovers(t, id); left != "" {
				t.Fatalf("the run left behind:\n%s", left)
			}
			t.Logf("%s: exit %d, verdict %s, %d error, %d fail, problems %v", tc.name, code, res.Verdict, res.Summary.Error, res.Summary.Fail, res.Problems)
		})
	}
}

// TestChainRunsInContainers: the reference chain with every role in a
// container — the index, the midwife practice's XIS and the hospital's —
// runs as it does in-process: each XIS reaches the index by its alias on
// the run's internal network (BCBENCH_INDEX_URL=http://index:8080/fhir),
// the run passes, and nothing is left behind.
func TestChainRunsInContainers(t *testing.T) {
	xisImage, indexImage := roleImage(t, "xis"), roleImage(t, "index")
	dir := t.TempDir()
	manifest := filepath.Join(dir, "keten.yaml")
	doc := fmt.Sprintf("name: keten in containers\nversion: dev\nroles:\n  index:\n    image: {name: %s, port: 8080}\n    auth: {bench: true}\n  xis:\n    image: {name: %s, port: 8080}\n    auth: {bench: true}\n  xis-ziekenhuis:\n    image: {name: %s, port: 8080}\n", indexImage, xisImage, xisImage)
	if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	id := runID()
	t.Setenv("BCBENCH_RUN_ID", id)
	code, text := bench(t, "run", "--candidate", manifest, "--profile", "zelftest-keten", "--out", out, "--quiet")
	res := readResults(t, out)
	if code != exitPass {
		t.Fatalf("exit %d, not passing %v\n%s", code, failed(res), text)
	}
	for _, r := range res.Candidate.Roles {
		if r.Kind != "image" || r.Source != reports.SourceCandidate {
			t.Errorf("role %+v, want the candidate's image", r)
		}
	}
	if n := registrations(t, filepath.Join(out, "evidence", "index.har")); len(n) != 0 {
		// The XIS reach the index inside the run's network, not through the
		// bench's proxy: their registrations are not in the index's HAR.
		t.Errorf("registrations %v passed the bench's proxy of the index", n)
	}
	// Through the index the bench, as a consumer, reached every client at
	// her publisher (IDX-08): both XIS registered from inside the network.
	if st := status(res, "IDX-08"); st != reports.Pass {
		t.Errorf("IDX-08 is %s", st)
	}
	if left := leftovers(t, id); left != "" {
		t.Fatalf("the run left behind:\n%s", left)
	}
}

// status is a requirement's status in the results ("" when not judged).
func status(res *reports.Results, id string) reports.Status {
	for _, r := range res.Requirements {
		if r.ID == id {
			return r.Status
		}
	}
	return ""
}
