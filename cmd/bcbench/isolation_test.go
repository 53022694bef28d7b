package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bcbench/bcbench/harness"
)

// liveRun is the real binary in the middle of a run.
type liveRun struct {
	cmd    *exec.Cmd
	id     string
	env    []string
	stderr *bytes.Buffer
	done   chan struct{}
}

// benchEnv is the environment of the bench runs of one test: their own
// config and state folders, so the registry of process candidates is the
// test's.
func benchEnv(t *testing.T, state string) []string {
	return append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(t.TempDir(), "config"), "XDG_STATE_HOME="+state)
}

// slowProcessManifest is the reference XIS as a command candidate that also
// leaves a grandchild in its process group (sleep), slowed down so that a
// run lasts long enough to be struck mid-way.
func slowProcessManifest(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "candidate.yaml")
	doc := fmt.Sprintf(`name: trage referentie met kind
version: dev
roles:
  xis:
    command:
      path: /bin/sh
      args: [-c, 'sleep 600 & exec %s reference serve --role xis --addr 127.0.0.1:$PORT']
      env: {BCBENCH_REFERENCE_DELAY: 150ms}
`, bin)
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startRun starts `bcbench run` and returns once the candidate runs (its
// processes carry the run's mark) and the replay is under way.
func startRun(t *testing.T, manifest, state string, ready func(id string) bool) *liveRun {
	t.Helper()
	r := &liveRun{id: fmt.Sprintf("lo%d", time.Now().UnixNano()), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	r.env = append(benchEnv(t, state), "BCBENCH_RUN_ID="+r.id)
	r.cmd = exec.Command(bin, "run", "--candidate", manifest, "--out", filepath.Join(t.TempDir(), "out"), "--quiet")
	r.cmd.Env = r.env
	r.cmd.Stdout, r.cmd.Stderr = r.stderr, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		c := exec.Command(bin, "candidate", "cleanup", "--run", r.id)
		c.Env = r.env
		c.Run()
	})
	deadline := time.Now().Add(90 * time.Second)
	for !ready(r.id) {
		select {
		case <-r.done:
			t.Fatalf("the run ended before the candidate ran:\n%s", r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the candidate never ran:\n%s", r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // the replay is under way
	return r
}

// wait waits for the bench to end after a signal.
func (r *liveRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the run did not end:\n%s", r.stderr)
	}
}

// processExit is the exit code of a finished command.
func processExit(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// markedPIDs lists the processes that carry the run's mark (BCBENCH_RUN).
func markedPIDs(id string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte("BCBENCH_RUN="+id+"/")) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
			if len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}

// waitNoMarked waits a moment for signalled processes to go.
func waitNoMarked(id string) []int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := markedPIDs(id)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func processesRun(id string) bool { return len(markedPIDs(id)) >= 2 }

func requireLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the test finds processes through /proc (Linux)")
	}
}

// TestSignalsLeaveNothingRunning: SIGINT, SIGTERM and SIGHUP end a run with
// a process candidate and its grandchild; kill -9 leaves them, and the next
// run removes them and says so.
func TestSignalsLeaveNothingRunning(t *testing.T) {
	requireLinux(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			state := t.TempDir()
			r := startRun(t, slowProcessManifest(t), state, processesRun)
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			r.wait(t)
			if code := r.cmd.ProcessState.ExitCode(); code != 1 && code != 2 {
				t.Errorf("exit %d after %s, want 1 or 2\n%s", code, sig, r.stderr)
			}
			if left := waitNoMarked(r.id); len(left) > 0 {
				t.Fatalf("%s left processes %v running", sig, left)
			}
		})
	}
	t.Run("SIGKILL, then the next run", func(t *testing.T) {
		state := t.TempDir()
		r := startRun(t, slowProcessManifest(t), state, processesRun)
		if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r.wait(t)
		time.Sleep(500 * time.Millisecond)
		left := markedPIDs(r.id)
		if len(left) == 0 {
			t.Fatal("control: kill -9 should leave the grandchild running (nothing to clean up)")
		}
		// The next run (any candidate) removes them first and says so.
		next := exec.Command(bin, "run", "--scenario", "ongecompliceerd", "--out", filepath.Join(t.TempDir(), "out"), "--quiet")
		next.Env = benchEnv(t, state)
		out, _ := next.CombinedOutput()
		if !strings.Contains(string(out), "removed what run "+r.id+" left running") || !strings.Contains(string(out), "process ") {
			t.Errorf("the next run did not say it removed run %s's leftovers:\n%s", r.id, out)
		}
		if left := waitNoMarked(r.id); len(left) > 0 {
			t.Fatalf("after the next run, processes %v of the killed run still run", left)
		}
	})
}

// TestCleanupRefusesALiveRun: `candidate cleanup --run ID` refuses a run
// whose bench still runs, and `candidate cleanup` leaves it alone.
func TestCleanupRefusesALiveRun(t *testing.T) {
	requireLinux(t)
	state := t.TempDir()
	r := startRun(t, slowProcessManifest(t), state, processesRun)
	before := markedPIDs(r.id)
	c := exec.Command(bin, "candidate", "cleanup", "--run", r.id)
	c.Env = benchEnv(t, state)
	out, err := c.CombinedOutput()
	if code := processExit(err); code != exitSetup || !strings.Contains(string(out), "still runs") {
		t.Errorf("cleanup --run of a live run: exit %d, want 2 saying it still runs\n%s", code, out)
	}
	c = exec.Command(bin, "candidate", "cleanup")
	c.Env = benchEnv(t, state)
	out, err = c.CombinedOutput()
	if code := processExit(err); code != exitPass || !strings.Contains(string(out), "left alone: run "+r.id) {
		t.Errorf("cleanup: exit %d, want 0 leaving run %s alone\n%s", code, r.id, out)
	}
	if now := markedPIDs(r.id); len(now) != len(before) {
		t.Fatalf("cleanup touched the live run: processes %v before, %v after", before, now)
	}
	select {
	case <-r.done:
		t.Fatalf("the live run ended during cleanup:\n%s", r.stderr)
	default:
	}
	r.cmd.Process.Signal(os.Interrupt)
	r.wait(t)
}

// TestKilledContainerRunIsCleanedUp: kill -9 of a run with a container
// candidate leaves its containers and networks; `candidate cleanup`
// removes them (and only them), and SIGHUP leaves nothing.
func TestKilledContainerRunIsCleanedUp(t *testing.T) {
	image := referenceImage(t)
	dir := t.TempDir()
	manifest := slowManifest(t, dir, image)
	running := func(id string) bool {
		b, _ := exec.Command("docker", "ps", "-q", "--filter", "label="+harness.LabelRun+"="+id, "--filter", "status=running").Output()
		return len(strings.Fields(string(b))) >= 2 // the candidate and its relay
	}
	state := t.TempDir()

	t.Run("SIGHUP", func(t *testing.T) {
		r := startRun(t, manifest, state, running)
		r.cmd.Process.Signal(syscall.SIGHUP)
		r.wait(t)
		if left := leftovers(t, r.id); left != "" {
			t.Fatalf("SIGHUP left behind:\n%s", left)
		}
	})
	t.Run("SIGKILL, then cleanup", func(t *testing.T) {
		r := startRun(t, manifest, state, running)
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.wait(t)
		if leftovers(t, r.id) == "" {
			t.Fatal("control: kill -9 should leave the containers (nothing to clean up)")
		}
		c := exec.Command(bin, "candidate", "cleanup")
		c.Env = benchEnv(t, state)
		out, err := c.CombinedOutput()
		if code := processExit(err); code != exitPass || !strings.Contains(string(out), "(run "+r.id+")") {
			t.Errorf("cleanup: exit %d\n%s", code, out)
		}
		if left := leftovers(t, r.id); left != "" {
			t.Fatalf("after cleanup, left:\n%s", left)
		}
	})
}

// TestPasswordInAnUnreachableURLStaysOut: when the candidate's URL (with a
// password) never answers, the error on stderr, the progress lines and the
// report still hide the password.
func TestPasswordInAnUnreachableURLStaysOut(t *testing.T) {
	t.Parallel()
	const secret = "geheim-wachtwoord-43"
	manifest := attachManifest(t, "http://beheerder:"+secret+"@127.0.0.1:9/")
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(bin, "run", "--candidate", manifest, "--out", out, "--verbose", "--startup-timeout", "2s", "--scenario", "ongecompliceerd")
	cmd.Env = benchEnv(t, t.TempDir())
	text, err := cmd.CombinedOutput()
	if code := processExit(err); code != exitSetup || !strings.Contains(string(text), "beheerder:xxxxx@127.0.0.1:9") {
		t.Fatalf("exit %d, want 2 naming the URL without its password:\n%s", code, text)
	}
	if strings.Contains(string(text), secret) {
		t.Errorf("the password is on the terminal:\n%s", text)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) == 0 {
		t.Fatal("control: the run wrote nothing to look into")
	}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the password", p)
		}
		return nil
	})
}

// TestCertifyingRunStartsNoVendorProcess: a run that can certify (a
// certifying profile, a key) refuses command and url candidates and images
// by tag before anything starts: exit 2, one line, no output.
func TestCertifyingRunStartsNoVendorProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if code, text := bench(t, "keys", "init", "--out", keys); code != 0 {
		t.Fatalf("keys init: exit %d\n%s", code, text)
	}
	marker := filepath.Join(dir, "started")
	tests := []struct{ name, role, want string }{
		{"command", fmt.Sprintf("command: {path: /bin/sh, args: [-c, 'touch %s']}", marker), "self-tests only"},
		{"url", "url: http://127.0.0.1:9", "self-tests only"},
		{"image by tag", "image: {name: bcbench/reference-xis:dev, port: 8080}", "pinned by digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			manifest := filepath.Join(t.TempDir(), "candidate.yaml")
			if err := os.WriteFile(manifest, []byte("name: x\nroles:\n  xis:\n    "+tc.role+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			code, text := bench(t, "run", "--key", filepath.Join(keys, "bcbench.key"), "--candidate", manifest, "--out", out, "--quiet")
			if code != exitSetup || !strings.Contains(text, tc.want) || strings.Count(strings.TrimSpace(text), "\n") != 0 {
				t.Errorf("exit %d, want 2 and one line saying %q:\n%s", code, tc.want, text)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command candidate ran")
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the refused run wrote an output folder")
			}
		})
	}
}
