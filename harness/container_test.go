package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireDocker skips the test when no Docker engine (or docker command)
// is available; everything else in the package still runs.
func requireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := DockerAvailable(ctx); err != nil {
		t.Skipf("container driver test skipped: %v", err)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("container driver test skipped: the docker command is not installed (needed to inspect and kill)")
	}
}

func docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// fakeImageContext writes a build context for a scratch image holding the
// fake candidate.
func fakeImageContext(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.ReadFile(fakeCandidate(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fakecandidate"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY fakecandidate /fakecandidate\nENTRYPOINT [\"/fakecandidate\", \"--addr\", \":8080\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// leftovers lists the containers and networks of a run that still exist.
func leftovers(t testing.TB, runID string) string {
	t.Helper()
	ps := docker(t, "ps", "-a", "-q", "--filter", "label="+LabelRun+"="+runID)
	nets := docker(t, "network", "ls", "-q", "--filter", "label="+LabelRun+"="+runID)
	return strings.TrimSpace(ps + " " + nets)
}

// manifestIn writes a manifest into dir and loads it, so that its build
// contexts may lie in dir.
func manifestIn(t testing.TB, dir, doc string) *Manifest {
	t.Helper()
	p := filepath.Join(dir, "candidate.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestContainerLaunchBuildNetworkKill(t *testing.T) {
	requireDocker(t)
	dir := fakeImageContext(t)
	image := "bcbench-test/fakecandidate:" + newRunID()
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	m := manifestIn(t, dir, fmt.Sprintf(`name: fake in containers
roles:
  xis:
    image: {name: %q, port: 8080, dockerfile: Dockerfile, env: {FAKE_ECHO_ENV: "from-manifest-{port}"}}
  index:
    image: {name: %q, port: 8080, dockerfile: Dockerfile, context: .}
`, image, image))
	evidence := t.TempDir()
	c, err := Launch(context.Background(), m, LaunchOptions{EvidenceDir: evidence, StartupTimeout: time.Minute, RelayBinary: buildBench(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())

	xis, index := c.Role("xis"), c.Role("index")
	id := xis.Identity()
	wantDigest := docker(t, "image", "inspect", "-f", "{{.Id}}", image)
	if id.Kind != "image" || id.Image != image || id.Digest != wantDigest || id.Software != "fakecandidate 1.2.3" {
		t.Errorf("identity = %+v, want digest %s", id, wantDigest)
	}
	if !strings.HasPrefix(xis.Target.BaseURL(), "http://127.0.0.1:") {
		t.Errorf("published on %s, want loopback", xis.Target.BaseURL())
	}
	body, err := get(t, xis, "/echo")
	if err != nil || !strings.Contains(body, `"env":"from-manifest-8080"`) {
		t.Errorf("echo: %s %v", body, err)
	}
	// The roles share the run's network: the xis reaches the index by name.
	body, err = get(t, xis, "/fetch?url=http://index:8080/fhir/metadata")
	if err != nil || !strings.Contains(body, "CapabilityStatement") {
		t.Errorf("xis could not reach index on the run network: %s %v", body, err)
	}
	if leftovers(t, c.RunID) == "" {
		t.Fatal("no labelled containers or network found while running")
	}

	// Killing a candidate container mid-run surfaces as an error naming why.
	docker(t, "kill", index.Target.(*containerTarget).ContainerID())
	_, err = get(t, index, "/fhir/metadata")
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Role != "index" || !strings.Contains(ue.Detail, "exit code 137") {
		t.Errorf("after kill: %v", err)
	}
	if err := c.Alive(context.Background()); err == nil || !strings.Contains(err.Error(), "role index") {
		t.Errorf("Alive after kill = %v", err)
	}
	if _, err := get(t, xis, "/echo"); err != nil {
		t.Errorf("the other role should still answer: %v", err)
	}

	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, c.RunID); left != "" {
		t.Errorf("left behind after Stop: %s", left)
	}
	for _, f := range []string{"xis.har", "xis.log", "index.har", "index.log"} {
		if _, err := os.Stat(filepath.Join(evidence, f)); err != nil {
			t.Errorf("evidence: %v", err)
		}
	}
	logs, _ := os.ReadFile(filepath.Join(evidence, "xis.log"))
	if !strings.Contains(string(logs), "fakecandidate listening on :8080") {
		t.Errorf("container log = %q", logs)
	}
}

func TestContainerStartFailures(t *testing.T) {
	requireDocker(t)
	dir := fakeImageContext(t)
	image := "bcbench-test/fakecandidate:" + newRunID()
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"exits at start", `image: {name: %q, port: 8080, dockerfile: Dockerfile, env: {FAKE_EXIT_AT_START: "1"}}`, "exit code 4"},
		{"absent image, nothing to pull", `image: {name: "bcbench-test/absent:%s", port: 8080}`, "not present on this Docker engine"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := fmt.Sprintf(tc.yaml, image)
			if strings.Contains(tc.yaml, "absent") {
				spec = fmt.Sprintf(tc.yaml, newRunID())
			}
			m := manifestIn(t, dir, "name: x\nroles:\n  xis:\n    "+spec+"\n")
			runID := newRunID()
			relay := buildBench(t)
			if _, err := relayImage(context.Background(), relay); err != nil {
				t.Fatal(err)
			}
			// The failure is seen, not waited out: the error is not the
			// startup timeout's.
			c, err := Launch(context.Background(), m, LaunchOptions{StartupTimeout: 3 * time.Minute, RunID: runID, RelayBinary: relay})
			if err == nil {
				c.Stop(context.Background())
				t.Fatal("launch succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "startup timeout") {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if left := leftovers(t, runID); left != "" {
				t.Errorf("left behind by the failed launch: %s", left)
			}
		})
	}
}

func TestReferenceImageExample(t *testing.T) {
	requireDocker(t)
	bin := buildBench(t)
	tag := "test-" + newRunID()
	cmd := exec.Command("bash", filepath.Join("..", "images", "build.sh"), "xis")
	cmd.Env = append(os.Environ(), "TAG="+tag, "BCBENCH_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("images/build.sh: %v\n%s", err, out)
	}
	image := "bcbench/reference-xis:" + tag
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	if !strings.Contains(string(out), image+" sha256:") {
		t.Errorf("build.sh printed %q", out)
	}
	m, err := LoadManifest(filepath.Join("..", "examples", "reference-image.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Roles["xis"].Image.Name != "bcbench/reference-xis:dev" {
		t.Errorf("example names %s", m.Roles["xis"].Image.Name)
	}
	m.Roles["xis"].Image.Name = image
	c, err := Launch(context.Background(), m, LaunchOptions{RelayBinary: bin})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	id := c.Role("xis").Identity()
	if want := docker(t, "image", "inspect", "-f", "{{.Id}}", image); id.Digest != want {
		t.Errorf("digest %s, want %s", id.Digest, want)
	}
	if err := c.Role("xis").Adapter().Health(context.Background()); err != nil {
		t.Error(err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, c.RunID); left != "" {
		t.Errorf("left behind: %s", left)
	}
}
