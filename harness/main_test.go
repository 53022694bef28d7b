package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// testBin holds programs the tests build once.
var testBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bcbench-harness-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	testBin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	fakeOnce sync.Once
	fakePath string
	fakeErr  error
)

// fakeCandidate builds testdata/fakecandidate as a static binary, once.
func fakeCandidate(t testing.TB) string {
	t.Helper()
	fakeOnce.Do(func() {
		fakePath = filepath.Join(testBin, "fakecandidate")
		cmd := exec.Command("go", "build", "-o", fakePath, "./testdata/fakecandidate")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fakeErr = fmt.Errorf("building fakecandidate: %v\n%s", err, out)
		}
	})
	if fakeErr != nil {
		t.Fatal(fakeErr)
	}
	return fakePath
}

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// buildBench builds the project's own static bcbench binary, once.
func buildBench(t testing.TB) string {
	t.Helper()
	benchOnce.Do(func() {
		benchPath = filepath.Join(testBin, "bcbench")
		cmd := exec.Command("go", "build", "-o", benchPath, "../cmd/bcbench")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			benchErr = fmt.Errorf("building bcbench: %v\n%s", err, out)
		}
	})
	if benchErr != nil {
		t.Fatal(benchErr)
	}
	return benchPath
}
