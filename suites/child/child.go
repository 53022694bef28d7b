// Package child runs a suite once per variant (the reference, a mutant, a
// hostile server) in a child process of the test binary, so that each
// variant gets a fresh Ginkgo run: the parent starts the binary again with
// an environment variable naming the variant, the child runs the specs and
// prints each requirement's status on one marked line.
package child

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// marker starts the line on which a child prints its statuses.
const marker = "bcbench-outcomes "

// Main is a suite test's TestMain: in a child (env set) it runs the specs
// on the named variant with run and prints the statuses; otherwise it runs
// the tests.
func Main(m *testing.M, env string, run func(variant string) (map[string]string, error)) {
	variant, ok := os.LookupEnv(env)
	if !ok {
		os.Exit(m.Run())
	}
	statuses, err := run(variant)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	data, err := json.Marshal(statuses)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("\n%s%s\n", marker, data)
	os.Exit(0)
}

// Run runs variant in a child process of this test binary (env names it;
// extra NAME=value pairs are added to the environment, args to the test
// flags) and returns the statuses it printed.
func Run(env, variant string, extra []string, args ...string) (map[string]string, error) {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(append(os.Environ(), extra...), env+"="+variant)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("child for %q: %w\n%s", variant, err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), marker); ok {
			var statuses map[string]string
			if err := json.Unmarshal([]byte(rest), &statuses); err != nil {
				return nil, fmt.Errorf("reading the statuses of child %q: %w", variant, err)
			}
			return statuses, nil
		}
	}
	return nil, fmt.Errorf("child for %q printed no outcomes\n%s", variant, out)
}
