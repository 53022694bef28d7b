package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuildContextStaysInsideTheManifestFolder(t *testing.T) {
	root := t.TempDir()
	folder := filepath.Join(root, "vendor")
	outside := filepath.Join(root, "elsewhere")
	for _, d := range []string{folder, filepath.Join(folder, "build"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(folder, "Dockerfile"), filepath.Join(folder, "build", "Dockerfile"), filepath.Join(outside, "Dockerfile")} {
		if err := os.WriteFile(f, []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(folder, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "Dockerfile"), filepath.Join(folder, "build", "Linked.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, image string
		want        string // "" = accepted
	}{
		{"context is the folder", `{name: v:1, port: 8080, dockerfile: Dockerfile}`, ""},
		{"context below the folder", `{name: v:1, port: 8080, dockerfile: Dockerfile, context: build}`, ""},
		{"context above the folder", `{name: v:1, port: 8080, dockerfile: Dockerfile, context: ..}`, "roles.xis.image.context"},
		{"context absolute elsewhere", fmt.Sprintf(`{name: v:1, port: 8080, dockerfile: Dockerfile, context: %q}`, outside), "outside the manifest's folder"},
		{"context through a symbolic link", `{name: v:1, port: 8080, dockerfile: Dockerfile, context: link}`, "roles.xis.image.context"},
		{"dockerfile climbing out", `{name: v:1, port: 8080, dockerfile: ../elsewhere/Dockerfile}`, "roles.xis.image.dockerfile"},
		{"dockerfile through a symbolic link", `{name: v:1, port: 8080, dockerfile: Linked.Dockerfile, context: build}`, "roles.xis.image.dockerfile"},
		{"a pulled image needs no context", `{name: v:1, port: 8080}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(folder, "candidate.yaml")
			if err := os.WriteFile(p, []byte("name: x\nroles:\n  xis:\n    image: "+tc.image+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadManifest(p)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestCheckCertifying(t *testing.T) {
	pinned := "voorbeeld/xis@sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name, role string
		want       string // "" = may certify
	}{
		{"builtin reference", "builtin: true", ""},
		{"image pinned by digest", fmt.Sprintf("image: {name: %q, port: 8080}", pinned), ""},
		{"image id", fmt.Sprintf("image: {name: %q, port: 8080}", "sha256:"+strings.Repeat("cd", 32)), ""},
		{"image built from the folder", "image: {name: v:1, port: 8080, dockerfile: Dockerfile}", ""},
		{"image by tag", "image: {name: voorbeeld/xis:4.2, port: 8080}", "pinned by digest"},
		// a short digest ("name@sha256:abcd") is no image reference at all:
		// the manifest is refused when read (TestParseManifestBad).
		{"command", "command: {path: ./xis}", "self-tests only"},
		{"url", "url: http://127.0.0.1:9", "self-tests only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
			m := manifestIn(t, dir, "name: x\nroles:\n  xis:\n    "+tc.role+"\n")
			err := CheckCertifying(m)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CheckCertifying = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
			// Launch refuses the same before anything starts.
			if tc.want != "" {
				if _, err := Launch(context.Background(), m, LaunchOptions{Certifying: true}); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Launch(certifying) = %v", err)
				}
			}
		})
	}
}

func TestProcessGetsNoSecretOfTheOperator(t *testing.T) {
	t.Setenv("BCBENCH_SIGNING_PASSPHRASE", "geheim-wachtwoord-van-de-operator")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-geheim-1234")
	t.Setenv("LANG_FOR_TEST", "nl_NL.UTF-8")
	evidence := t.TempDir()
	// identity files are resolved against the manifest's folder.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "candidate-script.py"), []byte("print('hallo')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := manifestIn(t, dir, fmt.Sprintf(`name: fake
roles:
  xis:
    command:
      path: %s
      args: [--addr, "127.0.0.1:{port}"]
      env: {FAKE_ECHO_ENV: "port-{port}", FAKE_PRINT_ENV: "1"}
      passEnv: [LANG_FOR_TEST]
      identity: [candidate-script.py]
`, fakeCandidate(t)))
	c, err := Launch(context.Background(), m, LaunchOptions{EvidenceDir: evidence, StartupTimeout: 10 * time.Second, RunID: "envtest" + newRunID()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	xis := c.Role("xis")
	body, err := get(t, xis, "/env")
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("env: %v (%s)", err, body)
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	for _, k := range []string{"BCBENCH_SIGNING_PASSPHRASE", "AWS_SECRET_ACCESS_KEY"} {
		if _, ok := got[k]; ok {
			t.Errorf("the candidate got the operator's %s", k)
		}
	}
	if got["LANG_FOR_TEST"] != "nl_NL.UTF-8" {
		t.Errorf("passEnv LANG_FOR_TEST not passed: %v", env)
	}
	if got["PATH"] == "" || got["PORT"] == "" || got["FAKE_ECHO_ENV"] == "" {
		t.Errorf("PATH, PORT and the manifest's env are missing: %v", env)
	}
	home, _ := os.UserHomeDir()
	if got["HOME"] == "" || got["HOME"] == home || !strings.HasPrefix(got["TMPDIR"], got["HOME"]) {
		t.Errorf("HOME %q TMPDIR %q, want a scratch folder", got["HOME"], got["TMPDIR"])
	}
	if st, err := os.Stat(got["TMPDIR"]); err != nil || !st.IsDir() {
		t.Errorf("TMPDIR %s: %v", got["TMPDIR"], err)
	}
	if len(env) > 8 {
		t.Errorf("environment holds %d variables, want the minimal set: %v", len(env), env)
	}
	id := xis.Identity()
	sum, _ := fileSHA256(filepath.Join(dir, "candidate-script.py"))
	if len(id.Args) != 2 || id.Args[1] != "127.0.0.1:{port}" || id.Manifest != m.SHA256 || len(m.SHA256) != 64 ||
		len(id.Files) != 1 || id.Files[0].SHA256 != sum {
		t.Errorf("identity %+v lacks the arguments, the manifest's sha256 or the script's", id)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(got["HOME"]); !os.IsNotExist(err) {
		t.Errorf("scratch folder %s kept after Stop: %v", got["HOME"], err)
	}
	filepath.WalkDir(evidence, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "geheim-wachtwoord-van-de-operator") || strings.Contains(string(b), "aws-geheim-1234") {
			t.Errorf("evidence %s holds an operator secret", p)
		}
		return nil
	})
	if logs, _ := os.ReadFile(filepath.Join(evidence, "xis.log")); !strings.Contains(string(logs), "env: PORT=") {
		t.Errorf("the candidate's log should show what it got (control): %s", logs)
	}
}

func TestIdentityLookupFollowsNoRedirect(t *testing.T) {
	var leaked, hits int
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if strings.Contains(r.Header.Get("Authorization"), "tok-redirect-secret") {
			leaked++
		}
		io.WriteString(w, `{"resourceType":"CapabilityStatement","software":{"name":"elsewhere"}}`)
	}))
	defer elsewhere.Close()
	t.Setenv("BCBENCH_TEST_TOKEN", "tok-redirect-secret")
	m := processManifest(t, `, FAKE_TOKEN: "tok-redirect-secret", FAKE_METADATA_REDIRECT: "`+elsewhere.URL+`/fhir/metadata"`)
	m.Roles["xis"].Auth = &AuthSpec{BearerTokenEnv: "BCBENCH_TEST_TOKEN"}
	c, err := Launch(context.Background(), m, LaunchOptions{StartupTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if hits != 0 || leaked != 0 {
		t.Errorf("the bench followed the redirect to another port: %d requests, %d with the token", hits, leaked)
	}
	if sw := c.Role("xis").Identity().Software; sw == "elsewhere" {
		t.Errorf("software taken from the redirect target")
	}
	f := strings.Join(c.Findings(), "|")
	if !strings.Contains(f, "redirected the bench") || !strings.Contains(f, elsewhere.URL) {
		t.Errorf("findings = %q, want the redirect named", f)
	}
	// Every client of the role refuses it too, and a redirect on the
	// candidate's own address is still followed through the proxy.
	xis := c.Role("xis")
	if _, err := get(t, xis, "/redirect?to="+elsewhere.URL+"/x"); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("redirect elsewhere: %v", err)
	}
	body, err := get(t, xis, "/redirect?to="+xis.Target.BaseURL()+"/echo")
	if err != nil || !strings.Contains(body, `"path":"/echo"`) {
		t.Errorf("redirect to the candidate itself: %s %v", body, err)
	}
	if hits != 0 {
		t.Errorf("%d requests reached the redirect target", hits)
	}
	n := 0
	for _, e := range xis.Entries() {
		if strings.HasSuffix(e.Request.URL, "/echo") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the followed redirect went around the proxy: %d recorded", n)
	}
}

func TestUserinfoIsRedacted(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"url", "http://jan:geheim@127.0.0.1:8080/fhir", "http://jan:xxxxx@127.0.0.1:8080/fhir"},
		{"in an error", `attaching to xis at https://a:b%40c@host:1/x: refused`, "https://a:xxxxx@host:1/x: refused"},
		{"no password", "http://jan@host/x", "http://jan@host/x"},
		{"email is not a URL", "mail jan@example.test", "mail jan@example.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactUserinfo(tc.in); !strings.Contains(got, tc.want) || strings.Contains(got, "geheim") {
				t.Errorf("RedactUserinfo(%q) = %q", tc.in, got)
			}
		})
	}
	if got := RedactURL("http://jan:geheim@host/x"); strings.Contains(got, "geheim") {
		t.Errorf("RedactURL = %q", got)
	}
}

// TestContainerIsConfined: a container candidate of a certifying run runs
// without capabilities, with limits and a read-only root, on an internal
// network; it reaches neither a second container of this test nor
// anything else, while the bench reaches it.
func TestContainerIsConfined(t *testing.T) {
	requireDocker(t)
	image := "bcbench-test/fakecandidate:" + newRunID()
	if out, err := exec.Command("docker", "build", "-q", "-t", image, fakeImageContext(t)).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	id := docker(t, "image", "inspect", "-f", "{{.Id}}", image)

	// The bystander: a second container of this test, on Docker's default
	// bridge. The bench's host reaches it (control); the candidate must not.
	by := docker(t, "run", "-d", "--label", "bcbench-test=confined", image)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", by).Run() })
	byIP := docker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", by)
	target := "http://" + byIP + ":8080/bench/health"
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(target)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Skipf("the bystander container is not reachable from the bench's host either (%v): the engine is not local, nothing to compare", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	m := manifestIn(t, t.TempDir(), fmt.Sprintf("name: confined\nroles:\n  xis:\n    image: {name: %q, port: 8080}\n", "bcbench-test/fakecandidate@"+id))
	limits := ContainerLimits{Memory: 256 << 20, Pids: 100, CPUs: 0.5}
	c, err := Launch(context.Background(), m, LaunchOptions{Certifying: true, Limits: limits, RelayBinary: buildBench(t), StartupTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	xis := c.Role("xis")
	if got := xis.Identity().Digest; got != id {
		t.Errorf("digest %s, want the pinned %s", got, id)
	}
	// Control: the candidate's fetch works, on its own address.
	if body, err := get(t, xis, "/fetch?url=http://127.0.0.1:8080/bench/health"); err != nil || !strings.Contains(body, "ok") {
		t.Fatalf("the candidate cannot fetch even from itself: %s %v", body, err)
	}
	body, err := get(t, xis, "/fetch?url="+target)
	if err == nil && strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("the candidate reached the second container at %s: %s", target, body)
	}

	cid := xis.Target.(*containerTarget).ContainerID()
	var info []struct {
		HostConfig struct {
			Memory         int64
			MemorySwap     int64
			PidsLimit      *int64
			NanoCpus       int64
			CapDrop        []string
			SecurityOpt    []string
			ReadonlyRootfs bool
			PortBindings   map[string]any
		}
		NetworkSettings struct {
			Networks map[string]any
		}
	}
	if err := json.Unmarshal([]byte(docker(t, "inspect", cid)), &info); err != nil || len(info) != 1 {
		t.Fatalf("docker inspect: %v", err)
	}
	hc := info[0].HostConfig
	if hc.Memory != limits.Memory || hc.MemorySwap != limits.Memory || hc.PidsLimit == nil || *hc.PidsLimit != limits.Pids || hc.NanoCpus != 5e8 {
		t.Errorf("limits memory %d swap %d pids %v cpus %d, want %+v", hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCpus, limits)
	}
	if strings.Join(hc.CapDrop, ",") != "ALL" || !strings.Contains(strings.Join(hc.SecurityOpt, ","), "no-new-privileges") || !hc.ReadonlyRootfs {
		t.Errorf("capabilities dropped %v, security %v, read-only root %v", hc.CapDrop, hc.SecurityOpt, hc.ReadonlyRootfs)
	}
	if len(hc.PortBindings) != 0 {
		t.Errorf("the candidate publishes ports itself: %v", hc.PortBindings)
	}
	if len(info[0].NetworkSettings.Networks) != 1 {
		t.Errorf("the candidate is on %d networks, want only the run's internal one", len(info[0].NetworkSettings.Networks))
	}
	for nw := range info[0].NetworkSettings.Networks {
		if got := docker(t, "network", "inspect", "-f", "{{.Internal}}", nw); got != "true" {
			t.Errorf("network %s internal = %s", nw, got)
		}
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, c.RunID); left != "" {
		t.Errorf("left behind: %s", left)
	}
}

func TestIdentityFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pkg", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("print(1)\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pkg", "b.py"), []byte("b\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pkg", "sub", "a.py"), []byte("a\n"), 0o644)
	tests := []struct {
		name  string
		paths []string
		want  []string // base names in order; nil = error
	}{
		{"one script", []string{"app.py"}, []string{"app.py"}},
		{"a folder stands for its files", []string{"app.py", "pkg"}, []string{"app.py", "b.py", "a.py"}},
		{"a missing file is an error", []string{"absent.py"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var abs []string
			for _, p := range tc.paths {
				abs = append(abs, filepath.Join(dir, p))
			}
			got, err := identityFiles(abs)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("no error for %v", tc.paths)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("identityFiles = %v, %v", got, err)
			}
			for i, g := range got {
				if filepath.Base(g.Path) != tc.want[i] || len(g.SHA256) != 64 {
					t.Errorf("file %d = %+v, want %s", i, g, tc.want[i])
				}
			}
		})
	}
}
