package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mustParse(t *testing.T, y string) *Manifest {
	t.Helper()
	m, err := ParseManifest([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func processManifest(t *testing.T, env string) *Manifest {
	return mustParse(t, fmt.Sprintf(`name: fake
version: "1"
roles:
  xis:
    command:
      path: %s
      args: [--addr, "127.0.0.1:{port}"]
      env: {FAKE_ECHO_ENV: "port-{port}"%s}
`, fakeCandidate(t), env))
}

func get(t *testing.T, r *Role, path string) (string, error) {
	t.Helper()
	resp, err := r.Client().Get(r.URL() + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Errorf("process %d still runs", pid)
			syscall.Kill(pid, syscall.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLaunchProcess(t *testing.T) {
	evidence := t.TempDir()
	c, err := Launch(context.Background(), processManifest(t, ""), LaunchOptions{EvidenceDir: evidence, StartupTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	xis := c.Role("xis")
	id := xis.Identity()
	sum, _ := fileSHA256(fakeCandidate(t))
	if id.Kind != "command" || id.SHA256 != sum || id.Binary != fakeCandidate(t) || id.Software != "fakecandidate 1.2.3" {
		t.Errorf("identity = %+v", id)
	}
	port := strings.TrimPrefix(xis.Target.BaseURL(), "http://127.0.0.1:")
	body, err := get(t, xis, "/echo?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"env":"port-`+port+`"`) {
		t.Errorf("{port} not substituted: %s (port %s)", body, port)
	}
	if err := c.Alive(context.Background()); err != nil {
		t.Errorf("alive: %v", err)
	}
	pid := xis.Target.(*processTarget).PID()
	// A child of the candidate dies with it.
	childPID, err := get(t, xis, "/spawn")
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(childPID)
	if err != nil {
		t.Fatalf("spawn answered %q", childPID)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	waitGone(t, pid)
	waitGone(t, child)
	h, err := ReadHARFile(filepath.Join(evidence, "xis.har"))
	if err != nil {
		t.Fatal(err)
	}
	// metadata (identity), echo, spawn
	if len(h.Log.Entries) != 3 || !strings.HasSuffix(h.Log.Entries[0].Request.URL, "/fhir/metadata") {
		t.Errorf("HAR has %d entries", len(h.Log.Entries))
	}
	logs, err := os.ReadFile(filepath.Join(evidence, "xis.log"))
	if err != nil || !strings.Contains(string(logs), "fakecandidate listening on 127.0.0.1:"+port) {
		t.Errorf("log = %q, %v", logs, err)
	}
	if _, err := get(t, xis, "/echo"); err == nil {
		t.Error("a stopped candidate still answers")
	}
}

func TestLaunchProcessCrashMidRun(t *testing.T) {
	evidence := t.TempDir()
	c, err := Launch(context.Background(), processManifest(t, ""), LaunchOptions{EvidenceDir: evidence})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	xis := c.Role("xis")
	if _, err := get(t, xis, "/crash"); err == nil {
		t.Error("the crashing request did not fail")
	}
	_, err = get(t, xis, "/fhir/metadata")
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(ue.Detail, "exit status 3") {
		t.Errorf("after the crash: %v", err)
	}
	if err := c.Alive(context.Background()); err == nil || !strings.Contains(err.Error(), "role xis") {
		t.Errorf("Alive after crash = %v", err)
	}
	if err := xis.Adapter().Health(context.Background()); err == nil {
		t.Error("adapter health passed after the crash")
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, _ := os.ReadFile(filepath.Join(evidence, "xis.log"))
	if !strings.Contains(string(logs), "crashing on request") {
		t.Errorf("log lacks the crash: %q", logs)
	}
}

func TestLaunchProcessStartFailures(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		timeout time.Duration
		want    []string
	}{
		{"exits at start", `, FAKE_EXIT_AT_START: "1"`, 20 * time.Second, []string{"exit status 4", "refusing to start"}},
		{"never healthy", `, FAKE_NEVER_HEALTHY: "1"`, 700 * time.Millisecond, []string{"startup timeout 700ms", "503"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c, err := Launch(context.Background(), processManifest(t, tc.env), LaunchOptions{StartupTimeout: tc.timeout})
			if err == nil {
				c.Stop(context.Background())
				t.Fatal("launch succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if d := time.Since(start); d > tc.timeout+5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	if _, err := Launch(context.Background(), mustParse(t, "name: x\nroles:\n  xis:\n    command: {path: /nonexistent/bcbench-candidate}\n"), LaunchOptions{}); err == nil {
		t.Error("missing program accepted")
	}
}

func TestLaunchInterrupted(t *testing.T) {
	ctx, release := InterruptContext(context.Background())
	defer release()
	go func() {
		time.Sleep(300 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	start := time.Now()
	c, err := Launch(ctx, processManifest(t, `, FAKE_NEVER_HEALTHY: "1"`), LaunchOptions{StartupTimeout: time.Minute})
	if err == nil {
		c.Stop(context.Background())
		t.Fatal("launch succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("interrupted launch took %s", d)
	}
	if ctx.Err() == nil {
		t.Error("context not cancelled by SIGINT")
	}
}

func TestLaunchToken(t *testing.T) {
	t.Setenv("BCBENCH_TEST_TOKEN", "tok-secret-9876")
	m := processManifest(t, `, FAKE_TOKEN: "tok-secret-9876"`)
	m.Roles["xis"].Auth = &AuthSpec{BearerTokenEnv: "BCBENCH_TEST_TOKEN"}
	evidence := t.TempDir()
	c, err := Launch(context.Background(), m, LaunchOptions{EvidenceDir: evidence})
	if err != nil {
		t.Fatal(err)
	}
	body, err := get(t, c.Role("xis"), "/echo?access_token=tok-secret-9876")
	if err != nil || !strings.Contains(body, "Bearer tok-secret-9876") {
		t.Errorf("token not sent: %s %v", body, err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(evidence, "xis.har"))
	if len(raw) == 0 || strings.Contains(string(raw), "tok-secret-9876") {
		t.Errorf("HAR holds the token or is empty (%d bytes)", len(raw))
	}
	os.Unsetenv("BCBENCH_TEST_TOKEN")
	if _, err := Launch(context.Background(), m, LaunchOptions{}); err == nil || !strings.Contains(err.Error(), "BCBENCH_TEST_TOKEN") {
		t.Errorf("unset token variable: %v", err)
	}
}

func fhirStub(software string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /fhir/metadata", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"resourceType":"CapabilityStatement","software":{"name":%q,"version":"9.9"}}`, software)
	})
	return mux
}

func TestLaunchAttach(t *testing.T) {
	srv := httptest.NewServer(fhirStub("Vendor XIS"))
	defer srv.Close()
	c, err := Launch(context.Background(), mustParse(t, "name: v\nroles:\n  xis:\n    url: "+srv.URL+"/\n"), LaunchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := c.Role("xis").Identity()
	if id.Kind != "url" || id.URL != srv.URL || id.Software != "Vendor XIS 9.9" {
		t.Errorf("identity = %+v", id)
	}
	if err := c.Role("xis").Adapter().Health(context.Background()); err != nil {
		t.Error(err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stop leaves an attached system running.
	if resp, err := http.Get(srv.URL + "/bench/health"); err != nil {
		t.Errorf("attached system gone: %v", err)
	} else {
		resp.Body.Close()
	}

	srv.Close()
	start := time.Now()
	if _, err := Launch(context.Background(), mustParse(t, "name: v\nroles:\n  xis:\n    url: "+srv.URL+"\n"), LaunchOptions{StartupTimeout: 500 * time.Millisecond}); err == nil {
		t.Error("unreachable URL accepted")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("unreachable URL took %s", d)
	}
}

func TestLaunchAttachGarbageMetadata(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/bench/health", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("/fhir/metadata", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<script>alert(1)</script>") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := Launch(context.Background(), mustParse(t, "name: v\nroles:\n  xis:\n    url: "+srv.URL+"\n"), LaunchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if id := c.Role("xis").Identity(); id.Software != "" || id.URL != srv.URL {
		t.Errorf("identity = %+v", id)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "CapabilityStatement") {
		t.Errorf("warnings = %v", w)
	}
}

func TestLaunchBuiltin(t *testing.T) {
	m := mustParse(t, "name: ref\nroles:\n  xis:\n    builtin: true\n  index:\n    builtin: true\n")
	asked := map[string]Wiring{}
	c, err := Launch(context.Background(), m, LaunchOptions{Builtin: func(role string, w Wiring) (http.Handler, error) {
		asked[role] = w
		return fhirStub("bcbench reference " + role), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The index starts first, and the XIS is told its FHIR base through the
	// index's recording proxy.
	if len(asked) != 2 || len(c.Roles) != 2 || c.Roles[0].Name != "index" || c.Roles[1].Name != "xis" {
		t.Errorf("asked %v, roles %d", asked, len(c.Roles))
	}
	if got, want := asked["xis"].Index, c.Role("index").FHIRBase(); got != want || asked["index"].Index != "" {
		t.Errorf("wiring = %+v, want the xis told %s", asked, want)
	}
	id := c.Role("index").Identity()
	exe, _ := os.Executable()
	sum, _ := fileSHA256(exe)
	if id.Kind != "builtin" || id.SHA256 != sum || id.Software != "bcbench reference index 9.9" {
		t.Errorf("identity = %+v", id)
	}
	if len(c.Identities()) != 2 {
		t.Errorf("identities = %v", c.Identities())
	}
	base := c.Role("xis").Target.BaseURL()
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/bench/health"); err == nil {
		t.Error("builtin still serves after Stop")
	}
	if _, err := Launch(context.Background(), m, LaunchOptions{}); err == nil {
		t.Error("builtin without a handler accepted")
	}
	if _, err := Launch(context.Background(), m, LaunchOptions{Builtin: func(string, Wiring) (http.Handler, error) { return nil, errors.New("no such role") }}); err == nil || !strings.Contains(err.Error(), "no such role") {
		t.Errorf("builtin error: %v", err)
	}
}

func TestStopNeverStarted(t *testing.T) {
	for _, target := range []Target{
		Process(ProcessConfig{Role: "xis", Path: "x"}),
		Container(ContainerConfig{Role: "xis", Image: "x", Port: 1}),
		Attach(AttachConfig{Role: "xis", URL: "http://127.0.0.1:1"}),
		Serve("xis", http.NotFoundHandler()),
	} {
		if err := target.Stop(context.Background()); err != nil {
			t.Errorf("%T: %v", target, err)
		}
		if err := target.Stop(context.Background()); err != nil {
			t.Errorf("%T second stop: %v", target, err)
		}
	}
}

func TestReferenceProcessExample(t *testing.T) {
	m, err := LoadManifest(filepath.Join("..", "examples", "reference-process.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	repoBin, _ := filepath.Abs(filepath.Join("..", "bin", "bcbench"))
	if got := m.CommandPath(m.Roles["xis"]); got != repoBin {
		t.Errorf("example runs %s, want the repository's %s", got, repoBin)
	}
	bin := buildBench(t)
	m.Roles["xis"].Command.Path = bin // a fresh build rather than whatever bin/ holds
	evidence := t.TempDir()
	c, err := Launch(context.Background(), m, LaunchOptions{EvidenceDir: evidence})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	xis := c.Role("xis")
	sum, _ := fileSHA256(bin)
	if id := xis.Identity(); id.Kind != "command" || id.SHA256 != sum || id.Software == "" {
		t.Errorf("identity = %+v", id)
	}
	if err := xis.Adapter().Health(context.Background()); err != nil {
		t.Error(err)
	}
	pid := xis.Target.(*processTarget).PID()
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

func TestLogBufferKeepsTheTail(t *testing.T) {
	var l logBuffer
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for i := 0; i < 3*maxLog/len(line); i++ {
		l.Write(line)
	}
	l.Write([]byte("the last line\n"))
	got := l.bytes()
	if len(got) > maxLog+100 || !strings.HasSuffix(string(got), "the last line\n") || !strings.HasPrefix(string(got), "[bcbench: first ") {
		t.Errorf("kept %d bytes, starting %q", len(got), got[:40])
	}
}

func TestLaunchProcessPortTaken(t *testing.T) {
	busy := httptest.NewServer(fhirStub("someone else"))
	defer busy.Close()
	port := strings.TrimPrefix(busy.URL, "http://127.0.0.1:")
	m := mustParse(t, fmt.Sprintf("name: x\nroles:\n  xis:\n    command: {path: %s, args: [--addr, \"127.0.0.1:{port}\"], port: %s}\n", fakeCandidate(t), port))
	c, err := Launch(context.Background(), m, LaunchOptions{})
	if err == nil {
		c.Stop(context.Background())
		t.Fatal("launched against a port another server holds")
	}
	if !strings.Contains(err.Error(), "already in use") {
		t.Errorf("error = %v", err)
	}
}

func TestLaunchImageWithoutDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	m := mustParse(t, "name: x\nroles:\n  xis:\n    image: {name: bcbench/reference-xis:dev, port: 8080}\n")
	start := time.Now()
	_, err := Launch(context.Background(), m, LaunchOptions{})
	if err == nil || !strings.Contains(err.Error(), "no Docker engine answers") {
		t.Errorf("error = %v, want one saying no Docker engine answers", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}
